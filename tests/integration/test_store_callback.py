"""Every run on the record (issue 21): plain ansible-playbook and AWX-style runs reach the store through the
bjeic.ops.store callback, with the same ingestion as `bjeic-ops run`; a store that cannot be written means a
spool, replayed once. Real ansible-playbook processes, real SQLite and PostgreSQL stores, real lab hosts."""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from bjeic_ops.store import Store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
PLAYBOOKS = os.path.join(ROOT, 'tests', 'integration', 'playbooks')
SECRET = 'Zx9-secret-Pa55word'
FAST = json.dumps({'inspect_checks': ['fs.usage', 'mem.usage'], 'db_password': SECRET})


def local_inventory(path):
    path.write_text(json.dumps({'linux': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'ansible_become': False}}}}))
    return str(path)


class PlainAnsible:
    """ansible-playbook as an engineer runs it from the project: its ansible.cfg enables the callback."""

    def __init__(self, tmp_path, store_url=None):
        self.home = tmp_path / 'plain'             # apart from the cli fixture's store in tmp_path
        self.home.mkdir(exist_ok=True)
        self.store_path = self.home / 'store.sqlite'
        self.store_url = store_url or 'sqlite:///%s' % self.store_path
        self.spool = self.home / 'spool'
        self.env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), BJEIC_OPS_STORE=self.store_url,
                        BJEIC_OPS_SPOOL=str(self.spool), BJEIC_OPS_OPERATOR='wang.fang', ANSIBLE_FORCE_COLOR='0',
                        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([
                            os.path.join(ROOT, 'collections'), os.path.join(ROOT, 'tests', 'fixtures', 'collections')]))
        for name in ('BJEIC_OPS_RUN_ID', 'BJEIC_OPS_RECORD', 'BJEIC_OPS_TICKET'):
            self.env.pop(name, None)

    def command(self, *args):
        return [os.path.join(BIN, 'ansible-playbook')] + [str(a) for a in args]

    def __call__(self, *args, check=True):
        done = subprocess.run(self.command(*args), capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=600)
        if check and done.returncode != 0:
            raise AssertionError('ansible-playbook exited %d\n%s\n%s' % (done.returncode, done.stdout[-3000:],
                                                                       done.stderr[-3000:]))
        return done

    def store(self):
        return Store(self.store_url)


def recorded(store, run_id):
    """What a run left in the store, independent of row ids and times: for comparing two ways of recording."""
    findings = sorted((f['host'], f['check_id'], f['severity'], f['subject']) for f in store.findings(run_id))
    ledger = sorted((i['kind'], i['key'], json.dumps(dict(i['attrs'], state=None), sort_keys=True))
                    for kind in ('os', 'network', 'cloud') for i in store.ledger(kind, run_id=run_id))
    results = sorted((r['host'], r['task'], r['status'], r['changed']) for r in store.host_results(run_id))
    return findings, ledger, results


def test_a_plain_ansible_playbook_run_is_recorded_like_a_bjeic_ops_run(tmp_path, cli):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    plain = PlainAnsible(tmp_path)
    plain.env['BJEIC_OPS_TICKET'] = 'CHG-3001'
    plain('playbooks/daily_inspection.yml', '-i', inventory, '--limit', 'localhost', '-e', FAST)
    store = plain.store()
    [run] = store.list_runs()
    assert (run['state'], run['status'], run['rc']) == ('complete', 'successful', 0)
    assert (run['playbook'], run['operator'], run['ticket'], run['limit'], run['check_mode']) == (
        'playbooks/daily_inspection.yml', 'wang.fang', 'CHG-3001', 'localhost', False)
    assert run['inventory'] == inventory and run['origin']['via'] == 'ansible-playbook'
    assert run['extra_vars']['db_password'] == '********'
    assert store.ledger('os')[0]['key'].startswith('host:') and store.findings()
    # The same playbook through bjeic-ops run leaves the same records (one ingestor, one set of rules).
    cli('run', 'daily_inspection.yml', '-i', inventory, '--limit', 'localhost', '-e', FAST)
    wrapped = cli.store()
    [wrapped_run] = wrapped.list_runs()                  # recorded once: the callback stayed out
    assert recorded(store, run['id']) == recorded(wrapped, wrapped_run['id'])
    assert not plain.spool.exists() or os.listdir(plain.spool) == []   # the store took it all: no spool left
    for path in (plain.store_path, cli.store_path):
        assert SECRET.encode() not in path.read_bytes()


