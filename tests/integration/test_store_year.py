"""A store holding months of operations answers the same after the retention has thinned it and after a version-7
store holding the same record has been migrated, on SQLite and on the PostgreSQL the tests start: drift (by date and between runs), right-sizing, the daily, monthly,
acceptance and cloud views, the ledgers. The history is made of results captured from real modules
(bench/data, tests/fixtures/windows), through the Ingestor, dated back day by day; some days have a second
inspection and some hosts change their configuration, so that there is something to thin and something to drift."""
import copy
import json
import os
from datetime import timedelta

import pytest
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, create_engine, insert, select

from bjeic_ops import acceptance, availability, cloud, i18n, ledger, reports
from bjeic_ops.ingest import Ingestor
from bjeic_ops.store import COMPLETE, Store, ledger_configs, ledger_items, metadata, probes
from bjeic_ops.times import now

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DAYS = 120
LINUX, WINDOWS, INSTANCES = ('lnx1', 'lnx2', 'lnx3'), ('win1', 'win2'), ('orders', 'hr')
SECOND_RUN_DAYS = (20, 50, 100)          # a second inspection that day (an operator re-ran it)


def load(*path):
    with open(os.path.join(ROOT, *path)) as handle:
        return json.load(handle)


def at_host(result, host):
    res = copy.deepcopy(result)
    for item in res.get('ledger') or []:
        prefix, rest = item['key'].split(':', 1)
        item['key'] = ('%s:%s@%s' % (prefix, rest.rsplit('@', 1)[0], host) if '@' in rest else
                       'self:vm:%s' % host if prefix == 'self' else '%s:%s' % (prefix, host))
    return res


