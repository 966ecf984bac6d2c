# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""System checks of the daily inspection: memory, swap and load; processes and services; logins; /tmp and
crash files; logs; backup evidence; network policy; time sync."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import re
import stat
from datetime import datetime

from ansible_collections.bjeic.ops.plugins.module_utils.fs_walk import OneFileSystemWalk
from ansible_collections.bjeic.ops.plugins.module_utils import linux_network as network
from ansible_collections.bjeic.ops.plugins.module_utils import linux_parsers as parsers
from ansible_collections.bjeic.ops.plugins.module_utils.linux_network import read_text
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, grade, unavailable
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_core import (
    JOURNAL_MAX_ENTRIES, LOG_TAIL_BYTES, MIB, TMP_WALK_LIMIT, UTMP_TAIL_BYTES, human_bytes, iso, read_tail,
    read_text_bytes, with_timeout)


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
        for path, info in OneFileSystemWalk([top], TMP_WALK_LIMIT, skip_linked_tops=True, max_depth=depth):
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