def test_check_mode_and_a_ticket_from_extra_vars_are_recorded(tmp_path):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    plain = PlainAnsible(tmp_path)
    plain('playbooks/daily_inspection.yml', '-i', inventory, '--check', '-e', FAST, '-e', 'bjeic_ops_ticket=CHG-42')
    [run] = plain.store().list_runs()
    assert (run['check_mode'], run['ticket']) == (True, 'CHG-42')


def test_a_plain_run_into_postgresql(tmp_path, postgres_url):
    from sqlalchemy import create_engine, text
    database = 'callback_%d' % os.getpid()
    engine = create_engine(postgres_url, isolation_level='AUTOCOMMIT')
    with engine.connect() as conn:
        conn.execute(text('CREATE DATABASE %s' % database))
    url = postgres_url.rsplit('/', 1)[0] + '/' + database
    plain = PlainAnsible(tmp_path, url)
    plain('playbooks/daily_inspection.yml', '-i', local_inventory(tmp_path / 'hosts.yml'), '-e', FAST)
    store = Store(url)
    [run] = store.list_runs()
    assert run['state'] == 'complete' and store.ledger('os') and store.findings()


def test_a_store_that_cannot_be_reached_means_a_spool_replayed_once(tmp_path, cli):
    inventory = local_inventory(tmp_path / 'hosts.yml')
    down = PlainAnsible(tmp_path, 'postgresql+psycopg://ops:pw@127.0.0.1:9/bjeic')     # nothing listens on 9
    done = down('playbooks/daily_inspection.yml', '-i', inventory, '-e', FAST)
    assert done.returncode == 0                                     # the play went on
    said = done.stdout + done.stderr
    assert 'bjeic.ops.store: the store could not be written' in said and 'bjeic-ops spool replay' in said
    assert 'ops:pw@' not in said                                    # the store password is not shown
    [spooled] = os.listdir(down.spool)
    path = down.spool / spooled
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and stat.S_IMODE(os.stat(down.spool).st_mode) == 0o700
    assert SECRET.encode() not in path.read_bytes()
    kept = tmp_path / 'copy.jsonl'
    shutil.copy(path, kept)
    # Replay into a store: the same records as a direct run; a second replay of the same spool adds nothing.
    cli.env['BJEIC_OPS_SPOOL'] = str(down.spool)
    done = cli('spool', 'replay')
    assert 'replayed %s as run 1' % path in done.stdout and not path.exists()
    shutil.copy(kept, path)
    assert 'was already in the store as run 1' in cli('spool', 'replay').stdout
    store = cli.store()
    [run] = store.list_runs()
    assert (run['state'], run['status'], run['operator']) == ('complete', 'successful', 'wang.fang')
    (tmp_path / 'direct').mkdir()
    direct = PlainAnsible(tmp_path / 'direct')
    direct('playbooks/daily_inspection.yml', '-i', inventory, '-e', FAST)
    assert recorded(store, 1) == recorded(direct.store(), 1)


