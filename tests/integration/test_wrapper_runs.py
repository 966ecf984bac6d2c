"""bjeic-ops run: real playbooks on real lab hosts, streamed into the store; exit codes, JUnit, secrets."""
import json
import os
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = 'Zx9-secret-Pa55word'
SECRET_ENV = 'S3cret-from-env-42'


def all_text_under(path):
    for root, _dirs, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), 'rb') as handle:
                yield os.path.join(root, name), handle.read()


def test_inspection_run_is_stored_and_keeps_secrets_out(cli, lab_inventory, tmp_path):
    cli.env['DB_ADMIN_PASSWORD'] = SECRET_ENV
    done = cli('run', 'daily_inspection.yml', '-i', lab_inventory, '--ticket', 'CHG-2026-001',
               '-e', json.dumps({'db_password': SECRET, 'note': 'uses %s inline' % SECRET_ENV}),
               '--secret-env', 'DB_ADMIN_PASSWORD', '--junit', tmp_path / 'junit.xml')
    # Headless: plain progress lines, no terminal control codes.
    assert '\x1b[' not in done.stdout
    assert 'hosts 3/3 reported, 0 failed, 0 unreachable' in done.stdout  # two lab hosts and the summary on localhost
    store = cli.store()
    run = store.list_runs()[0]
    assert (run['state'], run['status'], run['rc'], run['ticket'], run['operator']) == (
        'complete', 'successful', 0, 'CHG-2026-001', 'zhang.wei')
    assert run['extra_vars']['db_password'] == '********'
    assert SECRET_ENV not in json.dumps(run['extra_vars'])
    os_ledger = store.ledger('os')
    assert [item['key'] for item in os_ledger] == ['host:pytest-plain', 'host:pytest-sd']
    assert [item['key'] for item in store.ledger('network')] == ['netpolicy:pytest-plain', 'netpolicy:pytest-sd']
    sshd = [s for s in store.ledger('network')[0]['attrs']['listening'] if s['port'] == 22]
    assert sshd and sshd[0]['process'] == 'sshd'
    results = store.host_results(run['id'])
    assert {(r['host'], r['status']) for r in results if r['task'] == 'Inspect the host in one call'} == {
        ('pytest-plain', 'ok'), ('pytest-sd', 'ok')}
    # JUnit: one testcase per host x task.
    suite = ET.parse(tmp_path / 'junit.xml').getroot()
    assert int(suite.get('tests')) == len(results) == len(suite.findall('testcase'))
    assert {case.get('classname') for case in suite.findall('testcase')} >= {'pytest-plain', 'pytest-sd'}
    # Secrets: nowhere in the store file or the run artifacts.
    for path, data in list(all_text_under(cli.artifacts)) + list(all_text_under(os.path.dirname(cli.store_path))):
        assert SECRET.encode() not in data, path
        assert SECRET_ENV.encode() not in data, path
    assert oct(os.stat(cli.artifacts).st_mode & 0o777) == '0o700'


def test_fail_on_findings_and_unreachable_exit_codes(cli, lab_inventory, tmp_path):
    warn_only = json.dumps({'inspect_thresholds': {'fs.usage': {'warning': 0, 'critical': 100}},
                            'inspect_checks': ['fs.usage']})
    assert cli('run', 'daily_inspection.yml', '-i', lab_inventory, '-e', warn_only, '--fail-on', 'critical').returncode == 0
    done = cli('run', 'daily_inspection.yml', '-i', lab_inventory, '-e', warn_only, '--fail-on', 'warning', check=False)
    assert done.returncode == 10, done.stdout + done.stderr
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text(open(lab_inventory).read().replace(
        '[linux]\n', '[linux]\ngone ansible_host=127.0.0.1 ansible_port=9 ansible_user=lab\n'))
    done = cli('run', 'daily_inspection.yml', '-i', inventory, '--junit', tmp_path / 'j.xml', check=False)
    assert done.returncode == 4, done.stdout + done.stderr
    assert 'host gone unreachable' in done.stdout
    errors = [case for case in ET.parse(tmp_path / 'j.xml').getroot().findall('testcase') if case.find('error') is not None]
    assert [case.get('classname') for case in errors] == ['gone']


def test_bad_input_gets_a_clear_error_and_writes_nothing(cli, lab_inventory):
    done = cli('run', 'no_such_playbook.yml', '-i', lab_inventory, check=False)
    assert done.returncode == 1
    assert done.stderr.startswith('bjeic-ops: no playbook at ')
    done = cli('run', 'daily_inspection.yml', '-i', '/nonexistent/hosts', check=False)
    assert done.returncode == 1 and 'no inventory at /nonexistent/hosts' in done.stderr
    assert cli.store().list_runs() == []
    done = cli('ledger', 'disks', check=False)
    assert done.returncode == 1 and 'ledger kind must be one of os, db, network, cloud, backup or all' in done.stderr
    done = cli('changes', '--since', 'yesterday', check=False)
    assert done.returncode == 1 and "not a date or time: 'yesterday'" in done.stderr


def test_terminal_gets_a_live_display(cli):
    import pty
    import subprocess
    local = os.path.join(ROOT, 'inventories', 'local', 'hosts.yml')
    master, slave = pty.openpty()
    process = subprocess.Popen(cli.command + ['run', 'daily_inspection.yml', '-i', local, '-e', '{"inspect_checks": ["fs.usage"]}'],
                               stdin=slave, stdout=slave, stderr=slave, env=cli.env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:   # the pty closes when the process exits
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(master)
    screen = b''.join(chunks).decode('utf-8', 'replace')
    assert process.returncode == 0, screen
    assert '\x1b[' in screen                   # rich drew on the terminal
    assert 'reported' in screen and 'findings' in screen


def test_artifacts_are_private_and_pruned(cli):
    local = os.path.join(ROOT, 'inventories', 'local', 'hosts.yml')
    cli.env['BJEIC_OPS_KEEP_ARTIFACTS'] = '2'
    for _ in range(3):
        cli('run', 'daily_inspection.yml', '-i', local, '-e', '{"inspect_checks": ["fs.usage"]}')
    store_id = cli.store().store_id()[:12]
    assert sorted(os.listdir(cli.artifacts)) == ['run-%s-000002' % store_id, 'run-%s-000003' % store_id]
    for name in os.listdir(cli.artifacts):
        assert os.stat(os.path.join(cli.artifacts, name)).st_mode & 0o077 == 0
    findings = json.loads(cli('findings', '--run', 3, '--format', 'json', '--severity', 'critical',
                              '--severity', 'warning', '--severity', 'info').stdout)
    assert all(f['run_id'] == 3 for f in findings)
