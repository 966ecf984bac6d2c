# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What linux_expand reads of a host: mounts, block devices (from sysfs), LVM, file-system sizes, swap.

`ExpandHost` runs commands through a callable (the module's run_command in C locale, or a scripted stand-in
in tests) and reads sysfs under `sys_root`, so a test can give it a sysfs tree and scripted LVM answers.
Sizes are bytes everywhere.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

SECTOR = 512
CAP_SYS_RESOURCE = 24          # capability bit; the kernel wants it for an online ext2/3/4 resize
GROWABLE = ('ext3', 'ext4', 'xfs', 'btrfs')


class ExpandError(Exception):
    """A refusal or a failed step, said in one sentence for the operator."""


def parse_size(text):
    """'fill', '+50G' (grow by), '120G' (grow to), '+80%FREE' (LVM free space) -> (mode, bytes or percent)."""
    value = str(text).strip()
    if value.lower() == 'fill':
        return 'fill', None
    match = re.match(r'^\+?(\d{1,3})%FREE$', value, re.IGNORECASE)
    if match:
        percent = int(match.group(1))
        if not 0 < percent <= 100:
            raise ExpandError('size %r: a share of free space is 1%%FREE to 100%%FREE' % value)
        return 'percent_free', percent
    match = re.match(r'^(\+)?(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?$', value, re.IGNORECASE)
    if not match:
        raise ExpandError('size %r is not fill, +N%%FREE, +SIZE or SIZE (SIZE like 50G, 512M, 2T; binary units)'
                          % value)
    amount = int(float(match.group(2)) * 1024 ** ' KMGT'.index(match.group(3).upper()))
    if amount <= 0:
        raise ExpandError('size %r must be more than zero' % value)
    return ('grow_by' if match.group(1) else 'grow_to'), amount


def human(size):
    if size is None:
        return '?'
    for unit, scale in (('TiB', 1024 ** 4), ('GiB', 1024 ** 3), ('MiB', 1024 ** 2)):
        if abs(size) >= scale:
            return '%.1f %s' % (size / float(scale), unit)
    return '%d B' % size


