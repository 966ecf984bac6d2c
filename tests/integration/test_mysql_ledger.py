"""mysql_ledger and db_restore_test against a real MariaDB that this test starts on 127.0.0.1 (binary log on)."""
import gzip
import json
import os
import shutil
import socket
import tempfile
import sys
import time

import pytest

from labrun import ROOT, run_module, run_playbook
from mariadb_server import ServerMissing, serve

PASSWORD = 'Mon#it0r;pw "x"'


@pytest.fixture(scope='module')
def mariadb():
    for server in serve("""
            CREATE DATABASE shop; CREATE DATABASE hr;
            CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2));
            INSERT INTO shop.orders SELECT seq, CONCAT('客户', seq), seq * 1.5 FROM shop.seq_1_to_500;
            CREATE TABLE hr.staff (id INT PRIMARY KEY, name VARCHAR(40));
            INSERT INTO hr.staff VALUES (1, '张伟'), (2, '李娜');
            CREATE USER bjeic_monitor@'127.0.0.1' IDENTIFIED BY '%s';
            CREATE USER bjeic_monitor@localhost IDENTIFIED BY '%s';
            GRANT SELECT, PROCESS, BINLOG MONITOR ON *.* TO bjeic_monitor@'127.0.0.1';
            GRANT SELECT, PROCESS, BINLOG MONITOR ON *.* TO bjeic_monitor@localhost;
            -- an event that fails: the server writes an [ERROR] line to its error log
            CREATE EVENT shop.broken ON SCHEDULE AT CURRENT_TIMESTAMP DO INSERT INTO shop.no_such_table VALUES (1);
        """ % (PASSWORD.replace('"', '\\"'), PASSWORD.replace('"', '\\"'))):
        deadline = time.time() + 20
        while '[ERROR] Event Scheduler' not in server.log_text() and time.time() < deadline:
            time.sleep(0.2)
        yield server


def ledger_args(server, **extra):
    args = {'login_host': '127.0.0.1', 'login_port': server.port, 'login_user': 'bjeic_monitor',
            'login_password': PASSWORD, 'sample_seconds': 0.3}
    args.update(extra)
    return args


def checks(result):
    return dict((f['check'], f) for f in result['findings'])


def instance(name, port, **extra):
    """A db_ledger_instances entry for the monitoring user on 127.0.0.1."""
    entry = {'engine': 'mysql', 'name': name, 'login_host': '127.0.0.1', 'login_port': port,
             'login_user': 'bjeic_monitor', 'login_password': PASSWORD}
    entry.update(extra)
    return entry


def databases_inventory(path, hosts):
    """An inventory whose group databases holds `hosts` ({host: its db_ledger_instances}), each run locally."""
    path.write_text(json.dumps({'all': {'children': {'databases': {'hosts': dict(
        (host, {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                'db_ledger_instances': instances}) for host, instances in hosts.items())}}}}))
    return path


