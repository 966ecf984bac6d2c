"""The record as a hostile or careless user would try it (issue 19): each defect found that way, reproduced.

Real runs on this machine (the local connection), real SQLite stores, real exports read back with openpyxl and
from the XLSX XML itself, real full and read-only file systems (tmpfs mounts, so root only).
"""
import csv
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOKS = os.path.join(ROOT, 'tests', 'integration', 'playbooks')
EVIL = '=HYPERLINK("http://x","click")'
SECRET = 'Zx9-secret-Pa55word'
SECRET_ENV = 'S3cret-from-env-42'
FAST = json.dumps({'inspect_checks': ['fs.usage']})


def local_inventory(path, *names, group='linux'):
    """An inventory of this machine under the given names (local connection, this interpreter)."""
    hosts = {name: {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
                    'ansible_become': False} for name in names or ('localhost',)}
    path.write_text(json.dumps({group: {'hosts': hosts}}))   # JSON is YAML
    return str(path)


def files_under(path):
    for root, _dirs, names in os.walk(path):
        for name in names:
            full = os.path.join(root, name)
            if stat.S_ISREG(os.lstat(full).st_mode):
                with open(full, 'rb') as handle:
                    yield full, handle.read()


def assert_no_secret_under(*paths):
    for path in paths:
        for name, data in files_under(path):
            assert SECRET.encode() not in data, name
            assert SECRET_ENV.encode() not in data, name


def store_content(path):
    """What an SQLite store holds, independent of its page layout, and whether it is intact."""
    from bjeic_ops.sqlite_file import connect_readonly
    connection = connect_readonly(path)   # read-only, immutable on read-only media
    try:
        assert connection.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        return hashlib.sha256('\n'.join(connection.iterdump()).encode()).hexdigest()
    finally:
        connection.close()


def need_root_mounts():
    if os.geteuid() != 0:
        pytest.skip('needs root to mount a small tmpfs (a full and a read-only file system); CI runs as root')


@pytest.fixture
def tmpfs(tmp_path):
    """A 6 MiB tmpfs mounted for the test, unmounted after."""
    need_root_mounts()
    mount = tmp_path / 'small'
    mount.mkdir()
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=6m,mode=0755', 'tmpfs', str(mount)], check=True)
    yield mount
    subprocess.run(['umount', '-l', str(mount)], check=False)


# ---------------------------------------------------------------- 1. formula injection

def test_cells_a_spreadsheet_would_evaluate_are_written_as_text(cli, tmp_path):
    inventory = local_inventory(tmp_path / 'hosts.yml', EVIL)
    crash_dir = tmp_path / 'crash'
    crash_dir.mkdir()
    (crash_dir / '=HYPERLINK("x","y").crash').write_text('not really a crash')   # no '/' in a file name
    cli('run', 'daily_inspection.yml', '-i', inventory, '-e', FAST)
    cli('run', os.path.join(PLAYBOOKS, 'inspect_crash_dir.yml'), '-i', inventory,
        '-e', json.dumps({'crash_dir': str(crash_dir)}))
    outputs = {}
    for name, args in (('findings', ['findings']), ('ledger_os', ['ledger', 'os'])):
        for fmt in ('csv', 'xlsx'):
            out = tmp_path / ('%s.%s' % (name, fmt))
            cli(*args, '--format', fmt, '--out', out)
            outputs[out.name] = out
    daily = tmp_path / 'daily.xlsx'
    cli('report', 'daily', '--format', 'xlsx', '--out', daily)
    outputs[daily.name] = daily

    for name in ('findings.csv', 'ledger_os.csv'):
        with open(outputs[name], encoding='utf-8-sig', newline='') as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert any(EVIL in cell for cell in cells), name
        starting = [cell for cell in cells if cell[:1] in ('=', '+', '-', '@', '\t', '\r')]
        assert starting == [], (name, starting)
        assert "'" + EVIL in cells, name   # readable: an apostrophe Excel hides, then the text
    import openpyxl
    for name in ('findings.xlsx', 'ledger_os.xlsx', 'daily.xlsx'):
        with zipfile.ZipFile(outputs[name]) as archive:
            sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith('xl/worksheets/sheet')]
        assert sheets and not any('<f>' in sheet or '<f ' in sheet for sheet in sheets), name
        book = openpyxl.load_workbook(outputs[name])
        values = [cell.value for sheet in book for row in sheet.iter_rows() for cell in row]
        assert EVIL in values, name                     # the exact text, as a string cell
        formula_cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row
                         if isinstance(cell.value, str) and cell.value.startswith('=')]
        assert formula_cells and all(cell.data_type == 's' and cell.quotePrefix for cell in formula_cells), name
    ledger = openpyxl.load_workbook(outputs['ledger_os.xlsx']).active
    header = [cell.value for cell in ledger[1]]
    cpus = ledger.cell(row=2, column=header.index('CPU核数') + 1)
    assert isinstance(cpus.value, int) and cpus.data_type == 'n'   # numbers stay numbers


