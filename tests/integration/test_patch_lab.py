"""linux_patch on lab hosts with real apt and real dnf/rpm, against local repositories of test
packages built by lab/testrepo.py (dpkg-deb, rpmbuild, apt-ftparchive, createrepo_c).

Stage `old` is installed first (lib 1.0, app 1.0, tool 1.0); then the repositories move to stage
`new` (lib 1.1, app 1.1 needing the new bjeic-demo-extra, tool 1.1 as a security update). The apt
repositories of `new` no longer carry the old versions, as Debian's do, so apt rollback can only
work from what linux_patch kept. Every rollback is checked against the full installed set
(`dpkg-query` / `rpm -qa`) taken before the first apply.
"""
import json
import os
import shutil
import subprocess

import pytest

from labrun import device_mapper_available, run_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.lab

APT_HOST, DNF_HOST = 'pytest-patch-apt', 'pytest-patch-dnf'
REPO_MOUNT = '/srv/test-repo'
APT_SOURCES = ('deb [trusted=yes] file:%s/apt/main ./\\ndeb [trusted=yes] file:%s/apt/security ./\\n'
               % (REPO_MOUNT, REPO_MOUNT))
DNF_REPO = '[lab]\\nname=lab test packages\\nbaseurl=file://%s/rpm\\ngpgcheck=0\\n' % REPO_MOUNT
PACKAGE_SET = {'apt': "dpkg-query -W -f '${binary:Package} ${Version}\\n' | sort",
               'dnf': "rpm -qa --qf '%{NAME}.%{ARCH} %{VERSION}-%{RELEASE}\\n' | sort"}


class Lab:
    """The patch lab: the two hosts, their inventory and the test repositories' stage."""

    def __init__(self, labctl, testrepo, repo_dir, inventory, tmp_path_factory):
        self.labctl, self.testrepo, self.repo_dir = labctl, testrepo, repo_dir
        self.inventory, self.tmp = inventory, tmp_path_factory

    def stage(self, name):
        self.testrepo.stage(str(self.repo_dir), name)

    def sh(self, host, command, check=True):
        return self.labctl.sh(host, command, check)

    def package_set(self, host, backend):
        return self.sh(host, PACKAGE_SET[backend])

    def patch(self, host, args, check_mode=False, expect_failure=False):
        """Run bjeic.ops.linux_patch once on `host`; returns the module result."""
        return run_module(self.inventory, host, 'bjeic.ops.linux_patch', args, self.tmp.mktemp('patch-run'),
                          check_mode=check_mode, expect_failure=expect_failure)


@pytest.fixture(scope='module')
def patch_lab(labctl, testrepo, tmp_path_factory):
    repo_dir = tmp_path_factory.mktemp('testrepo')
    testrepo.build(str(repo_dir))
    testrepo.stage(str(repo_dir), 'old')
    volume = ['%s:%s:ro' % (repo_dir, REPO_MOUNT)]
    names = [APT_HOST, DNF_HOST]
    try:
        hosts = labctl.up([APT_HOST], volumes=volume) + labctl.up([DNF_HOST], variant='dnf', volumes=volume)
        inventory = tmp_path_factory.mktemp('inventory') / 'hosts.ini'
        inventory.write_text(labctl.inventory(hosts))
        lab = Lab(labctl, testrepo, repo_dir, str(inventory), tmp_path_factory)
        lab.sh(APT_HOST, "printf '%s' > /etc/apt/sources.list.d/test.list && apt-get update -qq "
                         "&& apt-get install -y -qq bjeic-demo-app bjeic-demo-tool >/dev/null && apt-get clean"
               % APT_SOURCES)
        lab.sh(DNF_HOST, "printf '%s' > /etc/yum.repos.d/lab.repo && dnf -y -q install bjeic-demo-app bjeic-demo-tool"
               % DNF_REPO)
        lab.stage('new')
        yield lab
    finally:
        labctl.down(names)


def versions(result):
    return {row['name']: (row['before'], row['after']) for row in result['packages']}