def test_ledger_of_a_real_mariadb(mariadb, local_inventory, tmp_path):
    dumps = tmp_path / 'dumps'
    dumps.mkdir()
    mariadb.dump(str(dumps / 'all-1.sql'), ['shop', 'hr'])
    result = run_module(local_inventory, 'dbhost', 'bjeic.ops.mysql_ledger',
                        ledger_args(mariadb, backup_path=str(dumps / '*.sql')), tmp_path)
    assert result['available'] is True
    [item] = result['ledger']
    facts = result['database']
    assert item['kind'] == 'db' and item['key'] == 'db:mysql-%d@%s' % (mariadb.port, socket.gethostname())
    assert (facts['product'], facts['engine']) == ('MariaDB', 'mysql') and facts['version'].startswith('10.')
    assert facts['archive']['mode'] == 'ON' and facts['archive']['off'] == []
    assert facts['log_usage']['binlog_files'] >= 1 and facts['log_usage']['binlog_bytes'] > 0
    assert [d['name'] for d in facts['databases']] == ['hr', 'shop']
    assert dict((d['name'], d['tables']) for d in facts['databases']) == {'hr': 1, 'shop': 1}
    [ibdata] = facts['datafiles']
    assert ibdata['name'] == 'ibdata1' and ibdata['autoextend'] is True
    assert ibdata['size_bytes'] == os.path.getsize(os.path.join(mariadb.datadir, 'ibdata1'))
    assert facts['cpu_count'] == os.cpu_count() and facts['memory_bytes'] > 0
    datadir_space = [s for s in facts['spaces'] if s['name'].startswith('data file system')]
    assert datadir_space and 0 < datadir_space[0]['free_pct'] <= 100
    # the error the failing event wrote, found in the log file within the window
    assert any("shop.no_such_table" in e['text'] for e in facts['errors'])
    assert checks(result)['db.log_errors']['severity'] == 'warning'
    assert facts['perf']['sessions'] >= 1 and facts['perf']['queries_per_sec'] >= 0
    assert 0 < facts['perf']['buffer_hit_pct'] <= 100
    [backup] = facts['backups']
    assert backup['type'] == 'full' and backup['age_hours'] < 1 and backup['file'].endswith('all-1.sql')
    assert 'db.backup_stale' not in checks(result)
    # configuration in attrs, this run's measurements under state (no drift from them)
    assert 'errors' in item['attrs']['state'] and 'errors' not in item['attrs']
    assert 'size_bytes' not in item['attrs']['datafiles'][0]
    assert PASSWORD not in json.dumps(result)


def test_old_dump_and_no_binlog_findings(mariadb, local_inventory, tmp_path):
    dump = tmp_path / 'old.sql'
    mariadb.dump(str(dump), ['hr'])
    three_days_ago = time.time() - 72 * 3600
    os.utime(dump, (three_days_ago, three_days_ago))
    result = run_module(local_inventory, 'dbhost', 'bjeic.ops.mysql_ledger',
                        ledger_args(mariadb, backup_path=str(tmp_path / '*.sql'),
                                    thresholds={'db.log_errors': {'warning': 50, 'critical': 100}}), tmp_path)
    stale = checks(result)['db.backup_stale']
    assert stale['severity'] == 'critical' and stale['threshold'] == 26 and stale['value'] >= 72
    assert 'db.log_errors' not in checks(result)   # the one error is below the raised threshold


def test_unreachable_and_wrong_password_are_findings_not_failures(mariadb, local_inventory, tmp_path):
    closed = run_module(local_inventory, 'dbhost', 'bjeic.ops.mysql_ledger',
                        ledger_args(mariadb, login_port=1, connect_timeout=3), tmp_path)
    assert closed['available'] is False and closed['ledger'] == []
    assert closed['findings'][0]['check'] == 'db.unreachable' and closed['findings'][0]['severity'] == 'critical'
    assert closed['findings'][0]['subject'] == 'db:mysql-1@127.0.0.1'   # the label the ledger would use
    denied = run_module(local_inventory, 'dbhost', 'bjeic.ops.mysql_ledger',
                        ledger_args(mariadb, login_password='wrong-Secret-42'), tmp_path)
    assert 'Access denied' in denied['findings'][0]['message']
    assert 'wrong-Secret-42' not in json.dumps(denied)


def test_bad_threshold_fails_with_a_clear_message(mariadb, local_inventory, tmp_path):
    result = run_module(local_inventory, 'dbhost', 'bjeic.ops.mysql_ledger',
                        ledger_args(mariadb, backup_max_age_hours={'weekly': 3}), tmp_path, expect_failure=True)
    assert "unknown key 'weekly'" in result['msg'] and 'full, incremental, log' in result['msg']