class History:
    def __init__(self):
        self.linux = load('bench', 'data', 'inspection-result.json')
        self.windows = load('tests', 'fixtures', 'windows', 'win_inspect.json')
        self.check = load('bench', 'data', 'backup-check-result.json')
        self.db = load('bench', 'data', 'mysql-ledger-result.json')
        self.harden = load('bench', 'data', 'harden-audit-result.json')
        self.start = (now() - timedelta(days=DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)

    def inspection(self, host, day, hour):
        res = at_host(self.windows if host.startswith('win') else self.linux, host)
        for item in res['ledger']:
            state = item['attrs'].get('state')
            if item['kind'] == 'os':
                if host == 'lnx1' and day >= 60:
                    item['attrs']['kernel'] = '6.1.0-28-amd64'            # patched on day 60
                state['load'] = {'1m': 0.2, '5m': round(0.1 + (day % 7) * 0.1 + hour / 100.0, 3), '15m': 0.3}
                state['memory_available_bytes'] = int(2e9 + day * 1e7)
                for fs in state.get('filesystems') or []:
                    fs['used_pct'] = round(20 + day * 0.3 + hour / 10.0, 1)
                state.setdefault('sessions', []).append({'user': 'ops', 'from': '10.0.0.%d' % day})
            if item['kind'] == 'network' and host == 'lnx2' and day >= 90:
                item['attrs']['listening'] = item['attrs']['listening'] + [
                    {'port': 8443, 'proto': 'tcp', 'address': '0.0.0.0', 'process': 'java'}]
        return res

    def db_result(self, instance, day):
        if instance == 'hr' and day == 70:   # a failed read: the finding, and a down probe
            subject = 'db:hr@10.0.0.7'
            return {'changed': False, 'ledger': [], 'msg': 'down',
                    'findings': [{'check': 'db.unreachable', 'severity': 'critical', 'subject': subject,
                                  'value': 'Connection refused', 'threshold': None, 'message': subject + ': refused'}],
                    'probes': [{'instance': 'hr', 'up': False, 'error_class': 'error', 'error': 'Connection refused'}]}
        res = copy.deepcopy(self.db)
        res['ledger'][0]['key'] = 'db:%s@dbsrv' % instance
        res['probes'] = [{'instance': instance, 'up': True}]
        return res


def record(store, playbook, at, results, module):
    run_id = store.begin_run(playbook, started_at=at)
    ingest = Ingestor(store, run_id)
    for host, res in results:
        ingest({'event': 'runner_on_ok', 'created': at.isoformat(),
                'event_data': {'host': host, 'task': 'task', 'task_action': module, 'res': res}})
    ingest.close()
    assert ingest.failure is None
    store.finish_run(run_id, COMPLETE, 'successful', 0, finished_at=at + timedelta(minutes=1))
    return run_id


def fill(store):
    history, runs = History(), {}
    for day in range(DAYS):
        midnight = history.start + timedelta(days=day)
        for hour in (6, 18) if day in SECOND_RUN_DAYS else (6,):
            runs[(day, hour)] = record(store, 'playbooks/daily_inspection.yml', midnight + timedelta(hours=hour), [
                (h, history.inspection(h, day, hour)) for h in LINUX + WINDOWS], 'bjeic.ops.linux_inspect')
        record(store, 'playbooks/backup_verify.yml', midnight + timedelta(hours=3),
               [(h, at_host(history.check, h)) for h in LINUX], 'bjeic.ops.backup_check')
        record(store, 'playbooks/db_ledger.yml', midnight + timedelta(hours=7),
               [('dbsrv', history.db_result(i, day)) for i in INSTANCES], 'bjeic.ops.mysql_ledger')
        if midnight.day == 15:
            record(store, 'playbooks/harden.yml', midnight + timedelta(hours=9),
                   [(h, at_host(history.harden, h)) for h in LINUX], 'bjeic.ops.linux_harden')
    return history, runs


def plain(value):
    """Report data with its sentences in words, so two reports compare as data."""
    if isinstance(value, i18n.Phrase):
        return value.text('en')
    if isinstance(value, dict):
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def sections(report):
    return plain([(s.ident, s.kpis, s.columns, s.rows, s.tones, s.chart) for s in report.sections])


def answers(store, history, runs):
    start, end = history.start, history.start + timedelta(days=DAYS)
    # months that are over: the current one is measured until now, which moves between two computations
    months = sorted(set((start + timedelta(days=d)).astimezone().strftime('%Y-%m') for d in range(DAYS))
                    - {now().astimezone().strftime('%Y-%m')})
    result = {
        'drift_since_day_40': ledger.diff(store.ledger('os', before=start + timedelta(days=40)), store.ledger('os')),
        'drift_network_runs': ledger.diff(store.ledger('network', run_id=runs[(30, 6)]),
                                          store.ledger('network', run_id=runs[(110, 6)])),
        'ledger_rows': dict((kind, ledger.rows(store.ledger(kind), kind)) for kind in ('os', 'network', 'db', 'backup')),
        'sizing_30': cloud.optimize(store, days=30),
        'sizing_all': cloud.optimize(store, days=DAYS + 1),
        'daily_latest': sections(reports.daily(store)),
        'daily_old': sections(reports.daily(store, run_id=runs[(50, 18)])),
        'monthly': dict((month, sections(reports.monthly(store, month))) for month in months),
        'acceptance': sections(acceptance.acceptance(store, start, end)),
        'cloud_history': cloud.history_rows(store, 'vm:win1', 'en'),
        'availability': [dict((k, v) for k, v in i.row().items() if k not in ('engine', 'latency_avg_ms', 'latency_max_ms'))
                         for i in availability.per_instance(store, start, end)],
    }
    return result


@pytest.fixture(scope='module', params=['sqlite', 'postgresql'])
def new_url(request, tmp_path_factory):
    """A function making the URL of a new, empty store on the backend of this round."""
    if request.param == 'sqlite':
        base = tmp_path_factory.mktemp('year')
        return lambda name: 'sqlite:///%s' % (base / ('%s.sqlite' % name))
    server = request.getfixturevalue('postgres_url')
    admin = create_engine(server, isolation_level='AUTOCOMMIT')

    def make(name):
        with admin.connect() as conn:
            conn.exec_driver_sql('CREATE DATABASE year_%s' % name)
        return server.rsplit('/', 1)[0] + '/year_%s' % name
    return make


@pytest.fixture(scope='module')
def filled(new_url):
    store = Store(new_url('main'))
    history, runs = fill(store)
    return store, history, runs, answers(store, history, runs)


def test_compaction_thins_old_state_and_every_answer_stays_the_same(filled, new_url):
    store, history, runs, before = filled
    compacted = Store(new_url('compacted'))
    assert fill(compacted)[1] == runs                             # the same record, run for run
    with store.engine.connect() as conn:   # the mornings of the days inspected twice: their state is to go
        mornings = [runs[(day, 6)] for day in SECOND_RUN_DAYS if day < DAYS - 31]
        expected = len(conn.execute(select(ledger_items.c.id).where(
            ledger_items.c.run_id.in_(mornings), ledger_items.c.state.is_not(None))).all())
    done = compacted.compact(keep_days=30)
    assert expected >= 2 * 5 and done['thinned'] == expected and done['slimmed'] > 0 and done['days'] >= DAYS - 31
    with compacted.engine.connect() as conn:
        thinned = conn.execute(select(ledger_items.c.id).where(ledger_items.c.state.is_(None),
                                                               ledger_items.c.kind == 'os')).all()
        assert len(thinned) == 2 * 5
        old = conn.execute(select(ledger_items.c.state).where(ledger_items.c.run_id == runs[(10, 6)],
                                                              ledger_items.c.kind == 'os')).first()
        assert 'sessions' not in old.state and 'load' in old.state and 'filesystems' in old.state
    assert compacted.compact(keep_days=30)['days'] == 0          # the next night starts where this one stopped
    after = answers(compacted, history, runs)
    for name in before:
        assert after[name] == before[name], (name, first_difference(after[name], before[name]))


def first_difference(a, b, path=''):
    """Where two answers part, for the failure message."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b), key=str):
            if a.get(key) != b.get(key):
                return first_difference(a.get(key), b.get(key), '%s.%s' % (path, key))
    if isinstance(a, list):
        if len(a) != len(b):
            return path, len(a), len(b)
        for index, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return first_difference(x, y, '%s[%d]' % (path, index))
    return path, a, b


def test_a_version_7_store_migrates_to_the_same_answers(filled, new_url):
    store, history, runs, before = filled
    url = new_url('v7')
    make_version_7(store, url)
    migrated = Store(url)
    with migrated.engine.connect() as conn:
        assert conn.execute(select(ledger_configs.c.id)).all()          # the configurations, split out
        # one probe per db ledger observation (up) and per db.unreachable finding (down), as the record held them
        assert len(conn.execute(select(probes.c.id)).all()) == DAYS * len(INSTANCES)
    after = answers(migrated, history, runs)
    for name in before:
        assert after[name] == before[name], (name, first_difference(after[name], before[name]))
    with migrated.engine.connect() as conn, store.engine.connect() as original:   # ids kept: newest is highest
        assert [r.id for r in conn.execute(select(ledger_items.c.id).order_by(ledger_items.c.id))] == \
            [r.id for r in original.execute(select(ledger_items.c.id).order_by(ledger_items.c.id))]


def make_version_7(store, url):
    """The same record as a version-7 store holds it: every observation whole in ledger_items.attrs, no split
    configurations, no probes table."""
    engine = create_engine(url)
    v7 = MetaData()
    old_ledger = Table('ledger_items', v7, Column('id', Integer, primary_key=True), Column('run_id', Integer),
                       Column('host', String(255)), Column('kind', String(20)), Column('key', String(500)),
                       Column('attrs', JSON), Column('seen_at', DateTime(timezone=True)))
    new_only = ('ledger_configs', 'ledger_items', 'probe_targets', 'probes', 'probe_days')
    with engine.begin() as target, store.engine.connect() as source:
        metadata.create_all(target, tables=[t for n, t in metadata.tables.items() if n not in new_only])
        v7.create_all(target)
        for name, table in metadata.tables.items():
            if name in new_only or name == 'schema_version':
                continue
            rows = [dict(r) for r in source.execute(select(table)).mappings()]
            if rows:
                target.execute(insert(table), rows)
        target.execute(insert(metadata.tables['schema_version']), [{'version': v} for v in range(1, 8)])
        configs = dict((r.id, r.attrs) for r in source.execute(select(ledger_configs.c.id, ledger_configs.c.attrs)))
        rows = []
        for row in source.execute(select(ledger_items)).mappings():
            attrs = dict(configs[row['config_id']])
            if row['state'] is not None:
                attrs['state'] = row['state']
            rows.append(dict(id=row['id'], run_id=row['run_id'], host=row['host'], kind=row['kind'], key=row['key'],
                             attrs=attrs, seen_at=row['seen_at']))
        target.execute(insert(old_ledger), rows)
    engine.dispose()


def test_the_year_of_probes_is_answered_in_sql_not_by_reading_every_row(filled):
    """Availability of the whole period is one aggregate query: its rows are per instance, not per probe."""
    store, history, _runs, _before = filled
    start = history.start
    rows = store.probe_coverage(start, start + timedelta(days=DAYS), 900)
    assert sorted((r['instance'], r['probes'], r['failed']) for r in rows) == [('hr', DAYS, 1), ('orders', DAYS, 0)]


def test_trends_read_one_observation_a_day_however_often_a_key_was_read(new_url):
    """A store from before the probes holds a db ledger read every few minutes. observations(daily=True) gives each
    key's last reading of each UTC day from complete, non-check runs - in SQL, on both backends - so the capacity
    forecast and the tuning hints see the same readings as in a store that read the instance once a day."""
    from bjeic_ops import forecast, tuning
    history = History()
    busy, calm = Store(new_url('busy_reads')), Store(new_url('daily_reads'))
    start = (now() - timedelta(days=12)).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(10):
        midnight = start + timedelta(days=day)
        for minute in range(0, 24 * 60, 240):     # six reads a day, the last at 20:00 UTC
            res = history.db_result('orders', day)
            space = res['ledger'][0]['attrs']['state']['spaces'][0]
            space['free_pct'] = round(60 - day * 3 - minute / 1000.0, 2)   # the day's last read is the lowest
            at = midnight + timedelta(minutes=minute)
            record(busy, 'db_ledger.yml', at, [('dbsrv', res)], 'bjeic.ops.mysql_ledger')
            if minute == 20 * 60:
                record(calm, 'db_ledger.yml', at, [('dbsrv', res)], 'bjeic.ops.mysql_ledger')
        check = history.db_result('orders', day)              # a check run late that day: never the day's reading
        check['ledger'][0]['attrs']['state']['spaces'][0]['free_pct'] = 1.0
        run_id = busy.begin_run('db_ledger.yml', started_at=midnight + timedelta(hours=23), check_mode=True)
        ingest = Ingestor(busy, run_id, check_mode=True)
        ingest({'event': 'runner_on_ok', 'created': (midnight + timedelta(hours=23)).isoformat(),
                'event_data': {'host': 'dbsrv', 'task': 't', 'task_action': 'bjeic.ops.mysql_ledger', 'res': check}})
        ingest.close()
        busy.finish_run(run_id, COMPLETE, 'successful', 0, finished_at=midnight + timedelta(hours=23, minutes=1))
    since, until = start, start + timedelta(days=10)
    daily = busy.observations('db', since, until, daily=True)
    assert len(daily) == 10 and len(busy.observations('db', since, until)) == 70
    assert [i['seen_at'].hour for i in daily] == [20] * 10 and not any(i['check_mode'] for i in daily)
    assert [plain(r) for r in forecast.readings(busy, since, until).values()] == \
        [plain(r) for r in forecast.readings(calm, since, until).values()]
    assert plain(tuning.hints(busy, since, until)) == plain(tuning.hints(calm, since, until))