@pytest.mark.parametrize('host,backend,suffix', [(APT_HOST, 'apt', ''), (DNF_HOST, 'dnf', '.noarch')])
def test_plan_apply_and_roll_back_to_the_exact_package_set(patch_lab, host, backend, suffix):
    lib, app, extra, tool = ('bjeic-demo-%s%s' % (n, suffix) for n in ('lib', 'app', 'extra', 'tool'))
    initial = patch_lab.package_set(host, backend)

    plan = patch_lab.patch(host, {'state': 'planned', 'backend': backend})
    assert {u['name']: (u['current'], u['candidate']) for u in plan['updates']} == {
        lib: ('1.0-1', '1.1-1'), app: ('1.0-1', '1.1-1'), tool: ('1.0-1', '1.1-1')}
    assert [u['name'] for u in plan['updates'] if u['security']] == [tool]
    assert {f['check'] for f in plan['findings']} == {'patch.updates_available', 'patch.security_updates'}
    assert not plan['changed'] and patch_lab.package_set(host, backend) == initial

    # Check mode is the plan, and changes nothing.
    preview = patch_lab.patch(host, {'state': 'applied', 'backend': backend, 'security_only': True}, check_mode=True)
    assert preview['changed'] and [u['name'] for u in preview['updates']] == [tool]
    assert patch_lab.package_set(host, backend) == initial

    first = patch_lab.patch(host, {'state': 'applied', 'backend': backend, 'exclude': ['bjeic-demo-tool']})
    assert versions(first) == {lib: ('1.0-1', '1.1-1'), app: ('1.0-1', '1.1-1'), extra: (None, '1.0-1')}
    txn = first['transaction_id']
    assert first['rollback'] == {'id': txn, 'how': {'module': 'bjeic.ops.linux_patch',
                                                    'args': {'state': 'rolled_back', 'transaction_id': txn}}}
    assert {(c['object'], c['action']) for c in first['changes']} == {
        ('package:' + lib, 'upgrade'), ('package:' + app, 'upgrade'), ('package:' + extra, 'install')}
    assert patch_lab.sh(host, 'cat /usr/share/bjeic-demo/lib.txt').strip() == 'bjeic-demo-lib 1.1'

    second = patch_lab.patch(host, {'state': 'applied', 'backend': backend, 'security_only': True})
    assert versions(second) == {tool: ('1.0-1', '1.1-1')}

    # The records are root-only and say what happened.
    record_dir = '/var/lib/bjeic-ops/patch'
    assert patch_lab.sh(host, 'stat -c %%a %s %s/%s %s/%s/record.json' % (record_dir, record_dir, txn, record_dir, txn)
                        ).split() == ['700', '700', '600']
    record = json.loads(patch_lab.sh(host, 'cat %s/%s/record.json' % (record_dir, txn)))
    assert record['state'] == 'applied' and record['backend'] == backend
    if backend == 'apt':   # the repository dropped 1.0: the old versions were rebuilt from the host
        assert {k: list(v.values())[0]['source'] for k, v in record['kept'].items()} == {lib: 'repacked', app: 'repacked'}

    # Roll back the first transaction: the later security update stays.
    undo = patch_lab.patch(host, {'state': 'rolled_back', 'backend': backend, 'transaction_id': txn})
    assert versions(undo) == {lib: ('1.1-1', '1.0-1'), app: ('1.1-1', '1.0-1'), extra: ('1.0-1', None)}
    assert patch_lab.sh(host, 'cat /usr/share/bjeic-demo/lib.txt /usr/share/bjeic-demo/tool.txt').split('\n')[:2] == [
        'bjeic-demo-lib 1.0', 'bjeic-demo-tool 1.1']
    again = patch_lab.patch(host, {'state': 'rolled_back', 'backend': backend, 'transaction_id': txn})
    assert not again['changed'] and 'already rolled back' in again['msg']

    latest = patch_lab.patch(host, {'state': 'rolled_back', 'backend': backend, 'transaction_id': 'latest'})
    assert latest['transaction_id'] == second['transaction_id'] and versions(latest) == {tool: ('1.1-1', '1.0-1')}
    assert patch_lab.package_set(host, backend) == initial


