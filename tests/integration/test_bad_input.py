"""Every bjeic-ops command and every playbook entry point, given broken input (issue 19's bad-input suite).

For each case: the exit code documented for it (1 an error, 5 bad or incomplete options, 2 a host failed),
one line on stderr that names what is wrong, no traceback, and the store unchanged in content (and intact).
Commands run in this process through `cli.main` (fast enough for property-based cases); runs of playbooks
run as an operator runs them, in a subprocess, against this machine over the local connection.
"""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bjeic_ops import cli as bjeic_cli
from bjeic_ops.ingest import Ingestor
from bjeic_ops.store import COMPLETE, Store
from bjeic_ops.sqlite_file import connect_readonly

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BJEIC_OPS = os.path.join(os.path.dirname(sys.executable), 'bjeic-ops')
USAGE, ERROR = 5, 1


def content(path):
    """The store's content (a dump of every row) and whether it is intact."""
    connection = connect_readonly(str(path))
    try:
        assert connection.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
        return hashlib.sha256('\n'.join(connection.iterdump()).encode()).hexdigest()
    finally:
        connection.close()


def inspection(host):
    return {'changed': False,
            'findings': [{'check': 'fs.usage', 'severity': 'warning', 'subject': '/', 'value': 85, 'threshold': 80,
                          'message': '/ is 85% full'}],
            'ledger': [{'kind': 'os', 'key': 'host:' + host, 'attrs': {'hostname': host, 'cpu_count': 2}}]}


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    """A store with what every command can be asked about: a complete inspection run, a change without a
    rollback handle, an incident, a finished watch. Written through the store's own API and the ingestor."""
    base = tmp_path_factory.mktemp('bad-input')
    path = base / 'store.sqlite'
    store = Store('sqlite:///%s' % path)
    run_id = store.begin_run('playbooks/daily_inspection.yml', inventory=str(base / 'hosts.yml'), operator='li.na')
    ingest = Ingestor(store, run_id, operator='li.na', ticket='CHG-1')
    for host in ('web01', 'db01'):
        ingest({'event': 'runner_on_ok', 'event_data': {'host': host, 'task': 'Inspect the host in one call',
                                                        'task_action': 'bjeic.ops.linux_inspect', 'res': inspection(host)}})
    ingest({'event': 'runner_on_ok', 'event_data': {
        'host': 'web01', 'task': 'Edit a file', 'task_action': 'ansible.builtin.lineinfile',
        'res': {'changed': True, 'diff': [{'before': 'a\n', 'after': 'b\n'}], 'invocation': {'module_args': {'path': '/etc/x'}}}}})
    ingest.close()
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    store.open_incident(3, 'web01', 'disk full', 'li.na')
    watch = store.start_watch('2026 watch', 'li.na')
    store.stop_watch(watch, 'li.na')
    (base / 'hosts.yml').write_text(json.dumps({'linux': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'ansible_become': False}}}}))
    (base / 'bad.yml').write_text('linux: [unclosed\n')
    (base / 'mapping.yml').write_text('source: test\ntype: vm\nfields: {id: id, name: name}\n')
    (base / 'incomplete.yml').write_text('source: test\n')
    (base / 'export.csv').write_text('id,name\n1,a\n')
    (base / 'binary.bin').write_bytes(bytes(range(256)))
    store.engine.dispose()
    return base


@pytest.fixture
def run_cli(world, monkeypatch, capsys, tmp_path):
    """bjeic-ops in this process: (exit code, stdout, stderr), the store checked unchanged around it."""
    monkeypatch.setenv('BJEIC_OPS_STORE', 'sqlite:///%s' % (world / 'store.sqlite'))
    monkeypatch.setenv('BJEIC_OPS_ARTIFACTS', str(tmp_path / 'artifacts'))
    monkeypatch.setenv('XDG_STATE_HOME', str(tmp_path / 'state'))
    monkeypatch.setenv('BJEIC_OPS_STORE_TIMEOUT', '1')
    monkeypatch.chdir(world)

    def run(*argv, unchanged=True):
        before = content(world / 'store.sqlite')
        try:
            code = bjeic_cli.main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        if unchanged:
            assert content(world / 'store.sqlite') == before, argv
        assert 'Traceback' not in out + err, (argv, err)
        assert 'internal error' not in err, (argv, err)
        return code, out, err
    return run


