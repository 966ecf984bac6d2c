# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardening engine: controls as data (harden_catalogue) checked and applied by kind, the
management-channel guard, rollback from the backup, and the result (summary, findings)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pwd

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding
from ansible_collections.bjeic.ops.plugins.module_utils.harden_accounts import (
    check_empty_password, check_modes, check_system_accounts, check_uid0, check_user_ageing, fix_empty_password,
    fix_modes, fix_system_accounts, fix_user_ageing)
from ansible_collections.bjeic.ops.plugins.module_utils.harden_auth import (
    check_faillock, check_file, check_kv, check_pwhistory, check_pwquality, fix_faillock, fix_file, fix_kv,
    fix_pwhistory, fix_pwquality)
from ansible_collections.bjeic.ops.plugins.module_utils.harden_catalogue import CLAUSES
from ansible_collections.bjeic.ops.plugins.module_utils.harden_host import (
    ControlError, Refused, SSHD_CONFIG, Skip, short_sha, read)
from ansible_collections.bjeic.ops.plugins.module_utils.harden_ssh import (
    check_ssh_protocol, check_sshd, fix_ssh_protocol, fix_sshd_group, reload_sshd)
from ansible_collections.bjeic.ops.plugins.module_utils.harden_system import (
    check_audit_rules, check_insecure, check_service, check_sysctl, fix_audit_rules, fix_insecure, fix_service,
    fix_sysctl, proc_path)
from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import BackupError


KINDS = {
    'kv': (check_kv, fix_kv), 'file': (check_file, fix_file), 'pwquality': (check_pwquality, fix_pwquality),
    'pwhistory': (check_pwhistory, fix_pwhistory), 'faillock': (check_faillock, fix_faillock),
    'sshd': (check_sshd, None), 'ssh_protocol': (check_ssh_protocol, fix_ssh_protocol),
    'uid0': (check_uid0, None), 'empty_password': (check_empty_password, fix_empty_password),
    'system_accounts': (check_system_accounts, fix_system_accounts),
    'user_ageing': (check_user_ageing, fix_user_ageing), 'modes': (check_modes, fix_modes),
    'service': (check_service, fix_service), 'insecure_services': (check_insecure, fix_insecure),
    'audit_rules': (check_audit_rules, fix_audit_rules), 'sysctl': (check_sysctl, fix_sysctl),
}


# ---------------------------------------------------------------- the engine

def select_controls(catalogue, include, exclude, family):
    """The controls to run, by id or tag; unknown names are an error."""
    known = set(c['id'] for c in catalogue) | set(t for c in catalogue for t in c['tags'])
    unknown = sorted(set(include + exclude) - known)
    if unknown:
        raise ValueError('unknown control ids or tags: %s. Known ids: %s; tags: %s' % (
            ', '.join(unknown), ', '.join(c['id'] for c in catalogue),
            ', '.join(sorted(set(t for c in catalogue for t in c['tags'])))))

    def named(control, names):
        return control['id'] in names or bool(set(control['tags']) & set(names))
    chosen = []
    for control in catalogue:
        if include and not named(control, include):
            continue
        if not include and control.get('optional'):
            continue
        if control.get('optional') and include and control['id'] not in include:
            continue  # opt-in controls must be named by id, a tag is not enough
        if named(control, exclude):
            continue
        chosen.append(control)
    return chosen


def guard(run, controls):
    """Refuse, before any change, what would lock the management channel out."""
    ids = set(c['id'] for c in controls)
    problems = []
    if 'ssh.root_login' in ids and 'root' in run.managers:
        problems.append('ssh.root_login: Ansible (or the operator) connects as root; PermitRootLogin no would lock it '
                        'out. Connect as an unprivileged user with sudo, or exclude ssh.root_login')
    if 'ssh.password_auth' in ids:
        for user in run.managers:
            if not has_authorized_key(run, user):
                problems.append('ssh.password_auth: management user %s has no SSH key in its authorized keys; '
                                'turning off password login would lock it out. Install a key first' % user)
    if problems:
        raise Refused('; '.join(problems))


def has_authorized_key(run, user):
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return False
    effective = run.sshd_config()
    for pattern in effective.get('authorizedkeysfile', '.ssh/authorized_keys').split():
        path = pattern.replace('%h', entry.pw_dir).replace('%u', user).replace('%%', '%')
        if not path.startswith('/'):
            path = os.path.join(entry.pw_dir, path)
        if any(line.strip() and not line.startswith('#') for line in read(path).splitlines()):
            return True
    return False


def evaluate(run, control):
    check, _fix = KINDS[control['kind']]
    ok, before, message = check(run, control['params'])
    return ok, before, message


def harden(run, controls, enforce):
    results = []
    sshd_failing = []
    for control in controls:
        result = {'id': control['id'], 'title': control['title'], 'clause': control['clause'],
                  'clause_text': CLAUSES.get(control['clause']), 'severity': control['severity'],
                  'before': None, 'after': None}
        results.append(result)
        if control.get('families') and run.host.family not in control['families']:
            result.update(status='skipped', message='not for %s hosts' % run.host.family)
            continue
        try:
            ok, result['before'], message = evaluate(run, control)
        except Skip as exc:
            result.update(status='skipped', message=str(exc))
            continue
        except Exception as exc:  # one broken control must not stop the others; it is reported
            result.update(status='error', message='%s: %s' % (type(exc).__name__, to_native(exc)))
            continue
        result.update(status='pass' if ok else 'fail', message=message)
        if ok or not enforce:
            continue
        if control.get('enforce') is False:
            result['message'] += ' (not fixed automatically)'
            continue
        if control['kind'] == 'sshd':
            sshd_failing.append((control, result))
            continue
        apply_fix(run, control, result)
    if sshd_failing:
        try:
            fix_sshd_group(run, [c for c, _r in sshd_failing])
        except (ControlError, OSError) as exc:
            for _control, result in sshd_failing:
                result.update(status='error', message='%s: %s' % (type(exc).__name__, to_native(exc)))
        else:
            for control, result in sshd_failing:
                recheck(run, control, result)
    return results


