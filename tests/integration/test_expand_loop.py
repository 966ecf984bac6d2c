"""linux_expand on real block devices: loop devices with a GPT or MBR partition table holding xfs, btrfs and ext4,
grown the way a cloud platform grows a virtual disk (the backing file gets bigger), then brought up to it by the
module run by ansible on this machine. Partition, file system and df must agree; check mode and every refusal
leave the device as it was; a swap file is made, enabled, put in fstab, and rolled back.

Needs root and loop devices (CI runs as root). The kernel here has no udev, so partition nodes are made with mknod
from sysfs, as udev would. LVM cannot be activated in this kernel (no device-mapper): the pv/lv chain is tested
against a scripted host in the collection's unit tests (test_expand.py)."""
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from bjeic_ops.contract import validate
from runner_runs import run_module
from labrun import device_mapper_available

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCAL = os.path.join(ROOT, 'inventories', 'local', 'hosts.yml')
MIB = 1024 ** 2

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists('/dev/loop-control') or not shutil.which('growpart'),
    reason='needs root, loop devices and growpart (scripts/bootstrap installs cloud-guest-utils)')


def sh(*argv, check=True, **kwargs):
    return subprocess.run(argv, check=check, capture_output=True, text=True, **kwargs)


class LoopDisk:
    """A disk image on a loop device with partitions of the given sizes (MiB); grow() is the platform's resize."""

    def __init__(self, directory, disk_mb, parts_mb, label='gpt'):
        self.image = str(directory / 'disk.img')
        self.mounts = []
        sh('truncate', '-s', '%dM' % disk_mb, self.image)
        self.device = sh('losetup', '-f', '--show', '-P', self.image).stdout.strip()
        self.name = os.path.basename(self.device)
        script = 'label: %s\n' % label + ''.join(',%dM\n' % size for size in parts_mb)
        sh('sfdisk', '-q', self.device, input=script)
        sh('partx', '-u', self.device, check=False)
        if not os.path.exists('/sys/class/block/%sp1' % self.name):
            sh('partx', '-a', self.device, check=False)
        self.nodes = []
        for number in range(1, len(parts_mb) + 1):
            node = self.part(number)
            if not os.path.exists(node):
                major, minor = open('/sys/class/block/%sp%d/dev' % (self.name, number)).read().split(':')
                os.mknod(node, 0o600 | 0o060000, os.makedev(int(major), int(minor)))
                self.nodes.append(node)

    def part(self, number):
        return '%sp%d' % (self.device, number)

    def part_size(self, number):
        return int(open('/sys/class/block/%sp%d/size' % (self.name, number)).read()) * 512

    def table(self):
        return sh('sfdisk', '-d', self.device).stdout

    def format_and_mount(self, number, fstype, mountpoint, options=None):
        force = {'xfs': ['-f'], 'btrfs': ['-f'], 'ext4': ['-F'], 'ext2': ['-F']}.get(fstype, [])
        sh('mkfs.' + fstype, '-q', *force, self.part(number))
        os.makedirs(mountpoint, exist_ok=True)
        sh('mount', *(['-o', options] if options else []), self.part(number), mountpoint)
        self.mounts.append(mountpoint)
        return mountpoint

    def grow(self, disk_mb):
        sh('truncate', '-s', '%dM' % disk_mb, self.image)

    def close(self):
        for mountpoint in reversed(self.mounts):
            sh('umount', mountpoint, check=False)
        sh('losetup', '-d', self.device, check=False)
        for node in self.nodes:
            if os.path.exists(node):
                os.unlink(node)


@pytest.fixture
def make_disk(tmp_path):
    disks = []

    def make(disk_mb, parts_mb, label='gpt'):
        directory = tmp_path / ('disk%d' % len(disks))
        directory.mkdir()
        disks.append(LoopDisk(directory, disk_mb, parts_mb, label))
        return disks[-1]
    yield make
    for disk in disks:
        disk.close()


def expand(args, check=False):
    run = run_module('bjeic.ops.linux_expand', args, LOCAL, host_pattern='localhost', check=check, diff=True)
    [outcome] = run.results
    return outcome


def df_size(mountpoint):
    stat = os.statvfs(mountpoint)
    return stat.f_blocks * stat.f_frsize


