"""db_restore_test and the database drill on a lab database host (MariaDB under systemd): real
mysqldump backups restored into a scratch instance and compared with the server; a truncated and
a damaged backup are rejected; the password never reaches a result."""
import json
import os

import pytest

from labrun import ROOT, lab_hosts, run_module

pytestmark = pytest.mark.lab

HOST = 'pytest-db'
PASSWORD = 'Dr1ll "pw" #;='
SOCKET = '/run/mysqld/mysqld.sock'

SETUP = r'''
set -e
for i in $(seq 1 50); do mariadb -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.5; done
mariadb <<'SQL'
CREATE DATABASE appdb; CREATE DATABASE crm; USE appdb;
CREATE TABLE appdb.customers (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB;
CREATE TABLE appdb.orders (id INT PRIMARY KEY, customer INT, amount DECIMAL(10,2)) ENGINE=InnoDB;
CREATE TABLE crm.contacts (id INT PRIMARY KEY, email VARCHAR(80)) ENGINE=InnoDB;
INSERT INTO appdb.customers SELECT seq, CONCAT('customer ', seq) FROM seq_1_to_500;
INSERT INTO appdb.orders SELECT seq, seq % 500 + 1, seq * 1.25 FROM seq_1_to_2000;
INSERT INTO crm.contacts SELECT seq, CONCAT('c', seq, '@example.test') FROM seq_1_to_100;
CREATE USER bjeic_check@localhost IDENTIFIED BY 'PASSWORD';
GRANT SELECT ON *.* TO bjeic_check@localhost;
SQL
mkdir -p /backup/db /backup/bad /backup/gz /backup/zst /backup/zstcut
mariadb-dump --databases appdb crm --single-transaction | gzip > /backup/db/all-1.sql.gz
printf 'appdb.customers 500\nappdb.orders 2000\ncrm.contacts 100\n' > /backup/db/all-1.sql.gz.rows
mariadb-dump --databases appdb --single-transaction > /tmp/appdb.sql
head -c $(( $(stat -c %s /tmp/appdb.sql) * 2 / 3 )) /tmp/appdb.sql > /backup/bad/appdb-1.sql
gzip -c /tmp/appdb.sql > /backup/gz/appdb-1.sql.gz
zstd -q -c /tmp/appdb.sql > /backup/zst/appdb-1.sql.zst
head -c $(( $(stat -c %s /backup/zst/appdb-1.sql.zst) / 2 )) /backup/zst/appdb-1.sql.zst > /backup/zstcut/appdb-1.sql.zst
python3 -c "
p = '/backup/gz/appdb-1.sql.gz'; d = bytearray(open(p, 'rb').read()); d[len(d) // 2] ^= 0xFF; open(p, 'wb').write(bytes(d))"
'''.replace('PASSWORD', PASSWORD.replace('"', '\\"'))


@pytest.fixture(scope='module')
def db_host(labctl, tmp_path_factory):
    with lab_hosts(labctl, tmp_path_factory, [([HOST], {'systemd': True, 'variant': 'mariadb'})], {HOST: SETUP}) as inventory:
        yield inventory


def restore_test(inventory, tmp_path, expect_failure=False, **args):
    base = {'name': 'all', 'backup_path': '/backup/db/all-*.sql.gz', 'login_user': 'bjeic_check',
            'login_password': PASSWORD, 'login_unix_socket': SOCKET}
    return run_module(inventory, HOST, 'bjeic.ops.db_restore_test', dict(base, **args), tmp_path,
                      expect_failure=expect_failure)


def checks(result):
    return [(f['check'], f['severity']) for f in result['findings']]


def test_good_dump_restores_and_matches_the_server(db_host, labctl, tmp_path):
    result = restore_test(db_host, tmp_path)
    assert result['findings'] == [], result['findings']
    restore = result['backup']['restore']
    assert restore['ok'] is True and restore['cleaned'] is True
    assert (restore['tables'], restore['rows'], restore['different'], restore['missing']) == (3, 2600, [], [])
    assert restore['load_seconds'] > 0 and restore['compare_seconds'] > 0
    assert PASSWORD not in json.dumps(result)
    assert result['ledger'][0]['key'] == 'dbbackup:all@%s' % HOST and result['ledger'][0]['attrs']['state']['restore']['ok']
    # the scratch instance is gone, the server still serves
    assert labctl.sh(HOST, 'ls -d /var/tmp/bjeic-dbrestore-* 2>/dev/null | wc -l').strip() == '0'
    assert labctl.sh(HOST, 'pgrep -c -f "[m]ariadbd"').strip() == '1'


