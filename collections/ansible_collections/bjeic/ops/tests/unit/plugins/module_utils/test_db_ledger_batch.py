"""The ledger of many instances in one call: each entry validated by its own engine's options (others dropped, the
engine's defaults applied, a bad entry failing alone), results grouped per host in the order given, an instance that
hangs reported as not read without holding the others, one that crashes said in words. Against a real MariaDB the
whole path (role, module, host_result, store) is tested in tests/integration/test_mysql_ledger.py."""
import threading
import time

from ansible_collections.bjeic.ops.plugins.module_utils import db_ledger_batch as batch
from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql, db_mysql, db_oracle


def entry(engine, host, **extra):
    """An `instances` entry as AnsibleModule hands it over: every option of the union, unset ones None."""
    base = dict((name, None) for name in batch.instance_options())
    base.update(engine=engine, host=host, login_host='127.0.0.1', login_user='m', login_password='S3cret-ledger-pw')
    base.update(extra)
    return base


def test_each_entry_gets_its_own_engines_options_and_defaults():
    engine, params = batch.engine_params(entry('mysql', 'db01', service_name='ORCL', sample_seconds=0.5), {'x': 1})
    assert engine is db_mysql
    assert 'service_name' not in params                     # an Oracle option, dropped as the per-engine task did
    assert (params['login_port'], params['sample_seconds'], params['connect_timeout']) == (3306, 0.5, 10)
    assert params['releases'] == {'x': 1} and params['login_password'] == 'S3cret-ledger-pw'
    engine, params = batch.engine_params(entry('mssql', 'db02', sample_seconds=2.0), {})
    assert engine is db_mssql and (params['login_port'], params['login_database']) == (1433, 'master')
    engine, error = batch.engine_params(entry('oracle', 'db03'), {})
    assert engine is db_oracle and 'service_name' in error


def test_results_are_grouped_per_host_in_order_and_a_bad_entry_fails_only_its_host():
    def read(params, engine):
        return dict(changed=False, available=True, ledger=[], findings=[], probes=[],
                    msg='%s:%s' % (engine.ENGINE, params['name']))
    instances = [entry('mysql', 'db01', name='shop'), entry('oracle', 'db02', name='hr'),    # no service_name
                 entry('mysql', 'db01', name='crm'), entry('mssql', 'db03', name='erp')]
    hosts = batch.read_all(instances, {}, 4, 30, read=read)
    assert sorted(hosts) == ['db01', 'db02', 'db03']
    assert [r['msg'] for r in hosts['db01']['results']] == ['mysql:shop', 'mysql:crm']
    assert hosts['db01']['failed'] is False and hosts['db01']['msg'] == 'mysql:shop; mysql:crm'
    assert hosts['db02']['failed'] is True
    assert hosts['db02']['msg'].startswith('1 of 1 instance(s) could not be read: host db02, instance hr (oracle): ')
    assert 'service_name' in hosts['db02']['msg'] and 'S3cret' not in hosts['db02']['msg']
    assert batch.counts(hosts) == dict(instances=4, hosts=3, read=3, unreachable=0, failed=1)


def test_an_instance_that_hangs_is_not_read_and_does_not_hold_the_others():
    release = threading.Event()

    def read(params, engine):
        if params['name'] == 'frozen':
            release.wait(60)             # a server that accepted the connection and then said nothing
        return dict(changed=False, available=True, msg=params['name'])
    instances = [entry('mysql', 'db01', name='frozen'), entry('mysql', 'db02', name='shop'),
                 entry('mysql', 'db02', name='crm')]
    started = time.time()
    hosts = batch.read_all(instances, {}, 2, 2, read=read)
    release.set()
    assert time.time() - started < 2 * 2 + 3
    assert hosts['db02'] == dict(changed=False, failed=False, msg='shop; crm', results=[
        dict(changed=False, available=True, msg='shop'), dict(changed=False, available=True, msg='crm')])
    assert hosts['db01']['failed'] is True
    assert 'host db01, instance frozen (mysql): not read: no complete answer within' in hosts['db01']['msg']
    assert '(timeout 2 s)' in hosts['db01']['msg']


def test_an_instance_whose_read_crashes_says_so_in_words():
    def read(params, engine):
        raise KeyError('version')
    hosts = batch.read_all([entry('mysql', 'db01', name='odd')], {}, 1, 30, read=read)
    assert hosts['db01']['failed'] is True
    assert "host db01, instance odd (mysql): reading it failed: " in hosts['db01']['msg']
    assert 'version' in hosts['db01']['msg']


def test_a_closed_port_is_unreachable_for_its_host_only():
    """The real read (db_common.read_instance with PyMySQL) against a port nobody listens on."""
    import socket
    if not db_mysql.HAS_DRIVER:
        import pytest
        pytest.skip('PyMySQL is not installed in this environment')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    hosts = batch.read_all([entry('mysql', 'db01', name='gone', login_port=port, connect_timeout=2)], {}, 1, 30)
    [result] = hosts['db01']['results']
    assert result['available'] is False and hosts['db01']['failed'] is False
    assert [f['check'] for f in result['findings']] == ['db.unreachable']
    assert result['probes'][0]['error_class'] == 'refused'
    assert 'S3cret' not in str(hosts)
