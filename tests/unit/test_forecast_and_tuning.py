"""The analysis of the ledger history without a host: the robust trend (a day's spike does not move it, a falling or
flat series gives no forecast, too few readings give none), tablespace and volume group forecasts, and the database
tuning hints from performance figures shaped as each engine's ledger reads them - with a healthy instance giving
none. Real file systems filled step by step are in tests/integration/test_forecast_lab.py."""
from datetime import datetime, timedelta, timezone

import pytest

from bjeic_ops import forecast, tuning
from bjeic_ops.store import COMPLETE, Store

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def day_items(store, kind, key, host, attrs_of, days=14):
    """One complete run a day for `days` days up to yesterday, holding the item attrs_of(day) returns."""
    for day in range(days):
        at = NOW - timedelta(days=days - day)
        run_id = store.begin_run('playbooks/db_ledger.yml' if kind == 'db' else 'playbooks/daily_inspection.yml',
                                 started_at=at)
        store.write_batch({'ledger_items': [{'run_id': run_id, 'host': host, 'kind': kind, 'key': key,
                                             'attrs': attrs_of(day), 'seen_at': at}]})
        store.finish_run(run_id, COMPLETE, 'successful', 0, finished_at=at)


def fs_attrs(used):
    return lambda day: {'hostname': 'web01', 'filesystems': [{'mountpoint': '/data', 'readonly': False}],
                        'volume_groups': [{'vg_name': 'vg0', 'vg_size': 1000}],
                        'state': {'filesystems': [{'mountpoint': '/data', 'used_pct': used(day)}],
                                  'volume_groups': [{'vg_name': 'vg0', 'vg_free': 1000 - 10 * used(day)}]}}


def test_theil_sen_is_not_moved_by_a_spike():
    points = [(float(x), 50.0 + 2 * x) for x in range(10)]
    points[4] = (4.0, 95.0)                                   # one bad reading
    slope, intercept, tau = forecast.theil_sen(points)
    assert slope == pytest.approx(2.0) and intercept == pytest.approx(50.0) and tau > forecast.MIN_TAU


def test_a_growing_file_system_and_volume_group_get_their_dates(store):
    day_items(store, 'os', 'host:web01', 'web01', fs_attrs(lambda day: 40.0 + 2.0 * day))
    trends = dict(((t.kind, t.subject), t) for t in forecast.trends(store))
    data = trends[('fs', '/data')]
    assert data.trusted and data.slope == pytest.approx(2.0) and data.now_pct == pytest.approx(66.0)
    assert (data.warning_at - data.last_at).days == 7 and (data.critical_at - data.last_at).days == 12
    vg = trends[('vg', 'vg0')]                              # allocation is 10 x the file system's % (as made above)
    assert vg.trusted and vg.warning == 90.0 and vg.critical == 95.0
    [found] = [f for f in forecast.findings(trends.values()) if f['subject'].endswith('/data')]
    assert (found['check'], found['severity'], found['threshold']) == ('capacity.forecast', 'critical', 90.0)
    assert found['value']['slope_pct_per_day'] == 2.0 and found['host'] == 'web01'


@pytest.mark.parametrize('used', [lambda d: 60.0, lambda d: 60.0 + (3 if d % 2 else -3), lambda d: 80.0 - d],
                         ids=['flat', 'noisy', 'falling'])
def test_no_trend_no_forecast(store, used):
    day_items(store, 'os', 'host:web01', 'web01', fs_attrs(used))
    trends = [t for t in forecast.trends(store) if t.kind == 'fs']
    assert trends and not any(t.trusted for t in trends)
    assert forecast.findings(trends) == [] and forecast.rows(trends, everything=True) == []


def test_too_few_readings_give_no_forecast(store):
    day_items(store, 'os', 'host:web01', 'web01', fs_attrs(lambda day: 40.0 + 5 * day), days=forecast.MIN_POINTS - 1)
    assert not any(t.trusted for t in forecast.trends(store))


