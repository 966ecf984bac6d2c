# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controls of identity and authentication (GB/T 22239 8.1.4.1): key-value settings, files, password
quality and history, account lockout (pam_faillock)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat

from ansible_collections.bjeic.ops.plugins.module_utils import config_edit as edit
from ansible_collections.bjeic.ops.plugins.module_utils.harden_catalogue import PAM_ACCOUNT, PAM_AUTH, PAM_PASSWORD
from ansible_collections.bjeic.ops.plugins.module_utils.harden_host import ControlError, read


# ---------------------------------------------------------------- control kinds
# Each kind: check(run, params) -> (ok, before, message) and fix(run, params).

def check_kv(run, p):
    text = read(p['path'], None)
    if text is None:
        return False, {}, '%s does not exist' % p['path']
    before, bad = {}, []
    for key, op, wanted in p['entries']:
        value = edit.kv_get(text, key, p.get('separator', ' '))
        before[key] = value
        if not edit.compare(value, op, wanted):
            bad.append('%s is %s, wanted %s %s' % (key, value if value is not None else 'unset', OPS[op], wanted))
    ok_file, file_message = check_managed(p.get('file'))
    if not ok_file:
        bad.append(file_message)
    return not bad, before, '; '.join(bad) or 'set in %s' % p['path']


OPS = {'eq': '=', 'le': '<=', 'pos_le': '1 ..', 'ge': '>=', 'subset': 'within'}


def fix_kv(run, p):
    text = read(p['path'])
    for key, op, wanted in p['entries']:
        if not edit.compare(edit.kv_get(text, key, p.get('separator', ' ')), op, wanted):
            text = edit.kv_set(text, key, wanted, p.get('separator', ' '))
    run.write(p['path'], text, mode=None if os.path.exists(p['path']) else 0o644)
    if p.get('file'):
        run.write(p['file']['path'], p['file']['content'], p['file']['mode'])


def check_managed(spec):
    if not spec:
        return True, ''
    content = read(spec['path'], None)
    if content is None:
        return False, '%s is missing' % spec['path']
    if content != spec['content']:
        return False, '%s differs from the baseline' % spec['path']
    if stat.S_IMODE(os.stat(spec['path']).st_mode) != spec['mode']:
        return False, '%s has mode %o, wanted %o' % (spec['path'], stat.S_IMODE(os.stat(spec['path']).st_mode), spec['mode'])
    return True, ''


def check_file(run, p):
    ok, message = check_managed(p)
    return ok, {'present': os.path.exists(p['path'])}, message or '%s is in place' % p['path']


def fix_file(run, p):
    run.write(p['path'], p['content'], p['mode'])


# PAM -----------------------------------------------------------------

def pam_password_files(run):
    if run.host.family == 'redhat':
        return ['/etc/pam.d/system-auth', '/etc/pam.d/password-auth']
    return [PAM_PASSWORD['debian']]


def check_pwquality(run, p):
    ok_conf, before, message = check_kv(run, p)
    problems = [] if ok_conf else [message]
    for path in pam_password_files(run):
        rules = edit.pam_find(read(path), 'password', 'pam_pwquality.so')
        before[path] = bool(rules)
        if not rules:
            problems.append('%s does not call pam_pwquality' % path)
    return not problems, before, '; '.join(problems) or 'pam_pwquality enforces %s' % ', '.join(
        '%s %s %s' % (key, OPS[op], wanted) for key, op, wanted in p['entries'])


def fix_pwquality(run, p):
    package = p['package'].get(run.host.family)
    if package and not run.host.pam_module_exists('pam_pwquality.so'):
        run.install([package])
    for path in pam_password_files(run):
        text = read(path)
        if not edit.pam_find(text, 'password', 'pam_pwquality.so'):
            need_module(run, 'pam_pwquality.so')
            run.write(path, edit.pam_insert_before(text, 'password', 'pam_unix.so',
                                                   edit.pam_rule('password', 'requisite', 'pam_pwquality.so', ('retry=3',))))
    fix_kv(run, p)


