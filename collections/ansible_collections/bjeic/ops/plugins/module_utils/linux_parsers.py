# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers: text or bytes read from a Linux host -> plain data.

Nothing here runs a command or touches the file system, so every function is
unit-tested with output captured from real tools (tests/unit/fixtures/).
Target-side code: Python 3.6+ standard library only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import struct
from datetime import datetime, timedelta

# File systems that hold no user data and are never worth a usage finding.
PSEUDO_FS_TYPES = frozenset((
    'autofs', 'binfmt_misc', 'bpf', 'cgroup', 'cgroup2', 'configfs', 'debugfs',
    'devpts', 'devtmpfs', 'efivarfs', 'fusectl', 'hugetlbfs', 'mqueue', 'nsfs',
    'proc', 'pstore', 'rpc_pipefs', 'securityfs', 'selinuxfs', 'sysfs', 'tracefs',
    'fuse.gvfsd-fuse', 'fuse.portal', 'squashfs', 'ramfs', 'nfsd',
))


def is_data_mount(mount):
    """True for mounts that hold data worth a usage check.

    Pseudo file systems and anything under /proc or /sys (container runtimes
    mask paths there with tmpfs) are left out; overlay only counts as the root
    of a container, elsewhere it is a container layer seen from the host.
    """
    path = mount['mountpoint']
    if mount['fstype'] in PSEUDO_FS_TYPES or path.startswith(('/proc/', '/sys/')) or path in ('/proc', '/sys'):
        return False
    if mount['fstype'] == 'overlay':
        return path == '/'
    return True


def _unescape_mount_field(field):
    """Undo the octal escapes /proc/mounts and fstab use for spaces and tabs."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def parse_mounts(text):
    """/proc/self/mounts -> [{device, mountpoint, fstype, options}] (options a list)."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mounts.append({
            'device': _unescape_mount_field(fields[0]),
            'mountpoint': _unescape_mount_field(fields[1]),
            'fstype': fields[2],
            'options': fields[3].split(','),
        })
    return mounts


def parse_fstab(text):
    """/etc/fstab -> entries that should be mounted at boot.

    Swap, 'none' mount points and comments are left out; `noauto` is kept in
    the options so callers can decide.
    """
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        fields = line.split()
        if len(fields) < 3:
            continue
        mountpoint = _unescape_mount_field(fields[1])
        fstype = fields[2]
        if fstype == 'swap' or mountpoint in ('none', 'swap') or not mountpoint.startswith('/'):
            continue
        options = fields[3].split(',') if len(fields) > 3 else ['defaults']
        entries.append({
            'device': _unescape_mount_field(fields[0]),
            'mountpoint': mountpoint.rstrip('/') or '/',
            'fstype': fstype,
            'options': options,
        })
    return entries


def parse_meminfo(text):
    """/proc/meminfo -> {key: bytes}."""
    info = {}
    for line in text.splitlines():
        match = re.match(r'^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?$', line.strip())
        if match:
            value = int(match.group(2))
            info[match.group(1)] = value * 1024 if line.strip().endswith('kB') else value
    return info


def parse_loadavg(text):
    """/proc/loadavg -> (load1, load5, load15)."""
    fields = text.split()
    return float(fields[0]), float(fields[1]), float(fields[2])


def parse_proc_stat(text):
    """One /proc/PID/stat line -> {pid, comm, state, ppid}.

    comm sits in parentheses and may itself contain spaces and ')', so split
    on the last ')'.
    """
    left, _sep, right = text.rpartition(')')
    pid_text, _sep, comm = left.partition(' (')
    fields = right.split()
    return {'pid': int(pid_text), 'comm': comm, 'state': fields[0], 'ppid': int(fields[1])}


def parse_os_release(text):
    """/etc/os-release -> dict of its keys with quotes removed."""
    data = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#') or '=' not in line:
            continue
        key, value = line.split('=', 1)
        data[key] = value.strip().strip('"').strip("'")
    return data


def parse_cpuinfo(text):
    """/proc/cpuinfo -> {count, model} (count of logical processors)."""
    count = 0
    model = None
    for line in text.splitlines():
        key, _sep, value = line.partition(':')
        key = key.strip()
        if key == 'processor':
            count += 1
        elif key in ('model name', 'Model', 'cpu model') and model is None:
            model = value.strip()
    return {'count': count, 'model': model}