class ExpandHost(object):
    def __init__(self, run, sys_root="/sys", proc_root="/proc"):
        self.run = run                       # run(argv) -> (rc, out, err)
        self.sys_root = sys_root
        self.proc_root = proc_root

    # ---------------------------------------------------------------- plumbing
    def must(self, argv, what):
        rc, out, err = self.run(argv)
        if rc != 0:
            raise ExpandError('%s failed (%s, rc %d): %s' % (what, ' '.join(argv), rc, (err or out).strip()[:400]))
        return out

    def read(self, *parts):
        try:
            with open(os.path.join(*parts)) as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return None

    def sys_block(self, name, *parts):
        return os.path.join(self.sys_root, 'class', 'block', name, *parts)

    # ---------------------------------------------------------------- mounts
    def mount(self, mountpoint):
        """{target, source, fstype, size, avail, options} of the file system mounted exactly at `mountpoint`."""
        rc, out, err = self.run(['findmnt', '-J', '-b', '-o', 'TARGET,SOURCE,FSTYPE,SIZE,USED,AVAIL,OPTIONS',
                                 '--mountpoint', mountpoint])
        if rc != 0 or not out.strip():
            return None
        found = json.loads(out)['filesystems'][-1]   # the last mount on a path is the visible one
        found['source'] = re.sub(r'\[.*\]$', '', found['source'])   # btrfs: /dev/vdb1[/subvol]
        return found

    def device_name(self, path):
        """The kernel name (sda1, dm-3, loop0p1) of a block device path."""
        rc, out, err = self.run(['lsblk', '-n', '-d', '-o', 'KNAME', path])
        if rc != 0 or not out.strip():
            raise ExpandError('%s is not a block device the kernel knows (lsblk: %s)' % (path, (err or out).strip()))
        return out.split()[0]

    # ---------------------------------------------------------------- block devices (sysfs)
    def size_of(self, name):
        sectors = self.read(self.sys_block(name, 'size'))
        if sectors is None or not sectors.isdigit():
            raise ExpandError('cannot read the size of %s from sysfs' % name)
        return int(sectors) * SECTOR

    def partition_of(self, name):
        """(disk, number, start sector) when `name` is a partition, else None."""
        number = self.read(self.sys_block(name, 'partition'))
        if number is None:
            return None
        disk = os.path.basename(os.path.dirname(os.path.realpath(self.sys_block(name))))
        return disk, int(number), int(self.read(self.sys_block(name, 'start')) or 0)

    def partitions_of(self, disk):
        """[(name, number, start)] of every partition of `disk`."""
        found = []
        base = os.path.realpath(self.sys_block(disk))
        for entry in sorted(os.listdir(base)) if os.path.isdir(base) else []:
            number = self.read(base, entry, 'partition')
            if number is not None:
                found.append((entry, int(number), int(self.read(base, entry, 'start') or 0)))
        return found

    def is_lvm(self, name):
        return (self.read(self.sys_block(name, 'dm', 'uuid')) or '').startswith('LVM-')

    def partition_table(self, disk):
        rc, out, err = self.run(['blkid', '-p', '-s', 'PTTYPE', '-o', 'value', '/dev/' + disk])
        return out.strip() or None

    def rescan_method(self, disk):
        if disk.startswith('loop'):
            return ['losetup', '-c', '/dev/' + disk]
        if os.path.exists(self.sys_block(disk, 'device', 'rescan')):
            return 'sysfs'
        return None    # virtio-blk, nvme, xen: the kernel follows a resize event by itself

    def rescan(self, disk):
        method = self.rescan_method(disk)
        if method == 'sysfs':
            with open(self.sys_block(disk, 'device', 'rescan'), 'w') as handle:
                handle.write('1\n')
        elif method:
            self.must(method, 'rescanning %s' % disk)

    def serial(self, disk):
        for relative in ('serial', 'device/serial', 'device/wwid'):
            value = self.read(self.sys_block(disk, relative))
            if value:
                return value
        return None

    # ---------------------------------------------------------------- LVM
    def _lvm_report(self, argv, section):
        out = self.must(argv + ['--reportformat', 'json', '--units', 'b', '--nosuffix'], argv[0])
        rows = []
        for report in json.loads(out).get('report', []):
            rows.extend(report.get(section, []))
        return rows

    def lv_of(self, dm_name):
        """The LV behind device-mapper node dm_name: {lv_name, vg_name, lv_size, lv_path, origin, lv_attr}."""
        path = '/dev/' + dm_name
        dm = self.read(self.sys_block(dm_name, 'dm', 'name'))
        if dm:
            path = '/dev/mapper/' + dm
        rows = self._lvm_report(['lvs', '-o', 'lv_name,vg_name,lv_size,lv_path,origin,lv_attr,lv_dm_path', path], 'lv')
        if not rows:
            raise ExpandError('%s is not an LVM logical volume lvs knows' % path)
        row = rows[0]
        row['lv_size'] = int(row['lv_size'])
        return row

    def vg(self, vg_name):
        rows = self._lvm_report(['vgs', '-o', 'vg_name,vg_size,vg_free,vg_extent_size', vg_name], 'vg')
        row = rows[0]
        return dict((k, int(v) if k != 'vg_name' else v) for k, v in row.items())

    def pvs(self, vg_name):
        rows = self._lvm_report(['pvs', '-o', 'pv_name,vg_name,pv_size,dev_size,pv_free', '-S', 'vg_name=' + vg_name], 'pv')
        return [dict(r, pv_size=int(r['pv_size']), dev_size=int(r['dev_size']), pv_free=int(r['pv_free'])) for r in rows]

    def snapshots_of(self, vg_name, lv_name):
        rows = self._lvm_report(['lvs', '-o', 'lv_name,origin,lv_dm_path', vg_name], 'lv')
        return [r for r in rows if r.get('origin') == lv_name]

    # ---------------------------------------------------------------- file systems
    def fs_size(self, fstype, device, mountpoint):
        """The size the file system itself says it has (not df's, which leaves out its own metadata)."""
        if fstype in ('ext2', 'ext3', 'ext4'):
            out = self.must(['dumpe2fs', '-h', device], 'reading the ext superblock')
            count = re.search(r'^Block count:\s+(\d+)', out, re.M)
            block = re.search(r'^Block size:\s+(\d+)', out, re.M)
            return int(count.group(1)) * int(block.group(1))
        if fstype == 'xfs':
            out = self.must(['xfs_info', mountpoint], 'reading the xfs geometry')
            data = re.search(r'^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)', out, re.M)
            return int(data.group(1)) * int(data.group(2))
        if fstype == 'btrfs':
            return self.btrfs_device(mountpoint, device)[1]
        return None

    def btrfs_device(self, mountpoint, device):
        """(devid, size) of `device` in the btrfs mounted at `mountpoint`; refuses a multi-device btrfs."""
        out = self.must(['btrfs', 'filesystem', 'show', '--raw', mountpoint], 'reading the btrfs devices')
        devices = re.findall(r'devid\s+(\d+)\s+size\s+(\d+)\s+used\s+\d+\s+path\s+(\S+)', out)
        if len(devices) != 1:
            raise ExpandError('%s is a btrfs of %d devices: grow each device by hand (btrfs filesystem resize '
                              'DEVID:max)' % (mountpoint, len(devices)))
        return int(devices[0][0]), int(devices[0][1])

    def can_resize_ext_online(self):
        """The kernel refuses EXT4_IOC_RESIZE_FS without CAP_SYS_RESOURCE (a container's root may lack it)."""
        status = self.read(self.proc_root, 'self', 'status') or ''
        match = re.search(r'^CapEff:\s*([0-9a-fA-F]+)', status, re.M)
        return match is None or bool(int(match.group(1), 16) & (1 << CAP_SYS_RESOURCE))

    # ---------------------------------------------------------------- swap
    def active_swaps(self):
        """{path: size} from /proc/swaps."""
        swaps = {}
        for line in (self.read(self.proc_root, 'swaps') or '').splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                swaps[fields[0].replace('\\040', ' ')] = int(fields[2]) * 1024
        return swaps

    def mount_of_path(self, path):
        """{target, source, fstype} of the file system holding `path`."""
        out = self.must(['findmnt', '-J', '-o', 'TARGET,SOURCE,FSTYPE', '-T', path], 'finding the file system of %s' % path)
        return json.loads(out)['filesystems'][0]

    def lvs_in(self, vg_name):
        return self._lvm_report(['lvs', '-o', 'lv_name,lv_size', vg_name], 'lv')
