"""Running the collection's modules and playbooks on lab hosts, as an engineer would."""
import contextlib
import json
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_module(inventory, host, module, args, workdir, check_mode=False, expect_failure=False, extra_vars=None):
    """Run one bjeic.ops module once on `host` through a one-task playbook; returns its result.

    The registered result is written out by a second task (the tree callback drops `failed`).
    """
    output = workdir / 'result.json'
    playbook = [{'hosts': host, 'gather_facts': False, 'tasks': [
        {module: args, 'register': 'result', 'ignore_errors': True},
        {'ansible.builtin.copy': {'content': '{{ result | to_json }}', 'dest': str(output), 'mode': '0600'},
         'delegate_to': 'localhost', 'become': False, 'check_mode': False}]}]
    (workdir / 'play.yml').write_text(json.dumps(playbook))
    command = [os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'), '-i', str(inventory), str(workdir / 'play.yml')]
    if check_mode:
        command += ['--check', '--diff']
    for name, value in (extra_vars or {}).items():
        command += ['-e', '%s=%s' % (name, value)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    assert output.exists(), (done.stdout[-3000:], done.stderr[-2000:])
    result = json.loads(output.read_text())
    assert bool(result.get('failed')) == expect_failure, (done.stdout[-3000:], done.stderr[-2000:])
    return result


def run_playbook(playbook, inventory, extra_vars=None, check=True, timeout=900):
    """ansible-playbook as an engineer runs it, with the repository's ansible.cfg."""
    command = [os.path.join(ROOT, '.venv', 'bin', 'ansible-playbook'), '-i', str(inventory), str(playbook)]
    if extra_vars:
        command += ['-e', json.dumps(extra_vars)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    if check and done.returncode != 0:
        raise AssertionError('%s exited %d\n%s\n%s' % (playbook, done.returncode, done.stdout[-4000:], done.stderr[-2000:]))
    return done


@contextlib.contextmanager
def lab_hosts(labctl, tmp_path_factory, groups, setup=None):
    """Lab hosts up for a test module: `groups` is [(names, labctl.up options)], `setup` {name: shell
    script run as root}. Yields the inventory path; the hosts are removed however the tests end."""
    names = [name for group, _options in groups for name in group]
    try:
        records = []
        for group, options in groups:
            records += labctl.up(group, **options)
        inventory = tmp_path_factory.mktemp('inventory') / 'hosts.ini'
        inventory.write_text(labctl.inventory(records))
        for name, script in (setup or {}).items():
            labctl.sh(name, script)
        yield inventory
    finally:
        labctl.down(names)


def backdate(store, run_id, days):
    """Move a run and everything it recorded `days` into the past (the store's times, not the code's)."""
    from datetime import timedelta
    from sqlalchemy import select, update
    from bjeic_ops import store as tables
    shift = timedelta(days=days)
    run = store.get_run(run_id)
    with store.engine.begin() as conn:
        conn.execute(update(tables.runs).where(tables.runs.c.id == run_id).values(
            started_at=run['started_at'] - shift, finished_at=run['finished_at'] - shift))
        for table, column in ((tables.ledger_items, 'seen_at'), (tables.findings, 'at'), (tables.host_results, 'at')):
            # Row by row in Python: date arithmetic in SQL differs between SQLite and PostgreSQL.
            for row in conn.execute(select(table.c.id, table.c[column]).where(table.c.run_id == run_id)).all():
                conn.execute(update(table).where(table.c.id == row[0]).values({column: row[1] - shift}))


def device_mapper_available():
    """LVM can be run here: the kernel has device-mapper and the LVM tools are installed."""
    return os.path.exists('/dev/mapper/control') and shutil.which('lvcreate') is not None