def digest(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


@pytest.mark.parametrize('fstype', ['xfs', 'btrfs'])
@pytest.mark.parametrize('label', ['gpt', 'dos'])
def test_a_grown_disk_is_taken_up_by_partition_and_file_system(make_disk, tmp_path, fstype, label):
    disk = make_disk(400, [300], label)
    mountpoint = disk.format_and_mount(1, fstype, str(tmp_path / 'data'))
    payload = os.path.join(mountpoint, 'payload.bin')
    with open(payload, 'wb') as handle:
        handle.write(os.urandom(5 * MIB))
    before = (disk.table(), disk.part_size(1), df_size(mountpoint), digest(payload))
    disk.grow(900)

    preview = expand({'targets': [{'mount': mountpoint, 'fstype': fstype}]}, check=True)
    assert preview.status == 'ok', preview.result.get('msg')
    assert preview.result['changed'] is True
    steps = [(s['step'], s['object']) for s in preview.result['steps']]
    assert steps == [('rescan', disk.device), ('grow_partition', disk.part(1)), ('grow_fs', mountpoint)]
    planned = preview.result['steps'][1]
    assert planned['before'] == 300 * MIB and planned['after'] > 890 * MIB
    assert 'grow_partition %s: 300.0 MiB' % disk.part(1) in preview.result['diff']['before']
    assert (disk.table(), disk.part_size(1), df_size(mountpoint)) == before[:3]    # check mode changed nothing

    grown = expand({'targets': [{'mount': mountpoint, 'size': 'fill', 'device': disk.part(1)}]})
    assert grown.status == 'ok', grown.result.get('msg')
    assert validate(grown.result) == []
    assert disk.part_size(1) == planned['after']                  # what the kernel reports
    [target] = grown.result['targets']
    assert target['fs_after'] > 880 * MIB and target['fs_after'] <= disk.part_size(1)
    assert df_size(mountpoint) > 0.9 * disk.part_size(1)         # and what df sees
    assert digest(payload) == before[3]
    assert [c['action'] for c in grown.result['changes']] == ['grow partition', 'grow file system']
    assert all('one-way' in c['rollback']['irreversible'] for c in grown.result['changes'])
    assert grown.result['rollback'] is None and 'one-way' in grown.result['rollback_unavailable']
    assert [f['check'] for f in grown.result['findings']] == ['expand.fs_grown']

    again = expand({'targets': [{'mount': mountpoint, 'size': 'fill'}]})
    assert again.status == 'ok' and again.result['changed'] is False
    assert [s['step'] for s in again.result['steps']] == ['rescan']
    # An absolute size the file system already has is nothing to do either.
    assert expand({'targets': [{'mount': mountpoint, 'size': '800M'}]}).result['changed'] is False


def test_grow_by_takes_exactly_what_was_asked_when_the_disk_has_it(make_disk, tmp_path):
    disk = make_disk(400, [300])
    mountpoint = disk.format_and_mount(1, 'xfs', str(tmp_path / 'data'))
    disk.grow(700)
    grown = expand({'targets': [{'mount': mountpoint, 'size': '+300M'}]})
    assert grown.status == 'ok', grown.result.get('msg')
    assert disk.part_size(1) > 690 * MIB
    # The disk did not grow again: +100M more is refused, and nothing is touched.
    table = disk.table()
    refused = expand({'targets': [{'mount': mountpoint, 'size': '+100M'}]})
    assert refused.status == 'failed'
    assert 'enlarge the disk on the cloud platform first' in refused.result['msg']
    assert 'nothing was changed' in refused.result['msg'] and disk.table() == table


def test_ext4_grows_online_or_is_refused_before_anything_changes(make_disk, tmp_path):
    disk = make_disk(300, [200])
    mountpoint = disk.format_and_mount(1, 'ext4', str(tmp_path / 'data'))
    disk.grow(600)
    table, size = disk.table(), df_size(mountpoint)
    outcome = expand({'targets': [{'mount': mountpoint}]})
    capabilities = int(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('CapEff')), 16)
    if capabilities & (1 << 24):
        assert outcome.status == 'ok', outcome.result.get('msg')
        assert df_size(mountpoint) > 0.9 * disk.part_size(1) > 550 * MIB
    else:
        # This machine's root lacks CAP_SYS_RESOURCE, without which the kernel refuses an online ext resize.
        assert outcome.status == 'failed'
        assert 'CAP_SYS_RESOURCE' in outcome.result['msg'] and 'nothing was changed' in outcome.result['msg']
        assert (disk.table(), df_size(mountpoint)) == (table, size)
        sh('umount', mountpoint)
        disk.mounts.remove(mountpoint)
        assert sh('e2fsck', '-n', disk.part(1), check=False).returncode == 0


@pytest.mark.parametrize('case', ['not_last', 'wrong_device', 'wrong_fstype', 'not_mounted', 'ext2', 'read_only',
                                  'bad_size', 'percent_without_lvm', 'one_of_two_refused'])