def test_a_tablespace_filling_is_forecast_from_the_db_ledger(store):
    day_items(store, 'db', 'db:orcl@db01', 'db01', lambda day: {
        'engine': 'oracle', 'state': {'spaces': [{'name': 'USERS', 'free_pct': 40.0 - 2 * day},
                                                 {'name': 'SYSTEM', 'free_pct': 70.0}]}})
    [users] = [t for t in forecast.trends(store) if t.trusted]
    assert (users.kind, users.subject, users.warning, users.critical) == ('tablespace', 'USERS', 85.0, 95.0)
    assert users.slope == pytest.approx(2.0)


def oracle(hit, waits, recovery_free=50.0):
    return lambda day: {'engine': 'oracle', 'state': {
        'perf': {'sessions': 40, 'buffer_hit_pct': hit(day), 'top_waits': waits},
        'spaces': [{'name': 'recovery area /u01/fra', 'free_pct': recovery_free}]}}


def hints_of(store):
    return dict(((r['instance'], r['hint']), r) for r in tuning.hints(store, NOW - timedelta(days=30), NOW))


def test_oracle_hints_with_their_evidence(store):
    waits = [{'event': 'db file sequential read', 'waits': 9e6, 'seconds': 8000.0},
             {'event': 'log file sync', 'waits': 1e5, 'seconds': 900.0}, {'event': 'DB CPU', 'seconds': 400.0}]
    day_items(store, 'db', 'db:orcl@db01', 'db01', oracle(lambda d: 90.0 + d % 3, waits, recovery_free=12.0), days=5)
    found = hints_of(store)
    buffer = found[('orcl', 'hint_buffer_hit')]
    assert buffer['evidence'].text('en') == 'median 91.0 % over 5 readings (lowest 90.0 %), below 95.0 %'
    assert buffer['points_at'] == 'DB_CACHE_SIZE / SGA_TARGET'
    wait = found[('orcl', 'hint_top_wait')]
    assert 'db file sequential read takes 86 %' in wait['evidence'].text('en')   # 8000 of 9300 s
    assert wait['points_at'].text('en').startswith('single-block I/O')
    assert found[('orcl', 'hint_recovery_area')]['evidence'].text('en') == '88.0 % used'


def test_mysql_sessions_near_the_maximum_and_binary_logs_without_expiry(store):
    day_items(store, 'db', 'db:shop@db02', 'db02', lambda day: {
        'engine': 'mysql', 'settings': {'max_connections': '151'}, 'archive': {'kind': 'binlog', 'expire_seconds': 0},
        'state': {'perf': {'sessions': 100 + 10 * day, 'buffer_hit_pct': 99.9, 'top_waits': []},
                  'log_usage': {'binlog_files': 3 + day, 'binlog_bytes': 10 ** 9 * (1 + day)}}}, days=5)
    found = hints_of(store)
    assert sorted(h for _i, h in found) == ['hint_binlog_growth', 'hint_sessions']
    assert found[('shop', 'hint_sessions')]['evidence'].text('en') == 'up to 140 sessions of a maximum of 151'


def test_sql_server_parallelism_and_a_healthy_instance(store):
    day_items(store, 'db', 'db:erp@db03', 'db03', lambda day: {'engine': 'mssql', 'state': {'perf': {
        'sessions': 80, 'buffer_hit_pct': 99.2,
        'top_waits': [{'event': 'CXPACKET', 'seconds': 700.0}, {'event': 'PAGEIOLATCH_SH', 'seconds': 100.0}]}}}, days=4)
    day_items(store, 'db', 'db:hr@db04', 'db04', lambda day: {'engine': 'mssql', 'state': {'perf': {
        'sessions': 10, 'buffer_hit_pct': 99.9,
        'top_waits': [{'event': 'WRITELOG', 'seconds': 100.0}, {'event': 'PAGEIOLATCH_SH', 'seconds': 90.0}]}}}, days=4)
    found = hints_of(store)
    assert sorted(found) == [('erp', 'hint_top_wait')]           # hr: nothing dominates, the cache is fine
    assert found[('erp', 'hint_top_wait')]['points_at'].text('en').startswith('parallelism: MAXDOP')


def test_two_readings_are_not_enough_for_a_hint(store):
    day_items(store, 'db', 'db:orcl@db01', 'db01', oracle(lambda d: 50.0, []), days=tuning.MIN_READINGS - 1)
    assert hints_of(store) == {}
