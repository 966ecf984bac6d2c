"""linux_patch's host-side helpers: apt simulation parsing (real apt-get -s output), package-set
arithmetic, the transaction store, failure messages, the repack control file, /proc scanning and
the btrfs/LVM command construction (LVM cannot run here: no device-mapper)."""
import json
import os

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import patch_apt, patch_dnf, patch_record, patch_snapshot
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError, Transactions

# apt-get -s upgrade --with-new-pkgs on a lab host (test repositories) and on a Debian 12 host.
SIMULATION = """Reading package lists...
Calculating upgrade...
The following NEW packages will be installed:
  bjeic-demo-extra
Inst bjeic-demo-lib [1.0-1] (1.1-1 Lab:bookworm [all])
Inst bjeic-demo-extra (1.0-1 Lab:bookworm [all])
Inst libssl3 [3.0.11-1~deb12u1] (3.0.11-1~deb12u2 Debian-Security:12/stable-security [amd64])
Inst libc6:i386 [2.36-9+deb12u3] (2.36-9+deb12u4 Debian:12.5/stable, Debian-Security:12/stable-security [i386])
Remv oldthing [0.9]
Conf bjeic-demo-lib (1.1-1 Lab:bookworm [all])
"""


def test_apt_simulation_is_parsed_with_versions_repository_and_security_flag():
    installs, removals = patch_apt.parse_simulation(SIMULATION)
    assert [(i['name'], i['current'], i['candidate'], i['security']) for i in installs] == [
        ('bjeic-demo-lib', '1.0-1', '1.1-1', False), ('bjeic-demo-extra', None, '1.0-1', False),
        ('libssl3', '3.0.11-1~deb12u1', '3.0.11-1~deb12u2', True), ('libc6:i386', '2.36-9+deb12u3', '2.36-9+deb12u4', True)]
    assert installs[3]['arch'] == 'i386' and installs[2]['repository'] == 'Debian-Security:12/stable-security'
    assert removals == [{'name': 'oldthing', 'current': '0.9'}]


def test_selection_by_names_exclude_and_security():
    updates = [{'name': 'openssl', 'security': True}, {'name': 'libssl3:amd64', 'security': True},
               {'name': 'kernel-core.x86_64', 'security': False}, {'name': 'vim', 'security': False}]

    def names(chosen):
        return [u['name'] for u in chosen]
    assert names(patch_record.select(updates, [], [], False)) == [u['name'] for u in updates]
    assert names(patch_record.select(updates, ['*ssl*'], [], False)) == ['openssl', 'libssl3:amd64']
    assert names(patch_record.select(updates, [], ['kernel*'], False)) == ['openssl', 'libssl3:amd64', 'vim']
    assert names(patch_record.select(updates, [], ['openssl'], True)) == ['libssl3:amd64']


def test_set_diff_changes_and_mismatches_cover_upgrades_installs_removals_and_kernels():
    before = {'lib': ['1.0'], 'gone': ['2.0'], 'kernel.x86_64': ['5.14-1'], 'same': ['1']}
    after = {'lib': ['1.1'], 'new': ['0.1'], 'kernel.x86_64': ['5.14-2', '5.14-1'], 'same': ['1']}
    rows = patch_record.set_diff(before, after)
    assert rows == [{'name': 'gone', 'before': '2.0', 'after': None},
                    {'name': 'kernel.x86_64', 'before': '5.14-1', 'after': '5.14-1, 5.14-2'},
                    {'name': 'lib', 'before': '1.0', 'after': '1.1'},
                    {'name': 'new', 'before': None, 'after': '0.1'}]
    assert [c['action'] for c in patch_record.changes_of(rows)] == ['remove', 'upgrade', 'upgrade', 'install']
    assert patch_record.reboot_needed_by(rows) == ['kernel.x86_64']
    assert patch_record.mismatches(before, after, ['lib', 'same']) == [{'name': 'lib', 'expected': '1.0', 'found': '1.1'}]
    diff = patch_record.diff_of(rows)
    assert 'lib 1.0\n' in diff['before'] and 'new 0.1\n' in diff['after']


