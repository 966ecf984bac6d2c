# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux_expand's plan: from a target (`/data: +50G`, `/var: fill`, swap 8G) to the chain of steps that brings a
host up to the disk the cloud platform enlarged - rescan, partition, PV, LV, file system - or refuses, before
anything is touched.

A step is {step, object, before, after, argv}: `before`/`after` in bytes, `argv` the command that does it (None for
steps done in Python). Every refusal is an ExpandError raised while planning, so a refused target changes nothing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.bjeic.ops.plugins.module_utils.expand_host import (
    GROWABLE, ExpandError, human, parse_size)

SLACK = 64 * 1024 ** 2         # a gap smaller than this between a file system and its device is alignment/overhead
SWAP_FSTYPES = ('ext3', 'ext4', 'xfs', 'btrfs')


def step(kind, obj, before, after, argv=None, **extra):
    item = {'step': kind, 'object': obj, 'before': before, 'after': after, 'argv': argv}
    item.update(extra)
    return item


class TargetPlan(object):
    """The steps for one mount point, with what they start from and where they end."""

    def __init__(self, mount, size):
        self.mount = mount
        self.size = size
        self.steps = []
        self.disks = []            # kernel names of the disks under it
        self.fstype = self.source = None
        self.fs_before = self.fs_after = None


def plan_target(host, target, rescan=True, growpart='growpart'):
    mountpoint, wanted = target['mount'], target.get('size') or 'fill'
    mode, amount = parse_size(wanted)
    found = host.mount(mountpoint)
    if not found:
        raise ExpandError('%s is not a mount point: nothing is mounted there (findmnt)' % mountpoint)
    plan = TargetPlan(mountpoint, wanted)
    plan.fstype, plan.source = found['fstype'], found['source']
    if target.get('device') and os.path.realpath(target['device']) != os.path.realpath(plan.source):
        raise ExpandError('%s is mounted from %s, not from %s as the inventory says: check the host before growing '
                          'anything' % (mountpoint, plan.source, target['device']))
    if target.get('fstype') and target['fstype'] != plan.fstype:
        raise ExpandError('%s is %s, not %s as the inventory says' % (mountpoint, plan.fstype, target['fstype']))
    if 'ro' in (found.get('options') or '').split(','):
        raise ExpandError('%s is mounted read-only: a file system is grown while mounted read-write' % mountpoint)
    if plan.fstype not in GROWABLE:
        raise ExpandError('%s is %s, which linux_expand cannot grow online (it grows %s)'
                          % (mountpoint, plan.fstype, ', '.join(GROWABLE)))
    if plan.fstype.startswith('ext') and not host.can_resize_ext_online():
        raise ExpandError('%s is %s and this process lacks CAP_SYS_RESOURCE, without which the kernel refuses an '
                          'online ext resize (a container?): grow it from the host itself' % (mountpoint, plan.fstype))
    name = host.device_name(plan.source)
    plan.fs_before = host.fs_size(plan.fstype, plan.source, mountpoint)
    if mode == 'grow_to' and plan.fs_before >= amount - SLACK:
        return plan            # already as large as asked: nothing to do
    if host.is_lvm(name):
        device_after = _plan_lvm(host, plan, name, mode, amount, rescan, growpart)
    else:
        device_after = _plan_block(host, plan, name, rescan, growpart)
        gained = device_after - plan.fs_before
        if mode == 'grow_by' and gained < amount - SLACK:
            raise ExpandError('%s: %s asked, but %s gives only %s more than the file system has: enlarge the disk on '
                              'the cloud platform first' % (mountpoint, wanted, plan.source, human(max(gained, 0))))
        if mode == 'grow_to' and device_after < amount - SLACK:
            raise ExpandError('%s: %s asked, but %s is only %s: enlarge the disk on the cloud platform first'
                              % (mountpoint, wanted, plan.source, human(device_after)))
        if mode == 'percent_free':
            raise ExpandError('%s: +N%%FREE is a share of an LVM volume group, and %s is not a logical volume'
                              % (mountpoint, plan.source))
    if device_after - plan.fs_before >= SLACK:
        plan.steps.append(step('grow_fs', mountpoint, plan.fs_before, device_after, _grow_fs_argv(host, plan),
                               fstype=plan.fstype, device=plan.source))
        plan.fs_after = device_after
    elif mode == 'grow_by':
        raise ExpandError('%s: %s asked, but the file system already fills %s: enlarge the disk on the cloud platform '
                          'first' % (mountpoint, wanted, plan.source))
    return plan