def one_line(err):
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith('bjeic-ops: '), err
    return lines[0]


# (argv, exit code, what the one line must say). Paths are relative to the world directory.
CASES = [
    # global
    ((), USAGE, 'the following arguments are required: command'),
    (('nosuchcommand',), USAGE, "invalid choice: 'nosuchcommand'"),
    (('--store', 'notaurl', 'runs'), ERROR, "the store URL 'notaurl' is not a URL"),
    (('--store', 'sqlite:////nonexistent-dir/s.sqlite', 'runs'), ERROR, 'the directory /nonexistent-dir does not exist'),
    (('--store', 'postgresql+psycopg://ops:pw@127.0.0.1:9/x', 'runs'), ERROR, 'the database server does not answer'),
    # runs
    (('runs', '--limit', '0'), USAGE, '0 is out of range'),
    (('runs', '--limit', '-1'), USAGE, '-1 is out of range'),
    (('runs', '--limit', '99999999999999999999999'), USAGE, 'is out of range'),
    (('runs', '--limit', 'many'), USAGE, "'many' is not a whole number"),
    # findings
    (('findings', '--run', '999'), ERROR, 'no run 999 in the store'),
    (('findings', '--severity', 'fatal'), USAGE, "invalid choice: 'fatal'"),
    (('findings', '--format', 'csv'), ERROR, '--format csv needs --out FILE'),
    (('findings', '--format', 'xlsx', '--out', 'no-such-dir/f.xlsx'), ERROR, 'cannot write no-such-dir/f.xlsx'),
    (('findings', '--format', 'csv', '--out', '.'), ERROR, 'cannot write .: it is a directory'),
    (('findings', '--host', ''), USAGE, 'must not be empty'),
    (('findings', '--host', 'a\x1b[2Jb'), USAGE, 'holds control characters'),
    (('findings', '--lang', 'fr'), USAGE, "invalid choice: 'fr'"),
    # ledger
    (('ledger', 'disks'), ERROR, 'ledger kind must be one of os, db, network, cloud, backup or all'),
    (('ledger', 'diff'), ERROR, 'usage: bjeic-ops ledger diff KIND'),
    (('ledger', 'diff', 'os'), ERROR, 'ledger diff needs --from RUN or --since DATE'),
    (('ledger', 'diff', 'os', '--from', '999'), ERROR, 'no run 999 in the store'),
    (('ledger', 'diff', 'os', '--since', '2026-02-30'), ERROR, "not a date or time: '2026-02-30'"),
    (('ledger', 'os', '--run', '999'), ERROR, 'no run 999 in the store'),
    (('ledger', 'all'), ERROR, 'ledger all exports as xlsx (one sheet per kind) or json'),
    (('ledger', 'all', '--format', 'json'), ERROR, '--format json needs --out FILE'),
    # changes, drills
    (('changes', '--since', 'yesterday'), ERROR, "not a date or time: 'yesterday'"),
    (('changes', '--since', '0001-01-01'), ERROR, 'is out of range: give a time between 1970 and 2100'),
    (('changes', '--since', '9999-12-31T23:59'), ERROR, 'is out of range'),
    (('changes', '--run', '999'), ERROR, 'no run 999 in the store'),
    (('drills', '--since', '2026-13-01'), ERROR, "not a date or time: '2026-13-01'"),
    # reports
    (('report', 'daily'), USAGE, 'the following arguments are required: --out'),
    (('report', 'daily', '--run', '999', '--out', 'd.html'), ERROR, 'no run 999 in the store'),
    (('report', 'daily', '--out', 'd.docx', '--format', 'docx'), USAGE, "invalid choice: 'docx'"),
    (('report', 'daily', '--out', 'missing-dir/d.html'), ERROR, 'cannot write missing-dir/d.html'),
    (('report', 'monthly', '--month', '2026-13', '--out', 'm.html'), ERROR, "--month must be YYYY-MM, got '2026-13'"),
    (('report', 'monthly', '--month', 'november', '--out', 'm.html'), ERROR, '--month must be YYYY-MM'),
    (('report', 'monthly', '--month', '1900-01', '--out', 'm.html'), ERROR, 'is out of range'),
    (('report', 'monthly', '--month', '2026-11', '-i', 'bad.yml', '--out', 'm.html'), ERROR, 'bad.yml'),
    (('report', 'fault', '999', '--out', 'f.html'), ERROR, 'no incident 999 in the store'),
    (('report', 'fault', 'x', '--out', 'f.html'), USAGE, "'x' is not a whole number"),
    # incidents
    (('incident', 'open', '--level', '5', '--host', 'a', '--summary', 's'), USAGE, '5 is out of range (1 to 4)'),
    (('incident', 'open', '--level', '2', '--host', 'a', '--summary', ' '), USAGE, 'must not be empty'),
    (('incident', 'open', '--level', '2', '--host', 'h' * 300, '--summary', 's'), USAGE, 'at most 255'),
    (('incident', 'open', '--level', '2', '--host', 'a', '--summary', 's', '--at', 'noon'), ERROR, "not a date or time: 'noon'"),
    (('incident', 'open', '--level', '2', '--host', 'a', '--summary', 's', '--at', '2999-01-01T00:00'), ERROR, 'is out of range'),
    (('incident', 'open', '--level', '2', '--host', 'a', '--summary', 's', '--at', '2099-01-01T00:00'), ERROR, 'is in the future'),
    (('incident', 'ack', '999'), ERROR, 'no incident 999 in the store'),
    (('incident', 'ack', '1', '--line', 'third'), USAGE, "invalid choice: 'third'"),
    (('incident', 'ack', '1', '--at', '2000-01-01T00:00'), ERROR, 'before the incident was opened'),
    (('incident', 'escalate', '999'), ERROR, 'no incident 999 in the store'),
    (('incident', 'note', '1', ''), USAGE, 'must not be empty'),
    (('incident', 'resolve', '1'), USAGE, 'the following arguments are required: --resolution'),
    (('incident', 'resolve', '1', '--resolution', '\t'), USAGE, 'must not be empty'),
    # duty
    (('duty', 'stop'), ERROR, 'no watch is on'),
    (('duty', 'report', '999', '--out', 'w.html'), ERROR, 'no watch 999 in the store'),
    (('duty', 'start', '--name', ''), USAGE, 'must not be empty'),
    (('duty', 'start', '--name', 'x' * 600), USAGE, 'at most 500'),
    # cloud
    (('cloud', 'import', 'missing.csv', '--mapping', 'mapping.yml'), ERROR, 'no such export file: missing.csv'),
    (('cloud', 'import', 'export.csv', '--mapping', 'incomplete.yml'), ERROR, 'incomplete.yml: fields is missing'),
    (('cloud', 'import', 'export.csv', '--mapping', 'nosuch.yml'), ERROR, 'cannot read mapping nosuch.yml: No such file'),
    (('cloud', 'import', 'export.csv', '--mapping', 'bad.yml'), ERROR, 'bad.yml'),
    (('cloud', 'import', 'export.csv', '--mapping', 'binary.bin'), ERROR, 'binary.bin'),
    (('cloud', 'import', 'binary.bin', '--mapping', 'mapping.yml'), ERROR, 'binary.bin'),
    (('cloud', 'import', '--inventory', 'bad.yml', '--mapping', 'mapping.yml'), ERROR, 'bad.yml'),
    (('cloud', 'request', 'vm', '--ticket', 'T', '--reason', 'r'), ERROR, 'TYPE:ID'),
    (('cloud', 'request', 'planet:1', '--ticket', 'T', '--reason', 'r'), ERROR, 'planet'),
    (('cloud', 'request', 'vm:new1', '--ticket', 'T', '--reason', 'r', '--set', 'cpu_count'), ERROR,
     "extra var 'cpu_count' is not KEY=VALUE"),
    (('cloud', 'change', 'vm:nosuch', '--ticket', 'T', '--reason', 'r'), ERROR, 'nosuch'),
    (('cloud', 'history', 'vm:nosuch'), ERROR, 'nosuch'),
    (('cloud', 'optimize', '--days', '0'), USAGE, '0 is out of range'),
    (('cloud', 'optimize', '--idle-load', 'nan'), USAGE, 'out of range'),
    (('cloud', 'list', '--stale-days', '99999'), USAGE, 'out of range'),
    # rollback
    (('rollback', '999'), ERROR, 'no change 999 in the store'),
    (('rollback', '1'), ERROR, 'change 1 (/etc/x on web01, module ansible.builtin.lineinfile) has no rollback wired'),
    # run: what is refused before anything starts
    (('run', 'daily_inspection.yml'), USAGE, 'the following arguments are required: -i/--inventory'),
    (('run', 'nosuch.yml', '-i', 'hosts.yml'), ERROR, 'nosuch.yml nor %s/playbooks/nosuch.yml' % ROOT),
    (('run', 'playbooks/nosuch.yml', '-i', 'hosts.yml'), ERROR, 'no playbook at %s/playbooks/nosuch.yml (give' % '{world}'),
    (('run', 'daily_inspection.yml', '-i', 'nosuch.yml'), ERROR, 'no inventory at'),
    (('run', 'daily_inspection.yml', '-i', 'bad.yml'), ERROR, 'cannot be parsed'),
    (('run', 'daily_inspection.yml', '-i', 'binary.bin'), ERROR, 'cannot be parsed'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-l', 'nobody'), ERROR, 'has no host to run on within --limit nobody'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', '@nosuch.yml'), ERROR, '-e @nosuch.yml: No such file'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', '@.'), ERROR, '-e @.: Is a directory'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', '@binary.bin'), ERROR, '-e @binary.bin: not UTF-8 text'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', '@bad.yml'), ERROR, 'not valid YAML or JSON at line 2'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', '[1, 2]'), ERROR, 'are not a mapping'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', 'novalue'), ERROR, "extra var 'novalue' is not KEY=VALUE"),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '-e', "a='unclosed"), ERROR, 'No closing quotation'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '--fail-on', 'info'), USAGE, "invalid choice: 'info'"),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '--operator', ''), USAGE, 'must not be empty'),
    (('run', 'daily_inspection.yml', '-i', 'hosts.yml', '--ticket', 'T' * 201), USAGE, 'at most 200'),
    (('run', 'bad.yml', '-i', 'hosts.yml'), ERROR, 'bad.yml: not valid YAML or JSON at line 2'),
    (('run', 'binary.bin', '-i', 'hosts.yml'), ERROR, 'binary.bin: not UTF-8 text'),
    (('run', 'hosts.yml', '-i', 'hosts.yml'), ERROR, 'is not a list of plays'),
]