# ---------------------------------------------------------------- 2, 3. secrets and the environment on disk

def watch_run_directory(artifacts, stop, seen):
    """Read every file under the artifact directory as often as possible while a run goes."""
    while not stop.is_set():
        for root, _dirs, names in os.walk(artifacts):
            for name in names:
                path = os.path.join(root, name)
                try:
                    mode = os.lstat(path).st_mode
                    if name == 'extravars.json':
                        seen.setdefault('extravars_kinds', set()).add('fifo' if stat.S_ISFIFO(mode) else 'file')
                    if stat.S_ISREG(mode):
                        with open(path, 'rb') as handle:
                            data = handle.read()
                        for secret in (SECRET, SECRET_ENV, 'pg-from-the-controller'):
                            if secret.encode() in data:
                                seen.setdefault('leaks', set()).add((name, secret))
                except OSError:
                    continue
        time.sleep(0.002)


def test_no_plaintext_secret_or_controller_variable_is_ever_on_disk_during_a_run(cli, tmp_path):
    """The issue asked how short the plaintext's life on disk can be: zero. Extra vars and secret variables
    reach ansible-playbook through pipes, never a file; the runner's command artifact records only the
    variables a run is allowed. A reader polling the run directory every few milliseconds for the whole run
    never sees a secret, and the run still gets the secret it was given."""
    inventory = local_inventory(tmp_path / 'hosts.yml')
    cli.env.update(DB_ADMIN_PASSWORD=SECRET_ENV, PGPASSWORD='pg-from-the-controller', SOME_TOOL_SETTING='x')
    stop, seen = threading.Event(), {}
    watcher = threading.Thread(target=watch_run_directory, args=(cli.artifacts, stop, seen), daemon=True)
    watcher.start()
    try:
        cli('run', 'daily_inspection.yml', '-i', inventory, '--secret-env', 'DB_ADMIN_PASSWORD',
            '-e', json.dumps({'db_password': SECRET, 'inspect_checks': ['fs.usage']}))
        cli('run', os.path.join(PLAYBOOKS, 'env_secret.yml'), '-i', inventory, '--secret-env', 'DB_ADMIN_PASSWORD',
            '-e', 'expected_length=%d' % len(SECRET_ENV))
    finally:
        stop.set()
        watcher.join()
    assert seen.get('leaks') is None, seen
    assert seen.get('extravars_kinds') == {'fifo'}
    commands = [path for path, _ in files_under(cli.artifacts) if os.path.basename(path) == 'command']
    assert len(commands) == 2
    for command in commands:
        env = json.load(open(command))['env']
        assert 'PGPASSWORD' not in env and 'SOME_TOOL_SETTING' not in env     # not needed, not passed
        assert 'DB_ADMIN_PASSWORD' not in env                                 # needed: passed through a pipe
        assert 'ANSIBLE_HOST_KEY_CHECKING' not in env                         # ansible.cfg decides, not the runner
    assert_no_secret_under(cli.artifacts, cli.store_path.parent)
    for path, _data in files_under(cli.artifacts):
        assert os.stat(path).st_mode & 0o077 == 0, path