def test_restore_test_against_the_harness_server(mariadb, local_inventory, tmp_path):
    """A real mariadb-dump restores and matches the source; the same dump cut short is rejected."""
    good = tmp_path / 'shop-good.sql.gz'
    plain = tmp_path / 'plain.sql'
    mariadb.dump(str(plain), ['shop', 'hr'])
    good.write_bytes(gzip.compress(plain.read_bytes()))
    args = {'name': 'shop', 'backup_path': str(good), 'databases': ['shop', 'hr'], 'login_host': '127.0.0.1',
            'login_port': mariadb.port, 'login_user': 'bjeic_monitor', 'login_password': PASSWORD,
            'scratch_dir': str(tmp_path)}
    if os.geteuid() == 0:   # pytest's directories are private to root: the scratch server (as mysql) cannot enter
        closed = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_restore_test', args, tmp_path)
        assert 'cannot enter' in checks(closed)['db.restore_failed']['message']
    args['scratch_dir'] = '/var/tmp'
    passed = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_restore_test', args, tmp_path)
    assert passed['backup']['restore']['ok'] is True, passed['findings']
    assert passed['backup']['restore']['tables'] == 2 and passed['backup']['restore']['rows'] == 502
    cut = tmp_path / 'shop-cut.sql.gz'
    text = plain.read_bytes()
    cut.write_bytes(gzip.compress(text[:text.index(b'INSERT INTO `orders`') + 400]))
    args['backup_path'] = str(cut)
    rejected = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_restore_test', args, tmp_path)
    assert rejected['backup']['restore']['ok'] is False
    assert checks(rejected)['db.restore_failed']['severity'] == 'critical'
    assert PASSWORD not in json.dumps(rejected)


def test_restore_test_of_a_physical_backup(mariadb, local_inventory, tmp_path):
    """A real mariadb-backup set is copied, prepared and started; the backup itself is left as it was;
    the same set without a table's file is rejected."""
    base = tempfile.mkdtemp(prefix='bjeic-physical-', dir='/var/tmp')
    try:
        backup = os.path.join(base, 'full-1')
        try:
            mariadb.physical_backup(backup)
        except ServerMissing as exc:
            pytest.skip(str(exc))
        before = sorted(os.listdir(backup))
        args = {'name': 'physical', 'backup_path': os.path.join(base, 'full-*'), 'databases': ['shop', 'hr'],
                'login_host': '127.0.0.1', 'login_port': mariadb.port, 'login_user': 'bjeic_monitor',
                'login_password': PASSWORD}
        passed = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_restore_test', args, tmp_path)
        restore = passed['backup']['restore']
        assert restore['ok'] is True and restore['kind'] == 'physical', passed['findings']
        assert (restore['tables'], restore['rows'], restore['different']) == (2, 502, [])
        assert restore['prepare_seconds'] > 0 and restore['cleaned'] is True
        assert sorted(os.listdir(backup)) == before          # prepared a copy, not the backup
        data = [name for name in os.listdir(os.path.join(backup, 'shop')) if name.startswith('orders.')
                and not name.endswith('.frm')]   # orders.ibd, or orders.new for a table the redo log created
        assert data
        for name in data:
            os.remove(os.path.join(backup, 'shop', name))
        rejected = run_module(local_inventory, 'dbhost', 'bjeic.ops.db_restore_test', args, tmp_path)
        assert rejected['backup']['restore']['ok'] is False
        assert 'shop.orders' in checks(rejected)['db.restore_failed']['message']
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_db_ledger_playbook_into_the_store(mariadb, cli, tmp_path):
    """playbooks/db_ledger.yml through bjeic-ops: two instance entries on one host, one of them down."""
    inventory = databases_inventory(tmp_path / 'hosts.yml', {
        'dbhost': [instance('shop', mariadb.port), instance('gone', 1)]})
    cli('run', 'db_ledger.yml', '-i', inventory)
    store = cli.store()
    [item] = store.ledger('db')
    assert item['key'] == 'db:shop@%s' % socket.gethostname() and item['host'] == 'dbhost'
    found = dict((f['check_id'], f) for f in store.findings())
    assert found['db.unreachable']['subject'] == 'db:gone@127.0.0.1'
    shown = cli('ledger', 'db', '--format', 'json').stdout
    assert 'MariaDB' in shown and PASSWORD not in shown
    [row] = json.loads(shown) if shown.lstrip().startswith('[') else json.loads(shown)['rows']
    assert row['archive_mode'] == 'ON' and row['log_errors'] >= 1 and row['db_server'] == socket.gethostname()
    assert row['lowest_free'].startswith('data file system')
    cli('ledger', 'db', '--format', 'csv', '--out', tmp_path / 'db.csv')
    header = (tmp_path / 'db.csv').read_text(encoding='utf-8-sig').splitlines()[0]
    assert '归档/日志模式' in header and '最近备份' in header
    artifacts = ''.join(open(os.path.join(d, f), errors='replace').read()
                        for d, _s, files in os.walk(cli.artifacts) for f in files)
    assert PASSWORD not in artifacts


