# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controls of accounts and file modes: uid 0, empty passwords, system accounts without a shell,
password ageing, the modes of the account files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import os
import pwd
import stat

from ansible_collections.bjeic.ops.plugins.module_utils.harden_host import (
    ACCOUNT_FILES, ControlError, NOLOGIN_SHELLS, SHELL_ACCOUNTS, Skip, read)


def passwd_entries():
    return [line.split(':') for line in read('/etc/passwd').splitlines() if line.count(':') >= 6]


def shadow_entries():
    return dict((line.split(':')[0], line.split(':')) for line in read('/etc/shadow').splitlines() if line.count(':') >= 8)


def check_uid0(run, p):
    others = [e[0] for e in passwd_entries() if e[2] == '0' and e[0] != 'root']
    return not others, {'uid0': ['root'] + others}, (
        'accounts with UID 0 besides root: %s; remove them or give them their own UID by hand' % ', '.join(others)
        if others else 'root is the only UID 0 account')


def check_empty_password(run, p):
    empty = sorted(name for name, entry in shadow_entries().items() if entry[1] == '')
    return not empty, {'empty': empty}, ('accounts without a password: %s' % ', '.join(empty) if empty
                                         else 'every account has a password or is locked')


def fix_empty_password(run, p):
    for name in check_empty_password(run, p)[1]['empty']:
        if name in run.managers:
            raise ControlError('management user %s has no password: set one (or lock it) by hand' % name)
        run.command(ACCOUNT_FILES, 'lock', name, 'usermod', '-L', name)


def system_accounts(run):
    uid_min = run.host.login_defs('UID_MIN', 1000)
    shadow = shadow_entries()
    bad = []
    for entry in passwd_entries():
        name, uid, shell = entry[0], int(entry[2]) if entry[2].isdigit() else 0, entry[6]
        if uid == 0 or uid >= uid_min or name in SHELL_ACCOUNTS or name == 'nobody' and shell in NOLOGIN_SHELLS:
            continue
        password = shadow.get(name, ['', '*'])[1]
        shell_bad = shell not in NOLOGIN_SHELLS
        unlocked = password not in ('', '*') and not password.startswith('!') and not password.startswith('*')
        if shell_bad or unlocked:
            bad.append({'name': name, 'uid': uid, 'shell': shell, 'unlocked': unlocked})
    return bad


def check_system_accounts(run, p):
    bad = system_accounts(run)
    return not bad, {'accounts': bad}, ('system accounts that can log in: %s' % ', '.join(
        '%s (uid %d, %s%s)' % (b['name'], b['uid'], b['shell'], ', password set' if b['unlocked'] else '') for b in bad)
        if bad else 'system accounts have nologin shells and no usable password')


def nologin_shell():
    return next((shell for shell in NOLOGIN_SHELLS[:2] if os.path.exists(shell)), '/bin/false')


def fix_system_accounts(run, p):
    for account in system_accounts(run):
        if account['name'] in run.managers:
            raise ControlError('management user %s is a system account (uid %d) with a login shell; left alone'
                               % (account['name'], account['uid']))
        if account['shell'] not in NOLOGIN_SHELLS:
            run.command(ACCOUNT_FILES, 'usermod -s', account['name'],
                        'usermod', '-s', nologin_shell(), account['name'])
        if account['unlocked']:
            run.command(ACCOUNT_FILES, 'lock', account['name'], 'usermod', '-L', account['name'])


def ageing_targets(run):
    uid_min = run.host.login_defs('UID_MIN', 1000)
    shadow = shadow_entries()
    targets = []
    for entry in passwd_entries():
        name, uid = entry[0], int(entry[2]) if entry[2].isdigit() else -1
        fields = shadow.get(name)
        if uid < uid_min or uid == 65534 or not fields or fields[1][:1] in ('!', '*', ''):
            continue
        max_days = fields[4]
        if not max_days.isdigit() or int(max_days) > int(run.settings['password_max_days']):
            targets.append({'name': name, 'max_days': max_days or None})
    return targets


def check_user_ageing(run, p):
    targets = ageing_targets(run)
    if not run.settings['apply_to_existing_users']:
        raise Skip('existing accounts are changed only when asked (settings.apply_to_existing_users: true)%s'
                   % ('; their passwords never expire or expire late: %s' % ', '.join(t['name'] for t in targets)
                      if targets else ''))
    return not targets, {'users': targets}, ('users whose password never expires or expires after more than %s days: %s'
                                             % (run.settings['password_max_days'], ', '.join(t['name'] for t in targets))
                                             if targets else 'every user password expires in time')


def fix_user_ageing(run, p):
    for target in ageing_targets(run):
        if target['name'] in run.managers:
            continue  # an expired password on the management account breaks key logins too
        run.command(ACCOUNT_FILES, 'chage', target['name'], 'chage',
                    '-M', str(run.settings['password_max_days']), '-m', str(run.settings['password_min_days']),
                    '-W', str(run.settings['password_warn_age']), target['name'])


# files and modes -----------------------------------------------------

def check_modes(run, p):
    before, problems = {}, []
    for path, mode, owner, group in p['files'].get(run.host.family, []):
        if not os.path.exists(path):
            continue
        info = os.stat(path)
        now = (stat.S_IMODE(info.st_mode), _name(pwd.getpwuid, info.st_uid), _name(grp.getgrgid, info.st_gid))
        before[path] = '%04o %s:%s' % now
        if now != (mode, owner, group):
            problems.append('%s is %s, wanted %04o %s:%s' % (path, before[path], mode, owner, group))
    return not problems, before, '; '.join(problems) or 'account files have the right owner and mode'


def _name(lookup, number):
    try:
        return lookup(number)[0]
    except KeyError:
        return str(number)


def fix_modes(run, p):
    for path, mode, owner, group in p['files'].get(run.host.family, []):
        if not os.path.exists(path):
            continue
        info = os.stat(path)
        uid, gid = pwd.getpwnam(owner).pw_uid, grp.getgrnam(group).gr_gid
        if (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (mode, uid, gid):
            continue
        run.change(path, 'chmod', '%04o %d:%d' % (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid),
                   '%04o %s:%s' % (mode, owner, group))
        if not run.check_mode:
            run.save(path)
            os.chown(path, uid, gid)
            os.chmod(path, mode)


# services ------------------------------------------------------------