def parse_lvm_report(text, columns):
    """`vgs`/`lvs` output made with --noheadings --separator '|' --units b --nosuffix.

    Returns a list of dicts keyed by `columns`; size columns become ints.
    """
    rows = []
    for line in text.splitlines():
        if '|' not in line:
            continue
        values = [value.strip() for value in line.strip().split('|')]
        row = {}
        for column, value in zip(columns, values):
            if re.match(r'^\d+$', value):
                value = int(value)
            row[column] = value
        rows.append(row)
    return rows


def parse_systemctl_show(text):
    """`systemctl show --property=... UNIT...` -> one {property: value} per unit, in the order asked."""
    units, current = [], {}
    for line in text.splitlines() + ['']:
        if not line.strip():
            if current:
                units.append(current)
            current = {}
            continue
        key, _sep, value = line.partition('=')
        current[key.strip()] = value.strip()
    return units


def parse_systemctl_failed(text):
    """`systemctl list-units --state=failed --plain --no-legend --no-pager` -> [{unit, load, active, sub, description}]."""
    units = []
    for line in text.splitlines():
        fields = line.strip().lstrip('\u25cf*').split(None, 4)
        if len(fields) < 4:
            continue
        units.append({
            'unit': fields[0],
            'load': fields[1],
            'active': fields[2],
            'sub': fields[3],
            'description': fields[4] if len(fields) > 4 else '',
        })
    return units


# glibc struct utmp on Linux (x86_64, aarch64, and 32-bit with 64-bit time
# compat): 384 bytes. ut_type, pad, pid, line, id, user, host, exit,
# session, tv_sec, tv_usec, addr_v6, reserved.
UTMP_STRUCT = struct.Struct('<h2xi32s4s32s256shhiii16s20s')
UTMP_USER_PROCESS = 7
UTMP_BOOT_TIME = 2


def _cstr(raw):
    return raw.split(b'\0', 1)[0].decode('utf-8', 'replace')


def parse_utmp(data):
    """utmp/wtmp/btmp bytes -> [{type, pid, line, user, host, time}] (time: epoch seconds).

    A trailing partial record (file being written) is ignored.
    """
    records = []
    size = UTMP_STRUCT.size
    for offset in range(0, len(data) - size + 1, size):
        fields = UTMP_STRUCT.unpack_from(data, offset)
        records.append({
            'type': fields[0],
            'pid': fields[1],
            'line': _cstr(fields[2]),
            'user': _cstr(fields[4]),
            'host': _cstr(fields[5]),
            'time': fields[9],
        })
    return records