def test_transactions_are_root_only_and_refuse_unknown_corrupt_or_nothing(tmp_path, ansible_module):
    store = Transactions(str(tmp_path / 'patch'), ansible_module)
    with pytest.raises(PatchError, match='no transaction on this host can be rolled back'):
        store.load('latest')
    first = store.create({'state': 'applied'})
    second = store.create({'state': 'rolled_back'})
    assert oct(os.stat(store.root).st_mode & 0o777) == '0o700'
    assert oct(os.stat(store.path(first['id'])).st_mode & 0o777) == '0o700'
    assert oct(os.stat(os.path.join(store.path(first['id']), 'record.json')).st_mode & 0o777) == '0o600'
    assert store.load('latest')['id'] == first['id']          # the newest one not rolled back yet
    with pytest.raises(PatchError, match='no transaction on this host can be committed'):
        store.load('latest', latest_of=('failed',), doing='committed')
    with pytest.raises(PatchError, match='transaction 19700101T000000Z-000000 is unknown'):
        store.load('19700101T000000Z-000000')
    with pytest.raises(PatchError, match='unknown'):
        store.load('../etc')
    with open(os.path.join(store.path(second['id']), 'record.json'), 'w') as handle:
        handle.write('{"state": "appl')
    with pytest.raises(PatchError, match='is corrupt'):
        store.load(second['id'])
    applying = store.create({'state': 'applying'})
    assert store.unfinished() == [applying['id']]
    store.discard(applying)
    assert applying['id'] not in store.ids()


@pytest.mark.parametrize('text,expected', [
    ('E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)',
     'locked by process 4242 (apt-get)'),
    ('Err:1 http://mirror.internal/debian bookworm InRelease\n  Could not connect\nE: Failed to fetch http://mirror.internal/x',
     'repository unreachable (http://mirror.internal/debian'),
    ('E: Unable to correct problems, you have held broken packages.', 'held broken packages'),
])
def test_apt_failures_are_explained(text, expected):
    assert expected in str(patch_apt.explain('installing', '', text))


@pytest.mark.parametrize('text,expected', [
    ("Error: Failed to download metadata for repo 'baseos': Cannot download repomd.xml", 'repository unreachable (baseos)'),
    ('Waiting for process with pid 777 to finish.', 'locked by another dnf/yum run'),
    ('Error: \n Problem: conflicting requests\n - nothing provides libfoo', 'Problem: conflicting requests'),
])
def test_dnf_failures_are_explained(text, expected):
    assert expected in str(patch_dnf.explain('installing', '', text))


def test_dnf_nevra_and_rpm_query_parsing():
    assert patch_dnf.nevra('bjeic-demo-lib.noarch', '1.0-1') == 'bjeic-demo-lib-1.0-1.noarch'
    assert patch_dnf.nevra('python3.11-libs.x86_64', '2:3.11.7-1.el9') == 'python3.11-libs-2:3.11.7-1.el9.x86_64'
    out = 'kernel-core.x86_64\t5.14.0-1\nkernel-core.x86_64\t5.14.0-2\ngpg-pubkey.(none)\tabc-def\n'
    backend = patch_dnf.DnfBackend(lambda args, environ_update=None, cwd=None: (0, out, ''))
    assert backend.installed() == {'kernel-core.x86_64': ['5.14.0-1', '5.14.0-2']}


def test_repack_control_drops_the_status_only_fields():
    status = ('Package: bjeic-demo-lib\nStatus: install ok installed\nPriority: optional\nVersion: 1.0-1\n'
              'Conffiles:\n /etc/demo.conf 0123456789abcdef\nDescription: test\n more text\n')
    assert patch_apt.control_without_status(status) == (
        'Package: bjeic-demo-lib\nPriority: optional\nVersion: 1.0-1\nDescription: test\n more text\n')


