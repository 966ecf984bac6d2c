"""The store on a real PostgreSQL server, started by the test on 127.0.0.1 in a private cluster."""
import os
import socket

from bjeic_ops.ingest import Ingestor
from bjeic_ops.store import COMPLETE, SCHEMA_VERSION, Store


def test_store_round_trip_on_postgres(postgres_url):
    store = Store(postgres_url)
    assert store.version() == SCHEMA_VERSION
    run_id = store.begin_run('daily_inspection.yml', operator='li.na', ticket='CHG-9')
    ingest = Ingestor(store, run_id, operator='li.na', ticket='CHG-9')
    ingest({'event': 'runner_on_ok', 'event_data': {'host': 'db01', 'task': 'Inspect', 'task_action': 'x', 'res': {
        'changed': True, 'changes': [{'object': '/etc/x', 'action': 'set', 'before': '中文', 'after': 'b'}],
        'ledger': [{'kind': 'os', 'key': 'host:db01', 'attrs': {'os': {'name': '麒麟'}}}],
        'findings': [{'check': 'fs.usage', 'severity': 'critical', 'subject': '/', 'value': 95.5,
                      'threshold': 90, 'message': '满'}]}}})
    ingest({'event': 'runner_on_failed', 'event_data': {'host': 'db01', 'task': 'Record', 'task_action': 'bjeic.ops.drill_record',
                                                        'res': {'failed': True, 'drill': {
        'name': '数据库恢复演练', 'kind': 'database', 'outcome': 'failed', 'started': '2026-11-26T08:00:00.000000Z',
        'finished': '2026-11-26T08:05:00.000000Z', 'timings': {'total_seconds': 300.0}, 'objectives': {},
        'steps': [{'name': 'restored', 'ok': False, 'detail': 'ERROR 1064'}]}}}})
    ingest.flush()
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    reopened = Store(postgres_url)
    assert reopened.ledger('os')[0]['attrs'] == {'os': {'name': '麒麟'}}
    assert reopened.findings()[0]['value'] == 95.5
    assert reopened.changes()[0]['before'] == '中文' and reopened.changes()[0]['ticket'] == 'CHG-9'
    [drill] = reopened.drills()
    assert (drill['name'], drill['outcome'], drill['steps'][0]['detail']) == ('数据库恢复演练', 'failed', 'ERROR 1064')
    assert (drill['finished'] - drill['started']).total_seconds() == 300


def test_cli_run_into_postgres(postgres_url, cli):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cli('--store', postgres_url, 'run', 'daily_inspection.yml', '-i', os.path.join(root, 'inventories', 'local', 'hosts.yml'))
    store = Store(postgres_url)
    run = store.list_runs()[0]
    assert (run['state'], run['status']) == ('complete', 'successful')
    assert [item['key'] for item in store.ledger('os', run_id=run['id'])] == ['host:%s' % socket.gethostname()]


def test_wrong_postgres_url_is_a_clear_error_without_the_password(cli):
    done = cli('--store', 'postgresql+psycopg://ops:TopSecret99@127.0.0.1:1/x', 'runs', check=False)
    assert done.returncode == 1
    assert 'cannot open the store at postgresql+psycopg://ops:***@127.0.0.1:1/x' in done.stderr
    assert 'TopSecret99' not in done.stderr
