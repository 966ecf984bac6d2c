# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controls of services, audit and the kernel: units, insecure services, audit rules, sysctl settings."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import os
import stat

from ansible_collections.bjeic.ops.plugins.module_utils.harden_auth import check_managed
from ansible_collections.bjeic.ops.plugins.module_utils.harden_host import ControlError, Skip, read


def check_service(run, p):
    if not run.host.systemd:
        raise Skip('no systemd on this host: service state is not managed')
    package = p['package'].get(run.host.family)
    if package and not run.host.installed(package):
        return False, {'installed': False}, '%s is not installed' % package
    before, problems, notes = {}, [], []
    for unit in p['units']:
        enabled, active = run.host.unit_state(unit)
        before[unit] = '%s/%s' % (enabled, active)
        if enabled != 'enabled':
            problems.append('%s is %s' % (unit, enabled))
        elif active != 'active':
            if run.host.container:
                notes.append('%s is enabled; it does not run in a container (the kernel audit and log '
                             'systems belong to the host)' % unit if unit == 'auditd.service' else
                             '%s is enabled but %s' % (unit, active))
            else:
                problems.append('%s is enabled but %s' % (unit, active))
    return not problems, before, '; '.join(problems) or '; '.join(notes) or '%s enabled and running' % ', '.join(p['units'])


def fix_service(run, p):
    package = p['package'].get(run.host.family)
    if package:
        run.install([package])
    for unit in p['units']:
        enabled, active = run.host.unit_state(unit)
        if enabled != 'enabled' or (active != 'active' and not run.host.container):
            run.unit(unit, 'enable')


def check_insecure(run, p):
    installed = [name for name in p['packages'] if run.host.installed(name)]
    if not run.host.systemd:
        if installed:
            return False, {'installed': installed}, ('installed: %s; without systemd they cannot be disabled here, '
                                                     'remove them' % ', '.join(installed))
        return True, {'installed': []}, 'none installed'
    running = []
    for unit in p['units']:
        enabled, active = run.host.unit_state(unit)
        if enabled in ('enabled', 'enabled-runtime', 'static', 'indirect', 'alias') or active == 'active':
            running.append('%s (%s/%s)' % (unit, enabled, active))
    message = ('enabled or running: %s' % ', '.join(running) if running else
               'none enabled%s' % (' (installed but masked: %s)' % ', '.join(installed) if installed else ''))
    return not running, {'installed': installed, 'enabled': running}, message


def fix_insecure(run, p):
    for unit in p['units']:
        enabled, active = run.host.unit_state(unit)
        if enabled in ('enabled', 'enabled-runtime', 'static', 'indirect', 'alias') or active == 'active':
            run.unit(unit, 'mask')


# audit rules ---------------------------------------------------------

def privileged_commands():
    found = set()
    for directory in ('/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/libexec', '/usr/lib/openssh'):
        for path in glob.glob(os.path.join(directory, '*')):
            try:
                info = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_mode & (stat.S_ISUID | stat.S_ISGID):
                found.add(os.path.realpath(path))
    return sorted(found)


def audit_rules(run, p):
    uid_min = run.host.login_defs('UID_MIN', 1000)
    lines = ['# bjeic.ops MLPS level-3 audit rules (GB/T 22239-2019 8.1.4.3); managed, rollback removes this file']
    lines += ['-w %s -p wa -k identity' % path for path in p['watches'] if os.path.exists(path)]
    lines += ['-a always,exit -F path=%s -F perm=x -F auid>=%d -F auid!=unset -k privileged' % (path, uid_min)
              for path in privileged_commands()]
    return '\n'.join(lines) + '\n'


def check_audit_rules(run, p):
    if not os.path.isdir(os.path.dirname(p['path'])):
        return False, {'present': False}, '%s does not exist: auditd is not installed' % os.path.dirname(p['path'])
    wanted = audit_rules(run, p)
    current = read(p['path'], None)
    count = wanted.count('\n-')
    if current != wanted:
        return False, {'present': current is not None}, '%s is %s' % (
            p['path'], 'missing' if current is None else 'out of date (privileged commands changed?)')
    return True, {'rules': count + 1}, '%d rules for identity files and privileged commands' % (count + 1)


def fix_audit_rules(run, p):
    if not os.path.isdir(os.path.dirname(p['path'])) and not run.check_mode:
        raise ControlError('%s does not exist: enable control audit.auditd first' % os.path.dirname(p['path']))
    if run.write(p['path'], audit_rules(run, p), 0o640) and not run.check_mode:
        if run.module.get_bin_path('augenrules') and not run.host.container:
            run.host.run('augenrules', '--load')


# kernel settings -----------------------------------------------------

SYSCTL_DIRS = ('/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d')


def persistent_sysctls():
    """{key: (value, file)} as systemd-sysctl applies them: files by name, /etc first, later wins."""
    files = {}
    for directory in reversed(SYSCTL_DIRS):
        for path in glob.glob(os.path.join(directory, '*.conf')):
            files[os.path.basename(path)] = path
    ordered = [files[name] for name in sorted(files)] + ['/etc/sysctl.conf']
    values = {}
    for path in ordered:
        for line in read(path).splitlines():
            line = line.strip().lstrip('-')
            if '=' in line and not line.startswith(('#', ';')):
                key, value = (part.strip() for part in line.split('=', 1))
                values[key.replace('/', '.')] = (value, path)
    return values


def proc_path(key):
    return '/proc/sys/' + key.replace('.', '/')


def check_sysctl(run, p):
    persistent = persistent_sysctls()
    before, problems, notes = {}, [], []
    for key, wanted in p['entries']:
        value, source = persistent.get(key, (None, None))
        runtime = read(proc_path(key), None)
        runtime = runtime.strip() if runtime is not None else None
        before[key] = {'persistent': value, 'runtime': runtime}
        if value != wanted:
            problems.append('%s is %s in %s, wanted %s' % (key, value, source, wanted) if source else
                            '%s is not set persistently (wanted %s)' % (key, wanted))
        if runtime is not None and runtime != wanted:
            if os.access(proc_path(key), os.W_OK):
                problems.append('%s is %s now, wanted %s' % (key, runtime, wanted))
            else:
                notes.append(key)
    ok_file, file_message = check_managed(p.get('file'))
    if not ok_file:
        problems.append(file_message)
    message = '; '.join(problems) or 'set in %s' % p['path']
    if notes and not problems:
        message += '; /proc/sys is read-only here (container): %s take effect at the next boot' % ', '.join(notes)
    return not problems, before, message


def fix_sysctl(run, p):
    content = ''.join('%s = %s\n' % (key, value) for key, value in p['entries'])
    run.write(p['path'], content, 0o644)
    if p.get('file'):
        run.write(p['file']['path'], p['file']['content'], p['file']['mode'])
    for key, wanted in p['entries']:
        path = proc_path(key)
        current = read(path, None)
        if current is None or current.strip() == wanted or not os.access(path, os.W_OK):
            continue
        run.change(key, 'sysctl', current.strip(), wanted)
        if not run.check_mode:
            run.ensure_backup().record({'type': 'runtime', 'name': key, 'value': current.strip()})
            with open(path, 'w') as handle:
                handle.write(wanted)
