"""The drill playbooks (playbooks/drills/) carried out end to end on lab hosts: each runs green
and is recorded with its timings, and each fails loudly when its verification fails."""
import json
import os

import pytest

from labrun import ROOT, lab_hosts, run_playbook

pytestmark = pytest.mark.lab

SD_HOST, SOURCE, SCRATCH = 'pytest-drill-sd', 'pytest-drill-src', 'pytest-drill-scratch'
DRILLS = os.path.join(ROOT, 'playbooks', 'drills')

# A business service whose start needs /etc/demo.ok: removing the file makes recovery fail.
DEMO_UNIT = r'''
set -e
printf '[Unit]\nDescription=bjeic demo service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/usr/bin/test -f /etc/demo.ok\n[Install]\nWantedBy=multi-user.target\n' > /etc/systemd/system/bjeic-demo.service
touch /etc/demo.ok
systemctl daemon-reload
systemctl start bjeic-demo.service
'''

# The source host's application and its backup job's output: an archive and a manifest of its content.
SOURCE_SETUP = r'''
set -e
mkdir -p /srv/app/conf /srv/app/data /backup/app
printf 'listen 8080\n' > /srv/app/conf/app.conf
head -c 200000 /dev/urandom > /srv/app/data/blob.bin
cd /backup/app && tar -czf app-1.tar.gz -C /srv app
(cd /srv && find app -type f | sort | xargs sha256sum) > app-1.tar.gz.sha256
'''


@pytest.fixture(scope='module')
def drill_lab(labctl, tmp_path_factory):
    groups = [([SD_HOST], {'systemd': True}), ([SOURCE, SCRATCH], {})]
    with lab_hosts(labctl, tmp_path_factory, groups, {SD_HOST: DEMO_UNIT, SOURCE: SOURCE_SETUP}) as inventory:
        yield inventory


def test_service_failure_drill_is_detected_recovered_and_stored(cli, drill_lab, labctl):
    cli('run', os.path.join(DRILLS, 'service_failure.yml'), '-i', drill_lab, '-e', 'target=%s' % SD_HOST,
        '-e', 'drill_service=bjeic-demo', '-e', 'drill_poll_seconds=1',
        '-e', '{"drill_objectives": {"detection_seconds": 120, "recovery_seconds": 300}}')
    assert labctl.sh(SD_HOST, 'systemctl is-active bjeic-demo.service').strip() == 'active'
    drills = json.loads(cli('drills', '--format', 'json').stdout)
    assert len(drills) == 1
    drill = drills[0]
    assert (drill['drill'], drill['drill_kind'], drill['outcome'], drill['host']) == (
        'bjeic-demo failure on %s' % SD_HOST, 'service_failure', 'passed', SD_HOST)
    assert 0 <= drill['detection_seconds'] <= drill['recovery_seconds'] <= drill['total_seconds']
    stored = cli.store().drills()[0]
    assert [s['name'] for s in stored['steps']] == ['precheck', 'fault', 'detected', 'recovered']
    assert 'bjeic-demo' in stored['steps'][2]['detail'] and 'inactive' in stored['steps'][2]['detail']
    assert stored['objectives'] == {'detection_seconds': 120, 'recovery_seconds': 300}


def test_service_failure_drill_fails_loudly_when_the_service_does_not_come_back(cli, drill_lab, labctl):
    labctl.sh(SD_HOST, 'rm /etc/demo.ok')
    try:
        done = cli('run', os.path.join(DRILLS, 'service_failure.yml'), '-i', drill_lab, '-e', 'target=%s' % SD_HOST,
                   '-e', 'drill_service=bjeic-demo', '-e', 'drill_poll_seconds=1', '-e', 'drill_detect_timeout=3',
                   check=False)
        assert done.returncode == 2, done.stdout[-2000:]
        drill = cli.store().drills()[-1]
        assert drill['outcome'] == 'failed'
        assert [s['name'] for s in drill['steps'] if not s['ok']] == ['recovered']
    finally:
        labctl.sh(SD_HOST, 'touch /etc/demo.ok && systemctl start bjeic-demo.service')


def test_service_failure_drill_refuses_the_management_channel(drill_lab):
    done = run_playbook(os.path.join(DRILLS, 'service_failure.yml'), drill_lab,
                        {'target': SD_HOST, 'drill_service': 'ssh'}, check=False)
    assert done.returncode != 0 and 'could cut Ansible off the host' in done.stdout


def test_restore_drill_restores_onto_the_scratch_host_and_verifies(cli, drill_lab, labctl):
    backup_set = {'name': 'app', 'path': '/backup/app/app-*.tar.gz', 'manifest': '{file}.sha256'}
    cli('run', os.path.join(DRILLS, 'restore.yml'), '-i', drill_lab, '-e', 'drill_source=%s' % SOURCE,
        '-e', 'drill_scratch=%s' % SCRATCH, '-e', json.dumps({'drill_backup_set': backup_set}),
        '-e', "drill_verify_command='grep -q 8080 /srv/restore-drill/app/conf/app.conf'")
    drill = cli.store().drills()[-1]
    assert drill['outcome'] == 'passed' and drill['kind'] == 'restore' and drill['host'] == SCRATCH
    steps = {s['name']: s for s in drill['steps']}
    assert list(steps) == ['fault', 'located', 'transferred', 'restored', 'recovered']
    assert steps['recovered']['detail'].startswith('2 files restored; they match the manifest')
    assert drill['timings']['recovery_seconds'] > 0
    # cleaned up: the scratch host keeps nothing, the source is untouched
    assert labctl.sh(SCRATCH, 'ls /srv/restore-drill /var/tmp/bjeic-drill-incoming 2>&1 || true').count('No such file') == 2
    assert labctl.sh(SOURCE, 'ls /backup/app').split() == ['app-1.tar.gz', 'app-1.tar.gz.sha256']


def test_restore_drill_fails_loudly_when_verification_fails(cli, drill_lab, labctl):
    backup_set = {'name': 'app', 'path': '/backup/app/app-*.tar.gz', 'manifest': '{file}.sha256'}
    done = cli('run', os.path.join(DRILLS, 'restore.yml'), '-i', drill_lab, '-e', 'drill_source=%s' % SOURCE,
               '-e', 'drill_scratch=%s' % SCRATCH, '-e', json.dumps({'drill_backup_set': backup_set}),
               '-e', "drill_verify_command='test -f /srv/restore-drill/app/conf/missing.conf'", check=False)
    assert done.returncode == 2
    drill = cli.store().drills()[-1]
    assert drill['outcome'] == 'failed'
    failed = [s for s in drill['steps'] if not s['ok']]
    assert [s['name'] for s in failed] == ['recovered'] and 'exited 1' in failed[0]['detail']