def apply_fix(run, control, result):
    run.control = control['id']
    try:
        KINDS[control['kind']][1](run, control['params'])
    except Exception as exc:  # one broken control must not stop the others; it is reported
        result.update(status='error', message='%s: %s' % (type(exc).__name__, to_native(exc)))
        return
    recheck(run, control, result)


def recheck(run, control, result):
    if run.check_mode:
        result['message'] = 'would fix: ' + result['message']
        return
    run.effective_sshd = None
    try:
        ok, result['after'], message = evaluate(run, control)
    except Exception as exc:  # reported as this control's error
        ok, message = False, to_native(exc)
    result.update(status='fixed' if ok else 'error', message=message if ok else 'still failing after the fix: ' + message)


# ---------------------------------------------------------------- rollback

def rollback(module, host, backup, check_mode):
    changes, diffs = [], []
    edited = backup.edited_since()
    if edited and not module.params['force']:
        raise BackupError('these files changed after enforce (by someone else, or a password change): %s. '
                          'Rollback would discard those changes; nothing was restored. Run again with force: true '
                          'to restore anyway' % ', '.join(edited))
    sshd_touched = False
    for entry in reversed(backup.manifest['entries']):
        kind = entry['type']
        if kind == 'file':
            old = read(entry['path'], None)
            if backup.restore_file(entry, check_mode):
                changes.append({'object': entry['path'], 'action': 'restore' if entry['existed'] else 'remove',
                                'before': short_sha(old), 'after': entry.get('sha256', '')[:16] or None})
                if old is not None and entry.get('kind') == 'file':
                    restored = read(os.path.join(backup.directory, 'files', entry['blob'])) if entry['existed'] else ''
                    diffs.append({'before_header': entry['path'], 'after_header': entry['path'],
                                  'before': old, 'after': restored})
                sshd_touched = sshd_touched or entry['path'] == SSHD_CONFIG
        elif kind == 'packages':
            present = [name for name in entry['names'] if host.installed(name)]
            if present:
                changes.append({'object': ', '.join(present), 'action': 'remove', 'before': 'installed', 'after': None})
                if not check_mode:
                    host.remove(present)
        elif kind == 'service':
            changes.extend(restore_unit(host, entry, check_mode))
        elif kind == 'runtime':
            path = proc_path(entry['name'])
            if read(path, '').strip() != entry['value'] and os.access(path, os.W_OK):
                changes.append({'object': entry['name'], 'action': 'sysctl', 'before': read(path).strip(),
                                'after': entry['value']})
                if not check_mode:
                    with open(path, 'w') as handle:
                        handle.write(entry['value'])
    if sshd_touched and not check_mode:
        rc, _out, err = host.sshd('-t')
        if rc != 0:
            raise ControlError('the restored %s does not pass sshd -t (%s); sshd was not reloaded' % (SSHD_CONFIG, err))
        reload_sshd(host)
    return changes, diffs


def restore_unit(host, entry, check_mode):
    unit, enabled, active = entry['unit'], entry['enabled'], entry['active']
    if enabled in ('not-found', ''):
        return []
    now_enabled, now_active = host.unit_state(unit)
    if (now_enabled, now_active) == (enabled, active):
        return []
    if not check_mode:
        if now_enabled == 'masked' and enabled != 'masked':
            host.must('systemctl', 'unmask', unit)
        if enabled == 'enabled':
            host.must('systemctl', 'enable', unit)
        elif enabled == 'disabled':
            host.run('systemctl', 'disable', unit)
        elif enabled == 'masked':
            host.must('systemctl', 'mask', unit)
        if active == 'active':
            host.run('systemctl', 'start', unit)
        elif now_active == 'active':
            host.run('systemctl', 'stop', unit)
    return [{'object': unit, 'action': 'restore', 'before': '%s/%s' % (now_enabled, now_active),
             'after': '%s/%s' % (enabled, active)}]


# ---------------------------------------------------------------- main

def summarise(results):
    summary = dict((status, 0) for status in ('pass', 'fail', 'fixed', 'skipped', 'error'))
    for result in results:
        summary[result['status']] += 1
    applicable = summary['pass'] + summary['fixed'] + summary['fail'] + summary['error']
    summary['compliance_pct'] = round(100.0 * (summary['pass'] + summary['fixed']) / applicable, 1) if applicable else 100.0
    return summary


def findings_of(results):
    out = []
    for result in results:
        if result['status'] in ('fail', 'error'):
            severity = result['severity'] if result['status'] == 'fail' else 'warning'
            out.append(finding(result['id'], severity, result['title'],
                               '%s [%s]: %s' % (result['title'], result['clause'], result['message']),
                               value=result['before']))
    return out