def test_a_killed_ansible_playbook_leaves_an_incomplete_run(tmp_path):
    plain = PlainAnsible(tmp_path)
    process = subprocess.Popen(plain.command(os.path.join(PLAYBOOKS, 'slow.yml'), '-i', local_inventory(tmp_path / 'h.yml'),
                                             '-e', FAST), env=plain.env, cwd=ROOT, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if plain.store_path.exists() and Store(plain.store_url).count('ledger_items', 1) >= 1:
                break
            time.sleep(0.3)
        else:
            raise AssertionError('the run stored nothing within 120 s')
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    run = plain.store().get_run(1)                       # opening the store reaps it
    assert (run['state'], run['status']) == ('incomplete', 'killed')
    assert plain.store().ledger('os') == []


def test_an_awx_job_is_recorded_with_its_job_template_and_user(tmp_path):
    """As AWX runs a job: ansible-runner in a private data directory holding env/extravars (with the awx_*
    variables AWX adds), env/envvars (what the credential type injects), env/settings; the execution
    environment enables the callback (ee/execution-environment.yml)."""
    import ansible_runner
    private = tmp_path / 'awx'
    (private / 'env').mkdir(parents=True)
    (private / 'inventory').mkdir()
    local_inventory(private / 'inventory' / 'hosts.yml')
    store_path = tmp_path / 'store.sqlite'
    (private / 'env' / 'extravars').write_text(json.dumps({
        'awx_job_id': 4711, 'awx_job_template_name': 'daily-inspection', 'awx_user_name': 'li.na',
        'awx_job_launch_type': 'scheduled', 'tower_job_id': 4711, 'inspect_checks': ['fs.usage']}))
    (private / 'env' / 'envvars').write_text(json.dumps({
        'BJEIC_OPS_STORE': 'sqlite:///%s' % store_path, 'BJEIC_OPS_SPOOL': str(tmp_path / 'spool'),
        'ANSIBLE_CALLBACKS_ENABLED': 'bjeic.ops.store', 'JOB_ID': '4711',
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(ROOT, 'collections')}))
    (private / 'env' / 'settings').write_text(json.dumps({'job_timeout': 600}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(('BJEIC_OPS_', 'ANSIBLE_'))}
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        runner = ansible_runner.run(private_data_dir=str(private), project_dir=ROOT,
                                    playbook=os.path.join(ROOT, 'playbooks', 'daily_inspection.yml'), quiet=True)
    finally:
        os.environ.clear()
        os.environ.update(old)
    assert runner.status == 'successful', runner.stdout.read()
    [run] = Store('sqlite:///%s' % store_path).list_runs()
    assert run['origin']['via'] == 'awx'
    assert run['origin']['awx'] == {'job_id': 4711, 'job_template': 'daily-inspection', 'launched_by': 'li.na',
                                    'launch_type': 'scheduled'}
    assert run['operator'] == 'li.na' and run['state'] == 'complete'


@pytest.mark.lab
def test_an_enforce_by_plain_ansible_playbook_is_a_change_record_that_rolls_back(tmp_path, cli, lab_inventory, labctl):
    plain = PlainAnsible(tmp_path)
    plain.env['BJEIC_OPS_TICKET'] = 'CHG-5005'
    plain('playbooks/harden.yml', '-i', lab_inventory, '--limit', 'pytest-plain', '-e', 'harden_mode=enforce',
          '-e', '{"harden_controls": ["session.tmout"]}')
    cli.env['BJEIC_OPS_STORE'] = plain.store_url
    cli.store_path = plain.store_path
    changes = json.loads(cli('changes', '--format', 'json').stdout)
    assert changes and {c['ticket'] for c in changes} == {'CHG-5005'} and {c['operator'] for c in changes} == {'wang.fang'}
    handle = next(c for c in changes if c['rollback'])
    profile = subprocess.run(['podman', 'exec', labctl.PREFIX + 'pytest-plain', 'grep', '-rl', 'TMOUT', '/etc/profile.d'],
                             capture_output=True, text=True, env=dict(os.environ, CONTAINERS_CONF=os.path.join(
                                 labctl.LAB_DIR, 'containers.conf')))
    assert profile.stdout.strip()
    done = cli('rollback', handle['id'])
    assert 'complete (successful' in done.stdout
    after = subprocess.run(['podman', 'exec', labctl.PREFIX + 'pytest-plain', 'grep', '-rl', 'TMOUT', '/etc/profile.d'],
                           capture_output=True, text=True, env=dict(os.environ, CONTAINERS_CONF=os.path.join(
                               labctl.LAB_DIR, 'containers.conf')))
    assert after.stdout.strip() == ''
