"""Opt-in live tests of oracle_ledger and mssql_ledger against a real server of yours.

No Oracle or SQL Server can run on the test machine, so these run only when given a server:
  BJEIC_ORACLE_DSN=oracle://bjeic_monitor:PASSWORD@db01.example:1521/ORCL
  BJEIC_MSSQL_DSN=mssql://bjeic_monitor:PASSWORD@sql01.example:1433/master
(percent-encode special characters of the password). The modules run locally, as with delegate_to: localhost.
"""
import json
import os
import sys
import urllib.parse

import pytest

from labrun import run_module


def dsn(variable):
    value = os.environ.get(variable)
    if not value:
        pytest.skip('%s is not set: no live server to test against (see this file\'s docstring)' % variable)
    url = urllib.parse.urlsplit(value)
    return url, urllib.parse.unquote(url.password or '')


@pytest.fixture(scope='module')
def local_inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp('inventory') / 'hosts.ini'
    path.write_text('live ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    return path


def check_result(result, engine, password):
    assert result['available'] is True, result['findings']
    [item] = result['ledger']
    assert item['kind'] == 'db' and item['key'].startswith('db:')
    facts = result['database']
    assert facts['engine'] == engine and facts['version'] and facts['server']
    assert facts['datafiles'] and facts['spaces']
    assert password not in json.dumps(result)


def test_oracle_live(local_inventory, tmp_path):
    url, password = dsn('BJEIC_ORACLE_DSN')
    result = run_module(local_inventory, 'live', 'bjeic.ops.oracle_ledger', {
        'login_host': url.hostname, 'login_port': url.port or 1521, 'login_user': url.username,
        'login_password': password, 'service_name': url.path.lstrip('/')}, tmp_path)
    check_result(result, 'oracle', password)
    assert result['database']['archive']['mode'] in ('ARCHIVELOG', 'NOARCHIVELOG')


def test_mssql_live(local_inventory, tmp_path):
    url, password = dsn('BJEIC_MSSQL_DSN')
    result = run_module(local_inventory, 'live', 'bjeic.ops.mssql_ledger', {
        'login_host': url.hostname, 'login_port': url.port or 1433, 'login_user': url.username,
        'login_password': password, 'login_database': url.path.lstrip('/') or 'master'}, tmp_path)
    check_result(result, 'mssql', password)
    assert 'master' in [d['name'] for d in result['database']['databases']]


@pytest.mark.parametrize('module,args', [
    ('bjeic.ops.oracle_ledger', {'service_name': 'ORCL'}),
    ('bjeic.ops.mssql_ledger', {}),
], ids=['oracle', 'mssql'])
def test_real_driver_reports_a_closed_port_as_unreachable(local_inventory, tmp_path, module, args):
    """Runs without a server: the real driver is imported and its connection error becomes db.unreachable."""
    args = dict(args, login_host='127.0.0.1', login_port=1, login_user='bjeic_monitor',
                login_password='Never-Logged-7', connect_timeout=3)
    result = run_module(local_inventory, 'live', module, args, tmp_path)
    [finding] = result['findings']
    assert result['available'] is False and result['ledger'] == []
    assert finding['check'] == 'db.unreachable' and finding['severity'] == 'critical'
    assert '127.0.0.1:1' in finding['message']
    assert 'Never-Logged-7' not in json.dumps(result)


def test_mssql_restore_test_reports_a_closed_port(local_inventory, tmp_path):
    result = run_module(local_inventory, 'live', 'bjeic.ops.db_restore_test', {
        'engine': 'mssql', 'name': 'appdb', 'database': 'appdb', 'login_host': '127.0.0.1', 'login_port': 1,
        'login_user': 'bjeic_monitor', 'login_password': 'Never-Logged-7', 'connect_timeout': 3}, tmp_path)
    [finding] = result['findings']
    assert finding['check'] == 'db.unreachable' and 'Never-Logged-7' not in json.dumps(result)


def test_mssql_live_restore_test(local_inventory, tmp_path):
    """RESTORE VERIFYONLY of the newest full backup of BJEIC_MSSQL_DATABASE (default master)."""
    url, password = dsn('BJEIC_MSSQL_DSN')
    result = run_module(local_inventory, 'live', 'bjeic.ops.db_restore_test', {
        'engine': 'mssql', 'name': 'live', 'database': os.environ.get('BJEIC_MSSQL_DATABASE', 'master'),
        'login_host': url.hostname, 'login_port': url.port or 1433, 'login_user': url.username,
        'login_password': password, 'max_age_hours': 10000}, tmp_path)
    assert result['backup']['restore']['kind'] == 'verifyonly', result['findings']
    assert password not in json.dumps(result)