def test_a_run_killed_with_sigkill_leaves_no_secret_behind(cli, tmp_path):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    cli.env.update(DB_ADMIN_PASSWORD=SECRET_ENV, PGPASSWORD='pg-from-the-controller')
    process = cli.popen('run', os.path.join(PLAYBOOKS, 'slow.yml'), '-i', inventory, '--secret-env', 'DB_ADMIN_PASSWORD',
                        '-e', json.dumps({'db_password': SECRET, 'inspect_checks': ['fs.usage']}))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if cli.store_path.exists() and cli.store().count('ledger_items', 1) >= 1:
                break
            time.sleep(0.3)
        else:
            raise AssertionError('the run stored nothing within 120 s')
        os.kill(process.pid, signal.SIGKILL)              # the wrapper only: no finally, no cleanup
        process.wait(timeout=30)
        assert_no_secret_under(cli.artifacts, cli.store_path.parent)   # before anything reaps it
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)       # ansible-playbook, orphaned
        except ProcessLookupError:
            pass
    done = cli('runs')                                    # any command reaps
    assert 'killed' in done.stdout
    names = {os.path.basename(path) for path, _ in files_under(cli.artifacts)}
    assert 'command' not in names                         # its secrets are unknown now: the file is gone
    assert_no_secret_under(cli.artifacts, cli.store_path.parent)


# ---------------------------------------------------------------- 4. a broken inventory is not a run