def test_services_needing_restart_are_read_from_proc(tmp_path):
    def process(pid, maps, cgroup):
        directory = tmp_path / str(pid)
        directory.mkdir()
        (directory / 'maps').write_text(maps)
        (directory / 'cgroup').write_text(cgroup)
    process(10, '7f0-7f1 r-xp 0 08:01 12 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)\n',
            '0::/system.slice/nginx.service\n')
    process(11, '7f0-7f1 r-xp 0 08:01 12 /usr/lib/x86_64-linux-gnu/libssl.so.3\n', '0::/system.slice/sshd.service\n')
    process(12, '7f0-7f1 rw-s 0 00:01 9 /dev/shm/cache (deleted)\n', '0::/system.slice/app.service\n')
    (tmp_path / 'self').mkdir()
    assert patch_record.services_needing_restart(str(tmp_path)) == ['nginx.service']


def test_snapshot_commands():
    assert patch_snapshot.btrfs_create_command('/', '/.snapshots/bjeic-patch-T1') == [
        'btrfs', 'subvolume', 'snapshot', '/', '/.snapshots/bjeic-patch-T1']
    assert patch_snapshot.btrfs_revert_command(261, '/') == ['btrfs', 'subvolume', 'set-default', '261', '/']
    assert patch_snapshot.lvm_create_command('vg0', 'root', 'bjeic-patch-T1', '20%ORIGIN') == [
        'lvcreate', '--snapshot', '--name', 'bjeic-patch-T1', '--extents', '20%ORIGIN', 'vg0/root']
    assert patch_snapshot.lvm_create_command('vg0', 'root', 's', '10G')[4:6] == ['--size', '10G']
    assert patch_snapshot.lvm_revert_command('vg0', 'bjeic-patch-T1') == ['lvconvert', '--merge', 'vg0/bjeic-patch-T1']
    with pytest.raises(PatchError, match='not an lvcreate size'):
        patch_snapshot.lvm_create_command('vg0', 'root', 's', '10G; rm -rf /')


class FakeHost:
    """Answers findmnt/lvs/lvcreate as an LVM root host does, and records every command run."""

    def __init__(self, fstype, source, lvs_out):
        self.fstype, self.source, self.lvs_out, self.commands = fstype, source, lvs_out, []

    def __call__(self, args):
        self.commands.append(args)
        if args[0] == 'findmnt':
            return 0, '%s %s\n' % (self.fstype, self.source), ''
        if args[0] == 'lvs':
            return (0, self.lvs_out, '') if self.lvs_out else (5, '', 'not a logical volume')
        return 0, '', ''


def test_lvm_snapshot_is_detected_created_and_merged_with_the_right_commands():
    host = FakeHost('xfs', '/dev/mapper/vg0-root', '  vg0 root\n')
    assert patch_snapshot.detect(host, '/') == 'lvm'
    taken = patch_snapshot.create(host, 'lvm', '/', 'T1')
    assert host.commands[-1] == ['lvcreate', '--snapshot', '--name', 'bjeic-patch-T1', '--extents', '20%ORIGIN', 'vg0/root']
    assert json.loads(json.dumps(taken))['vg'] == 'vg0'
    patch_snapshot.revert(host, taken)
    assert host.commands[-1] == ['lvconvert', '--merge', 'vg0/bjeic-patch-T1']
    assert patch_snapshot.release(host, taken, check_mode=True) == ['lvremove', '--yes', 'vg0/bjeic-patch-T1']
    assert host.commands[-1] == ['lvs', '--noheadings', 'vg0/bjeic-patch-T1']      # check mode: looked, removed nothing
    assert patch_snapshot.release(host, taken) == ['lvremove', '--yes', 'vg0/bjeic-patch-T1']
    assert host.commands[-1] == ['lvremove', '--yes', 'vg0/bjeic-patch-T1']
    host.lvs_out = ''                                       # already gone: nothing to run, and it says so
    assert patch_snapshot.release(host, taken) is None and host.commands[-1][0] == 'lvs'
    plain = FakeHost('ext4', '/dev/vda1', '')
    assert patch_snapshot.detect(plain, '/') is None
    with pytest.raises(PatchError, match='not an LVM logical volume'):
        patch_snapshot.create(plain, 'lvm', '/', 'T1')
