"""linux_expand's LVM chain and size rules, against a scripted host: LVM cannot be activated in this test kernel
(no device-mapper), so the host here is a sysfs tree under tmp_path plus lvs/vgs/pvs/growpart answering as an
LVM host does (JSON report shapes of lvm2 2.03), and it changes its answers when pvresize, lvextend and
xfs_growfs run. The partition and file-system chain runs for real on loop devices in
tests/integration/test_expand_loop.py."""
import json
import os

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils.expand_host import ExpandError, ExpandHost, parse_size
from ansible_collections.bjeic.ops.plugins.module_utils.expand_plan import plan_swap, plan_target
from ansible_collections.bjeic.ops.plugins.module_utils.expand_run import Expansion

GIB = 1024 ** 3
EXTENT = 4 * 1024 ** 2


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write(text)


class LvmHost(object):
    """vdb (a virtio-scsi disk, serial = the cloud volume id) -> vdb1 -> PV of vg0 -> LV data (xfs on `mount`)."""

    def __init__(self, root, mount, disk_gib=100, part_gib=50, lv_gib=40, vg_free_gib=10, snapshots=()):
        self.root, self.mount, self.commands = str(root), mount, []
        self.disk = disk_gib * GIB
        self.part = part_gib * GIB
        self.pv = part_gib * GIB - EXTENT
        self.lv = lv_gib * GIB
        self.vg_free = vg_free_gib * GIB
        self.fs = self.lv
        self.snapshots = list(snapshots)
        sys = os.path.join(self.root, 'sys')
        disk_dir = os.path.join(sys, 'devices', 'pci0000:00', 'virtio2', 'block', 'vdb')
        write(os.path.join(disk_dir, 'device', 'serial'), 'vol-0a1b2c3d4e5f\n')
        write(os.path.join(disk_dir, 'device', 'rescan'), '')
        write(os.path.join(disk_dir, 'vdb1', 'partition'), '1\n')
        write(os.path.join(disk_dir, 'vdb1', 'start'), '2048\n')
        dm_dir = os.path.join(sys, 'devices', 'virtual', 'block', 'dm-0')
        write(os.path.join(dm_dir, 'dm', 'uuid'), 'LVM-abcdef\n')
        write(os.path.join(dm_dir, 'dm', 'name'), 'vg0-data\n')
        os.makedirs(os.path.join(sys, 'class', 'block'))
        for name, target in (('vdb', disk_dir), ('vdb1', os.path.join(disk_dir, 'vdb1')), ('dm-0', dm_dir)):
            os.symlink(target, os.path.join(sys, 'class', 'block', name))
        self.sizes()
        write(os.path.join(self.root, 'proc', 'self', 'status'), 'CapEff:\t000001ffffffffff\n')
        write(os.path.join(self.root, 'proc', 'self', 'mounts'), '/dev/mapper/vg0-data %s xfs rw 0 0\n' % mount
              + ''.join('/dev/mapper/vg0-%s /mnt/%s xfs ro 0 0\n' % (s, s) for s in self.snapshots))
        write(os.path.join(self.root, 'proc', 'swaps'), 'Filename Type Size Used Priority\n')
        self.host = ExpandHost(self, sys_root=sys, proc_root=os.path.join(self.root, 'proc'))

    def sizes(self):
        sys = os.path.join(self.root, 'sys', 'class', 'block')
        for name, size in (('vdb', self.disk), ('vdb1', self.part), ('dm-0', self.lv)):
            write(os.path.join(sys, name, 'size'), '%d\n' % (size // 512))

    @staticmethod
    def report(section, rows):
        return 0, json.dumps({'report': [{section: rows}]}), ''

    def __call__(self, argv):
        self.commands.append(argv)
        tool = argv[0]
        if tool == 'findmnt':
            return 0, json.dumps({'filesystems': [{'target': self.mount, 'source': '/dev/mapper/vg0-data',
                                                   'fstype': 'xfs', 'size': self.fs, 'options': 'rw,relatime'}]}), ''
        if tool == 'lsblk':
            return 0, {'/dev/mapper/vg0-data': 'dm-0\n', '/dev/vdb1': 'vdb1\n'}[argv[-1]], ''
        if tool == 'xfs_info':
            return 0, 'data     =                       bsize=4096   blocks=%d, imaxpct=25\n' % (self.fs // 4096), ''
        if tool == 'lvs' and '/dev/mapper/vg0-data' in argv:
            return self.report('lv', [{'lv_name': 'data', 'vg_name': 'vg0', 'lv_size': str(self.lv),
                                       'lv_path': '/dev/vg0/data', 'origin': '', 'lv_attr': '-wi-ao----',
                                       'lv_dm_path': '/dev/mapper/vg0-data'}])
        if tool == 'lvs':
            return self.report('lv', [{'lv_name': 'data', 'origin': '', 'lv_dm_path': '/dev/mapper/vg0-data',
                                       'lv_size': str(self.lv)}]
                               + [{'lv_name': s, 'origin': 'data', 'lv_dm_path': '/dev/mapper/vg0-%s' % s,
                                   'lv_size': str(GIB)} for s in self.snapshots])
        if tool == 'vgs':
            return self.report('vg', [{'vg_name': 'vg0', 'vg_size': str(self.pv), 'vg_free': str(self.vg_free),
                                       'vg_extent_size': str(EXTENT)}])
        if tool == 'pvs':
            return self.report('pv', [{'pv_name': '/dev/vdb1', 'vg_name': 'vg0', 'pv_size': str(self.pv),
                                       'dev_size': str(self.part), 'pv_free': str(self.vg_free)}])
        if tool == 'blkid':
            return 0, 'gpt\n', ''
        if tool == 'growpart' and argv[1] == '--dry-run':
            new = self.disk - 1024 ** 2 - 2048 * 512
            if new <= self.part:
                return 1, 'NOCHANGE: partition 1 is size %d. it cannot be grown\n' % (self.part // 512), ''
            return 0, 'CHANGE: partition=1 start=2048 old: size=%d end=1 new: size=%d end=2\n' % (
                self.part // 512, new // 512), ''
        if tool == 'growpart':
            self.part = self.disk - 1024 ** 2 - 2048 * 512
        elif tool == 'pvresize':
            grown = (self.part - EXTENT) - self.pv
            self.pv += grown
            self.vg_free += grown
        elif tool == 'lvextend':
            flag, amount = argv[1], argv[2]
            if flag == '-l':
                added = self.vg_free * int(amount.strip('+%FRE')) // 100 // EXTENT * EXTENT
            elif amount.startswith('+'):
                added = int(amount[1:-1]) * 1024
            else:
                added = int(amount[:-1]) * 1024 - self.lv
            if added > self.vg_free:
                return 5, '', 'Insufficient free space'
            self.lv += added
            self.vg_free -= added
        elif tool == 'xfs_growfs':
            self.fs = self.lv
        self.sizes()
        return 0, '', ''


class Module(object):
    """The few AnsibleModule members Expansion reads (the host is scripted, so nothing else is reached)."""

    def __init__(self, params, check_mode=False):
        self.params = dict({'rescan': True, 'min_free_mb': 1024, 'cloud_change': 'disk:vol-0a1b2c3d4e5f',
                            'swap': None, 'backup_dir': '/nonexistent'}, **params)
        self.check_mode = check_mode

    @staticmethod
    def get_bin_path(name):
        return name


@pytest.mark.parametrize('text, parsed', [
    ('fill', ('fill', None)), ('+50G', ('grow_by', 50 * GIB)), ('120G', ('grow_to', 120 * GIB)),
    ('512MiB', ('grow_to', 512 * 1024 ** 2)), ('+1.5T', ('grow_by', int(1.5 * 1024 ** 4))),
    ('+80%FREE', ('percent_free', 80)), ('100%free', ('percent_free', 100))])
def test_sizes(text, parsed):
    assert parse_size(text) == parsed


@pytest.mark.parametrize('text', ['50', '-10G', '0G', '+0%FREE', '101%FREE', '10G; rm -rf /', 'lots'])
def test_bad_sizes_are_refused(text):
    with pytest.raises(ExpandError):
        parse_size(text)


def test_the_whole_chain_is_planned_with_sizes_and_the_right_commands(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path))
    plan = plan_target(lvm.host, {'mount': str(tmp_path), 'size': '+50G'}, growpart='growpart')
    assert [(s['step'], s['object']) for s in plan.steps] == [
        ('rescan', '/dev/vdb'), ('grow_partition', '/dev/vdb1'), ('pvresize', '/dev/vdb1'),
        ('lvextend', '/dev/vg0/data'), ('grow_fs', str(tmp_path))]
    assert open(os.path.join(lvm.root, 'sys', 'class', 'block', 'vdb', 'device', 'rescan')).read() == '1\n'
    lvextend = plan.steps[3]
    assert lvextend['argv'] == ['lvextend', '-L', '+%dk' % (50 * GIB // 1024), '/dev/vg0/data']
    assert (lvextend['before'], lvextend['after']) == (40 * GIB, 90 * GIB)
    assert plan.steps[4]['argv'] == ['xfs_growfs', str(tmp_path)]
    assert not [c for c in lvm.commands if c[0] in ('pvresize', 'lvextend', 'xfs_growfs')
                or (c[0] == 'growpart' and '--dry-run' not in c)]     # planning changes nothing


@pytest.mark.parametrize('size, argv', [('fill', ['-l', '+100%FREE']), ('+50%FREE', ['-l', '+50%FREE']),
                                        ('60G', ['-L', '%dk' % (60 * GIB // 1024)])])
def test_lvextend_takes_the_size_as_lvm_does(tmp_path, size, argv):
    lvm = LvmHost(tmp_path, str(tmp_path))
    plan = plan_target(lvm.host, {'mount': str(tmp_path), 'size': size}, growpart='growpart')
    assert [s for s in plan.steps if s['step'] == 'lvextend'][0]['argv'][1:3] == argv


def test_the_run_reads_every_step_back_and_reports_the_disk_to_the_cloud_ledger(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path))
    expansion = Expansion(Module({'targets': [{'mount': str(tmp_path), 'size': 'fill'}]}), host=lvm.host)
    expansion.expand()
    result = expansion.result
    assert [c[0] for c in lvm.commands if c[0] in ('growpart', 'pvresize', 'lvextend', 'xfs_growfs')] == [
        'growpart', 'growpart', 'pvresize', 'lvextend', 'xfs_growfs']
    assert lvm.fs == lvm.lv and lvm.lv > 95 * GIB and lvm.vg_free < EXTENT
    assert result['targets'][0]['fs_after'] == lvm.fs
    assert [c['action'] for c in result['changes']] == ['grow partition', 'pvresize', 'lvextend', 'grow file system']
    assert all('one-way' in c['rollback']['irreversible'] for c in result['changes'])
    [item] = result['ledger']
    assert item['key'] == 'self:disk:vol-0a1b2c3d4e5f' and item['attrs']['size_bytes'] == 100 * GIB
    assert item['attrs']['cloud_change'] == 'disk:vol-0a1b2c3d4e5f'
    # Nothing left to take: a second run only rescans.
    again = Expansion(Module({'targets': [{'mount': str(tmp_path), 'size': 'fill'}]}), host=lvm.host)
    again.expand()
    assert again.result['changed'] is False


def test_check_mode_runs_no_changing_command(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path))
    expansion = Expansion(Module({'targets': [{'mount': str(tmp_path), 'size': 'fill'}]}, check_mode=True), host=lvm.host)
    expansion.expand()
    assert expansion.result['changed'] is True and len(expansion.result['changes']) == 4
    assert not [c for c in lvm.commands if c[0] in ('pvresize', 'lvextend', 'xfs_growfs')
                or (c[0] == 'growpart' and '--dry-run' not in c)]


def test_too_little_in_the_volume_group_is_refused_before_anything(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path), disk_gib=60)
    with pytest.raises(ExpandError, match=r'\+100.0 GiB asked, but volume group vg0 has (19\.\d|20\.0) GiB free \(after the disks under it grew\)'):
        plan_target(lvm.host, {'mount': str(tmp_path), 'size': '+100G'}, growpart='growpart')


def test_a_logical_volume_with_a_mounted_snapshot_is_refused(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path), snapshots=['bjeic-patch-T1'])
    with pytest.raises(ExpandError, match='vg0/data has a mounted snapshot \\(bjeic-patch-T1\\)'):
        plan_target(lvm.host, {'mount': str(tmp_path), 'size': 'fill'}, growpart='growpart')


def test_it_never_shrinks(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path))
    plan = plan_target(lvm.host, {'mount': str(tmp_path), 'size': '20G'}, growpart='growpart')
    assert plan.steps == [] and lvm.commands[-1][0] == 'xfs_info'


def test_a_swap_volume_is_planned_in_the_volume_group(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path), vg_free_gib=10)
    steps = plan_swap(lvm.host, {'size': '8G', 'lv': 'vg0/swap', 'path': '/swapfile'}, GIB,
                      fstab_path=str(tmp_path / 'fstab'))
    assert [s['step'] for s in steps] == ['lvcreate', 'mkswap', 'fstab', 'swapon']
    assert steps[0]['argv'] == ['lvcreate', '-y', '-L', '%dk' % (8 * GIB // 1024), '-n', 'swap', 'vg0']
    assert steps[2]['after'] == '/dev/vg0/swap none swap sw 0 0'
    with pytest.raises(ExpandError, match='volume group vg0 has 10.0 GiB free: a 16.0 GiB swap volume does not fit'):
        plan_swap(lvm.host, {'size': '16G', 'lv': 'vg0/swap', 'path': '/swapfile'}, GIB, str(tmp_path / 'fstab'))
    with pytest.raises(ExpandError, match='must be VG/NAME'):
        plan_swap(lvm.host, {'size': '1G', 'lv': 'swap', 'path': '/swapfile'}, GIB, str(tmp_path / 'fstab'))


def test_an_ext_file_system_without_cap_sys_resource_is_refused(tmp_path):
    lvm = LvmHost(tmp_path, str(tmp_path))
    write(os.path.join(lvm.root, 'proc', 'self', 'status'), 'CapEff:\t000001fffeffffff\n')
    assert lvm.host.can_resize_ext_online() is False
    write(os.path.join(lvm.root, 'proc', 'self', 'status'), 'CapEff:\t000001ffffffffff\n')
    assert lvm.host.can_resize_ext_online() is True