def authselect_files(paths):
    """What `authselect enable-feature` rewrites: the pam.d links, the profile files they point to,
    and authselect.conf. Backing up a link alone would not restore its target's content."""
    files = []
    for path in paths:
        files += [path, os.path.realpath(path)]
    return sorted(set(files)) + ['/etc/authselect/authselect.conf']


def need_module(run, name):
    if not run.check_mode and not run.host.pam_module_exists(name):
        raise ControlError('%s is not installed on this host; PAM files were left alone (a rule for a missing '
                           'module would break logins)' % name)


def check_pwhistory(run, p):
    problems, before = [], {}
    for path in pam_password_files(run):
        rules = edit.pam_find(read(path), 'password', 'pam_pwhistory.so')
        remember = edit.pam_arg(rules[0][2], 'remember') if rules else None
        if run.host.authselect and rules and remember is None:
            remember = edit.kv_get(read('/etc/security/pwhistory.conf'), 'remember', '=')
        before[path] = remember
        if not edit.compare(remember, 'ge', p['remember']):
            problems.append('%s: pam_pwhistory remember is %s, wanted >= %s' % (path, remember or 'unset', p['remember']))
    return not problems, before, '; '.join(problems) or 'the last %s passwords are remembered' % p['remember']


def fix_pwhistory(run, p):
    need_module(run, 'pam_pwhistory.so')
    if run.host.authselect:
        run.command(authselect_files(pam_password_files(run)), 'authselect', 'with-pwhistory',
                    'authselect', 'enable-feature', 'with-pwhistory')
        conf = '/etc/security/pwhistory.conf'
        run.write(conf, edit.kv_set(read(conf), 'remember', p['remember'], '='))
        return
    for path in pam_password_files(run):
        text = read(path)
        if edit.pam_find(text, 'password', 'pam_pwhistory.so'):
            text = edit.pam_set_arg(text, 'password', 'pam_pwhistory.so', 'remember', p['remember'])
        else:
            text = edit.pam_insert_before(text, 'password', 'pam_unix.so', edit.pam_rule(
                'password', 'required', 'pam_pwhistory.so', ('remember=%s' % p['remember'], 'use_authtok')))
        run.write(path, text)


def check_faillock(run, p):
    ok_conf, before, message = check_kv(run, p)
    problems = [] if ok_conf else [message]
    for path in PAM_AUTH.get(run.host.family, []):
        args = [r[2] for r in edit.pam_find(read(path), 'auth', 'pam_faillock.so')]
        for phase in ('preauth', 'authfail'):
            if not any(phase in a for a in args):
                problems.append('%s has no pam_faillock %s rule' % (path, phase))
    for path in PAM_ACCOUNT.get(run.host.family, []):
        if not edit.pam_find(read(path), 'account', 'pam_faillock.so'):
            problems.append('%s has no pam_faillock account rule' % path)
    return not problems, before, '; '.join(problems) or 'accounts lock after %s failures for %ss' % tuple(
        e[2] for e in p['entries'])


def fix_faillock(run, p):
    need_module(run, 'pam_faillock.so')
    fix_kv(run, p)
    if run.host.authselect:
        run.command(authselect_files(PAM_AUTH['redhat']), 'authselect', 'with-faillock',
                    'authselect', 'enable-feature', 'with-faillock')
        return
    for path in PAM_AUTH.get(run.host.family, []):
        text = read(path)
        if not edit.pam_find(text, 'auth', 'pam_faillock.so'):
            try:
                text = edit.pam_add_faillock_auth(text)
            except edit.EditError as exc:
                raise ControlError('%s has a PAM layout this module does not rewrite (%s); add pam_faillock by hand'
                                   % (path, exc))
            run.write(path, text)
    for path in PAM_ACCOUNT.get(run.host.family, []):
        text = read(path)
        if not edit.pam_find(text, 'account', 'pam_faillock.so'):
            run.write(path, edit.pam_insert_first(text, 'account', edit.pam_rule('account', 'required', 'pam_faillock.so')))


# sshd ----------------------------------------------------------------