def test_manifest_comparison_and_database_selection(db_host, tmp_path):
    result = restore_test(db_host, tmp_path, compare='manifest', manifest='{file}.rows', databases=['crm'],
                          login_password=None)
    assert result['findings'] == [] and result['backup']['restore']['tables'] == 1


def test_a_truncated_dump_is_rejected_with_the_servers_error(db_host, tmp_path):
    result = restore_test(db_host, tmp_path, name='bad', backup_path='/backup/bad/*.sql')
    assert checks(result) == [('db.restore_failed', 'critical')]
    assert 'does not load' in result['findings'][0]['message'] and 'ERROR' in result['findings'][0]['message']
    assert result['backup']['restore']['cleaned'] is True


def test_a_damaged_compressed_dump_is_rejected(db_host, tmp_path):
    result = restore_test(db_host, tmp_path, name='gz', backup_path='/backup/gz/*.sql.gz')
    assert checks(result) == [('db.restore_failed', 'critical')]


def test_zstd_dumps_restore_and_a_cut_one_is_rejected_by_zstd(db_host, tmp_path):
    (tmp_path / 'good').mkdir()
    good = restore_test(db_host, tmp_path / 'good', name='zst', backup_path='/backup/zst/*.sql.zst', databases=['appdb'])
    assert good['findings'] == [] and good['backup']['restore']['tables'] == 2
    cut = restore_test(db_host, tmp_path, name='zstcut', backup_path='/backup/zstcut/*.sql.zst', compare='none')
    assert checks(cut) == [('db.restore_failed', 'critical')]
    assert 'does not load: zstd:' in cut['findings'][0]['message'] and cut['backup']['restore']['cleaned'] is True


def test_writes_since_the_dump_show_as_differences_from_the_source(db_host, labctl, tmp_path):
    labctl.sh(HOST, "mariadb -e \"INSERT INTO crm.contacts VALUES (1000, 'late@example.test')\"")
    try:
        result = restore_test(db_host, tmp_path)
        assert checks(result) == [('db.restore_failed', 'critical')]
        assert result['backup']['restore']['different'] == ['crm.contacts (rows 101, restored 100; checksum differs)']
    finally:
        labctl.sh(HOST, 'mariadb -e "DELETE FROM crm.contacts WHERE id = 1000"')


def test_wrong_credentials_are_reported_as_unreachable_not_as_a_bad_backup(db_host, tmp_path):
    result = restore_test(db_host, tmp_path, login_password='wrong')
    assert checks(result) == [('db.unreachable', 'critical')]
    assert 'Access denied' in result['findings'][0]['message']


def test_database_drill_is_recorded_and_fails_loudly_on_a_bad_backup(cli, db_host):
    drill_db = {'name': 'all', 'backup_path': '/backup/db/all-*.sql.gz', 'login_user': 'bjeic_check',
                'login_unix_socket': SOCKET}
    playbook = os.path.join(ROOT, 'playbooks', 'drills', 'database.yml')
    cli('run', playbook, '-i', db_host, '-e', 'target=%s' % HOST, '-e', json.dumps({'drill_db': drill_db}),
        '-e', json.dumps({'drill_db_password': PASSWORD}))
    store = cli.store()
    drill = store.drills()[-1]
    assert PASSWORD not in json.dumps([store.list_runs(), store.drills(), store.host_results(drill['run_id'])], default=str)
    assert (drill['kind'], drill['outcome']) == ('database', 'passed')
    assert [s['name'] for s in drill['steps']] == ['fault', 'restored', 'recovered']
    assert '3 tables, 2600 rows restored; they match the source' in drill['steps'][2]['detail']
    assert 0 < drill['timings']['recovery_seconds'] <= drill['timings']['total_seconds']

    bad = dict(drill_db, backup_path='/backup/bad/*.sql', compare='none')
    done = cli('run', playbook, '-i', db_host, '-e', 'target=%s' % HOST, '-e', json.dumps({'drill_db': bad}),
               check=False)
    assert done.returncode == 2
    drill = cli.store().drills()[-1]
    assert drill['outcome'] == 'failed'
    assert [s['name'] for s in drill['steps'] if not s['ok']] == ['restored', 'recovered']
