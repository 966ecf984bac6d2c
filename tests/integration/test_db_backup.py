"""db_backup against a real MariaDB this test starts on 127.0.0.1: a logical dump and a physical mariadb-backup set
are taken, restore-tested by db_restore_test's own code before they are kept, then restored again by db_restore_test
and found identical to the server (and to the dump's row manifest); retention prunes after a verified backup; a
wrong password keeps nothing; the password is never on a command line while the dump runs (the process table is
sampled) nor in any result or file left behind."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

from labrun import run_module
from mariadb_server import serve

PASSWORD = 'Bk#up;pw "z" 9'


@pytest.fixture(scope='module')
def mariadb():
    quoted = PASSWORD.replace('"', '\\"')
    for server in serve("""
            CREATE DATABASE shop; CREATE DATABASE hr;
            CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2));
            INSERT INTO shop.orders SELECT seq, CONCAT('客户', seq), seq * 1.5 FROM shop.seq_1_to_20000;
            CREATE TABLE hr.staff (id INT PRIMARY KEY, name VARCHAR(40));
            INSERT INTO hr.staff VALUES (1, '张伟'), (2, '李娜');
            CREATE PROCEDURE shop.total() SELECT SUM(total) FROM shop.orders;
            CREATE TRIGGER shop.no_negative BEFORE INSERT ON shop.orders FOR EACH ROW SET NEW.total = ABS(NEW.total);
            CREATE USER bjeic_backup@'127.0.0.1' IDENTIFIED BY "%s";
            GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, PROCESS, BINLOG MONITOR ON *.* TO bjeic_backup@'127.0.0.1';
        """ % quoted):
        yield server


@pytest.fixture
def destination():
    # Outside pytest's private directories: the scratch server runs as mysql.
    path = tempfile.mkdtemp(prefix='bjeic-dbbackup-test-', dir='/var/tmp')
    yield path
    shutil.rmtree(path, ignore_errors=True)


def args(server, destination, **extra):
    base = {'name': 'shop', 'destination': destination, 'databases': ['shop', 'hr'], 'login_host': '127.0.0.1',
            'login_port': server.port, 'login_user': 'bjeic_backup', 'login_password': PASSWORD}
    return dict(base, **extra)


def sample_process_table(stop, seen):
    while not stop.is_set():
        seen.append(subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True).stdout)
        time.sleep(0.02)


def test_a_dump_is_restore_tested_before_it_is_kept_and_restores_identical(mariadb, local_inventory, destination, tmp_path):
    stop, tables = threading.Event(), []
    sampler = threading.Thread(target=sample_process_table, args=(stop, tables))
    sampler.start()
    try:
        result = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_backup', args(mariadb, destination, compare='source'),
                            tmp_path)
    finally:
        stop.set()
        sampler.join()
    [record] = result['backups']
    assert (record['state'], record['verified'], record['kind'], record['method']) == ('taken', True, 'mysql', 'mariadb-dump')
    assert record['tables'] == 2 and result['restore']['different'] == [] and result['restore']['compared_with'] == 'source'
    assert any('mariadb-dump' in table for table in tables), 'the sampler never saw the dump run'
    assert not any(PASSWORD in table for table in tables)
    assert PASSWORD not in json.dumps(result)
    name = os.path.basename(record['path'])
    assert sorted(os.listdir(destination)) == ['.shop.lock', name, name + '.rows']
    assert open(record['path'] + '.rows').read() == 'hr.staff 2\nshop.orders 20000\n'
    assert not glob.glob('/tmp/bjeic-dbbackup-*'), 'the option file with the password was left behind'
    dump = subprocess.run(['zstd', '-dc', record['path']], capture_output=True, check=True).stdout
    assert b'CREATE DEFINER' in dump and b'PROCEDURE `total`' in dump and b'TRIGGER' in dump and b'Dump completed' in dump
    # db_restore_test, as the nightly check runs it, on the backup db_backup took: against the manifest, the source.
    for compare in ('manifest', 'source'):
        checked = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_restore_test', {
            'name': 'shop', 'backup_path': os.path.join(destination, 'shop-*.sql.zst'), 'databases': ['shop', 'hr'],
            'compare': compare, 'manifest': '{file}.rows', 'login_host': '127.0.0.1', 'login_port': mariadb.port,
            'login_user': 'bjeic_backup', 'login_password': PASSWORD}, tmp_path)
        assert checked['findings'] == [] and checked['backup']['restore']['ok'] is True, checked['findings']
        assert checked['backup']['restore']['rows'] == 20002


def test_retention_prunes_only_after_a_verified_backup(mariadb, local_inventory, destination, tmp_path):
    first = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_backup', args(mariadb, destination), tmp_path)
    time.sleep(1.1)
    second = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_backup',
                        args(mariadb, destination, retention={'keep': 1}), tmp_path)
    assert second['backups'][0]['pruned'] == [first['backups'][0]['path']]
    assert [c['action'] for c in second['changes']] == ['backup', 'prune']
    assert not os.path.exists(first['backups'][0]['path']) and not os.path.exists(first['backups'][0]['path'] + '.rows')


def test_a_wrong_password_keeps_nothing_and_says_why(mariadb, local_inventory, destination, tmp_path):
    result = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_backup',
                        args(mariadb, destination, login_password='not-it'), tmp_path, expect_failure=True)
    [record] = result['backups']
    assert record['state'] == 'failed' and 'Access denied' in record['error'] and 'nothing was kept' in record['error']
    assert [f['check'] for f in result['findings']] == ['backup.failed']
    assert os.listdir(destination) == ['.shop.lock']


def test_a_physical_backup_is_restore_tested_before_it_is_kept(mariadb, local_inventory, destination, tmp_path):
    if not shutil.which('mariadb-backup'):
        pytest.skip('mariadb-backup is not installed: scripts/bootstrap --test installs it')
    result = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_backup', {
        'name': 'full', 'method': 'physical', 'destination': destination, 'login_user': 'root',
        'login_unix_socket': mariadb.socket, 'datadir': mariadb.datadir, 'databases': ['shop', 'hr']}, tmp_path)
    [record] = result['backups']
    assert (record['state'], record['verified'], record['method']) == ('taken', True, 'mariadb-backup')
    assert result['restore']['kind'] == 'physical' and result['restore']['tables'] == 2
    assert os.path.isdir(record['path']) and os.path.basename(record['path']).startswith('full-')
    assert not [e for e in os.listdir(destination) if e.startswith('.full-')]