def test_one_call_reads_every_host_and_a_silent_server_holds_up_only_its_own(mariadb, cli, tmp_path):
    """db_ledger.yml on the controller: the instances of two hosts in one bjeic.ops.db_ledger call, each host's part
    recorded as its own. One host's server accepts the connection and then says nothing (a listening socket that never
    answers, connect timeout 30 s): with db_ledger_timeout 3 its host fails with a line that says so, the other host's
    ledger is recorded, and the run does not wait the 30 s."""
    silent = socket.socket()
    silent.bind(('127.0.0.1', 0))
    silent.listen(8)                      # the kernel completes the handshake; nobody ever speaks
    try:
        inventory = databases_inventory(tmp_path / 'hosts.json', {
            'dbhost': [instance('shop', mariadb.port)],
            'quiet': [instance('mute', silent.getsockname()[1], connect_timeout=30)]})
        started = time.time()
        done = cli('run', 'db_ledger.yml', '-i', inventory, '-e', 'db_ledger_timeout=3', check=False)
        took = time.time() - started
    finally:
        silent.close()
    assert done.returncode != 0 and took < 25, (took, done.stdout[-2000:])
    store = cli.store()
    [item] = store.ledger('db')
    assert item['key'] == 'db:shop@%s' % socket.gethostname() and item['host'] == 'dbhost'
    run_id = store.list_runs(1)[0]['id']
    rows = [r for r in store.host_results(run_id) if r['module'] == 'bjeic.ops.host_result']
    by_host = dict((r['host'], r) for r in rows)
    assert (by_host['dbhost']['status'], by_host['quiet']['status']) == ('ok', 'failed')
    assert 'host quiet, instance mute (mysql): not read: no complete answer within' in by_host['quiet']['msg']
    assert '(timeout 3 s)' in by_host['quiet']['msg']
    assert PASSWORD not in json.dumps([dict(r) for r in store.host_results(run_id)], default=str)


def test_on_the_host_the_per_engine_module_reads_it_and_the_controller_call_is_left_out(mariadb, cli, tmp_path):
    """db_ledger_run_on=host (here for the whole run, as -e): mysql_ledger runs on the host, once per instance, and the
    controller's one call has nothing to read (its filter leaves the host out), so nothing is read twice."""
    inventory = databases_inventory(tmp_path / 'hosts.json', {'dbhost': [instance('shop', mariadb.port)]})
    cli('run', 'db_ledger.yml', '-i', inventory, '-e', 'db_ledger_run_on=host')
    store = cli.store()
    [item] = store.ledger('db')
    assert item['key'] == 'db:shop@%s' % socket.gethostname() and item['host'] == 'dbhost'
    run_id = store.list_runs(1)[0]['id']
    ran = dict((r['module'], r['status']) for r in store.host_results(run_id))
    assert ran['bjeic.ops.mysql_ledger'] == 'ok'
    assert (ran['bjeic.ops.db_ledger'], ran['bjeic.ops.host_result']) == ('skipped', 'skipped')
    assert len([p for p in store.probe_rows(run_id)]) == 1


def test_role_playbook_runs_with_plain_ansible_playbook(mariadb, local_inventory, tmp_path):
    done = run_playbook(os.path.join(ROOT, 'playbooks', 'db_ledger.yml'), local_inventory, extra_vars={
        'target': 'dbhost', 'db_ledger_instances': [
            {'engine': 'mysql', 'login_host': '127.0.0.1', 'login_port': mariadb.port,
             'login_user': 'bjeic_monitor', 'login_password': PASSWORD}]})
    assert 'db:mysql-%d' % mariadb.port in done.stdout
    assert PASSWORD not in done.stdout


def server_version(server):
    return server.sql('SELECT VERSION()').stdout.strip().split('-')[0]


