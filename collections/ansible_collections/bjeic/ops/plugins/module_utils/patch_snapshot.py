# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""File-system snapshots taken before a patch, reverted on rollback or released on commit: btrfs and LVM.

Both revert at the next boot, as snapper and `lvconvert --merge` do for a mounted root: btrfs by
making the snapshot the default subvolume, LVM by merging the snapshot into its origin (the
merge starts when the origin is next activated). The command builders are plain functions so
they can be checked without a device.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError


# ---------------------------------------------------------------- command construction
def btrfs_create_command(mount, snapshot_path):
    return ['btrfs', 'subvolume', 'snapshot', mount, snapshot_path]


def btrfs_revert_command(subvolume_id, mount):
    return ['btrfs', 'subvolume', 'set-default', str(subvolume_id), mount]


def lvm_create_command(vg, lv, name, size):
    """`size` is an lvcreate size (10G, 512M) or extents (20%ORIGIN, 100%FREE)."""
    if not re.match(r'^(\d+(\.\d+)?[bBsSkKmMgGtTpPeE]?|\d+%(ORIGIN|VG|FREE|PVS))$', size or ''):
        raise PatchError('lvm_snapshot_size %r is not an lvcreate size (like 10G) or extents (like 20%%ORIGIN)' % size)
    sizing = ['--extents', size] if '%' in size else ['--size', size]
    return ['lvcreate', '--snapshot', '--name', name] + sizing + ['%s/%s' % (vg, lv)]


def lvm_revert_command(vg, name):
    return ['lvconvert', '--merge', '%s/%s' % (vg, name)]


def btrfs_release_command(snapshot_path):
    return ['btrfs', 'subvolume', 'delete', snapshot_path]


def lvm_release_command(vg, name):
    return ['lvremove', '--yes', '%s/%s' % (vg, name)]


def snapshot_name(txn_id):
    return 'bjeic-patch-%s' % txn_id


# ---------------------------------------------------------------- on the host
def mount_of(run, path):
    """(fstype, source device) of the file system holding `path`."""
    rc, out, err = run(['findmnt', '--noheadings', '--output', 'FSTYPE,SOURCE', '--target', path])
    if rc != 0 or not out.split():
        raise PatchError('cannot tell which file system holds %s (findmnt: %s)' % (path, err.strip() or 'no output'))
    fields = out.split()
    return fields[0], fields[1] if len(fields) > 1 else ''


def lvm_origin(run, device):
    """(vg, lv) when `device` is a logical volume, else None."""
    rc, out, dummy = run(['lvs', '--noheadings', '--options', 'vg_name,lv_name', device])
    fields = out.split()
    return (fields[0], fields[1]) if rc == 0 and len(fields) == 2 else None


def detect(run, mount):
    """The snapshot kind `auto` picks for `mount`: btrfs, lvm or None."""
    fstype, source = mount_of(run, mount)
    if fstype == 'btrfs':
        return 'btrfs'
    if source.startswith('/dev/') and lvm_origin(run, source.split('[')[0]):
        return 'lvm'
    return None


def create(run, kind, mount, txn_id, lvm_size='20%ORIGIN', check_mode=False):
    """Take the snapshot; returns what the transaction records about it."""
    name = snapshot_name(txn_id)
    if kind == 'btrfs':
        fstype, dummy = mount_of(run, mount)
        if fstype != 'btrfs':
            raise PatchError('snapshot=btrfs but %s is on %s, not btrfs' % (mount, fstype))
        directory = os.path.join(mount, '.snapshots')
        path = os.path.join(directory, name)
        command = btrfs_create_command(mount, path)
        if not check_mode:
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o750)
            execute(run, command, 'taking the btrfs snapshot')
        return {'type': 'btrfs', 'mount': mount, 'path': path, 'command': command}
    if kind == 'lvm':
        dummy, source = mount_of(run, mount)
        origin = lvm_origin(run, source)
        if not origin:
            raise PatchError('snapshot=lvm but %s is on %s, which is not an LVM logical volume' % (mount, source))
        command = lvm_create_command(origin[0], origin[1], name, lvm_size)
        if not check_mode:
            execute(run, command, 'taking the LVM snapshot')
        return {'type': 'lvm', 'mount': mount, 'vg': origin[0], 'lv': origin[1], 'name': name, 'command': command}
    raise PatchError('unknown snapshot kind %r' % kind)


def revert(run, snapshot, check_mode=False):
    """Schedule the revert to the snapshot (takes effect at the next boot). Returns the command."""
    if snapshot['type'] == 'btrfs':
        rc, out, err = run(['btrfs', 'subvolume', 'show', snapshot['path']])
        found = re.search(r'Subvolume ID:\s*(\d+)', out)
        if rc != 0 or not found:
            raise PatchError('the btrfs snapshot %s is gone or unreadable (%s); the packages were rolled back, the '
                             'file system was not' % (snapshot['path'], (err or out).strip()[-200:]))
        command = btrfs_revert_command(found.group(1), snapshot['mount'])
    else:
        command = lvm_revert_command(snapshot['vg'], snapshot['name'])
    if not check_mode:
        execute(run, command, 'reverting to the %s snapshot' % snapshot['type'])
    return command


def release(run, snapshot, check_mode=False):
    """Drop the snapshot once its transaction is accepted: an LVM snapshot left in place slows every write to its
    origin and is invalidated when it fills; a btrfs one pins the old files' space. Returns the command, or None when
    the snapshot is already gone."""
    if snapshot['type'] == 'btrfs':
        rc, dummy, dummy = run(['btrfs', 'subvolume', 'show', snapshot['path']])
        command = btrfs_release_command(snapshot['path'])
    else:
        rc, dummy, dummy = run(['lvs', '--noheadings', '%s/%s' % (snapshot['vg'], snapshot['name'])])
        command = lvm_release_command(snapshot['vg'], snapshot['name'])
    if rc != 0:
        return None
    if not check_mode:
        execute(run, command, 'releasing the %s snapshot' % snapshot['type'])
    return command


def execute(run, command, action):
    rc, out, err = run(command)
    if rc != 0:
        raise PatchError('%s failed (%s): %s' % (action, ' '.join(command), (err or out).strip()[-500:]))
    return out