@pytest.mark.parametrize('argv, code, says', CASES, ids=[' '.join(c[0])[:60] or '(none)' for c in CASES])
def test_broken_input_gets_one_clear_line_and_changes_nothing(run_cli, world, argv, code, says):
    says = says.replace('{world}', str(world))
    got, out, err = run_cli(*argv)
    line = one_line(err)
    assert got == code, (argv, got, err)
    assert says in line, (argv, line)


def test_reading_commands_still_answer_about_good_input(run_cli, world):
    """The suite's store is a real one: the same commands with good input answer (so the refusals above are
    refusals, not a broken fixture)."""
    code, out, _err = run_cli('findings', '--format', 'json')
    assert code == 0 and {f['host'] for f in json.loads(out)} == {'web01', 'db01'}
    assert run_cli('ledger', 'os', '--format', 'json')[0] == 0
    # A document written is a document on the record (schema 7): the store gains exactly that row.
    assert run_cli('report', 'daily', '--out', world / 'ok.html', unchanged=False)[0] == 0
    from bjeic_ops.store import Store
    [document] = Store('sqlite:///%s' % (world / 'store.sqlite')).documents('daily')
    assert document['path'] == str(world / 'ok.html') and len(document['sha256']) == 64


# ---------------------------------------------------------------- a store that cannot be used

