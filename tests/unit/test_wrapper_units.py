"""Wrapper pieces on real SQLite files: store schema, ingestion of event streams, redaction, drift."""
import pytest
from sqlalchemy import insert

from bjeic_ops import BjeicOpsError, ledger
from bjeic_ops.ingest import Ingestor, change_records
from bjeic_ops.redact import MASK, Redactor, secret_values
from bjeic_ops.store import COMPLETE, INCOMPLETE, RUNNING, SCHEMA_VERSION, Store, StoreError, schema_version


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def event(kind, host, res, task='Inspect', action='bjeic.ops.linux_inspect'):
    return {'event': kind, 'event_data': {'host': host, 'task': task, 'task_action': action, 'res': res}}


def inspection(host, uptime, rules):
    return {'changed': False, 'findings': [
        {'check': 'fs.usage', 'severity': 'warning', 'subject': '/', 'value': 85, 'threshold': 80, 'message': 'full'}],
        'ledger': [{'kind': 'os', 'key': 'host:' + host, 'attrs': {'hostname': host, 'state': {'uptime_seconds': uptime}}},
                   {'kind': 'network', 'key': 'netpolicy:' + host, 'attrs': {'firewall': {'nftables': rules}}}]}


def test_new_store_has_the_current_schema_and_refuses_a_newer_one(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 's.sqlite')
    store = Store(url)
    assert store.version() == SCHEMA_VERSION == 8
    with store.engine.begin() as conn:
        conn.execute(insert(schema_version).values(version=9))
    with pytest.raises(StoreError, match='schema version 9, newer than this bjeic-ops knows'):
        Store(url)


def test_a_version_1_store_is_migrated_and_keeps_its_runs(tmp_path):
    from sqlalchemy import create_engine
    from bjeic_ops import store as store_module
    url = 'sqlite:///%s' % (tmp_path / 'old.sqlite')
    engine = create_engine(url)
    later = ('drills', 'incidents', 'incident_events', 'duty_watches', 'cloud_events', 'store_info',   # versions 2-6 added
             'alert_state', 'notifications', 'schedule_events')
    with engine.begin() as conn:   # the store as version 1 made it
        store_module.metadata.create_all(conn, tables=[t for name, t in store_module.metadata.tables.items()
                                                       if name not in later])
        conn.execute(insert(schema_version).values(version=1))
    engine.dispose()
    old = Store(url)
    run = old.begin_run('drill.yml')
    ingest = Ingestor(old, run)
    drill = {'name': 'cron failure on a', 'kind': 'service_failure', 'outcome': 'passed',
             'started': '2026-11-26T08:00:00.000000Z', 'finished': '2026-11-26T08:01:00.000000Z',
             'timings': {'total_seconds': 60.0}, 'objectives': {}, 'steps': [{'name': 'fault', 'ok': True}]}
    ingest(event('runner_on_ok', 'a', {'changed': False, 'drill': drill}, action='bjeic.ops.drill_record'))
    ingest.flush()
    assert old.version() == SCHEMA_VERSION
    assert old.incidents() == [] and old.watches() == [] and old.cloud_events() == []
    assert old.notifications() == [] and old.schedule_events() == [] and old.alert_states() == {}
    [row] = old.drills()
    assert (row['name'], row['outcome'], row['host'], row['timings']) == ('cron failure on a', 'passed', 'a',
                                                                          {'total_seconds': 60.0})
    assert row['started'].isoformat().startswith('2026-11-26T08:00:00')


def test_unopenable_store_says_where(tmp_path):
    with pytest.raises(StoreError, match='cannot create the store /nonexistent-dir/x.sqlite: the directory /nonexistent-dir does not exist'):
        Store('sqlite:////nonexistent-dir/x.sqlite')


