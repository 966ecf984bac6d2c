# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identity and storage checks of the daily inspection: the host's identity and block devices, file systems
(usage, inodes, read-only, hung mounts, fstab), LVM volume groups and logical volumes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import socket
from datetime import datetime

from ansible_collections.bjeic.ops.plugins.module_utils import cloud_identity
from ansible_collections.bjeic.ops.plugins.module_utils import linux_parsers as parsers
from ansible_collections.bjeic.ops.plugins.module_utils.linux_network import read_text
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, unavailable
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_core import (
    STATFS_TIMEOUT, human_bytes, iso, with_timeout)


# ---------------------------------------------------------------- identity

def inspect_identity(insp):
    os_release = parsers.parse_os_release(read_text('/etc/os-release', '') or read_text('/usr/lib/os-release', ''))
    cpu = parsers.parse_cpuinfo(read_text('/proc/cpuinfo', ''))
    cpu['count'] = cpu['count'] or os.cpu_count()
    uptime = float((read_text('/proc/uptime', '0 0') or '0').split()[0])
    ok, fqdn = with_timeout(socket.getfqdn, 3.0)
    uname = os.uname()
    insp.attrs.update({
        'hostname': insp.hostname,
        'fqdn': fqdn if ok else insp.hostname,
        'os': {'name': os_release.get('NAME'), 'version': os_release.get('VERSION_ID'),
               'id': os_release.get('ID'), 'id_like': os_release.get('ID_LIKE'),
               'pretty_name': os_release.get('PRETTY_NAME')},
        'kernel': uname[2],
        'arch': uname[4],
        'cpu': cpu,
        'boot_time': datetime.utcfromtimestamp(insp.now - uptime).strftime('%Y-%m-%dT%H:%M:%SZ'),
        'disks': block_devices(),
    })
    insp.state.update({'inspected_at': iso(insp.now), 'uptime_seconds': int(uptime)})
    ip_bin = insp.module.get_bin_path('ip')
    if ip_bin:
        rc, out, _err = insp.run(ip_bin, '-o', 'addr', 'show')
        insp.attrs['addresses'] = parsers.parse_ip_addr(out) if rc == 0 else []
    else:
        insp.attrs['addresses'] = []


def block_devices():
    disks = []
    for name in sorted(os.listdir('/sys/block')) if os.path.isdir('/sys/block') else []:
        if re.match(r'^(loop|ram|zram|sr|fd)\d*', name):
            continue
        base = os.path.join('/sys/block', name)
        sectors = read_text(os.path.join(base, 'size'), '0').strip()
        disks.append({
            'name': name,
            'size_bytes': int(sectors) * 512 if sectors.isdigit() else None,
            'rotational': read_text(os.path.join(base, 'queue/rotational'), '').strip() == '1',
            'model': (read_text(os.path.join(base, 'device/model'), '') or '').strip() or None,
            'serial': cloud_identity.disk_serial('/sys/block', name),
        })
    return disks


# ---------------------------------------------------------------- file systems

def inspect_filesystems(insp):
    mounts = {}
    for mount in parsers.parse_mounts(read_text('/proc/self/mounts', '')):
        if not parsers.is_data_mount(mount):
            continue
        mounts[mount['mountpoint']] = mount  # the last mount on a path is the visible one
    filesystems = []
    usage = []
    for mountpoint in sorted(mounts):
        mount = mounts[mountpoint]
        if not os.path.isdir(mountpoint):  # file bind mounts (container /etc/hosts ...)
            continue
        ok, result = with_timeout(os.statvfs, STATFS_TIMEOUT, mountpoint)
        if ok is None:
            insp.add(finding('fs.usage', 'critical', mountpoint,
                             '%s (%s) did not answer statfs within %ds: hung mount?'
                             % (mountpoint, mount['device'], STATFS_TIMEOUT)))
            continue
        if not ok or result.f_blocks == 0:
            continue
        size = result.f_blocks * result.f_frsize
        free_user = result.f_bavail * result.f_frsize
        used = (result.f_blocks - result.f_bfree) * result.f_frsize
        # Same formula as df: used / (used + available to unprivileged users).
        used_pct = round(100.0 * used / (used + free_user), 1) if used + free_user else 0.0
        inode_pct = None
        if result.f_files:
            inode_pct = round(100.0 * (result.f_files - result.f_ffree) / result.f_files, 1)
        readonly = 'ro' in mount['options']
        filesystems.append({'mountpoint': mountpoint, 'device': mount['device'], 'fstype': mount['fstype'],
                            'size_bytes': size, 'readonly': readonly})
        usage.append({'mountpoint': mountpoint, 'used_bytes': used, 'used_pct': used_pct, 'inodes_used_pct': inode_pct})
        if not readonly:
            insp.graded('fs.usage', mountpoint, used_pct,
                        mountpoint + ' is %(value)s%% full (%(severity)s at %(threshold)s%%): %(free)s free of %(size)s',
                        free=human_bytes(free_user), size=human_bytes(size))
            if inode_pct is not None:
                insp.graded('fs.inodes', mountpoint, inode_pct,
                            mountpoint + ' has used %(value)s%% of its inodes (%(severity)s at %(threshold)s%%)')
    insp.attrs['filesystems'] = filesystems
    insp.state['filesystems'] = usage
    check_fstab(insp, mounts)