def releases_file(path, line, latest, end_of_support='2028-02-16'):
    """A release data file with one MariaDB line, as the user would write to replace the shipped one."""
    path.write_text('as_of: %s\nengines:\n  mariadb:\n    lines:\n      "%s":\n        latest: %s\n'
                    '        end_of_support: %s\n        source: "a test of the advice"\n'
                    % (time.strftime('%Y-%m-%d'), line, latest, end_of_support))
    return path


def test_patch_advice_for_the_real_mariadb_version(mariadb, cli, tmp_path):
    """The real server's version against the shipped release data and against files written around it: behind by
    three patches (advised to the latest), out of support, and the shipped data's own verdict on this server."""
    version = server_version(mariadb)
    major, minor, patch = (int(p) for p in version.split('.'))
    line = '%d.%d' % (major, minor)
    inventory = databases_inventory(tmp_path / 'hosts.yml', {'dbhost': [instance('shop', mariadb.port)]})
    # 1. the shipped data, whatever this server's version is: the verdict the data's facts give
    import yaml
    shipped = yaml.safe_load(open(os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops', 'roles',
                                               'db_ledger', 'files', 'db_releases.yml')))
    cli('run', 'db_ledger.yml', '-i', inventory)
    [row] = json.loads(cli('db', 'advise', '--format', 'json', '--lang', 'en').stdout)
    known = shipped['engines']['mariadb']['lines'].get(line)
    if known is None:
        assert row['verdict'] == 'no_advice'
    else:
        latest = int(str(known['latest']).split('.')[2])
        expected = 'apply_patch' if patch < latest else ('data_behind' if patch > latest else 'current')
        if str(known['end_of_support']) < time.strftime('%Y-%m-%d'):
            expected = 'upgrade_line'
        assert (row['verdict'], row['db_version'], row['release_line']) == (expected, version, line)
    # 2. data that knows three newer patches of this line: advised to the newest, a warning
    newer = '%s.%d' % (line, patch + 3)
    cli('run', 'db_ledger.yml', '-i', inventory, '-e',
        'db_ledger_releases_file=%s' % releases_file(tmp_path / 'newer.yml', line, newer))
    store = cli.store()
    [outdated] = [f for f in store.findings() if f['check_id'] == 'db.version_outdated']
    assert outdated['severity'] == 'warning' and outdated['value']['behind'] == 3 and newer in outdated['message']
    [row] = json.loads(cli('db', 'advise', '--format', 'json', '--lang', 'en').stdout)
    assert (row['verdict'], row['target_version'], row['patches_behind']) == ('apply_patch', newer, 3)
    assert 'the latest of line %s is %s' % (line, newer) in row['why']
    cli('db', 'advise', '--format', 'csv', '--out', tmp_path / 'advice.csv')
    sheet = (tmp_path / 'advice.csv').read_text(encoding='utf-8-sig')
    assert '建议升级到' in sheet.splitlines()[0] and '安装最新补丁' in sheet and newer in sheet
    # 3. data saying the line's support has ended: upgrade the line, critical
    cli('run', 'db_ledger.yml', '-i', inventory, '-e', 'db_ledger_releases_file=%s' % releases_file(
        tmp_path / 'ended.yml', line, version, end_of_support='2020-01-01'))
    found = dict((f['check_id'], f) for f in cli.store().findings())
    assert found['db.version_unsupported']['severity'] == 'critical' and 'db.version_outdated' not in found
    [row] = json.loads(cli('db', 'advise', '--format', 'json', '--lang', 'en').stdout)
    assert row['verdict'] == 'upgrade_line' and row['end_of_support'] == '2020-01-01'
    # 4. a malformed file: the run fails in one sentence naming the place
    broken = tmp_path / 'broken.yml'
    broken.write_text('as_of: 2026-01-01\nengines:\n  mariadb:\n    lines:\n      "10.11": {latest: 10.11.9}\n')
    done = cli('run', 'db_ledger.yml', '-i', inventory, '-e', 'db_ledger_releases_file=%s' % broken, check=False)
    assert done.returncode == 2
    assert 'releases.engines.mariadb.lines.10.11 needs a source' in done.stdout
