#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_inspect
short_description: Daily inspection of a Linux host in one call
version_added: 0.1.0
description:
  - Gathers everything the daily inspection needs from a Linux host in one module call (one round
    trip per host) and returns it as a configuration ledger item and a list of findings.
  - Covers file systems (usage, inodes, read-only mounts, fstab entries not mounted), LVM volume
    groups and logical volumes, swap, memory and CPU load, zombie processes, failed systemd units,
    logins (current, recent, failed), C(/tmp) and C(/var/tmp) usage, core dumps and crash files,
    system log errors, backup evidence and time synchronisation.
  - Read-only. Needs only the Python 3.6+ standard library on the host. Works without systemd and
    without LVM; what cannot be observed is reported as an C(info) finding with a check id ending in
    C(.unavailable), never guessed.
  - Run it with privilege escalation (become) so it can read C(/var/log/btmp) and the system logs.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so check mode runs the same inspection.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Linux only (reads C(/proc) and C(/sys)).
options:
  thresholds:
    description:
      - Warning and critical levels per check id, merged over the defaults. Give only the levels you
        want to change, for example C(fs.usage) with only C(warning=75).
      - "Defaults (units in brackets): C(fs.usage) 80/90 [% used], C(fs.inodes) 80/90 [% used],
        C(lvm.vg_free) 10/5 [% free, lower is worse], C(swap.usage) 50/80 [%], C(mem.usage) 85/95 [%],
        C(cpu.load) 1.0/2.0 [5-minute load per CPU], C(proc.zombie) 1/10 [zombies under one parent],
        C(login.failed) 5/30 [failed logins in the window], C(tmp.usage) 1024/4096 [MiB under one
        directory], C(files.core_dump) 1/10 [crash files on the host], C(log.errors) 10/100 [error
        lines in the window], C(backup.stale) 1/2 [multiples of the backup's max_age_hours]."
      - Checks without levels have a fixed severity - C(fs.readonly), C(backup.missing) are critical;
        C(fs.fstab_mismatch), C(svc.failed), C(ntp.unsynced) are warnings; C(svc.down) (a unit of
        O(services) not running) is critical.
    type: dict
    default: {}
  window_hours:
    description:
      - How far back to look for failed logins, recent logins and log errors, in hours.
    type: int
    default: 24
  backup_paths:
    description:
      - Backup evidence to look for. The newest file matching each glob is compared with its maximum age.
      - No match is a C(backup.missing) finding; too old a match is C(backup.stale).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Shell glob of the backup files, for example C(/backup/db/*.tar.gz).
        type: str
        required: true
      max_age_hours:
        description: Age in hours after which the newest backup is stale.
        type: float
        default: 24
  services:
    description:
      - systemd units that must be running on the host (business services, e.g. C(nginx), C(mariadb)).
        Each one not active is a C(svc.down) finding; a unit that does not exist is one too.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Run only these checks. Empty means all checks.
    type: list
    elements: str
    default: []
    choices: &check_ids
      - fs.usage
      - fs.inodes
      - fs.readonly
      - fs.fstab_mismatch
      - lvm.vg_free
      - swap.usage
      - mem.usage
      - cpu.load
      - proc.zombie
      - svc.failed
      - svc.down
      - login.failed
      - tmp.usage
      - files.core_dump
      - log.errors
      - backup.stale
      - backup.missing
      - ntp.unsynced
  skip_checks:
    description:
      - Checks not to run, applied after O(checks).
    type: list
    elements: str
    default: []
    choices: *check_ids
  log_sample_lines:
    description:
      - How many of the newest error lines to return as samples with the C(log.errors) finding.
    type: int
    default: 10
  cloud_identity:
    description:
      - Report the host as a cloud resource (云主机) - a ledger item of kind C(cloud) keyed
        C(self:vm:<instance id>) with its platform, region, zone, instance type, CPUs, memory, disks
        (with the serial that carries the cloud volume id) and addresses.
      - The instance id comes from cloud-init's C(/run/cloud-init/instance-data.json) (never the
        sensitive copy), else C(/var/lib/cloud/data/instance-id), else the DMI system UUID when the
        DMI vendor is a cloud platform.
      - A host with none of these gets an C(info) finding C(cloud.unavailable). Set V(false) on
        physical servers.
    type: bool
    default: true
  core_dump_paths:
    description:
      - Directories searched for core dumps and crash files. C(/tmp) and C(/var/tmp) are searched two
        levels deep, the others only at their top level.
    type: list
    elements: path
    default: [/tmp, /var/tmp, /, /var/crash, /var/lib/systemd/coredump]
notes:
  - Each file system is queried with a time limit, so a hung network mount becomes a C(fs.usage)
    critical finding instead of a hung inspection.
  - Failed logins come from C(/var/log/btmp) (only password and keyboard-interactive failures are
    recorded there by sshd); recent logins from C(/var/log/wtmp); current sessions from C(/run/utmp).
  - Log errors come from the journal (priority err and above) where systemd runs, otherwise from
    C(/var/log/messages) or C(/var/log/syslog) (lines matching error words, as those files carry no priority).
seealso:
  - name: Result contract
    description: The keys every bjeic.ops module returns (docs/architecture.md in the project).
    link: https://docs.ansible.com/ansible/latest/dev_guide/developing_modules_general.html
'''

EXAMPLES = r'''
- name: Daily inspection with default thresholds
  bjeic.ops.linux_inspect:
  become: true
  register: inspection

- name: Stricter disk thresholds, backup evidence, no load check
  bjeic.ops.linux_inspect:
    thresholds:
      fs.usage: {warning: 70, critical: 85}
    backup_paths:
      - path: /backup/db/*.dump.gz
        max_age_hours: 26
      - path: /backup/etc/etc-*.tar.gz
        max_age_hours: 170
    skip_checks: [cpu.load]
  become: true
  register: inspection

- name: Fail the play on critical findings
  ansible.builtin.assert:
    that: inspection.findings | selectattr('severity', 'equalto', 'critical') | list | length == 0
    fail_msg: "{{ inspection.findings | selectattr('severity', 'equalto', 'critical') | map(attribute='message') | list }}"
'''

RETURN = r'''
ledger:
  description:
    - Configuration items observed. One item of kind C(os) keyed C(host:<hostname>), and one of kind
      C(network) keyed C(netpolicy:<hostname>) with the listening ports (C(listening), each
      C({proto, address, port, process})) and the firewall rules (C(firewall), rule lines per backend
      C(nftables), C(iptables), C(ip6tables) without packet counters, and the C(firewalld) state).
    - On a cloud host (see O(cloud_identity)) one item of kind C(cloud) keyed C(self:vm:<instance id>)
      with C(type), C(id), C(name), C(platform), C(cloud_name), C(region), C(availability_zone),
      C(instance_type), C(source), C(cpu_count), C(memory_bytes), C(disks) and C(addresses), as far
      as the host knows them.
    - Values that change from run to run (usage, load, uptime, sessions) sit under C(attrs.state),
      which drift reports leave out.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Ledger kind.
      type: str
      sample: os
    key:
      description: Stable key across runs.
      type: str
      sample: host:web01
    attrs:
      description:
        - Hostname, fqdn, addresses, os, kernel, arch, cpu, memory_bytes, swap_bytes, disks,
          filesystems, volume_groups, logical_volumes, uptime_seconds, boot_time, time_sync,
          sessions, recent_logins, inspected_at.
      type: dict
      sample: {hostname: web01, os: {name: Debian GNU/Linux, version: "12"}, cpu: {count: 4}}
findings:
  description: What is wrong or worth noting, each C({check, severity, subject, value, threshold, message}).
  returned: always
  type: list
  elements: dict
  sample:
    - check: fs.usage
      severity: critical
      subject: /var
      value: 93.4
      threshold: 90
      message: "/var is 93.4% full (critical at 90%): 1.2 GiB free of 20.0 GiB"
summary:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {critical: 1, warning: 2, info: 0}
checks:
  description: The check ids that ran.
  returned: always
  type: list
  elements: str
  sample: [fs.usage, fs.inodes, proc.zombie]
thresholds:
  description: The thresholds in force after merging O(thresholds) over the defaults.
  returned: always
  type: dict
  sample: {fs.usage: {warning: 80.0, critical: 90.0}}
'''

import glob
import os
import re
import socket
import stat
import threading
import time
from datetime import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils import cloud_identity
from ansible_collections.bjeic.ops.plugins.module_utils.fs_walk import OneFileSystemWalk
from ansible_collections.bjeic.ops.plugins.module_utils import linux_network as network
from ansible_collections.bjeic.ops.plugins.module_utils import linux_parsers as parsers
from ansible_collections.bjeic.ops.plugins.module_utils.linux_network import read_text
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, grade, unavailable
from ansible_collections.bjeic.ops.plugins.module_utils.findings import ThresholdError, merge_thresholds, public_thresholds

CHECK_IDS = (
    'fs.usage', 'fs.inodes', 'fs.readonly', 'fs.fstab_mismatch', 'lvm.vg_free', 'swap.usage',
    'mem.usage', 'cpu.load', 'proc.zombie', 'svc.failed', 'svc.down', 'login.failed', 'tmp.usage',
    'files.core_dump', 'log.errors', 'backup.stale', 'backup.missing', 'ntp.unsynced',
)

DEFAULT_THRESHOLDS = {
    'fs.usage': {'warning': 80.0, 'critical': 90.0},
    'fs.inodes': {'warning': 80.0, 'critical': 90.0},
    'lvm.vg_free': {'warning': 10.0, 'critical': 5.0, '_direction': 'below'},
    'swap.usage': {'warning': 50.0, 'critical': 80.0},
    'mem.usage': {'warning': 85.0, 'critical': 95.0},
    'cpu.load': {'warning': 1.0, 'critical': 2.0},
    'proc.zombie': {'warning': 1.0, 'critical': 10.0},
    'login.failed': {'warning': 5.0, 'critical': 30.0},
    'tmp.usage': {'warning': 1024.0, 'critical': 4096.0},
    'files.core_dump': {'warning': 1.0, 'critical': 10.0},
    'log.errors': {'warning': 10.0, 'critical': 100.0},
    'backup.stale': {'warning': 1.0, 'critical': 2.0},
}

STATFS_TIMEOUT = 5.0       # seconds per file system before it counts as hung
TMP_WALK_LIMIT = 200000    # entries walked under one tmp directory
LOG_TAIL_BYTES = 64 << 20  # read at most the last 64 MiB of a syslog file
UTMP_TAIL_BYTES = 32 << 20  # and of wtmp/btmp (brute force makes btmp huge)
JOURNAL_MAX_ENTRIES = 5000
MIB = 1024 * 1024
GIB = 1024 * MIB


def with_timeout(function, timeout, *args):
    """Run `function(*args)` in a daemon thread: (True, result), (False, exception) or (None, None) on timeout."""
    box = {}

    def target():
        try:
            box['result'] = function(*args)
        except Exception as exc:  # handed back to the caller, which reports it
            box['error'] = exc
    worker = threading.Thread(target=target)
    worker.daemon = True
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return None, None
    if 'error' in box:
        return False, box['error']
    return True, box['result']


def read_tail(path, limit, align=1):
    """Last `limit` bytes of a file, starting on a multiple of `align`. Returns (data, truncated)."""
    with open(path, 'rb') as handle:
        size = os.fstat(handle.fileno()).st_size
        start = max(0, size - limit)
        start -= start % align
        handle.seek(start)
        return handle.read(), start > 0


def human_bytes(number):
    for unit, size in (('TiB', 1 << 40), ('GiB', GIB), ('MiB', MIB), ('KiB', 1024)):
        if number >= size:
            return '%.1f %s' % (number / size, unit)
    return '%d B' % number


class Inspection(object):
    """One inspection run: options, the clock, and what has been found so far."""

    def __init__(self, module, thresholds, enabled):
        self.module = module
        self.thresholds = thresholds
        self.enabled = enabled
        self.now = time.time()
        self.since = self.now - module.params['window_hours'] * 3600
        self.hostname = socket.gethostname()
        self.found = contract.Findings(keep=lambda check: check in enabled or check == 'inspect.error')
        self.findings = self.found.items
        self.attrs = {}
        self.state = {}  # values that change run to run: ledger attrs.state, left out of drift
        self.systemd = os.path.isdir('/run/systemd/system')
        self.network = None
        self.cloud = None

    def on(self, *checks):
        return any(check in self.enabled for check in checks)

    def add(self, item):
        self.found.add_item(item)

    def graded(self, check, subject, value, message_format, **extra):
        """Add a finding for `value` if it crosses the check's thresholds."""
        self.found.graded(check, value, self.thresholds[check], message_format, subject=subject, **extra)

    def run(self, *args):
        return contract.run_c(self.module, args)


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


# ---------------------------------------------------------------- memory, swap, load

def inspect_memory(insp):
    info = parsers.parse_meminfo(read_text('/proc/meminfo', ''))
    total = info.get('MemTotal', 0)
    available = info.get('MemAvailable')
    if available is None:  # kernels before 3.14
        available = info.get('MemFree', 0) + info.get('Buffers', 0) + info.get('Cached', 0)
    swap_total = info.get('SwapTotal', 0)
    swap_used = swap_total - info.get('SwapFree', 0)
    insp.attrs.update({'memory_bytes': total, 'swap_bytes': swap_total})
    insp.state.update({'memory_available_bytes': available, 'swap_used_bytes': swap_used})
    if total:
        insp.graded('mem.usage', insp.hostname, round(100.0 * (total - available) / total, 1),
                    'memory is %(value)s%% used (%(severity)s at %(threshold)s%%)')
    if swap_total:
        insp.graded('swap.usage', insp.hostname, round(100.0 * swap_used / swap_total, 1),
                    'swap is %(value)s%% used (%(severity)s at %(threshold)s%%)')
    load1, load5, load15 = parsers.parse_loadavg(read_text('/proc/loadavg', '0 0 0'))
    cpus = insp.attrs.get('cpu', {}).get('count') or 1
    insp.state['load'] = {'1m': load1, '5m': load5, '15m': load15}
    insp.graded('cpu.load', insp.hostname, round(load5 / cpus, 2),
                '5-minute load is %(load)s on %(cpus)s CPUs, %(value)s per CPU (%(severity)s at %(threshold)s)',
                load=load5, cpus=cpus)


# ---------------------------------------------------------------- processes and services

def inspect_processes(insp):
    processes = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        text = read_text('/proc/%s/stat' % entry)
        if text:
            process = parsers.parse_proc_stat(text)
            processes[process['pid']] = process
    zombies_by_parent = {}
    for process in processes.values():
        if process['state'] == 'Z':
            zombies_by_parent.setdefault(process['ppid'], []).append(process)
    for ppid, zombies in sorted(zombies_by_parent.items()):
        parent = processes.get(ppid, {'comm': '?'})
        pids = ', '.join('%d (%s)' % (z['pid'], z['comm']) for z in sorted(zombies, key=lambda z: z['pid'])[:10])
        insp.graded('proc.zombie', 'pid %d (%s)' % (ppid, parent['comm']), len(zombies),
                    '%(value)s zombie process(es) under parent pid ' + str(ppid) + ' (' + parent['comm']
                    + ') (%(severity)s at %(threshold)s): ' + pids
                    + '. The parent does not reap its children; restart or fix it.')
    insp.state['process_count'] = len(processes)


def inspect_services(insp):
    systemctl = insp.module.get_bin_path('systemctl')
    wanted = insp.module.params['services'] if insp.on('svc.down') else []
    if not insp.systemd or not systemctl:
        insp.add(unavailable('svc.unavailable', insp.hostname, 'systemd is not running: failed units%s not checked'
                             % (' and required services (%s)' % ', '.join(wanted) if wanted else '')))
        return
    if insp.on('svc.failed'):
        rc, out, err = insp.run(systemctl, 'list-units', '--state=failed', '--all', '--plain', '--no-legend', '--no-pager')
        if rc != 0:
            insp.add(unavailable('svc.unavailable', insp.hostname, 'systemctl failed (rc=%d): %s' % (rc, err.strip()[:300])))
        else:
            failed = parsers.parse_systemctl_failed(out)
            insp.state['failed_units'] = [unit['unit'] for unit in failed]
            for unit in failed:
                insp.add(finding('svc.failed', 'warning', unit['unit'],
                                 'unit %s is %s (%s): see systemctl status %s' % (unit['unit'], unit['active'], unit['sub'], unit['unit']),
                                 value=unit['sub']))
    if wanted:
        inspect_required_services(insp, systemctl, wanted)


def inspect_required_services(insp, systemctl, wanted):
    rc, out, err = insp.run(systemctl, 'show', '--property=Id,LoadState,ActiveState,SubState', '--', *wanted)
    if rc != 0:
        insp.add(unavailable('svc.unavailable', insp.hostname, 'systemctl show failed (rc=%d): %s' % (rc, err.strip()[:300])))
        return
    states = parsers.parse_systemctl_show(out)
    insp.state['services'] = {}
    for name, unit in zip(wanted, states):
        insp.state['services'][name] = unit.get('ActiveState')
        if unit.get('LoadState') == 'not-found':
            insp.add(finding('svc.down', 'critical', name, 'required service %s does not exist on this host' % name,
                             value='not-found'))
        elif unit.get('ActiveState') != 'active':
            insp.add(finding('svc.down', 'critical', name,
                             'required service %s is %s (%s): systemctl status %s, then systemctl start %s'
                             % (name, unit.get('ActiveState'), unit.get('SubState'), name, name),
                             value=unit.get('ActiveState')))


# ---------------------------------------------------------------- logins

def inspect_logins(insp):
    utmp = read_text_bytes('/run/utmp') or read_text_bytes('/var/run/utmp') or b''
    sessions = [r for r in parsers.parse_utmp(utmp) if r['type'] == parsers.UTMP_USER_PROCESS]
    insp.state['sessions'] = [{'user': r['user'], 'line': r['line'], 'host': r['host'],
                               'since': iso(r['time'])} for r in sessions]
    try:
        data, _truncated = read_tail('/var/log/wtmp', UTMP_TAIL_BYTES, parsers.UTMP_STRUCT.size)
        recent = [r for r in parsers.parse_utmp(data)
                  if r['type'] == parsers.UTMP_USER_PROCESS and r['time'] >= insp.since]
        insp.state['recent_logins'] = [{'user': r['user'], 'host': r['host'], 'at': iso(r['time'])} for r in recent[-50:]]
    except (IOError, OSError):
        insp.state['recent_logins'] = None
    if not insp.on('login.failed'):
        return
    try:
        data, truncated = read_tail('/var/log/btmp', UTMP_TAIL_BYTES, parsers.UTMP_STRUCT.size)
    except (IOError, OSError) as exc:
        if getattr(exc, 'errno', None) == 2:  # no btmp: nothing has failed since rotation
            return
        insp.add(unavailable('login.unavailable', insp.hostname, 'cannot read /var/log/btmp (%s): run with become' % exc))
        return
    records = parsers.parse_utmp(data)
    failed = [r for r in records if r['time'] >= insp.since]
    lower_bound = truncated and records and records[0]['time'] >= insp.since
    counts = {}
    for record in failed:
        who = '%s from %s' % (record['user'] or '?', record['host'] or 'local')
        counts[who] = counts.get(who, 0) + 1
    top = ', '.join('%s x%d' % item for item in sorted(counts.items(), key=lambda i: -i[1])[:5])
    insp.graded('login.failed', insp.hostname, len(failed),
                ('at least ' if lower_bound else '') + '%(value)s failed logins in the last '
                + str(insp.module.params['window_hours']) + 'h (%(severity)s at %(threshold)s): ' + top)


def read_text_bytes(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def iso(epoch):
    return datetime.utcfromtimestamp(epoch).strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------- /tmp and crash files

def directory_usage(path):
    """Bytes used under `path` without leaving its file system. Returns (bytes, complete)."""
    walk = OneFileSystemWalk([path], TMP_WALK_LIMIT)
    total = sum(info.st_blocks * 512 for _path, info in walk)
    return total, not walk.truncated


def inspect_tmp(insp):
    usage = {}
    for path in ('/tmp', '/var/tmp'):
        used, complete = directory_usage(path)
        usage[path] = used
        insp.graded('tmp.usage', path, round(used / MIB, 1),
                    path + ' holds %(prefix)s%(value)s MiB (%(severity)s at %(threshold)s MiB)',
                    prefix='' if complete else 'at least ')
    insp.state['tmp_bytes'] = usage


CRASH_NAME = re.compile(r'^(hs_err_pid\d+\.log|.+\.crash|core\..+\.(zst|lz4|xz))$')


def crash_files(paths):
    """Core dumps (ELF core header) and crash reports under `paths`: [{path, size, mtime, kind}]."""
    found = {}
    for top in paths:
        depth = 2 if top in ('/tmp', '/var/tmp') else 0
        for path in _walk_files(top, depth):
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            kind = None
            if CRASH_NAME.match(os.path.basename(path)):
                kind = 'crash report' if not os.path.basename(path).startswith('core.') else 'compressed core dump'
            elif info.st_size >= 18:
                try:
                    with open(path, 'rb') as handle:
                        if parsers.is_core_file(handle.read(18)):
                            kind = 'ELF core dump'
                except (IOError, OSError):
                    continue
            if kind:
                found[path] = {'path': path, 'size': info.st_size, 'mtime': iso(info.st_mtime), 'kind': kind}
    return [found[path] for path in sorted(found)]


def _walk_files(top, depth):
    try:
        names = os.listdir(top)
    except OSError:
        return
    for name in names:
        path = os.path.join(top, name)
        if os.path.islink(path):
            continue
        if os.path.isdir(path):
            if depth > 0:
                yield from _walk_files(path, depth - 1)
        else:
            yield path


def inspect_crash_files(insp):
    files = crash_files(insp.module.params['core_dump_paths'])
    insp.state['crash_files'] = len(files)
    for item in files:
        insp.graded('files.core_dump', item['path'], len(files),
                    item['path'] + ': ' + item['kind'] + ', ' + human_bytes(item['size']) + ', modified '
                    + item['mtime'] + ' (%(value)s crash file(s) on this host; %(severity)s at %(threshold)s). '
                    'Find the crashing program, then remove the file.')


# ---------------------------------------------------------------- logs

def inspect_logs(insp):
    journalctl = insp.module.get_bin_path('journalctl')
    source = None
    if insp.systemd and journalctl:
        rc, out, err = insp.run(journalctl, '--no-pager', '-q', '-o', 'json', '-p', 'err',
                                '--since', '@%d' % int(insp.since), '-n', str(JOURNAL_MAX_ENTRIES))
        if rc == 0:
            errors = [{'time': e['time'], 'message': '%s: %s' % (e['unit'], e['message'])}
                      for e in parsers.parse_journal_json(out)]
            source, complete = 'journal (priority err and above)', len(errors) < JOURNAL_MAX_ENTRIES
        else:
            insp.add(unavailable('log.unavailable', insp.hostname, 'journalctl failed (rc=%d): %s' % (rc, err.strip()[:300])))
    if source is None:
        for path in ('/var/log/messages', '/var/log/syslog'):
            if os.path.isfile(path):
                try:
                    data, _truncated = read_tail(path, LOG_TAIL_BYTES)
                except (IOError, OSError) as exc:
                    insp.add(unavailable('log.unavailable', path, 'cannot read %s (%s): run with become' % (path, exc)))
                    return
                errors = parsers.parse_syslog_errors(data.decode('utf-8', 'replace'), insp.since, datetime.now())
                source, complete = path + ' (lines matching error words)', True
                break
    if source is None:
        insp.add(unavailable('log.unavailable', insp.hostname, 'no journal and no /var/log/messages or /var/log/syslog: system log not checked'))
        return
    samples = [e['message'][:500] for e in errors[-insp.module.params['log_sample_lines']:]] if insp.module.params['log_sample_lines'] else []
    insp.attrs['log_source'] = source
    insp.state['log_error_count'] = len(errors)
    severity, threshold = grade(len(errors), insp.thresholds['log.errors'])
    if severity:
        item = finding('log.errors', severity, source, '%s%d error line(s) in the last %dh in %s (%s at %s); newest: %s' % (
            '' if complete else 'at least ', len(errors), insp.module.params['window_hours'], source, severity,
            threshold, samples[-1] if samples else '-'), len(errors), threshold)
        item['samples'] = samples
        insp.add(item)


# ---------------------------------------------------------------- backups

def inspect_backups(insp):
    evidence = []
    for spec in insp.module.params['backup_paths']:
        files = [path for path in glob.glob(spec['path']) if os.path.isfile(path)]
        if not files:
            evidence.append({'path': spec['path'], 'newest': None})
            insp.add(finding('backup.missing', 'critical', spec['path'],
                             'no backup file matches %s: the backup job has not run or writes elsewhere' % spec['path']))
            continue
        newest = max(files, key=os.path.getmtime)
        info = os.stat(newest)
        age_hours = round((insp.now - info.st_mtime) / 3600.0, 1)
        evidence.append({'path': spec['path'], 'newest': newest, 'age_hours': age_hours, 'size_bytes': info.st_size,
                         'max_age_hours': spec['max_age_hours']})
        ratio = age_hours / spec['max_age_hours'] if spec['max_age_hours'] else float('inf')
        severity, factor = grade(ratio, insp.thresholds['backup.stale'])
        if severity:
            limit = round(factor * spec['max_age_hours'], 1)
            insp.add(finding('backup.stale', severity, spec['path'],
                             'newest backup %s is %.1fh old (%s beyond %sh; max age %sh)' % (
                                 newest, age_hours, severity, limit, spec['max_age_hours']), age_hours, limit))
    insp.state['backups'] = evidence


# ---------------------------------------------------------------- network policy

def inspect_network(insp):
    """Listening ports and firewall rules: the host's side of the network-policy ledger."""
    listening = network.listening_sockets()
    firewall, problems = network.firewall_rules(insp.module, insp.run)
    for problem in problems:
        insp.add(unavailable('network.unavailable', insp.hostname, problem))
    insp.network = {'hostname': insp.hostname, 'listening': listening, 'firewall': firewall}


# ---------------------------------------------------------------- time sync

def kernel_clock_synchronized():
    """The kernel's own view (adjtimex): False when STA_UNSYNC is set (TIME_ERROR)."""
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    buffer = ctypes.create_string_buffer(512)  # struct timex, modes = 0: read only
    state = libc.adjtimex(buffer)
    if state < 0:
        raise OSError(ctypes.get_errno(), 'adjtimex failed')
    return state != 5


def inspect_time(insp):
    timedatectl = insp.module.get_bin_path('timedatectl')
    sync = None
    if insp.systemd and timedatectl:
        rc, out, _err = insp.run(timedatectl, 'show')
        if rc == 0:
            data = parsers.parse_timedatectl_show(out)
            if 'NTPSynchronized' in data:
                sync = {'synchronized': data['NTPSynchronized'] == 'yes', 'source': 'timedatectl',
                        'ntp_enabled': data.get('NTP') == 'yes', 'timezone': data.get('Timezone')}
    if sync is None:
        ok, result = with_timeout(kernel_clock_synchronized, 2.0)
        if not ok:
            insp.add(unavailable('ntp.unavailable', insp.hostname, 'cannot read the clock state: %s' % result))
            return
        sync = {'synchronized': result, 'source': 'kernel adjtimex'}
    insp.state['clock_synchronized'] = sync.pop('synchronized')
    insp.attrs['time_sync'] = sync
    if not insp.state['clock_synchronized']:
        insp.add(finding('ntp.unsynced', 'warning', insp.hostname,
                         'system clock is not synchronised (%s): check chronyd/ntpd/timesyncd and its servers' % sync['source'],
                         value=False))


# ---------------------------------------------------------------- cloud resource

def inspect_cloud(insp):
    """The host as a cloud resource (云主机): its instance id, placement, size and attached disks."""
    if not insp.module.params['cloud_identity']:
        return
    identity, problems = cloud_identity.read_identity()
    if identity is None:
        insp.add(unavailable('cloud.unavailable', insp.hostname,
                             'no cloud instance identity: %s; set cloud_identity=false on physical servers'
                             % '; '.join(problems)))
        return
    attrs = dict((k, v) for k, v in identity.items() if k != 'instance_id')
    attrs.update({'type': 'vm', 'id': identity['instance_id'], 'name': insp.hostname})
    attrs.update({
        'cpu_count': (insp.attrs.get('cpu') or {}).get('count'),
        'memory_bytes': insp.attrs.get('memory_bytes'),
        'disks': [{'name': d['name'], 'serial': d['serial'], 'size_bytes': d['size_bytes']}
                  for d in insp.attrs.get('disks') or []],
        'addresses': sorted(a['address'] for a in insp.attrs.get('addresses') or []
                            if a.get('family') in ('inet', 'inet6') and not a['address'].startswith(('127.', '::1', 'fe80'))),
    })
    insp.cloud = attrs


# ---------------------------------------------------------------- main

GATHERERS = (
    (('fs.usage', 'fs.inodes', 'fs.readonly', 'fs.fstab_mismatch'), inspect_filesystems, True),
    (('lvm.vg_free',), inspect_lvm, True),
    (('mem.usage', 'swap.usage', 'cpu.load'), inspect_memory, True),
    (('proc.zombie',), inspect_processes, False),
    (('svc.failed', 'svc.down'), inspect_services, False),
    (('login.failed',), inspect_logins, True),
    (('tmp.usage',), inspect_tmp, False),
    (('files.core_dump',), inspect_crash_files, False),
    (('log.errors',), inspect_logs, False),
    (('backup.stale', 'backup.missing'), inspect_backups, False),
    (('ntp.unsynced',), inspect_time, True),
    ((), inspect_network, True),
    ((), inspect_cloud, True),
)


def inspect(insp):
    inspect_identity(insp)
    for checks, gatherer, feeds_ledger in GATHERERS:
        if not (insp.on(*checks) or feeds_ledger):
            continue
        try:
            gatherer(insp)
        except Exception as exc:  # one broken part must not hide the rest of the inspection
            insp.add(finding('inspect.error', 'warning', insp.hostname,
                             '%s failed: %s: %s' % (gatherer.__name__, type(exc).__name__, exc)))
    severity_order = {'critical': 0, 'warning': 1, 'info': 2}
    insp.findings.sort(key=lambda f: (severity_order[f['severity']], f['check'], f['subject']))
    return insp.findings


def ledger_items(insp):
    attrs = dict(insp.attrs, state=insp.state)
    items = [contract.ledger_item('os', contract.key('host', insp.hostname), attrs)]
    if insp.network is not None:
        items.append(contract.ledger_item('network', contract.key('netpolicy', insp.hostname), insp.network))
    if insp.cloud is not None:
        # `self:` marks the host's own report; the platform's export of the same instance is `vm:ID`.
        items.append(contract.ledger_item('cloud', contract.key('self', 'vm:%s' % insp.cloud['id']), insp.cloud))
    return items


def main():
    module = AnsibleModule(
        argument_spec=dict(
            thresholds=dict(type='dict', default={}),
            window_hours=dict(type='int', default=24),
            backup_paths=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='str', required=True),
                max_age_hours=dict(type='float', default=24),
            )),
            services=dict(type='list', elements='str', default=[]),
            checks=dict(type='list', elements='str', default=[], choices=list(CHECK_IDS)),
            skip_checks=dict(type='list', elements='str', default=[], choices=list(CHECK_IDS)),
            log_sample_lines=dict(type='int', default=10),
            cloud_identity=dict(type='bool', default=True),
            core_dump_paths=dict(type='list', elements='path',
                                 default=['/tmp', '/var/tmp', '/', '/var/crash', '/var/lib/systemd/coredump']),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['window_hours'] <= 0:
        module.fail_json(msg='window_hours must be a positive number of hours, got %d' % params['window_hours'])
    if not 0 <= params['log_sample_lines'] <= 100:
        module.fail_json(msg='log_sample_lines must be between 0 and 100, got %d' % params['log_sample_lines'])
    for spec in params['backup_paths']:
        if spec['max_age_hours'] <= 0:
            module.fail_json(msg='backup_paths: max_age_hours for %s must be positive, got %s' % (spec['path'], spec['max_age_hours']))
    if not os.path.isdir('/proc/self'):
        module.fail_json(msg='linux_inspect needs a Linux host with /proc mounted; %s has none' % socket.gethostname())
    try:
        thresholds = merge_thresholds(DEFAULT_THRESHOLDS, params['thresholds'])
    except ThresholdError as exc:
        module.fail_json(msg=str(exc))
    enabled = set(params['checks'] or CHECK_IDS) - set(params['skip_checks'])
    insp = Inspection(module, thresholds, enabled)
    findings = inspect(insp)
    summary = contract.summary(findings)
    module.exit_json(
        changed=False,
        ledger=ledger_items(insp),
        findings=findings,
        summary=summary,
        checks=sorted(enabled),
        thresholds=public_thresholds(thresholds),
    )


if __name__ == '__main__':
    main()