def stores(world, tmp_path):
    """(name, URL, setup) of stores that cannot be used as they are."""
    foreign = tmp_path / 'foreign.sqlite'
    connection = sqlite3.connect(foreign)
    connection.execute('CREATE TABLE invoices (id INTEGER)')
    connection.commit()
    connection.close()
    corrupt = tmp_path / 'corrupt.sqlite'
    data = (world / 'store.sqlite').read_bytes()
    corrupt.write_bytes(data[:100] + bytes(4096) + data[4196:])
    truncated = tmp_path / 'truncated.sqlite'
    truncated.write_bytes(data[:len(data) // 3])
    newer = tmp_path / 'newer.sqlite'
    newer.write_bytes(data)
    connection = sqlite3.connect(newer)
    connection.execute('INSERT INTO schema_version VALUES (99)')
    connection.commit()
    connection.close()
    return [('foreign', foreign, 'is not a bjeic-ops store'), ('corrupt', corrupt, 'restore it from its backup'),
            ('truncated', truncated, 'restore it from its backup'),
            ('newer', newer, 'newer than this bjeic-ops knows')]


COMMANDS = [('runs',), ('findings',), ('ledger', 'os'), ('changes',), ('drills',), ('incident', 'list'),
            ('duty', 'list'), ('cloud', 'list'), ('report', 'daily', '--out', 'x.html'),
            ('incident', 'open', '--level', '2', '--host', 'a', '--summary', 's'), ('duty', 'start', '--name', 'w'),
            ('cloud', 'reclaim', 'vm:a', '--ticket', 'T', '--reason', 'r'), ('rollback', '1'),
            ('run', 'daily_inspection.yml', '-i', 'hosts.yml')]


@pytest.mark.parametrize('command', COMMANDS, ids=[' '.join(c[:2]) for c in COMMANDS])
def test_an_unusable_store_is_refused_in_one_line_and_left_as_it_was(run_cli, world, tmp_path, command):
    for name, path, says in stores(world, tmp_path):
        before = path.read_bytes()
        code, _out, err = run_cli('--store', 'sqlite:///%s' % path, *command)
        assert code == ERROR, (name, command, err)
        assert says in one_line(err), (name, command, err)
        assert path.read_bytes() == before, (name, command)
        wal = str(path) + '-wal'   # SQLite may make an empty journal beside a WAL file it was asked to read
        assert not os.path.exists(wal) or os.path.getsize(wal) == 0, (name, command)


def test_a_locked_store_is_waited_for_then_refused_by_writers_and_still_read_by_readers(run_cli, world):
    holder = sqlite3.connect(world / 'store.sqlite', isolation_level=None, timeout=1)
    holder.execute('BEGIN IMMEDIATE')     # another writer, in the middle of its transaction
    try:
        code, out, _err = run_cli('runs', unchanged=False)
        assert code == 0 and 'complete' in out
        code, _out, err = run_cli('incident', 'open', '--level', '2', '--host', 'a', '--summary', 's', unchanged=False)
        assert code == ERROR and 'another process holds its lock' in one_line(err)
    finally:
        holder.execute('ROLLBACK')
        holder.close()


# ---------------------------------------------------------------- generated values

TEXT = st.text(st.characters(codec='utf-8', exclude_categories=('Cs',)), max_size=40)


GENERATED = [('changes', '--since', '{}'), ('ledger', 'diff', 'os', '--since', '{}'),
             ('report', 'monthly', '--month', '{}', '--out', 'm.html'), ('findings', '--host', '{}'), ('ledger', '{}'),
             ('cloud', 'history', '{}'), ('runs', '--limit', '{}'), ('report', 'fault', '{}', '--out', 'f.html')]


@pytest.mark.parametrize('template', GENERATED, ids=[' '.join(t[:2]) for t in GENERATED])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT)
def test_any_value_is_read_or_refused_in_one_line(run_cli, template, value):
    argv = [value if part == '{}' else part for part in template]
    code, _out, err = run_cli(*argv)
    assert code in (0, ERROR, USAGE), (argv, code, err)
    if code:
        one_line(err)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT)