def test_each_refusal_leaves_the_devices_untouched(make_disk, tmp_path, case):
    disk = make_disk(700 if case == 'not_last' else 400, [320, 320] if case == 'not_last' else [320])  # xfs: 300 MB at least
    fstype = 'ext2' if case == 'ext2' else 'xfs'
    mountpoint = disk.format_and_mount(1, fstype, str(tmp_path / 'data'), 'ro' if case == 'read_only' else None)
    other = None
    if case == 'one_of_two_refused':
        other_disk = make_disk(400, [320])
        other = other_disk.format_and_mount(1, 'xfs', str(tmp_path / 'other'))
        other_disk.grow(900)
    disk.grow(1000)
    targets, words = {
        'not_last': ([{'mount': mountpoint}], 'follows it on the disk: it cannot grow in place'),
        'wrong_device': ([{'mount': mountpoint, 'device': '/dev/vdz1'}], 'not from /dev/vdz1 as the inventory says'),
        'wrong_fstype': ([{'mount': mountpoint, 'fstype': 'ext4'}], 'is xfs, not ext4 as the inventory says'),
        'not_mounted': ([{'mount': str(tmp_path / 'nothing-here')}], 'is not a mount point'),
        'ext2': ([{'mount': mountpoint}], 'which linux_expand cannot grow online'),
        'read_only': ([{'mount': mountpoint}], 'is mounted read-only'),
        'bad_size': ([{'mount': mountpoint, 'size': '50 gigs'}], "is not fill, +N%FREE, +SIZE or SIZE"),
        'percent_without_lvm': ([{'mount': mountpoint, 'size': '+50%FREE'}], 'is not a logical volume'),
        'one_of_two_refused': ([{'mount': other}, {'mount': mountpoint, 'fstype': 'btrfs'}], 'not btrfs'),
    }[case]
    before = (disk.table(), disk.part_size(1))
    other_before = other and df_size(other)
    outcome = expand({'targets': targets})
    assert outcome.status == 'failed'
    assert words in outcome.result['msg'] and outcome.result['msg'].endswith('nothing was changed')
    assert '\n' not in outcome.result['msg'] and 'Traceback' not in outcome.result['msg']
    assert (disk.table(), disk.part_size(1)) == before
    if other:
        assert df_size(other) == other_before     # the first target was planned, not grown


@pytest.fixture
def fstab_kept():
    """The swap test changes this machine's /etc/fstab through the module; whatever happens, it is put back."""
    with open('/etc/fstab', 'rb') as handle:
        original = handle.read()
    yield original
    with open('/etc/fstab', 'rb') as handle:
        if handle.read() != original:
            with open('/etc/fstab', 'wb') as out:
                out.write(original)


def test_a_swap_file_is_made_enabled_put_in_fstab_and_rolled_back(make_disk, tmp_path, fstab_kept):
    disk = make_disk(400, [300])
    mountpoint = disk.format_and_mount(1, 'xfs', str(tmp_path / 'data'))
    swapfile = os.path.join(mountpoint, 'swapfile')
    args = {'swap': {'size': '64M', 'path': swapfile}, 'min_free_mb': 16, 'backup_dir': str(tmp_path / 'backups')}
    try:
        preview = expand(args, check=True)
        assert preview.status == 'ok', preview.result.get('msg')
        assert [s['step'] for s in preview.result['steps']] == ['create_swapfile', 'mkswap', 'fstab', 'swapon']
        assert not os.path.exists(swapfile) and open('/etc/fstab', 'rb').read() == fstab_kept

        made = expand(args)
        assert made.status == 'ok', made.result.get('msg')
        assert validate(made.result) == []
        info = os.stat(swapfile)
        assert (info.st_mode & 0o777, info.st_uid, info.st_size) == (0o600, 0, 64 * MIB)
        with open(swapfile, 'rb') as handle:
            handle.seek(4086)
            assert handle.read(10) == b'SWAPSPACE2'
        assert '%s none swap sw 0 0' % swapfile in open('/etc/fstab').read().splitlines()
        active = swapfile in open('/proc/swaps').read()
        assert made.result['swap']['active'] is active
        if not active:
            assert [f['check'] for f in made.result['findings']] == ['expand.swap_not_enabled']
        handle = made.result['rollback']
        assert handle['how'] == {'module': 'bjeic.ops.linux_expand',
                                 'args': {'state': 'rolled_back', 'backup_id': made.result['backup_id']}}
        if active:
            assert expand(args).result['changed'] is False

        rolled = expand(dict(handle['how']['args'], backup_dir=args['backup_dir']))
        assert rolled.status == 'ok', rolled.result.get('msg')
        assert not os.path.exists(swapfile) and swapfile not in open('/proc/swaps').read()
        assert open('/etc/fstab', 'rb').read() == fstab_kept         # byte for byte
        again = expand(dict(handle['how']['args'], backup_dir=args['backup_dir']))
        assert again.status == 'ok' and again.result['changed'] is False
    finally:
        if swapfile in open('/proc/swaps').read():
            sh('swapoff', swapfile, check=False)


