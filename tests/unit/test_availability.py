"""Availability as time from probes: a failed probe starts downtime and the next good one ends it, a gap in probing is
unmeasured (never up), and the verdict is what the record can prove. Probes go in through the Ingestor, as a db_probe
result does."""
from datetime import datetime, timedelta, timezone

import pytest

from bjeic_ops import availability
from bjeic_ops.ingest import Ingestor
from bjeic_ops.store import COMPLETE, Store

DAY = datetime(2026, 11, 10, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def probe(instance, at, up=True, error_class=None, host='db01', latency=20):
    return {'instance': instance, 'host': host, 'engine': 'mysql', 'target': '%s:3306' % host, 'up': up,
            'latency_ms': latency, 'at': at.strftime('%Y-%m-%dT%H:%M:%S.%fZ'), 'version': '10.11.6' if up else None,
            'server': host if up else None, 'error_class': None if up else error_class,
            'error': None if up else 'Connection refused'}


def record(store, probes, at=DAY):
    """One recorded db_probe run holding `probes` (as the module returns them)."""
    run_id = store.begin_run('playbooks/db_probe.yml', started_at=at)
    ingest = Ingestor(store, run_id)
    ingest({'event': 'runner_on_ok', 'created': at.isoformat(), 'event_data': {
        'host': 'localhost', 'task': 'Probe every instance in one call', 'task_action': 'bjeic.ops.db_probe',
        'res': {'changed': False, 'probes': probes, 'findings': []}}})
    ingest.close()
    assert ingest.failure is None
    store.finish_run(run_id, COMPLETE, 'successful', 0, finished_at=at)
    return run_id


def every(minutes, start, end):
    times, at = [], start
    while at < end:
        times.append(at)
        at += timedelta(minutes=minutes)
    return times


def test_a_planted_50_minute_outage_is_50_minutes_of_downtime(store):
    # 5-minute probes all day; down from 10:00 (first failed probe) until 10:50 (the next good one)
    for at in every(5, DAY, DAY + timedelta(days=1)):
        down = DAY + timedelta(hours=10) <= at < DAY + timedelta(hours=10, minutes=50)
        record(store, [probe('orders', at, up=not down, error_class='refused')], at)
    [row] = availability.per_instance(store, DAY, DAY + timedelta(days=1))
    assert (row.instance, row.host, row.probes, row.failed) == ('orders', 'db01', 288, 10)
    assert row.down_s == 50 * 60
    assert row.up_s == 24 * 3600 - 50 * 60 - 0   # the last probe covers 23:55 to midnight: nothing unmeasured
    assert row.unmeasured_s == 0
    assert row.pct == round(100.0 * (1440 - 50) / 1440, 3) == 96.528
    assert row.meets_target == 'no'
    [outage] = availability.outages(store, DAY, DAY + timedelta(days=1))
    assert (outage['minutes'], outage['error_class'], outage['end_seen']) == (50.0, 'refused', True)
    assert outage['started'] == DAY + timedelta(hours=10) and outage['ended'] == DAY + timedelta(hours=10, minutes=50)


def test_a_gap_in_probing_is_unmeasured_not_up_and_the_verdict_says_so(store):
    times = [t for t in every(5, DAY, DAY + timedelta(days=1))
             if not DAY + timedelta(hours=12) <= t < DAY + timedelta(hours=14)]
    for at in times:
        record(store, [probe('orders', at)], at)
    [row] = availability.per_instance(store, DAY, DAY + timedelta(days=1))
    # the 11:55 probe covers 15 minutes; 12:10 to 14:00 nobody looked
    assert row.unmeasured_s == (14 * 60 - (12 * 60 + 10)) * 60
    assert row.down_s == 0 and row.pct == 100.0
    assert row.worst_pct < availability.TARGET <= row.best_pct
    assert row.meets_target == 'unknown'


def test_a_daily_ledger_read_cannot_prove_99_9_percent(store):
    for day in range(3):
        record(store, [probe('orders', DAY + timedelta(days=day, hours=7))], DAY + timedelta(days=day, hours=7))
    [row] = availability.per_instance(store, DAY, DAY + timedelta(days=3))
    assert row.probes == 3 and row.up_s == 3 * 15 * 60
    assert row.meets_target == 'unknown'


def test_downtime_ends_where_probing_stops_covering_it(store):
    record(store, [probe('orders', DAY, up=False, error_class='timeout')], DAY)
    record(store, [probe('orders', DAY + timedelta(hours=2))], DAY + timedelta(hours=2))
    [row] = availability.per_instance(store, DAY, DAY + timedelta(hours=3))
    assert row.down_s == 15 * 60 and row.up_s == 15 * 60
    [outage] = availability.outages(store, DAY, DAY + timedelta(hours=3))
    assert outage['minutes'] == 15.0 and outage['end_seen'] is False


def test_a_window_counts_only_its_own_time_and_the_future_is_not_unmeasured(store):
    for at in every(5, DAY - timedelta(hours=1), DAY + timedelta(hours=2)):
        record(store, [probe('orders', at, up=at < DAY + timedelta(minutes=30), error_class='auth')], at)
    [row] = availability.per_instance(store, DAY, DAY + timedelta(days=30), at=DAY + timedelta(hours=1))
    assert row.window_s == 3600
    assert (row.up_s, row.down_s, row.probes) == (30 * 60, 30 * 60, 12)
    assert row.first_run is not None and row.last_run > row.first_run


def test_instances_are_kept_apart_by_label_and_host(store):
    for at in every(5, DAY, DAY + timedelta(hours=1)):
        record(store, [probe('orders', at), probe('orders', at, host='db02', up=False, error_class='dns'),
                       probe('hr', at)], at)
    rows = availability.per_instance(store, DAY, DAY + timedelta(hours=1))
    assert [(r.instance, r.host, r.meets_target) for r in rows] == [
        ('hr', 'db01', 'yes'), ('orders', 'db01', 'yes'), ('orders', 'db02', 'no')]
    assert [r['meets_target'] for r in (r.row() for r in rows)] == ['yes', 'yes', 'no']


def test_a_probe_without_a_host_belongs_to_the_task_host_and_check_runs_keep_theirs(store):
    run_id = store.begin_run('playbooks/db_ledger.yml', check_mode=True, started_at=DAY)
    ingest = Ingestor(store, run_id, check_mode=True)
    down = probe('orders', DAY, up=False, error_class='auth', host=None)
    ingest({'event': 'runner_on_ok', 'created': DAY.isoformat(), 'event_data': {
        'host': 'db03', 'task': 'Read', 'task_action': 'bjeic.ops.mysql_ledger',
        'res': {'changed': False, 'probes': [down], 'findings': []}}})
    ingest.close()
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    [outage] = availability.outages(store, DAY, DAY + timedelta(hours=1))
    assert (outage['instance'], outage['host'], outage['error_class']) == ('orders', 'db03', 'auth')


def test_summed_days_answer_exactly_as_the_probes_do_and_a_late_probe_is_summed_again(store):
    from bjeic_ops import store_probes
    from bjeic_ops.store import epoch
    # 5-minute probes over three days; an outage across midnight (23:40 to 00:30) and a gap in probing on day 2
    for at in every(5, DAY, DAY + timedelta(days=3)):
        if DAY + timedelta(days=2, hours=3) <= at < DAY + timedelta(days=2, hours=5):
            continue
        down = DAY + timedelta(hours=23, minutes=40) <= at < DAY + timedelta(days=1, minutes=30)
        record(store, [probe('orders', at, up=not down, error_class='refused')], at)
    windows = [(DAY + timedelta(hours=13, minutes=17), DAY + timedelta(days=2, hours=5, minutes=43)),
               (DAY, DAY + timedelta(days=3)), (DAY + timedelta(hours=23), DAY + timedelta(days=1, hours=1))]
    raw = [[r.row() for r in availability.per_instance(store, a, b)] for a, b in windows]
    done = store.compact(at=DAY + timedelta(days=3, hours=3))
    assert done['probe_days'] == 3
    with store.engine.connect() as conn:
        assert store_probes.aggregated(conn) == (epoch(DAY + timedelta(days=3)), 900)
    summed = [[r.row() for r in availability.per_instance(store, a, b)] for a, b in windows]
    assert summed == raw
    assert raw[2][0]['down_minutes'] == 50.0 and raw[1][0]['unmeasured_minutes'] == 120 - 10
    # A probe replayed late into a summed day (a spool): its day is summed again, and the answer follows it.
    late = DAY + timedelta(days=2, hours=4)
    record(store, [probe('orders', late, up=False, error_class='timeout')], late)
    with store.engine.connect() as conn:
        by_days = store_probes.totals(conn, epoch(DAY), epoch(DAY + timedelta(days=3)), 900)
        by_probes = store_probes.raw_totals(conn, epoch(DAY), epoch(DAY + timedelta(days=3)), 900)
    assert by_days == by_probes and by_days[1]['failed'] == 10 + 1