def test_ingested_stream_feeds_the_current_ledger_only_when_complete(store):
    first = store.begin_run('p.yml')
    ingest = Ingestor(store, first, batch_rows=3)
    for host in ('a', 'b'):
        ingest(event('runner_on_ok', host, inspection(host, 10, ['tcp dport 22 accept'])))
    ingest.flush()
    assert store.ledger('os') == []                       # still running
    store.finish_run(first, COMPLETE, 'successful', 0)
    assert [i['key'] for i in store.ledger('os')] == ['host:a', 'host:b']
    assert len(store.findings()) == 2
    assert ingest.stats.findings['warning'] == 2 and ingest.stats.hosts_seen == {'a', 'b'}

    second = store.begin_run('p.yml')
    ingest = Ingestor(store, second)
    ingest(event('runner_on_ok', 'a', inspection('a', 99, ['tcp dport 22 accept', 'tcp dport 80 accept'])))
    ingest.flush()
    store.finish_run(second, INCOMPLETE, 'canceled', 99)
    assert [i['run_id'] for i in store.ledger('os')] == [first, first]    # the incomplete run is not current
    with pytest.raises(StoreError, match='only complete runs have a ledger'):
        store.ledger('os', run_id=second)


def test_results_are_stored_when_the_next_task_starts(store):
    """A long task after the inspection must not keep its results in memory (kill -9 would lose them)."""
    run_id = store.begin_run('p.yml')
    ingest = Ingestor(store, run_id, batch_rows=10000, batch_seconds=3600)
    ingest(event('runner_on_ok', 'a', inspection('a', 10, [])))
    assert store.count('ledger_items', run_id) == 0          # buffered: the task may have more hosts
    ingest({'event': 'playbook_on_task_start', 'event_data': {'task': 'Wait a long time'}})
    assert store.count('ledger_items', run_id) == 2


def test_a_run_left_running_by_a_dead_process_is_reaped(store):
    run_id = store.begin_run('p.yml')
    with store.engine.begin() as conn:
        conn.exec_driver_sql('UPDATE runs SET pid = 999999999 WHERE id = %d' % run_id)
    assert store.reap_stale_runs() == [run_id]
    assert store.get_run(run_id)['state'] == INCOMPLETE
    alive = store.begin_run('p.yml')                      # this process: alive, left alone
    assert store.reap_stale_runs() == [] and store.get_run(alive)['state'] == RUNNING


def test_change_records_from_contract_and_from_diff():
    contract = change_records('bjeic.ops.linux_harden', {
        'changed': True, 'changes': [{'object': '/etc/ssh/sshd_config', 'action': 'set', 'before': 'yes', 'after': 'no'}],
        'rollback': {'id': 'bk1'}})
    assert contract == [{'object': '/etc/ssh/sshd_config', 'action': 'set', 'before': 'yes', 'after': 'no',
                         'diff': None, 'rollback': {'id': 'bk1'}}]
    copied = change_records('ansible.builtin.copy', {
        'changed': True, 'dest': '/etc/motd', 'diff': [{'before': 'a\n', 'after': 'b\n'}]})
    assert copied[0]['object'] == '/etc/motd' and copied[0]['action'] == 'ansible.builtin.copy'
    assert '-a\n+b\n' in copied[0]['diff']


def test_loop_results_each_count(store):
    run_id = store.begin_run('p.yml')
    ingest = Ingestor(store, run_id)
    ingest(event('runner_on_ok', 'a', {'changed': True, 'results': [
        {'changed': True, 'dest': '/etc/x', 'diff': {'before': '1', 'after': '2'}},
        {'changed': False, 'dest': '/etc/y'}]}, action='ansible.builtin.copy'))
    ingest.flush()
    assert [c['object'] for c in store.changes()] == ['/etc/x']


def test_check_mode_records_no_changes(store):
    run_id = store.begin_run('p.yml', check_mode=True)
    ingest = Ingestor(store, run_id, check_mode=True)
    ingest(event('runner_on_ok', 'a', {'changed': True, 'dest': '/etc/x'}, action='ansible.builtin.copy'))
    ingest.flush()
    assert store.changes() == []


def test_redaction_by_key_and_by_value():
    extra_vars = {'db': {'login_password': 'hunter2-long'}, 'api_token': 'tok-123456', 'port': 5432}
    redactor = Redactor(list(secret_values(extra_vars)) + ['vault-secret'])
    data = redactor.data({'login_password': 'x' * 8, 'msg': 'connect with hunter2-long then vault-secret',
                          'password_max_days': 90, 'items': [{'token': 'abc'}]})
    assert data == {'login_password': MASK, 'msg': 'connect with %s then %s' % (MASK, MASK),
                    'password_max_days': 90, 'items': [{'token': MASK}]}