def _grow_fs_argv(host, plan):
    if plan.fstype == 'xfs':
        return ['xfs_growfs', plan.mount]
    if plan.fstype == 'btrfs':
        devid = host.btrfs_device(plan.mount, plan.source)[0]
        return ['btrfs', 'filesystem', 'resize', '%d:max' % devid, plan.mount]
    return ['resize2fs', plan.source]


def _plan_block(host, plan, name, rescan, growpart):
    """Rescan the disk under `name` and plan growing its partition; returns the size `name` will have."""
    part = host.partition_of(name)
    disk = part[0] if part else name
    plan.disks.append(disk)
    before = host.size_of(disk)
    if rescan:
        # Only makes the kernel read the size the platform gave the disk; it changes nothing on it.
        host.rescan(disk)
    after = host.size_of(disk)
    plan.steps.append(step('rescan', '/dev/' + disk, before, after, done=True))
    if not part:
        return after
    disk, number, start = part
    size = host.size_of(name)
    followers = [n for n, num, s in host.partitions_of(disk) if s > start]
    if followers:
        raise ExpandError('%s is partition %d of /dev/%s, and %s follows it on the disk: it cannot grow in place'
                          % (name, number, disk, ', '.join(followers)))
    if host.partition_table(disk) == 'dos' and number > 4:
        raise ExpandError('%s is a logical partition inside an extended one: grow the extended partition by hand '
                          '(growpart grows primary and GPT partitions)' % name)
    if not growpart:
        if after - (start * 512 + size) >= SLACK:
            raise ExpandError('growing %s needs growpart, which is not installed (Debian/Ubuntu: cloud-guest-utils; '
                              'RHEL family: cloud-utils-growpart)' % name)
        return size
    rc, out, err = host.run([growpart, '--dry-run', '/dev/' + disk, str(number)])
    change = re.search(r'^CHANGE:.*new: size=(\d+)', out, re.M)
    if rc == 0 and change:
        new_size = int(change.group(1)) * 512
        plan.steps.append(step('grow_partition', '/dev/' + name, size, new_size, [growpart, '/dev/' + disk, str(number)],
                               device=name))
        return new_size
    if rc == 1 and 'NOCHANGE' in out:
        return size
    raise ExpandError('growpart cannot plan %s: %s' % (name, (err or out).strip()[:300]))