def test_any_extra_vars_text_is_read_or_refused_in_one_line(value):
    try:
        data = bjeic_cli.parse_extra_vars([value])
    except bjeic_cli.BjeicOpsError as exc:
        assert '\n' not in str(exc)
    else:
        assert isinstance(data, dict)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=TEXT)
def test_any_time_given_to_a_writing_command_is_taken_or_refused_leaving_the_store_as_it_was(run_cli, value):
    code, _out, err = run_cli('incident', 'note', '1', 'checked', '--at', value, unchanged=False)
    if code:
        one_line(err)
        assert code in (ERROR, USAGE)


# ---------------------------------------------------------------- playbook entry points

ENTRY_POINTS = [
    ('daily_inspection.yml', {'inspect_thresholds': 'all of them'}, 'inspect_thresholds'),
    ('daily_inspection.yml', {'inspect_checks': ['no.such.check']}, 'no.such.check'),
    ('harden.yml', {'harden_mode': 'obliterate'}, 'harden_mode'),
    ('patch.yml', {'patch_state': 'sideways'}, 'patch_state'),
    ('patch_rollback.yml', {}, 'Say which transaction to roll back'),
    ('patch_commit.yml', {}, 'Say which transaction to commit'),
    ('backup_verify.yml', {'target': 'localhost', 'backup_verify_sets': 'everything'}, 'backup_verify_sets'),
    ('db_ledger.yml', {'target': 'localhost', 'db_ledger_instances': 'mysql'}, 'db_ledger_instances'),
    ('special_duty.yml', {'target': 'localhost', 'special_duty_thresholds': 'tight'}, 'inspect_thresholds'),
    ('drills/restore.yml', {}, ''),
    ('drills/service_failure.yml', {}, ''),
    ('drills/database.yml', {}, ''),
]