def test_a_swap_file_that_would_fill_its_file_system_is_refused(make_disk, tmp_path, fstab_kept):
    disk = make_disk(400, [300])
    mountpoint = disk.format_and_mount(1, 'xfs', str(tmp_path / 'data'))
    outcome = expand({'swap': {'size': '250M', 'path': os.path.join(mountpoint, 'swapfile')}, 'min_free_mb': 100})
    assert outcome.status == 'failed' and 'min_free_mb' in outcome.result['msg']
    assert os.listdir(mountpoint) == [] and open('/etc/fstab', 'rb').read() == fstab_kept


def test_the_playbook_grows_a_host_and_the_record_says_it_is_one_way(cli, make_disk, tmp_path):
    disk = make_disk(400, [320])
    mountpoint = disk.format_and_mount(1, 'xfs', str(tmp_path / 'data'))
    disk.grow(800)
    extra = json.dumps({'expand_targets': {mountpoint: 'fill'}, 'expand_cloud_change': 'disk:vol-0a1b2c3d'})
    cli('run', 'expand.yml', '-i', LOCAL, '--check', '--diff', '-e', extra)
    assert json.loads(cli('changes', '--format', 'json').stdout) == [] and disk.part_size(1) == 320 * MIB
    cli('run', 'expand.yml', '-i', LOCAL, '-e', extra, '--ticket', 'CHG-2026-118')
    assert disk.part_size(1) > 790 * MIB
    records = json.loads(cli('changes', '--format', 'json').stdout)
    assert [(r['object'], r['action'], r['ticket']) for r in records] == [
        (disk.part(1), 'grow partition', 'CHG-2026-118'), (mountpoint, 'grow file system', 'CHG-2026-118')]
    assert (records[0]['before'], records[0]['after']) == ('320.0 MiB', human_mib(disk.part_size(1)))
    refused = cli('rollback', records[1]['id'], check=False)
    assert refused.returncode != 0 and 'Traceback' not in refused.stderr
    assert 'cannot be rolled back: growing a partition' in refused.stderr + refused.stdout


def human_mib(size):
    return '%.1f MiB' % (size / float(MIB))


@pytest.mark.skipif(not device_mapper_available(),
                    reason='LVM needs device-mapper, which this kernel does not have (/dev/mapper/control missing); '
                           'the pv/lv chain is checked against a scripted host in the collection unit test '
                           'tests/unit/plugins/module_utils/test_expand.py')
def test_lvm_chain_live(make_disk, tmp_path):
    """On a machine with device-mapper: partition -> PV -> VG -> LV (xfs) on a loop device, the disk grown, filled."""
    disk = make_disk(600, [400])
    vg = 'bjeicexp%d' % os.getpid()
    sh('pvcreate', '-ff', '-y', disk.part(1))
    sh('vgcreate', vg, disk.part(1))
    try:
        sh('lvcreate', '-y', '-L', '320M', '-n', 'data', vg)
        lv = '/dev/%s/data' % vg
        sh('mkfs.xfs', '-q', '-f', lv)
        mountpoint = str(tmp_path / 'lvdata')
        os.makedirs(mountpoint)
        sh('mount', lv, mountpoint)
        disk.mounts.append(mountpoint)
        disk.grow(1200)
        grown = expand({'targets': [{'mount': mountpoint, 'size': 'fill'}]})
        assert grown.status == 'ok', grown.result.get('msg')
        steps = [s['step'] for s in grown.result['steps']]
        assert steps == ['rescan', 'grow_partition', 'pvresize', 'lvextend', 'grow_fs']
        assert df_size(mountpoint) > 1000 * MIB
        assert expand({'targets': [{'mount': mountpoint, 'size': 'fill'}]}).result['changed'] is False
    finally:
        for mountpoint in list(disk.mounts):
            sh('umount', mountpoint, check=False)
        disk.mounts.clear()
        sh('vgremove', '-f', vg, check=False)
        sh('pvremove', '-ff', '-y', disk.part(1), check=False)