def test_drift_ignores_state_and_order_and_reports_list_elements():
    old = [{'key': 'h:a', 'attrs': {'kernel': '6.1', 'state': {'uptime': 1},
                                    'filesystems': [{'mountpoint': '/', 'size': 1}, {'mountpoint': '/var', 'size': 2}],
                                    'rules': ['r1', 'r2']}},
           {'key': 'h:gone', 'attrs': {}}]
    new = [{'key': 'h:a', 'attrs': {'kernel': '6.2', 'state': {'uptime': 999},
                                    'filesystems': [{'mountpoint': '/var', 'size': 3}, {'mountpoint': '/', 'size': 1}],
                                    'rules': ['r2', 'r3']}},
           {'key': 'h:new', 'attrs': {}}]
    drift = ledger.diff(old, new)
    assert drift == [
        {'key': 'h:a', 'change': 'changed', 'path': 'filesystems[/var].size', 'before': 2, 'after': 3},
        {'key': 'h:a', 'change': 'changed', 'path': 'kernel', 'before': '6.1', 'after': '6.2'},
        {'key': 'h:a', 'change': 'changed', 'path': 'rules', 'before': ['r1'], 'after': ['r3']},
        {'key': 'h:gone', 'change': 'removed', 'path': '', 'before': None, 'after': None},
        {'key': 'h:new', 'change': 'added', 'path': '', 'before': None, 'after': None},
    ]


def test_extra_vars_take_quoted_values_with_spaces_as_ansible_playbook_does():
    from bjeic_ops.cli import parse_extra_vars
    assert parse_extra_vars(["target=web01 cmd='grep -q 8080 /etc/app.conf'", '{"n": 1}']) == {
        'target': 'web01', 'cmd': 'grep -q 8080 /etc/app.conf', 'n': 1}
    with pytest.raises(BjeicOpsError, match='not KEY=VALUE'):
        parse_extra_vars(['lonely'])


def test_a_result_that_breaks_the_contract_is_refused_with_a_finding_naming_task_and_module(store):
    """Before: a finding without a check id was stored as check '?', a ledger item of an unknown kind as it
    came. Now the parts at fault are left out and one critical finding says which task and module."""
    run_id = store.begin_run('p.yml')
    ingest = Ingestor(store, run_id)
    ingest(event('runner_on_ok', 'web01', {'changed': False,
                                           'findings': [{'severity': 'warning', 'subject': '/', 'message': 'full'}],
                                           'ledger': [{'kind': 'os', 'key': 'host:web01', 'attrs': {}}]},
                 task='Inspect', action='acme.tools.inspect'))
    ingest(event('runner_on_ok', 'web02', {'changed': True,
                                           'changes': [{'object': '/etc/x', 'action': 'set', 'before': 1, 'after': 2}],
                                           'rollback': 'undo it by hand',
                                           'ledger': [{'kind': 'hardware', 'key': 'host:web02', 'attrs': {}}]},
                 task='Tune', action='acme.tools.tune'))
    ingest(event('runner_on_ok', 'web03', inspection('web03', 100, ['accept'])))
    ingest.close()
    found = store.findings(run_id)
    assert '?' not in {f['check_id'] for f in found}
    invalid = {f['host']: f for f in found if f['check_id'] == 'contract.invalid'}
    assert set(invalid) == {'web01', 'web02'}
    assert invalid['web01']['severity'] == 'critical' and invalid['web01']['subject'] == 'Inspect (acme.tools.inspect)'
    assert 'so its findings were not recorded: findings[0] lacks check, value, threshold' in invalid['web01']['message']
    assert 'its ledger, rollback were not recorded' in invalid['web02']['message']
    with store.engine.connect() as conn:
        kinds = conn.exec_driver_sql('SELECT host, kind FROM ledger_items ORDER BY host, kind').fetchall()
    assert kinds == [('web01', 'os'), ('web03', 'network'), ('web03', 'os')]   # good items kept, bad ones not
    [change] = store.changes(run_id=run_id)
    assert (change['host'], change['object'], change['rollback']) == ('web02', '/etc/x', None)   # it happened
    assert [f['check_id'] for f in found if f['host'] == 'web03'] == ['fs.usage']