def check_fstab(insp, mounts):
    fstab_text = read_text('/etc/fstab')
    if fstab_text is None:
        return
    for entry in parsers.parse_fstab(fstab_text):
        if 'noauto' in entry['options'] or entry['fstype'] in ('none', 'ignore'):
            continue
        mounted = mounts.get(entry['mountpoint'])
        if mounted is None:
            insp.add(finding('fs.fstab_mismatch', 'warning', entry['mountpoint'],
                             '%s (%s) is in /etc/fstab but not mounted' % (entry['mountpoint'], entry['device'])))
        elif 'ro' in mounted['options'] and 'ro' not in entry['options']:
            insp.add(finding('fs.readonly', 'critical', entry['mountpoint'],
                             '%s is mounted read-only but /etc/fstab says read-write: '
                             'the kernel may have remounted it after I/O or file-system errors'
                             % entry['mountpoint']))


# ---------------------------------------------------------------- LVM

VG_COLUMNS = ('vg_name', 'vg_size', 'vg_free', 'pv_count', 'lv_count')
LV_COLUMNS = ('vg_name', 'lv_name', 'lv_size', 'lv_attr', 'data_percent')


def inspect_lvm(insp):
    vgs_bin = insp.module.get_bin_path('vgs')
    lvs_bin = insp.module.get_bin_path('lvs')
    if not vgs_bin or not lvs_bin:
        insp.add(unavailable('lvm.unavailable', insp.hostname, 'LVM tools (vgs, lvs) are not installed: volume groups not checked'))
        return
    report = ('--noheadings', '--units', 'b', '--nosuffix', '--separator', '|')
    rc, out, err = insp.run(vgs_bin, *(report + ('-o', ','.join(VG_COLUMNS))))
    if rc != 0:
        insp.add(unavailable('lvm.unavailable', insp.hostname, 'vgs failed (rc=%d): %s' % (rc, err.strip()[:300])))
        return
    vgs = parsers.parse_lvm_report(out, VG_COLUMNS)
    rc, out, err = insp.run(lvs_bin, *(report + ('-o', ','.join(LV_COLUMNS))))
    lvs = parsers.parse_lvm_report(out, LV_COLUMNS) if rc == 0 else []
    insp.attrs['logical_volumes'] = [dict((k, v) for k, v in lv.items() if k != 'data_percent') for lv in lvs]
    insp.attrs['volume_groups'] = [dict((k, v) for k, v in vg.items() if k != 'vg_free') for vg in vgs]
    insp.state['volume_groups'] = [{'vg_name': vg['vg_name'], 'vg_free': vg.get('vg_free')} for vg in vgs]
    insp.state['logical_volumes'] = [{'lv_name': lv['lv_name'], 'data_percent': lv.get('data_percent')} for lv in lvs]
    for vg in vgs:
        if not vg.get('vg_size'):
            continue
        free_pct = round(100.0 * vg['vg_free'] / vg['vg_size'], 1)
        insp.graded('lvm.vg_free', vg['vg_name'], free_pct,
                    'volume group ' + vg['vg_name'] + ' has %(value)s%% free (%(severity)s at or below %(threshold)s%%): %(free)s of %(size)s',
                    free=human_bytes(vg['vg_free']), size=human_bytes(vg['vg_size']))
