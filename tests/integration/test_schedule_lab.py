"""Schedules on a real systemd host: a lab container running systemd, with this checkout and its Python mounted at
the same paths, so the bjeic-ops inside is this one. `schedule install` writes the timers, `systemctl list-timers`
shows them, the timer fires at the next minute and starts a real recorded run (operator schedule:JOB) into a store
the test reads; a round started while that one runs is skipped and recorded; `schedule remove` cleans up."""
import json
import os
import sys
import time

import pytest

from bjeic_ops.store import Store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOST = 'pytest-sched'
pytestmark = pytest.mark.lab


@pytest.fixture(scope='module')
def sched_host(labctl, tmp_path_factory):
    shared = tmp_path_factory.mktemp('shared')
    os.chmod(shared, 0o755)
    volumes = ['%s:%s' % (ROOT, ROOT), '%s:/shared' % shared]
    if not sys.base_prefix.startswith('/usr'):        # a pyenv interpreter the venv points at
        volumes.append('%s:%s:ro' % (sys.base_prefix, sys.base_prefix))
    try:
        labctl.up([HOST], systemd=True, volumes=volumes)
        for _ in range(60):
            if labctl.sh(HOST, 'systemctl is-system-running || true').strip() in ('running', 'degraded'):
                break
            time.sleep(1)
        yield labctl, shared
    finally:
        labctl.down([HOST])


def bjeic_ops(labctl, *args, check=True):
    env = ' '.join('%s=%s' % item for item in (
        ('BJEIC_OPS_STORE', 'sqlite:////shared/store.sqlite'), ('BJEIC_OPS_ARTIFACTS', '/shared/artifacts'),
        ('BJEIC_OPS_SPOOL', '/shared/spool'), ('ANSIBLE_CONFIG', os.path.join(ROOT, 'ansible.cfg')),
        ('BJEIC_OPS_OPERATOR', 'test')))
    return labctl.podman('exec', labctl.PREFIX + HOST, 'sh', '-c', 'env %s %s/.venv/bin/bjeic-ops %s' % (
        env, ROOT, ' '.join("'%s'" % a for a in args)), check=check)


def test_a_timer_starts_a_recorded_run_and_an_overlapping_round_is_skipped(sched_host):
    labctl, shared = sched_host
    schedule_file = shared / 'schedules.yml'
    schedule_file.write_text(json.dumps({'jobs': {'round': {
        'playbook': os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'schedule_round.yml'),
        'inventory': os.path.join(ROOT, 'inventories', 'local', 'hosts.yml'),
        'extra_vars': {'round_seconds': 25}, 'when': '* * * * *', 'timeout': 300}}}))
    out = bjeic_ops(labctl, 'schedule', 'install', '--file', '/shared/schedules.yml').stdout
    assert 'wrote 2 unit files to /etc/systemd/system; timers started' in out
    assert 'bjeic-ops-round.timer' in labctl.sh(HOST, 'systemctl list-timers --all --no-pager')
    assert '0600' in labctl.sh(HOST, 'stat -c %a /etc/bjeic-ops/schedule.env').replace('600', '0600')

    # The timer fires at the next minute; while that round sleeps, a second one is refused.
    deadline = time.time() + 90
    while time.time() < deadline and labctl.sh(HOST, 'systemctl is-active bjeic-ops-round.service || true').strip() != 'activating':
        time.sleep(1)
    assert time.time() < deadline, 'the timer did not start the service within 90 s'
    # 'activating' is the service's start, before bjeic-ops has taken the job's lock (seconds, on a busy machine): the
    # round holds the lock once it has recorded 'started'.
    while time.time() < deadline + 60 and 'started' not in [e['event'] for e in Store(
            'sqlite:///%s' % (shared / 'store.sqlite'), readonly=True).schedule_events('round')]:
        time.sleep(0.5)
    second = bjeic_ops(labctl, 'schedule', 'run-job', 'round', '--file', '/shared/schedules.yml', check=False)
    assert second.returncode == 0 and 'job round skipped' in second.stdout
    deadline = time.time() + 120
    while time.time() < deadline and labctl.sh(HOST, 'systemctl is-active bjeic-ops-round.service || true').strip() == 'activating':
        time.sleep(1)

    store = Store('sqlite:///%s' % (shared / 'store.sqlite'), readonly=True)
    events = [e['event'] for e in store.schedule_events('round')]
    assert events[:4] == ['installed', 'started', 'skipped', 'finished'], events
    run = store.get_run(store.schedule_events('round')[3]['run_id'])
    assert (run['operator'], run['state'], run['status']) == ('schedule:round', 'complete', 'successful')
    assert [r['host'] for r in store.host_results(run['id'])][:1] == ['localhost']
    listed = json.loads(bjeic_ops(labctl, 'schedule', 'list', '--file', '/shared/schedules.yml', '--format', 'json').stdout)
    assert listed[0]['job'] == 'round' and listed[0]['last_result'] in ('finished', 'skipped')

    out = bjeic_ops(labctl, 'schedule', 'remove').stdout
    assert 'removed 2 unit files' in out
    assert 'bjeic-ops-round' not in labctl.sh(HOST, 'systemctl list-timers --all --no-pager')
    assert labctl.sh(HOST, 'ls /etc/systemd/system | grep -c bjeic-ops || true').strip() == '0'
