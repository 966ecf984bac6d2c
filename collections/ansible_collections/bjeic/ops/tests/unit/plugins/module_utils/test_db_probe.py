"""The availability probe: failure classes from the real drivers' errors (against a closed port, a name that does not
resolve) and from the vendors' documented codes; a probe that hangs is reported down as a timeout and the round does
not wait for it; findings. Against a running server the probe is tested in tests/integration/test_db_probe.py."""
import socket
import threading
import time

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import db_probe


def closed_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def options(engine, **extra):
    base = dict(engine=engine, name=None, host=None, login_host='127.0.0.1', login_port=closed_port(),
                login_user='bjeic_monitor', login_password='S3cret-probe-pw', connect_timeout=2,
                login_unix_socket=None, service_name='ORCL' if engine == 'oracle' else None, login_database='master',
                ca_cert=None, client_cert=None, client_key=None, check_hostname=True, tcps=False, wallet_location=None,
                wallet_password=None, ssl_server_cert_dn=None)
    base.update(extra)
    return base


@pytest.mark.parametrize('engine', ['mysql', 'oracle', 'mssql'])
def test_a_closed_port_is_refused_with_each_real_driver(engine):
    if not db_probe.ENGINES[engine].HAS_DRIVER:
        pytest.skip('the %s driver is not installed in this environment' % engine)
    probe = db_probe.probe_one(options(engine))
    assert probe['up'] is False and probe['error_class'] == 'refused', probe
    assert 'refused' in probe['error'].lower() and 'S3cret' not in probe['error']
    assert probe['instance'] == {'mysql': 'mysql-%s' % probe['target'].rsplit(':', 1)[1], 'oracle': 'ORCL',
                                 'mssql': 'mssql'}[engine]
    assert contract.PROBE_ERRORS.index(probe['error_class']) >= 0 and probe['latency_ms'] >= 0


def test_a_name_that_does_not_resolve_is_dns():
    probe = db_probe.probe_one(options('mysql', login_host='no-such-host.invalid', name='shop', host='db01'))
    assert (probe['error_class'], probe['instance'], probe['host']) == ('dns', 'shop', 'db01')


def test_the_driver_missing_is_its_own_class(monkeypatch):
    monkeypatch.setattr(db_probe.db_mysql, 'HAS_DRIVER', False)
    probe = db_probe.probe_one(options('mysql'))
    assert probe['error_class'] == 'driver' and 'PyMySQL' in probe['error']


def test_classes_from_the_vendors_words():
    pymysql = pytest.importorskip('pymysql')
    assert common.failure_class(pymysql.err.OperationalError(1045, "Access denied for user 'm'@'h'")) == 'auth'
    assert common.failure_class(pymysql.err.OperationalError(
        2003, "Can't connect to MySQL server on 'db' (timed out)")) == 'timeout'
    assert common.failure_class(pymysql.err.OperationalError(2013, 'Lost connection to MySQL server during query')) \
        == 'network'
    assert common.failure_class(Exception('ORA-01017: invalid username/password; logon denied')) == 'auth'
    assert common.failure_class(Exception('DPY-6001: cannot connect to database (ORA-12514: listener does not know '
                                          'of service)')) == 'refused'
    assert common.failure_class(Exception("Login failed for user 'bjeic_monitor'.")) == 'auth'
    assert common.failure_class(Exception('certificate verify failed: unable to get local issuer')) == 'tls'
    assert common.failure_class(Exception('something else entirely')) == 'error'


def test_the_most_telling_link_of_the_chain_wins_and_is_shown():
    try:
        try:
            raise ConnectionRefusedError(111, 'Connection refused')
        except ConnectionRefusedError:
            raise TimeoutError()          # python-tds retries a refused port until its login timeout
    except TimeoutError as exc:
        assert common.failure_class(exc) == 'refused'
        assert common.failure_text(exc) == 'TimeoutError (ConnectionRefusedError: [Errno 111] Connection refused)'


def test_a_probe_that_hangs_is_a_timeout_and_the_round_does_not_wait_for_it():
    release = threading.Event()

    def probe(instance):
        if instance['name'] == 'frozen':
            release.wait(60)               # a server that accepted and then said nothing
        return contract.probe(instance['name'], 'mysql', 'db:3306', True, 3, '2026-12-06T00:00:00Z')
    started = time.time()
    instances = [options('mysql', name=name, connect_timeout=1) for name in ('a', 'frozen', 'b', 'c')]
    probes = db_probe.probe_all(instances, 2, probe=probe)
    release.set()
    assert time.time() - started < 2 * db_probe.time_limit(instances[0]) + 3
    assert [(p['instance'], p['up'], p['error_class']) for p in probes] == [
        ('a', True, None), ('frozen', False, 'timeout'), ('b', True, None), ('c', True, None)]
    assert probes[1]['error'] == 'no answer within 4 s'


def test_an_instance_never_reached_in_time_says_it_was_not_probed():
    """Every thread held by a server that hangs past its driver's timeouts: the instances behind it are not reported
    as answering nothing - they were never asked."""
    release = threading.Event()

    def probe(instance):
        release.wait(60)
        return contract.probe(instance['name'], 'mysql', 'db:3306', True, 3, '2026-12-06T00:00:00Z')
    instances = [options('mysql', name=name, connect_timeout=1) for name in ('hung', 'waiting')]
    probes = db_probe.probe_all(instances, 1, probe=probe)
    release.set()
    assert [(p['instance'], p['error_class'], p['error']) for p in probes] == [
        ('hung', 'timeout', 'no answer within 4 s'),
        ('waiting', 'timeout', 'not probed: the round ran out of time waiting for other instances')]


def test_findings_name_the_instance_and_its_class_and_a_slow_answer():
    probes = [contract.probe('shop', 'mysql', 'db01:3306', False, 10, 'x', host='db01', error_class='auth',
                             error='Access denied'),
              contract.probe('hr', 'oracle', 'db02:1521', True, 1500, 'x'),
              contract.probe('erp', 'mssql', 'db03:1433', True, 30, 'x', host='db03')]
    found = db_probe.findings(probes, slow_ms=1000).items
    assert [(f['check'], f['severity'], f['subject'], f['value']) for f in found] == [
        ('db.unreachable', 'critical', 'db:shop@db01', 'auth'), ('db.probe_slow', 'warning', 'db:hr@db02', 1500)]
    assert db_probe.findings(probes[1:], slow_ms=0).items == []


def test_a_probe_is_up_without_a_class_or_down_with_a_known_one():
    with pytest.raises(contract.ContractError):
        contract.probe('x', 'mysql', 't', True, 1, 'x', error_class='auth')
    with pytest.raises(contract.ContractError):
        contract.probe('x', 'mysql', 't', False, 1, 'x', error_class='gremlins')


@pytest.mark.parametrize('engine,dialect', [('mysql', 'mysql'), ('oracle', 'oracle'), ('mssql', 'tsql')])
def test_the_probe_query_parses_in_the_vendors_dialect(engine, dialect):
    sqlglot = pytest.importorskip('sqlglot')
    sqlglot.parse(db_probe.ENGINES[engine].PROBE_SQL, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