def _plan_lvm(host, plan, name, mode, amount, rescan, growpart):
    lv = host.lv_of(name)
    where = '%s/%s' % (lv['vg_name'], lv['lv_name'])
    mounted = set(_mounted_devices(host))
    for snap in host.snapshots_of(lv['vg_name'], lv['lv_name']):
        if os.path.realpath(snap.get('lv_dm_path') or '') in mounted:
            raise ExpandError('%s has a mounted snapshot (%s): unmount it or merge it first' % (where, snap['lv_name']))
    vg = host.vg(lv['vg_name'])
    extent = vg['vg_extent_size']
    free = vg['vg_free']
    for pv in host.pvs(lv['vg_name']):
        pv_name = host.device_name(pv['pv_name'])
        device_after = _plan_block(host, plan, pv_name, rescan, growpart)
        growth = ((device_after - pv['pv_size']) // extent - 1) * extent    # less one extent for the metadata
        if growth > 0:
            plan.steps.append(step('pvresize', pv['pv_name'], pv['pv_size'], pv['pv_size'] + growth,
                                   ['pvresize', pv['pv_name']]))
            free += growth
    lv_path = lv.get('lv_path') or '/dev/%s' % where
    if mode == 'grow_by':
        if free < amount:
            raise ExpandError('%s: +%s asked, but volume group %s has %s free (after the disks under it grew): enlarge '
                              'a disk on the cloud platform first' % (plan.mount, human(amount), lv['vg_name'], human(free)))
        args, added = ['-L', '+%dk' % (amount // 1024)], amount
    elif mode == 'grow_to':
        if amount - lv['lv_size'] > free:
            raise ExpandError('%s: %s asked, but %s is %s and volume group %s has %s free' % (
                plan.mount, human(amount), where, human(lv['lv_size']), lv['vg_name'], human(free)))
        args, added = ['-L', '%dk' % (amount // 1024)], max(amount - lv['lv_size'], 0)
    else:
        percent = 100 if mode == 'fill' else amount
        args, added = ['-l', '+%d%%FREE' % percent], free * percent // 100 // extent * extent
    if added >= extent:
        plan.steps.append(step('lvextend', lv_path, lv['lv_size'], lv['lv_size'] + added, ['lvextend'] + args + [lv_path]))
    return lv['lv_size'] + (added if added >= extent else 0)


def _mounted_devices(host):
    for line in (host.read(host.proc_root, 'self', 'mounts') or '').splitlines():
        if line.startswith('/dev/'):
            yield os.path.realpath(line.split()[0])


# ---------------------------------------------------------------- swap

def plan_swap(host, swap, min_free, fstab_path='/etc/fstab'):
    """The steps that give the host the swap asked for: a swap file (path) or a logical volume (lv: VG/NAME)."""
    mode, amount = parse_size(swap['size'])
    if mode != 'grow_to':
        raise ExpandError('swap size %r: give the size of the swap space itself, like 8G' % swap['size'])
    in_fstab = _fstab_has(host.read(fstab_path) or '', swap.get('lv') and '/dev/%s' % swap['lv'] or swap['path'])
    if swap.get('lv'):
        return _plan_swap_lv(host, swap, amount, in_fstab)
    path = swap['path']
    active = host.active_swaps()
    steps = []
    if path in active:
        if abs(active[path] - amount) > 1024 ** 2:
            raise ExpandError('swap file %s is active with %s, not %s: a swap file is never resized in place; name '
                              'another path' % (path, human(active[path]), human(amount)))
    elif os.path.lexists(path):
        if os.path.islink(path) or not os.path.isfile(path):
            raise ExpandError('%s exists and is not a regular file: it is not made a swap file' % path)
        if not _has_swap_signature(path) or os.path.getsize(path) != amount:
            raise ExpandError('%s exists and is not a %s swap file: it is left alone; name another path'
                              % (path, human(amount)))
    else:
        directory = os.path.dirname(path) or '/'
        found = host.mount_of_path(directory)
        if found['fstype'] not in SWAP_FSTYPES:
            raise ExpandError('%s would be on %s (%s): swap files are made on %s' % (
                path, found['target'], found['fstype'], ', '.join(SWAP_FSTYPES)))
        stat = os.statvfs(directory)
        free = stat.f_bavail * stat.f_frsize
        if free < amount + min_free:
            raise ExpandError('%s has %s free: a %s swap file would leave less than %s (min_free_mb)'
                              % (found['target'], human(free), human(amount), human(min_free)))
        steps += [step('create_swapfile', path, None, amount, fstype=found['fstype']),
                  step('mkswap', path, None, amount, ['mkswap', path])]
    if not in_fstab:
        steps.append(step('fstab', fstab_path, None, '%s none swap %s 0 0' % (path, _swap_options(swap)), swap=path))
    if path not in active:
        steps.append(step('swapon', path, None, amount, ['swapon', path]))
    return steps


def _plan_swap_lv(host, swap, amount, in_fstab):
    vg_name, sep, lv_name = swap['lv'].partition('/')
    if not sep or not re.match(r'^[A-Za-z0-9+_.-]+$', vg_name + lv_name):
        raise ExpandError('swap lv %r must be VG/NAME' % swap['lv'])
    path = '/dev/%s/%s' % (vg_name, lv_name)
    existing = [r for r in host.lvs_in(vg_name) if r['lv_name'] == lv_name]
    active = host.active_swaps()
    steps = []
    if existing:
        if abs(int(existing[0]['lv_size']) - amount) > 4 * 1024 ** 2:
            raise ExpandError('logical volume %s exists with %s, not %s: it is left alone'
                              % (path, human(int(existing[0]['lv_size'])), human(amount)))
    else:
        free = host.vg(vg_name)['vg_free']
        if free < amount:
            raise ExpandError('volume group %s has %s free: a %s swap volume does not fit' % (vg_name, human(free), human(amount)))
        steps += [step('lvcreate', path, None, amount, ['lvcreate', '-y', '-L', '%dk' % (amount // 1024), '-n', lv_name, vg_name]),
                  step('mkswap', path, None, amount, ['mkswap', path])]
    if not in_fstab:
        steps.append(step('fstab', '/etc/fstab', None, '%s none swap %s 0 0' % (path, _swap_options(swap)), swap=path))
    if not any(os.path.realpath(p) == os.path.realpath(path) for p in active):
        steps.append(step('swapon', path, None, amount, ['swapon', path]))
    return steps


def _swap_options(swap):
    return 'sw,pri=%d' % swap['priority'] if swap.get('priority') is not None else 'sw'


def _fstab_has(text, device):
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not fields[0].startswith('#') and fields[0] == device and fields[2] == 'swap':
            return True
    return False


def _has_swap_signature(path):
    try:
        with open(path, 'rb') as handle:
            handle.seek(4086)
            return handle.read(10) in (b'SWAPSPACE2', b'SWAP-SPACE')
    except (IOError, OSError):
        return False