def test_dnf_rollback_falls_back_to_versioned_downgrades_without_history(patch_lab):
    initial = patch_lab.package_set(DNF_HOST, 'dnf')
    applied = patch_lab.patch(DNF_HOST, {'state': 'applied', 'backend': 'dnf', 'names': ['bjeic-demo-app']})
    assert set(versions(applied)) == {'bjeic-demo-app.noarch', 'bjeic-demo-lib.noarch', 'bjeic-demo-extra.noarch'}
    patch_lab.sh(DNF_HOST, 'rm -f /var/lib/dnf/history.sqlite*')    # the dnf history is gone
    undone = patch_lab.patch(DNF_HOST, {'state': 'rolled_back', 'backend': 'dnf',
                                        'transaction_id': applied['transaction_id']})
    assert 'versioned downgrade' in undone['msg'] and any('history undo' in w for w in undone['warnings'])
    assert patch_lab.package_set(DNF_HOST, 'dnf') == initial


def test_refusals_change_nothing_and_say_why(patch_lab):
    initial = patch_lab.package_set(APT_HOST, 'apt')
    base = {'state': 'applied', 'backend': 'apt'}

    space = patch_lab.patch(APT_HOST, dict(base, min_free_mb=10 ** 9), expect_failure=True)
    assert 'not enough disk space' in space['msg'] and 'Nothing was changed' in space['msg']

    # Another apt run holds the dpkg lock (apt uses fcntl locks; lockf takes the same kind).
    patch_lab.sh(APT_HOST, "nohup python3 -c 'import fcntl, time; f = open(\"/var/lib/dpkg/lock-frontend\", \"w\"); "
                           "fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(30)' >/dev/null 2>&1 & sleep 1")
    locked = patch_lab.patch(APT_HOST, dict(base, lock_timeout=2, update_cache=False), expect_failure=True)
    assert 'package manager is locked' in locked['msg'], locked['msg']
    patch_lab.sh(APT_HOST, "pkill -f 'lock-fronten[d]' || true")   # the pattern must not match this shell

    patch_lab.sh(APT_HOST, "echo 'deb [trusted=yes] file:/srv/gone ./' > /etc/apt/sources.list.d/gone.list")
    unreachable = patch_lab.patch(APT_HOST, base, expect_failure=True)
    patch_lab.sh(APT_HOST, 'rm /etc/apt/sources.list.d/gone.list && apt-get update -qq')
    assert 'repository unreachable' in unreachable['msg'] and 'file:/srv/gone' in unreachable['msg']

    # An installed file is gone and the repository no longer has 1.0: the version cannot be kept.
    patch_lab.sh(APT_HOST, 'mv /usr/bin/bjeic-demo-tool /root/tool.saved')
    irreversible = patch_lab.patch(APT_HOST, dict(base, names=['bjeic-demo-tool']), expect_failure=True)
    patch_lab.sh(APT_HOST, 'mv /root/tool.saved /usr/bin/bjeic-demo-tool')
    assert 'could not be kept for rollback' in irreversible['msg'] and 'bjeic-demo-tool 1.0-1' in irreversible['msg']

    unknown = patch_lab.patch(APT_HOST, {'state': 'rolled_back', 'backend': 'apt', 'transaction_id': 'nope'},
                              expect_failure=True)
    assert 'transaction nope is unknown' in unknown['msg']

    assert patch_lab.package_set(APT_HOST, 'apt') == initial
    assert patch_lab.sh(APT_HOST, "grep -l -E '\"state\": \"(preparing|applying)\"' "
                                  "/var/lib/bjeic-ops/patch/*/record.json || true").strip() == ''