def test_an_inventory_that_does_not_parse_or_matches_no_host_never_becomes_the_latest_run(cli, tmp_path):
    good = local_inventory(tmp_path / 'hosts.yml')
    cli('run', 'daily_inspection.yml', '-i', good, '-e', FAST)
    broken = tmp_path / 'broken.yml'
    broken.write_text('linux:\n  hosts: [a, b\n')
    done = cli('run', 'daily_inspection.yml', '-i', broken, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith('bjeic-ops: the inventory %s cannot be parsed' % broken)
    assert 'line 3' in done.stderr and done.stderr.count('\n') == 1
    directory = tmp_path / 'inventory'                    # one good file, one broken: not "fewer hosts"
    directory.mkdir()
    local_inventory(directory / 'a.yml')
    (directory / 'b.yml').write_text('linux: [unclosed\n')
    done = cli('run', 'daily_inspection.yml', '-i', directory, check=False)
    assert done.returncode == 1 and 'cannot be parsed' in done.stderr and str(directory / 'b.yml') in done.stderr
    done = cli('run', 'daily_inspection.yml', '-i', good, '--limit', 'nosuchhost', check=False)
    assert done.returncode == 1 and 'has no host to run on within --limit nosuchhost' in done.stderr
    assert [run['id'] for run in cli.store().list_runs()] == [1]     # nothing recorded for any of them
    other = local_inventory(tmp_path / 'other.yml', 'h1', group='unrelated')
    done = cli('run', 'daily_inspection.yml', '-i', other, check=False)
    assert done.returncode == 1 and 'no play of daily_inspection.yml matched a host' in done.stderr
    run = cli.store().get_run(2)
    assert (run['state'], run['status']) == ('incomplete', 'no_hosts')
    report = tmp_path / 'daily.html'
    cli('report', 'daily', '--out', report)
    assert 'localhost' in report.read_text()              # the report is still the last real inspection


# ---------------------------------------------------------------- 5. another application's database

def test_another_applications_sqlite_file_is_refused_untouched(cli, tmp_path):
    other = tmp_path / 'crm.sqlite'
    connection = sqlite3.connect(other)
    connection.execute('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)')
    connection.execute("INSERT INTO customers VALUES (1, 'a customer')")
    connection.commit()
    connection.close()
    before = other.read_bytes()
    for args in (['runs'], ['run', 'daily_inspection.yml', '-i', local_inventory(tmp_path / 'h.yml')],
                 ['incident', 'open', '--level', '3', '--host', 'a', '--summary', 's']):
        done = cli('--store', 'sqlite:///%s' % other, *args, check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr == ('bjeic-ops: %s is not a bjeic-ops store: it holds tables of another application '
                               '(customers); nothing was changed. Give --store a new file\n' % other)
    assert other.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ['crm.sqlite', 'h.yml']   # no -wal, -shm or reserve beside it


# ---------------------------------------------------------------- 6. a full disk, a read-only disk

def test_a_full_store_disk_mid_run_ends_in_one_line_and_a_failed_run(cli, tmp_path, tmpfs):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    cli.store_path = store = tmpfs / 'store.sqlite'
    cli.env['BJEIC_OPS_STORE'] = 'sqlite:///%s' % store
    done = cli('run', os.path.join(PLAYBOOKS, 'fill_disk.yml'), '-i', inventory,
               '-e', json.dumps({'fill_path': str(tmpfs / 'filler'), 'db_password': SECRET}), check=False)
    assert done.returncode == 1
    assert 'Traceback' not in done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('bjeic-ops: run 1: stopped: cannot write to the store at')
    assert 'the disk holding it is full' in lines[0]
    # Reading still works on the full disk.
    listing = cli('runs', '--limit', '5')
    assert 'failed' in listing.stdout and 'incomplete' in listing.stdout
    os.unlink(tmpfs / 'filler')
    run = cli.store().get_run(1)
    assert (run['state'], run['status']) == ('incomplete', 'failed')
    assert run['reason'].startswith('stopped: cannot write to the store') and run['finished_at']
    assert cli.store().count('host_results', 1) >= 1     # what came before the disk filled is there
    assert cli.store().ledger('os') == []
    assert_no_secret_under(cli.artifacts, tmpfs)
    # The stopped run left no ansible-playbook behind: its workers run in sessions of their own, out of the reach of
    # the kill ansible-runner sends to the playbook's process group, and one caught mid-result blocked forever.
    assert processes_naming(str(tmp_path)) == []


def processes_naming(text):
    """Live processes whose command line contains `text` (a zombie has none)."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                command = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except OSError:
            continue
        if text in command:
            found.append((int(pid), command))
    return found


def test_a_full_artifact_disk_mid_run_ends_in_one_line_and_a_failed_run(cli, tmp_path, tmpfs):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    cli.env['BJEIC_OPS_ARTIFACTS'] = str(tmpfs / 'runs')
    done = cli('run', os.path.join(PLAYBOOKS, 'fill_disk.yml'), '-i', inventory,
               '-e', json.dumps({'fill_path': str(tmpfs / 'filler'), 'db_password': SECRET}), check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'Traceback' not in done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('bjeic-ops: run 1: stopped: the disk under the run directory')
    run = cli.store().get_run(1)
    assert (run['state'], run['status']) == ('incomplete', 'failed') and 'is full' in run['reason']
    assert_no_secret_under(tmpfs, cli.store_path.parent)


def test_reading_commands_work_on_a_read_only_store(cli, tmp_path, tmpfs):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    store = tmpfs / 'store.sqlite'
    cli.env['BJEIC_OPS_STORE'] = 'sqlite:///%s' % store
    cli('run', 'daily_inspection.yml', '-i', inventory, '-e', FAST)
    subprocess.run(['mount', '-o', 'remount,ro', str(tmpfs)], check=True)
    before = store_content(str(store))
    assert 'complete' in cli('runs').stdout
    assert json.loads(cli('ledger', 'os', '--format', 'json').stdout)[0]['host'] == 'localhost'
    cli('report', 'daily', '--out', tmp_path / 'daily.html')
    assert 'localhost' in (tmp_path / 'daily.html').read_text()
    done = cli('run', 'daily_inspection.yml', '-i', inventory, check=False)
    assert done.returncode == 1 and done.stderr.count('\n') == 1
    assert 'it is on a read-only file system' in done.stderr
    assert store_content(str(store)) == before


def test_an_upgrade_the_disk_cannot_hold_is_refused_before_it_starts(cli, tmp_path, tmpfs):
    """A schema-7 store that fills more than half of its disk: the upgrade to 8 rewrites the ledger (SQLite holds the
    rewrite in the -wal file until it commits), so it is refused in one line before anything is written, and the
    store is left as it was."""
    from datetime import datetime, timezone
    from sqlalchemy import create_engine, insert, text
    from bjeic_ops.store import Store, findings
    made = tmp_path / 'made.sqlite'     # made on a roomy disk, then put on the small one
    run = Store('sqlite:///%s' % made).begin_run('daily_inspection.yml')
    engine = create_engine('sqlite:///%s' % made)
    with engine.begin() as conn:   # the schema-7 store's weight in its record (findings), then its version
        conn.execute(insert(findings), [dict(run_id=run, host='h%d' % i, check_id='fs.usage', severity='warning',
                                             message='x' * 900, at=datetime.now(timezone.utc)) for i in range(3600)])
        conn.execute(text('DELETE FROM schema_version'))
        conn.execute(text('INSERT INTO schema_version (version) VALUES (1), (2), (3), (4), (5), (6), (7)'))
    with engine.connect() as conn:
        conn.exec_driver_sql('PRAGMA wal_checkpoint(TRUNCATE)')   # all of it in the store file
    engine.dispose()
    path = tmpfs / 'store.sqlite'
    shutil.copyfile(str(made), str(path))
    os.chmod(str(path), 0o600)
    assert 3.0e6 < os.path.getsize(path) < 5.0e6          # on a 6 MiB disk: the rewrite cannot fit
    before = store_content(str(path))
    cli.env['BJEIC_OPS_STORE'] = 'sqlite:///%s' % path
    done = cli('runs', check=False)
    assert done.returncode != 0 and 'Traceback' not in done.stdout + done.stderr
    assert done.stderr.count('\n') == 1 and 'rewrites its ledger and needs about' in done.stderr, done.stderr
    assert 'nothing was changed' in done.stderr
    assert store_content(str(path)) == before
    assert create_engine('sqlite:///%s' % path).connect().execute(text('SELECT max(version) FROM schema_version')) \
        .scalar() == 7


# ---------------------------------------------------------------- 7. two stores, one controller

def test_two_stores_on_one_controller_keep_their_run_directories_apart(cli, tmp_path):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    cli('run', 'daily_inspection.yml', '-i', inventory, '-e', FAST)
    cli.env['BJEIC_OPS_STORE'] = 'sqlite:///%s' % (tmp_path / 'second.sqlite')   # same artifact directory
    done = cli('run', 'daily_inspection.yml', '-i', inventory, '-e', FAST)
    assert 'run 1 complete (successful' in done.stdout
    assert len([name for name in os.listdir(cli.artifacts) if name.startswith('run-')]) == 2


# ---------------------------------------------------------------- 8. the store is the estate's configuration

def test_the_store_and_its_journal_files_are_readable_by_the_owner_only(cli, tmp_path):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    old_umask = os.umask(0o022)
    try:
        cli('run', 'daily_inspection.yml', '-i', inventory, '-e', FAST)
        connection = sqlite3.connect(cli.store_path)        # keeps -wal and -shm in being
        connection.execute('SELECT count(*) FROM runs').fetchone()
        for name in ('store.sqlite', 'store.sqlite-wal', 'store.sqlite-shm'):
            assert oct(os.stat(cli.store_path.parent / name).st_mode & 0o777) == '0o600', name
        connection.close()
        given = tmp_path / 'given.sqlite'                   # an old store, made 0644 before this fix
        given.touch(mode=0o644)
        os.chmod(given, 0o644)
        cli('--store', 'sqlite:///%s' % given, 'runs')
        assert oct(os.stat(given).st_mode & 0o777) == '0o600'
    finally:
        os.umask(old_umask)


# ---------------------------------------------------------------- 9. the smaller ones

def test_bad_extra_vars_playbook_paths_and_early_errors_say_one_clear_line(cli, tmp_path):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    bad = tmp_path / 'bad.yml'
    bad.write_text('a: [1, 2\nb: 3\n')
    cases = [
        (['run', 'daily_inspection.yml', '-i', inventory, '-e', '@%s' % bad],
         'bjeic-ops: -e @%s: not valid YAML or JSON at line 2, column 2' % bad),
        (['run', 'daily_inspection.yml', '-i', inventory, '-e', '{"a": 1,}'],
         'bjeic-ops: -e \'{"a": 1,}\': not valid JSON'),
        (['run', 'playbooks/nope.yml', '-i', inventory],
         'bjeic-ops: no playbook at %s/playbooks/nope.yml' % os.getcwd()),
        (['rollback', '42'], 'bjeic-ops: no change 42 in the store'),
    ]
    for args, start in cases:
        done = cli(*args, check=False)
        assert done.returncode == 1, args
        assert done.stderr.startswith(start), (args, done.stderr)
        assert done.stderr.count('\n') == 1, done.stderr
        assert 'playbooks/playbooks' not in done.stderr
        assert done.stdout == '', (args, done.stdout)     # no "hosts 0/? reported" before the error