@pytest.mark.parametrize('playbook, extravars, names', ENTRY_POINTS, ids=[e[0] + ' ' + ','.join(e[1]) for e in ENTRY_POINTS])
def test_every_playbook_refuses_bad_variables_before_changing_anything(world, tmp_path, playbook, extravars, names):
    store = tmp_path / 'store.sqlite'
    env = dict(os.environ, BJEIC_OPS_STORE='sqlite:///%s' % store, BJEIC_OPS_ARTIFACTS=str(tmp_path / 'artifacts'),
               BJEIC_OPS_OPERATOR='li.na')
    done = subprocess.run([BJEIC_OPS, 'run', playbook, '-i', str(world / 'hosts.yml'), '--check',
                           '-e', json.dumps(extravars)], capture_output=True, text=True, env=env, timeout=300)
    assert 'Traceback' not in done.stdout + done.stderr, done.stdout + done.stderr
    assert done.returncode == 2, done.stdout + done.stderr          # a host failed: its task said why
    run = Store('sqlite:///%s' % store).list_runs()[0]
    assert (run['state'], run['status']) == ('complete', 'failed')
    results = Store('sqlite:///%s' % store).host_results(run['id'])
    failed = [r for r in results if r['status'] == 'failed']
    assert failed and names in failed[0]['msg'], [r['msg'] for r in failed]
    assert Store('sqlite:///%s' % store).changes(run_id=run['id']) == []