def test_a_run_killed_mid_transaction_is_recorded_and_can_be_rolled_back(patch_lab):
    initial = patch_lab.package_set(APT_HOST, 'apt')
    # dpkg finishes installing, then the module's process (apt-get's parent) dies before it can
    # record the result.
    patch_lab.sh(APT_HOST, "cat > /usr/local/sbin/kill-module <<'SH'\n"
                           "p=$PPID; while [ \"$p\" -gt 1 ]; do\n"
                           "  case \"$(cat /proc/$p/comm)\" in python*) kill -9 $p; exit 0;; esac\n"
                           "  p=$(ps -o ppid= -p $p | tr -d ' ')\n"
                           "done\nSH\n"
                           "chmod +x /usr/local/sbin/kill-module && "
                           """echo 'DPkg::Post-Invoke {"/usr/local/sbin/kill-module";};' > /etc/apt/apt.conf.d/99kill""")
    try:
        killed = subprocess.run([os.path.join(ROOT, '.venv', 'bin', 'ansible'), APT_HOST, '-i', patch_lab.inventory,
                                 '-m', 'bjeic.ops.linux_patch', '-a', 'state=applied names=bjeic-demo-tool'],
                                capture_output=True, text=True, timeout=300,
                                env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    finally:
        patch_lab.sh(APT_HOST, 'rm /etc/apt/apt.conf.d/99kill')
    assert killed.returncode != 0
    assert patch_lab.sh(APT_HOST, 'cat /usr/share/bjeic-demo/tool.txt').strip() == 'bjeic-demo-tool 1.1'

    plan = patch_lab.patch(APT_HOST, {'state': 'planned'})
    unfinished = [f for f in plan['findings'] if f['check'] == 'patch.unfinished_transaction']
    assert len(unfinished) == 1 and unfinished[0]['severity'] == 'critical'
    txn = unfinished[0]['subject']
    refused = patch_lab.patch(APT_HOST, {'state': 'applied'}, expect_failure=True)
    assert 'never finished' in refused['msg'] and txn in refused['msg']

    undone = patch_lab.patch(APT_HOST, {'state': 'rolled_back', 'transaction_id': txn})
    assert versions(undone) == {'bjeic-demo-tool': ('1.1-1', '1.0-1')}
    assert patch_lab.package_set(APT_HOST, 'apt') == initial


def test_patch_playbook_rolls_back_a_host_whose_post_check_fails(patch_lab, cli, tmp_path):
    initial = patch_lab.package_set(APT_HOST, 'apt')
    done = cli('run', 'patch.yml', '-i', patch_lab.inventory, '--limit', APT_HOST, '--ticket', 'CHG-PATCH-7',
               '-e', json.dumps({'patch_health_command': 'grep -q "lib 1.0" /usr/share/bjeic-demo/lib.txt'}),
               check=False)
    assert done.returncode == 2, done.stdout[-2000:]
    assert patch_lab.package_set(APT_HOST, 'apt') == initial
    records = json.loads(cli('changes', '--host', APT_HOST, '--format', 'json').stdout)
    actions = sorted((r['object'], r['action']) for r in records)
    assert ('package:bjeic-demo-lib', 'upgrade') in actions and ('package:bjeic-demo-lib', 'rollback') in actions
    assert all(r['ticket'] == 'CHG-PATCH-7' for r in records)

    # A passing post-check keeps the patch, and the report on the controller is the apply's result.
    cli('run', 'patch.yml', '-i', patch_lab.inventory, '--limit', APT_HOST, '-e', 'patch_security_only=true',
        '-e', json.dumps({'patch_services': [], 'patch_health_command': 'test -x /usr/bin/bjeic-demo-tool',
                          'patch_report_dir': str(tmp_path / 'applied')}))
    assert patch_lab.sh(APT_HOST, 'cat /usr/share/bjeic-demo/tool.txt').strip() == 'bjeic-demo-tool 1.1'
    report = json.loads((tmp_path / 'applied' / ('%s.json' % APT_HOST)).read_text())
    assert versions(report) == {'bjeic-demo-tool': ('1.0-1', '1.1-1')} and report['transaction_id']
    # Committed through the playbook (no snapshot here: the transaction is marked), then still undone through the
    # change record's handle by the wrapper.
    cli('run', 'patch_commit.yml', '-i', patch_lab.inventory, '--limit', APT_HOST, '-e', 'patch_transaction_id=latest',
        '-e', 'patch_report_dir=%s' % (tmp_path / 'committed'))
    committed = json.loads((tmp_path / 'committed' / ('%s.json' % APT_HOST)).read_text())
    assert committed['transaction_id'] == report['transaction_id'] and committed['changed']
    assert 'committed transaction %s' % report['transaction_id'] in committed['msg']
    upgrade = [r for r in json.loads(cli('changes', '--host', APT_HOST, '--format', 'json').stdout)
               if r['object'] == 'package:bjeic-demo-tool' and r['action'] == 'upgrade'][-1]
    assert upgrade['rollback']['how']['module'] == 'bjeic.ops.linux_patch'
    cli('rollback', upgrade['id'], '--ticket', 'CHG-PATCH-7-RB')
    assert patch_lab.package_set(APT_HOST, 'apt') == initial


# ---------------------------------------------------------------- snapshots
def btrfs_usable():
    if os.geteuid() != 0 or not shutil.which('mkfs.btrfs') or not shutil.which('losetup'):
        return 'needs root, btrfs-progs and losetup (scripts/bootstrap --test installs btrfs-progs)'
    with open('/proc/filesystems') as handle:
        if 'btrfs' not in handle.read():
            return 'this kernel has no btrfs'
    return None


@pytest.fixture
def btrfs_mount(tmp_path):
    """A real btrfs file system on a loop device, mounted on the controller."""
    reason = btrfs_usable()
    if reason:
        pytest.skip(reason)
    image, mount = tmp_path / 'btrfs.img', tmp_path / 'mnt'
    mount.mkdir()
    subprocess.run(['truncate', '-s', '300M', str(image)], check=True)
    subprocess.run(['mkfs.btrfs', '-q', str(image)], check=True)
    subprocess.run(['mount', '-o', 'loop', str(image), str(mount)], check=True)
    try:
        yield image, mount
    finally:
        subprocess.run(['umount', '-l', str(mount)])


def patched_on_btrfs(patch_lab, labctl, name, mount):
    """A lab host with the btrfs file system at /srv/appfs and bjeic-demo-tool 1.0, patched to 1.1 with a btrfs
    snapshot: (its Lab, the apply's result)."""
    hosts = labctl.up([name], volumes=['%s:%s:ro' % (patch_lab.repo_dir, REPO_MOUNT), '%s:/srv/appfs' % mount],
                      caps=['SYS_ADMIN'])
    inventory = patch_lab.tmp.mktemp('inventory') / 'hosts.ini'
    inventory.write_text(labctl.inventory(hosts))
    host = Lab(labctl, patch_lab.testrepo, patch_lab.repo_dir, str(inventory), patch_lab.tmp)
    host.sh(name, "printf '%s' > /etc/apt/sources.list.d/test.list && apt-get update -qq && "
                  "dpkg -i %s/debs/bjeic-demo-tool_1.0-1_all.deb >/dev/null" % (APT_SOURCES, REPO_MOUNT))
    return host, host.patch(name, {'state': 'applied', 'names': ['bjeic-demo-tool'], 'snapshot': 'btrfs',
                                   'snapshot_mount': '/srv/appfs'})


def test_btrfs_snapshot_is_taken_before_apply_and_reverted_on_rollback(patch_lab, labctl, btrfs_mount):
    image, mount = btrfs_mount
    (mount / 'marker').write_text('before the patch\n')
    name = 'pytest-patch-btrfs'
    try:
        host, applied = patched_on_btrfs(patch_lab, labctl, name, mount)
        snapshot = applied['snapshot']
        assert snapshot['type'] == 'btrfs' and snapshot['path'].startswith('/srv/appfs/.snapshots/bjeic-patch-')
        assert host.sh(name, 'btrfs subvolume show %s >/dev/null && cat %s/marker' % (snapshot['path'], snapshot['path'])
                       ) == 'before the patch\n'
        (mount / 'marker').write_text('after the patch\n')

        undone = host.patch(name, {'state': 'rolled_back', 'transaction_id': applied['transaction_id']})
        assert undone['reboot_required'] and 'next boot' in undone['msg']
        assert host.sh(name, 'cat /usr/share/bjeic-demo/tool.txt').strip() == 'bjeic-demo-tool 1.0'
    finally:
        labctl.down([name])
    # "Next boot": mounting the file system again without subvol= gives the snapshot.
    subprocess.run(['umount', str(mount)], check=True)
    subprocess.run(['mount', '-o', 'loop', str(image), str(mount)], check=True)
    assert (mount / 'marker').read_text() == 'before the patch\n'


def test_commit_releases_the_snapshot_and_keeps_the_package_rollback(patch_lab, labctl, btrfs_mount):
    image, mount = btrfs_mount
    name = 'pytest-patch-commit'
    try:
        host, applied = patched_on_btrfs(patch_lab, labctl, name, mount)
        txn, path = applied['transaction_id'], applied['snapshot']['path']
        held = host.patch(name, {'state': 'planned', 'update_cache': False})
        assert [(f['check'], f['subject']) for f in held['findings'] if f['check'] == 'patch.snapshot_held'] == [
            ('patch.snapshot_held', txn)]

        checked = host.patch(name, {'state': 'committed', 'transaction_id': 'latest'}, check_mode=True)
        assert checked['changed'] and host.sh(name, 'btrfs subvolume show %s >/dev/null && echo held' % path) == 'held\n'
        committed = host.patch(name, {'state': 'committed', 'transaction_id': 'latest'})
        assert committed['changed'] and committed['transaction_id'] == txn
        assert [(c['action'], 'irreversible' in c['rollback']) for c in committed['changes']] == [
            ('committed', True), ('released', True)]
        assert host.sh(name, 'test -e %s && echo present || echo gone' % path) == 'gone\n'
        again = host.patch(name, {'state': 'committed', 'transaction_id': txn})
        assert not again['changed'] and 'already committed' in again['msg']
        held = host.patch(name, {'state': 'planned', 'update_cache': False})
        assert not [f for f in held['findings'] if f['check'] == 'patch.snapshot_held']
        failed = host.patch(name, {'state': 'committed', 'transaction_id': 'latest'}, expect_failure=True)
        assert 'no transaction on this host can be committed' in failed['msg']

        undone = host.patch(name, {'state': 'rolled_back', 'transaction_id': txn})
        assert undone['changed'] and 'snapshot was released when it was committed' in undone['msg']
        assert not undone['reboot_required']
        assert host.sh(name, 'cat /usr/share/bjeic-demo/tool.txt').strip() == 'bjeic-demo-tool 1.0'
    finally:
        labctl.down([name])


@pytest.mark.skipif(not device_mapper_available(),
                    reason='LVM snapshots need device-mapper, which this kernel does not have (/dev/mapper/control '
                           'missing); the LVM commands are checked in the collection unit test '
                           'tests/unit/plugins/module_utils/test_patch.py')
def test_lvm_snapshot_live(tmp_path):
    """On a machine with device-mapper: a volume group on a loop device, a snapshot, a merge."""
    import sys
    sys.path.insert(0, os.path.join(ROOT, 'collections'))
    from ansible_collections.bjeic.ops.plugins.module_utils import patch_snapshot

    def run(args):
        done = subprocess.run(args, capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr

    image, mount = tmp_path / 'pv.img', tmp_path / 'mnt'
    mount.mkdir()
    subprocess.run(['truncate', '-s', '256M', str(image)], check=True)
    loop = subprocess.run(['losetup', '--find', '--show', str(image)], capture_output=True, text=True,
                          check=True).stdout.strip()
    try:
        for command in (['vgcreate', 'bjeictest', loop], ['lvcreate', '-y', '-L', '64M', '-n', 'data', 'bjeictest'],
                        ['mkfs.ext4', '-q', '/dev/bjeictest/data'], ['mount', '/dev/bjeictest/data', str(mount)]):
            subprocess.run(command, check=True)
        (mount / 'marker').write_text('before\n')
        assert patch_snapshot.detect(run, str(mount)) == 'lvm'
        held = patch_snapshot.create(run, 'lvm', str(mount), 'T0', lvm_size='32M')   # committed: released
        assert patch_snapshot.release(run, held) == ['lvremove', '--yes', 'bjeictest/bjeic-patch-T0']
        assert run(['lvs', 'bjeictest/bjeic-patch-T0'])[0] != 0
        assert patch_snapshot.release(run, held) is None
        taken = patch_snapshot.create(run, 'lvm', str(mount), 'T1', lvm_size='32M')
        (mount / 'marker').write_text('after\n')
        patch_snapshot.revert(run, taken)
        subprocess.run(['umount', str(mount)], check=True)
        subprocess.run(['lvchange', '-an', 'bjeictest/data'], check=True)
        subprocess.run(['lvchange', '-ay', 'bjeictest/data'], check=True)   # the merge runs on activation
        subprocess.run(['mount', '/dev/bjeictest/data', str(mount)], check=True)
        assert (mount / 'marker').read_text() == 'before\n'
    finally:
        subprocess.run(['umount', str(mount)])
        subprocess.run(['vgremove', '-ff', 'bjeictest'])
        subprocess.run(['losetup', '-d', loop])