def parse_journal_json(text):
    """`journalctl -o json` -> [{time, priority, unit, message}] (time: epoch seconds)."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            continue
        message = raw.get('MESSAGE', '')
        if isinstance(message, list):  # non-UTF-8 messages come as byte arrays
            message = bytes(bytearray(b & 0xff for b in message)).decode('utf-8', 'replace')
        entries.append({
            'time': int(raw.get('__REALTIME_TIMESTAMP', '0')) / 1e6,
            'priority': int(raw.get('PRIORITY', 6)),
            'unit': raw.get('_SYSTEMD_UNIT') or raw.get('SYSLOG_IDENTIFIER') or '',
            'message': message,
        })
    return entries


SYSLOG_ERROR_PATTERN = re.compile(
    r'\b(error|errors|failed|failure|fatal|critical|crit|alert|emerg|panic|segfault|'
    r'out of memory|oom-killer|i/o error|call trace)\b', re.IGNORECASE)
_RFC3339 = re.compile(r'^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\s')
_RFC3164 = re.compile(r'^([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2})\s')
_MONTHS = ('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec')


def syslog_line_time(line, now):
    """Epoch seconds of a syslog line, or None when it has no known timestamp.

    `now` is a naive local datetime; RFC 3164 lines carry no year, so a date
    in the future is taken to be last year's.
    """
    match = _RFC3339.match(line)
    if match:
        stamp = datetime.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S')
        zone = match.group(3)
        if zone and zone != 'Z':
            sign = 1 if zone[0] == '+' else -1
            digits = zone[1:].replace(':', '')
            stamp -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            return (stamp - datetime(1970, 1, 1)).total_seconds()
        if zone == 'Z':
            return (stamp - datetime(1970, 1, 1)).total_seconds()
        return _local_epoch(stamp)
    match = _RFC3164.match(line)
    if match:
        month = _MONTHS.index(match.group(1)) + 1
        stamp = datetime(now.year, month, int(match.group(2)), int(match.group(3)),
                         int(match.group(4)), int(match.group(5)))
        if stamp > now + timedelta(days=1):
            stamp = stamp.replace(year=now.year - 1)
        return _local_epoch(stamp)
    return None


def _local_epoch(naive_local):
    import time
    return time.mktime(naive_local.timetuple())


def parse_syslog_errors(text, since_epoch, now):
    """Lines of a syslog file at or after `since_epoch` that match error patterns.

    Returns [{time, message}] oldest first.
    """
    errors = []
    for line in text.splitlines():
        stamp = syslog_line_time(line, now)
        if stamp is None or stamp < since_epoch:
            continue
        if SYSLOG_ERROR_PATTERN.search(line):
            errors.append({'time': stamp, 'message': line.strip()})
    return errors


def parse_ip_addr(text):
    """`ip -o addr show` -> [{interface, family, address, prefix}] without loopback."""
    addresses = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[2] not in ('inet', 'inet6'):
            continue
        interface = fields[1].split('@')[0]
        address, _sep, prefix = fields[3].partition('/')
        if interface == 'lo' or address in ('127.0.0.1', '::1'):
            continue
        addresses.append({'interface': interface, 'family': fields[2], 'address': address,
                          'prefix': int(prefix) if prefix.isdigit() else None})
    return addresses


def parse_timedatectl_show(text):
    """`timedatectl show` -> {key: value} (NTP, NTPSynchronized, Timezone, ...)."""
    data = {}
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep:
            data[key.strip()] = value.strip()
    return data


def is_core_file(header):
    """True when the first bytes of a file are an ELF core dump (e_type ET_CORE)."""
    if len(header) < 18 or header[:4] != b'\x7fELF':
        return False
    endian = '<' if header[5:6] == b'\x01' else '>'
    return struct.unpack(endian + 'H', header[16:18])[0] == 4


# /proc/net/{tcp,tcp6,udp,udp6}: socket states we count as "listening".
TCP_LISTEN = '0A'
UDP_UNCONNECTED = '07'


def _proc_net_address(hex_address):
    """Decode '0100007F:0016' or its IPv6 form from /proc/net/* into (address, port)."""
    host, port = hex_address.split(':')
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        address = '.'.join(str(b) for b in reversed(raw))
    else:
        # four 32-bit words, each in host (little-endian) order
        words = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        import socket
        address = socket.inet_ntop(socket.AF_INET6, words)
    return address, int(port, 16)


def parse_proc_net(text, proto):
    """/proc/net/tcp[6] or udp[6] -> listening sockets [{proto, address, port, inode, uid}]."""
    wanted = TCP_LISTEN if proto.startswith('tcp') else UDP_UNCONNECTED
    sockets = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10 or fields[3] != wanted:
            continue
        address, port = _proc_net_address(fields[1])
        if proto.startswith('udp') and fields[2].split(':')[0].strip('0'):
            continue  # connected UDP socket, not a server
        sockets.append({'proto': proto, 'address': address, 'port': port,
                        'uid': int(fields[7]), 'inode': int(fields[9])})
    return sockets


_RULE_COUNTERS = re.compile(r'\s*counter packets \d+ bytes \d+')
_SAVE_COUNTERS = re.compile(r'\s*\[\d+:\d+\]$')


def normalize_ruleset(text):
    """Firewall rules as comparable lines: no comments, no packet counters, no blank lines.

    Works for `nft list ruleset` and `iptables-save` output, so drift between two runs shows
    rule changes, not traffic.
    """
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        stripped = _RULE_COUNTERS.sub(' counter', stripped)
        stripped = _SAVE_COUNTERS.sub('', stripped)
        lines.append(stripped)
    return lines
