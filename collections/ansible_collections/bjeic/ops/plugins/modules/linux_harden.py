#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_harden
short_description: Audit, enforce and roll back the MLPS 2.0 level-3 baseline on a Linux host
version_added: 0.1.0
description:
  - Checks a Linux host against a security baseline mapped to GB/T 22239-2019 level 3 (MLPS 2.0,
    clause 8.1.4), fixes what fails, and puts everything back exactly on request.
  - The baseline is a catalogue of controls kept as data (C(plugins/module_utils/harden_catalogue.py)),
    each tagged with the clause it serves - password complexity, ageing and history, login failure
    lockout (pam_faillock), idle timeouts, sshd settings and crypto, insecure services, auditd and
    its rules, rsyslog, umask, permissions of the account files, accounts (UID 0, empty passwords,
    system accounts), core dumps and network kernel settings.
  - C(mode=audit) changes nothing and reports every control. C(mode=enforce) first backs up every
    file and setting it is about to change under O(backup_root) (root only, with a manifest), then
    changes it, and returns the backup id as the rollback handle. C(mode=rollback) restores a
    backup byte for byte (content, mode, owner), removes files and packages that enforce added,
    and restores service states and kernel settings.
  - Never cuts the management channel. Enforce refuses to turn off root login over SSH when the
    management user is root, and password login when a management user has no SSH key; it never
    expires, locks or changes the shell of a management user; the new sshd configuration is
    checked with C(sshd -t) and for the management users' key login before it is put in place,
    and sshd is reloaded (existing sessions stay) only after that.
  - Debian, Ubuntu and UOS (dpkg) and RHEL, CentOS, Rocky, Kylin and openEuler (rpm) hosts. On
    RHEL-family hosts where authselect manages PAM, lockout and history are switched on with
    authselect features instead of editing PAM files.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Enforce and rollback report what they would change and change nothing.
  diff_mode:
    support: full
    description: Every file enforce or rollback changes comes back as a before/after diff.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with dpkg (Debian family) or rpm (RHEL family).
options:
  mode:
    description:
      - C(audit) reports, C(enforce) fixes failing controls, C(rollback) restores the backup O(backup_id).
    type: str
    choices: [audit, enforce, rollback]
    default: audit
  baseline:
    description: The built-in catalogue to use.
    type: str
    choices: [mlps3]
    default: mlps3
  controls:
    description:
      - Control ids or tags to include (for example C(ssh.crypto), C(password), C(ssh)). Empty means
        every control except the opt-in ones (C(ssh.password_auth)), which must be named.
    type: list
    elements: str
    default: []
  exclude_controls:
    description: Control ids or tags to leave out, applied after O(controls).
    type: list
    elements: str
    default: []
  settings:
    description:
      - Overrides of the baseline's parameters. Known keys and defaults - C(password_min_length) 8,
        C(password_min_classes) 3, C(password_max_days) 90, C(password_min_days) 1,
        C(password_warn_age) 7, C(password_history) 5, C(lockout_attempts) 5, C(lockout_seconds) 600,
        C(session_timeout) 600, C(ssh_client_alive_interval) 300, C(ssh_client_alive_count_max) 3,
        C(ssh_max_auth_tries) 4, C(umask) 027, C(banner_text) (Chinese and English notice),
        C(apply_to_existing_users) false (when true, C(pwd.existing_users) sets ageing on existing
        interactive accounts).
    type: dict
    default: {}
  management_users:
    description:
      - Accounts Ansible and the operators connect with. Enforce never locks, expires or changes the
        shell of these, and refuses changes that would lock them out. The user that ran C(sudo) to
        reach root and the session's login user are added automatically.
    type: list
    elements: str
    default: []
  backup_id:
    description: The backup to restore (required with C(mode=rollback)), as returned by enforce.
    type: str
  backup_root:
    description: Where backups live on the host (created root-only).
    type: path
    default: /var/lib/bjeic-ops/harden
  force:
    description:
      - Rollback only. Restore files even when they were changed by someone else after enforce
        (those later edits are lost). Without it rollback refuses and names the files.
    type: bool
    default: false
notes:
  - In containers, C(/proc/sys) is read-only and the kernel audit system belongs to the host, so
    kernel settings are written to C(/etc/sysctl.d) (applied at boot) and auditd is enabled but may
    not run; the control's message says so and the control passes on its persistent configuration.
  - Without systemd, service controls (auditd, rsyslog, insecure services) are C(skipped).
  - Rollback restores the account files (C(/etc/passwd), C(/etc/shadow)) as they were before
    enforce; it refuses when they changed since (for example a password change) unless O(force=true).
seealso:
  - name: GB/T 22239-2019
    description: Information security technology - Baseline for classified protection of cybersecurity.
    link: https://openstd.samr.gov.cn/bzgk/gb/
'''

EXAMPLES = r'''
- name: Audit against the MLPS level-3 baseline
  bjeic.ops.linux_harden:
  become: true
  register: audit

- name: Enforce, with a 12-character minimum and SSH left out
  bjeic.ops.linux_harden:
    mode: enforce
    settings:
      password_min_length: 12
    exclude_controls: [ssh]
    management_users: ["{{ ansible_user }}"]
  become: true
  register: hardened

- name: Roll back that enforce
  bjeic.ops.linux_harden:
    mode: rollback
    backup_id: "{{ hardened.backup_id }}"
  become: true
'''

RETURN = r'''
controls:
  description: One entry per control considered.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: Control id (also the finding's check id)., type: str, sample: ssh.root_login}
    title: {description: What the control asks., type: str, sample: No direct root login over SSH}
    clause: {description: GB/T 22239-2019 clause it serves., type: str, sample: 8.1.4.2b}
    status:
      description: C(pass), C(fail), C(fixed) (enforce changed it and it passes now), C(skipped) (not
        applicable here) or C(error).
      type: str
      sample: fixed
    before:
      description: What was found.
      type: raw
      sample: {PermitRootLogin: "yes"}
    after:
      description: What is there after enforce (null in check mode, which changes nothing).
      type: raw
      sample: {PermitRootLogin: "no"}
    message:
      description: Why it failed, what was done, or why it was skipped.
      type: str
      sample: sshd runs with PermitRootLogin no
  sample: [{id: ssh.root_login, title: No direct root login over SSH, clause: 8.1.4.2b, status: fixed}]
summary:
  description: Number of controls per status, and the compliance percentage (passing of applicable).
  returned: always
  type: dict
  sample: {pass: 20, fail: 0, fixed: 6, skipped: 1, error: 0, compliance_pct: 100.0}
findings:
  description: Failing controls, each C({check, severity, subject, value, threshold, message}) with the control id as check.
  returned: always
  type: list
  elements: dict
  sample: [{check: pwd.max_days, severity: warning, subject: /etc/login.defs, value: {PASS_MAX_DAYS: "99999"}, threshold: "<= 90", message: "..."}]
changes:
  description: What enforce or rollback changed, C({object, action, before, after, control}).
  returned: always
  type: list
  elements: dict
  sample: [{object: /etc/login.defs, action: edit, before: 3c5a1f..., after: 9d0e44..., control: pwd.max_days}]
ledger:
  description: One item of kind C(os) keyed C(baseline:mlps3@<host>) with each control's status, for compliance drift.
  returned: always
  type: list
  elements: dict
  sample: [{kind: os, key: baseline:mlps3@web01, attrs: {baseline: mlps3, controls: {ssh.root_login: pass}}}]
backup_id:
  description: The backup enforce made (null when nothing changed), or the one rollback restored.
  returned: always
  type: str
  sample: 20261126T101500Z-1a2b3c
rollback:
  description: The handle that undoes this enforce, C({id, how}) where C(how) runs this module with C(mode=rollback); null otherwise.
  returned: always
  type: dict
  sample: {id: 20261126T101500Z-1a2b3c, how: {module: bjeic.ops.linux_harden, args: {mode: rollback, backup_id: 20261126T101500Z-1a2b3c}}}
management_users:
  description: The accounts treated as the management channel.
  returned: always
  type: list
  elements: str
  sample: [opsadmin]
'''

import glob
import grp
import hashlib
import os
import pwd
import re
import socket
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils import config_edit as edit
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding
from ansible_collections.bjeic.ops.plugins.module_utils.harden_catalogue import (
    BASELINES, CLAUSES, DEFAULT_SETTINGS, PAM_ACCOUNT, PAM_AUTH, PAM_PASSWORD)
from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import Backup, BackupError, write_atomic

SSHD_CONFIG = '/etc/ssh/sshd_config'
BLOCK = 'mlps3'
NOLOGIN_SHELLS = ('/usr/sbin/nologin', '/sbin/nologin', '/bin/false', '/usr/bin/false')
SHELL_ACCOUNTS = ('root', 'sync', 'shutdown', 'halt')
# usermod and chage rewrite these (and the '-' copies) whatever they change.
ACCOUNT_FILES = ('/etc/passwd', '/etc/passwd-', '/etc/shadow', '/etc/shadow-')
DEBIAN_PAM_STATE = ('/var/lib/pam/seen', '/var/lib/pam/auth', '/var/lib/pam/account', '/var/lib/pam/password',
                    '/var/lib/pam/session', '/var/lib/pam/session-noninteractive')
PAM_DIRS = ('/lib/x86_64-linux-gnu/security', '/usr/lib/x86_64-linux-gnu/security', '/lib/aarch64-linux-gnu/security',
            '/usr/lib/aarch64-linux-gnu/security', '/lib64/security', '/usr/lib64/security', '/lib/security',
            '/usr/lib/security')


class ControlError(Exception):
    """A control could not be checked or applied; the message is for the operator."""


class Refused(Exception):
    """Enforce would cut the management channel; nothing is changed."""


def read(path, default=''):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'surrogateescape')
    except (IOError, OSError):
        return default


def fill(value, settings):
    """A catalogue value with {setting} placeholders filled in."""
    if isinstance(value, str):
        return value.format(**settings)
    if isinstance(value, (list, tuple)):
        return [fill(item, settings) for item in value]
    if isinstance(value, dict):
        return dict((key, fill(item, settings)) for key, item in value.items())
    return value


# ---------------------------------------------------------------- the host

class Host(object):
    """Facts about the host and the commands the engine runs."""

    def __init__(self, module):
        self.module = module
        self.name = socket.gethostname()
        self.family = self._family()
        self.systemd = os.path.isdir('/run/systemd/system')
        self.container = (os.path.exists('/run/.containerenv') or os.path.exists('/.dockerenv')
                          or 'container=' in read('/proc/1/environ').replace('\0', '\n'))
        self.authselect = False
        if self.family == 'redhat' and module.get_bin_path('authselect'):
            rc, _out, _err = self.run('authselect', 'current')
            self.authselect = rc == 0

    def _family(self):
        if os.path.exists('/var/lib/dpkg/status') and self.module.get_bin_path('dpkg-query'):
            return 'debian'
        if self.module.get_bin_path('rpm'):
            return 'redhat'
        return 'unknown'

    def run(self, *args, **kwargs):
        binary = self.module.get_bin_path(args[0]) or args[0]
        return contract.run_c(self.module, [binary] + list(args[1:]),
                              environ_update={'DEBIAN_FRONTEND': 'noninteractive'}, **kwargs)

    def must(self, *args):
        rc, out, err = self.run(*args)
        if rc != 0:
            raise ControlError('%s failed (rc=%d): %s' % (' '.join(args), rc, (err or out).strip()[-500:]))
        return out

    def login_defs(self, key, default):
        value = edit.kv_get(read('/etc/login.defs'), key)
        try:
            return int(value) if value is not None else default
        except ValueError:
            return default

    # packages
    def installed(self, name):
        if self.family == 'debian':
            rc, out, _err = self.run('dpkg-query', '-W', '-f=${Status}', name)
            return rc == 0 and 'install ok installed' in out
        rc, _out, _err = self.run('rpm', '-q', name)
        return rc == 0

    def installed_set(self):
        if self.family == 'debian':
            out = self.must('dpkg-query', '-W', '-f=${Package} ${Status}\n')
            return set(line.split()[0] for line in out.splitlines() if line.endswith('install ok installed'))
        return set(self.must('rpm', '-qa', '--qf', '%{NAME}\n').split())

    def install(self, names):
        if self.family == 'debian':
            args = ('apt-get', 'install', '-y', '-q', '--no-install-recommends', '-o', 'Dpkg::Options::=--force-confold')
            rc, out, err = self.run(*(args + tuple(names)))
            if rc != 0 and 'Unable to locate package' in (err + out):
                self.run('apt-get', 'update', '-q')
                rc, out, err = self.run(*(args + tuple(names)))
        else:
            manager = 'dnf' if self.module.get_bin_path('dnf') else 'yum'
            rc, out, err = self.run(manager, 'install', '-y', *names)
        if rc != 0:
            raise ControlError('installing %s failed (rc=%d): %s. Check the package repositories of this host.'
                               % (', '.join(names), rc, (err or out).strip()[-500:]))

    def remove(self, names):
        if self.family == 'debian':
            self.must('apt-get', 'purge', '-y', '-q', *names)
        else:
            self.must('dnf' if self.module.get_bin_path('dnf') else 'yum', 'remove', '-y', *names)

    # services
    def unit_state(self, unit):
        _rc, enabled, _err = self.run('systemctl', 'is-enabled', unit)
        _rc, active, _err = self.run('systemctl', 'is-active', unit)
        enabled = enabled.strip().splitlines()[-1] if enabled.strip() else 'not-found'
        return enabled, active.strip()

    # PAM
    def pam_module_exists(self, name):
        return any(os.path.exists(os.path.join(directory, name)) for directory in PAM_DIRS)

    # sshd
    def sshd(self, *args):
        """Run sshd with `args`: (rc, out, err)."""
        binary = self.module.get_bin_path('sshd', opt_dirs=['/usr/sbin', '/sbin'])
        if not binary:
            raise ControlError('sshd is not installed')
        return contract.run_c(self.module, [binary] + list(args))

    def sshd_effective(self, config=None, user=None):
        args = ['-T']
        if config:
            args += ['-f', config]
        if user:
            args += ['-C', 'user=%s,host=localhost,addr=127.0.0.1' % user]
        rc, out, err = self.sshd(*args)
        if rc != 0:
            raise ControlError('sshd -T failed (rc=%d): %s' % (rc, err.strip()[-500:]))
        return edit.parse_sshd_T(out)

    def sshd_supported(self, what):
        rc, out, _err = self.run('ssh', '-Q', what)
        return set(out.split()) if rc == 0 else None


def management_users(module):
    """Accounts that carry the management channel: given ones, sudo's caller, the login user."""
    users = set(module.params['management_users'])
    if os.environ.get('SUDO_USER'):
        users.add(os.environ['SUDO_USER'])
    loginuid = read('/proc/self/loginuid').strip()
    if loginuid.isdigit() and int(loginuid) != 4294967295:
        try:
            users.add(pwd.getpwuid(int(loginuid)).pw_name)
        except KeyError:
            pass
    if not users:
        users.add(pwd.getpwuid(os.getuid()).pw_name)
    return sorted(users)


# ---------------------------------------------------------------- one harden run

class Run(object):
    """Options, the lazily created backup, and what changed so far."""

    def __init__(self, module, host, settings, managers):
        self.module = module
        self.host = host
        self.settings = settings
        self.managers = managers
        self.check_mode = module.check_mode
        self.backup = None
        self.changes = []
        self.diffs = []
        self.control = None  # id of the control being applied, for change records
        self.effective_sshd = None  # `sshd -T`, read once and again after sshd_config changes

    def sshd_config(self):
        if self.effective_sshd is None:
            self.effective_sshd = self.host.sshd_effective()
        return self.effective_sshd

    def ensure_backup(self):
        if self.backup is None:
            self.backup = Backup.create(self.module.params['backup_root'], 'linux_harden mlps3 enforce', self.host.name,
                                        self.module)
        return self.backup

    def change(self, obj, action, before, after):
        self.changes.append({'object': obj, 'action': action, 'before': before, 'after': after, 'control': self.control})

    def save(self, *paths):
        if not self.check_mode:
            backup = self.ensure_backup()
            for path in paths:
                backup.save_file(path)

    def write(self, path, content, mode=0o644):
        """Make `path` hold `content` (backed up first). Returns True when it changed."""
        old = read(path, None)
        info = os.stat(path) if old is not None else None
        current_mode = stat.S_IMODE(info.st_mode) if info else None
        if mode is None:
            mode = current_mode if info else 0o644
        if old == content and current_mode == mode:
            return False
        self.diffs.append({'before_header': path, 'after_header': path, 'before': old or '', 'after': content})
        self.change(path, 'edit' if old is not None else 'create', _short_sha(old), _short_sha(content))
        if self.check_mode:
            return True
        self.save(path)
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        write_atomic(self.module, path, content.encode('utf-8', 'surrogateescape'), mode=mode,
                     uid=info.st_uid if info else 0, gid=info.st_gid if info else 0)
        return True

    def command(self, paths, action, obj, *args):
        """Run a command that edits `paths` (usermod, chage), with the files backed up first."""
        self.change(obj, action, None, ' '.join(args))
        if self.check_mode:
            return
        self.save(*paths)
        self.host.must(*args)

    def install(self, names):
        missing = [name for name in names if not self.host.installed(name)]
        if not missing:
            return
        self.change(', '.join(missing), 'install', None, 'installed')
        if self.check_mode:
            return
        # Package scripts edit these (pam-auth-update): keep them so rollback is exact.
        touched = self.pam_files() + (list(DEBIAN_PAM_STATE) if self.host.family == 'debian' else [])
        self.save(*touched)
        before = self.host.installed_set()
        try:
            self.host.install(missing)
        finally:
            added = sorted(self.host.installed_set() - before)
            if added:
                self.backup.record({'type': 'packages', 'names': added})

    def pam_files(self):
        family = self.host.family
        files = set(PAM_AUTH.get(family, []) + PAM_ACCOUNT.get(family, []))
        if family in PAM_PASSWORD:
            files.add(PAM_PASSWORD[family])
        if family == 'debian':
            files.update(('/etc/pam.d/common-session', '/etc/pam.d/common-session-noninteractive'))
        return sorted(files)

    def unit(self, unit, action):
        """enable / disable (disable --now and mask) a systemd unit, recording its state first."""
        enabled, active = self.host.unit_state(unit)
        self.change(unit, action, '%s/%s' % (enabled, active), action)
        if self.check_mode:
            return
        self.ensure_backup().record({'type': 'service', 'unit': unit, 'enabled': enabled, 'active': active})
        if action == 'enable':
            self.host.must('systemctl', 'enable', unit)
            rc, _out, err = self.host.run('systemctl', 'start', unit)
            if rc != 0 and not self.host.container:
                raise ControlError('%s is enabled but did not start: %s' % (unit, err.strip()[-300:]))
        else:
            self.host.run('systemctl', 'disable', '--now', unit)
            self.host.must('systemctl', 'mask', unit)


def _short_sha(text):
    if text is None:
        return None
    return hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()[:16]


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

def sshd_value_ok(effective, op, wanted):
    if op == 'subset':
        return bool(effective) and set(effective.split(',')) <= set(wanted)
    if effective is None:
        return False
    if op == 'eq':
        return effective.lower() == str(wanted).lower()
    return edit.compare(effective, op, wanted)


def check_sshd(run, p):
    effective = run.sshd_config()
    before, problems = {}, []
    for keyword, op, wanted in p['settings']:
        value = effective.get(keyword.lower())
        if value is None:
            continue  # this OpenSSH does not know the keyword (kbdinteractiveauthentication before 8.7)
        before[keyword] = value
        if not sshd_value_ok(value, op, wanted):
            shown = ','.join(wanted) if op == 'subset' else wanted
            problems.append('%s is %s, wanted %s %s' % (keyword, value, OPS[op], shown))
    ok_file, file_message = check_managed(p.get('file'))
    if not ok_file:
        problems.append(file_message)
    return not problems, before, '; '.join(problems) or 'sshd runs with %s' % ', '.join(
        '%s %s' % (k, v if len(v) < 60 else '(%d allowed)' % len(v.split(','))) for k, v in before.items())


def sshd_setting(run, keyword, op, wanted):
    """The value enforce writes for one sshd keyword."""
    if op == 'subset':
        kind = {'Ciphers': 'cipher', 'MACs': 'mac', 'KexAlgorithms': 'kex'}[keyword]
        supported = run.host.sshd_supported(kind)
        values = [v for v in wanted if supported is None or v in supported]
        return ','.join(values)
    return wanted


def fix_sshd_group(run, controls):
    """Apply every failing sshd control in one edit of sshd_config, validated, then one reload."""
    effective = run.sshd_config()
    settings = []
    for control in controls:
        p = control['params']
        for keyword, op, wanted in p['settings']:
            if keyword.lower() in effective:
                settings.append((keyword, sshd_setting(run, keyword, op, wanted)))
    # Keep what an older managed block set for controls that pass now.
    old_block = [line.split(None, 1) for line in edit.sshd_split_block(read(SSHD_CONFIG), BLOCK)[0] if line.strip()]
    keywords = set(k.lower() for k, _v in settings)
    settings = [(k, v) for k, v in old_block if k.lower() not in keywords] + settings
    for control in controls:
        if control['params'].get('file'):
            spec = control['params']['file']
            run.control = control['id']
            run.write(spec['path'], spec['content'], spec['mode'])
    run.control = ','.join(c['id'] for c in controls)
    old = read(SSHD_CONFIG)
    new = edit.sshd_managed_block(old, BLOCK, settings)
    if new == old:
        return
    validate_sshd(run, new)
    if run.write(SSHD_CONFIG, new) and not run.check_mode:
        reload_sshd(run.host)
        run.effective_sshd = None


def validate_sshd(run, content):
    """sshd -t on the new file, and each management user's key login still allowed by it."""
    fd, candidate = tempfile.mkstemp(prefix='bjeic-sshd-candidate-')
    with os.fdopen(fd, 'w') as handle:
        handle.write(content)
    try:
        rc, out, err = run.host.sshd('-t', '-f', candidate)
        if rc != 0:
            raise ControlError('sshd -t rejected the new configuration (%s); %s was left unchanged'
                               % ((err or out).strip()[-300:], SSHD_CONFIG))
        for user in run.managers:
            try:
                pwd.getpwnam(user)
            except KeyError:
                continue
            config = run.host.sshd_effective(candidate, user)
            if config.get('pubkeyauthentication') != 'yes':
                raise ControlError('the new sshd configuration would refuse key login for management user %s; '
                                   '%s was left unchanged' % (user, SSHD_CONFIG))
            if user == 'root' and config.get('permitrootlogin') == 'no':
                raise ControlError('the new sshd configuration would refuse root, a management user; left unchanged')
    finally:
        os.unlink(candidate)


def reload_sshd(host):
    """Reload (not restart) sshd: existing sessions, Ansible's own among them, stay up."""
    if host.systemd:
        for unit in ('ssh.service', 'sshd.service'):
            _enabled, active = host.unit_state(unit)
            if active == 'active':
                host.must('systemctl', 'reload', unit)
                return
    pid = read('/run/sshd.pid').strip() or read('/var/run/sshd.pid').strip()
    if pid.isdigit():
        os.kill(int(pid), 1)  # SIGHUP: sshd re-reads its configuration


def check_ssh_protocol(run, p):
    rc, out, err = run.host.run('ssh', '-V')
    match = re.search(r'OpenSSH_(\d+)\.(\d+)', out + err)
    if match and (int(match.group(1)), int(match.group(2))) >= (7, 4):
        return True, {'openssh': match.group(0)}, '%s speaks only protocol 2 (SSH-1 was removed in 7.4)' % match.group(0)
    effective = run.sshd_config()
    protocol = effective.get('protocol')
    return protocol == '2', {'protocol': protocol}, 'Protocol is %s, wanted 2' % protocol


def fix_ssh_protocol(run, p):
    fix_sshd_group(run, [{'id': 'ssh.protocol', 'params': {'settings': [('Protocol', 'eq', '2')]}}])


# accounts ------------------------------------------------------------

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


class Skip(Exception):
    """The control does not apply on this host; the message says why."""


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
                                'before': _short_sha(old), 'after': entry.get('sha256', '')[:16] or None})
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


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', choices=['audit', 'enforce', 'rollback'], default='audit'),
            baseline=dict(type='str', choices=['mlps3'], default='mlps3'),
            controls=dict(type='list', elements='str', default=[]),
            exclude_controls=dict(type='list', elements='str', default=[]),
            settings=dict(type='dict', default={}),
            management_users=dict(type='list', elements='str', default=[]),
            backup_id=dict(type='str'),
            backup_root=dict(type='path', default='/var/lib/bjeic-ops/harden'),
            force=dict(type='bool', default=False),
        ),
        required_if=[('mode', 'rollback', ['backup_id'])],
        supports_check_mode=True,
    )
    params = module.params
    if os.geteuid() != 0:
        module.fail_json(msg='linux_harden must run as root (become: true): it reads /etc/shadow and sshd -T')
    unknown = sorted(set(params['settings']) - set(DEFAULT_SETTINGS))
    if unknown:
        module.fail_json(msg='settings: unknown keys %s; known: %s' % (', '.join(unknown), ', '.join(sorted(DEFAULT_SETTINGS))))
    settings = dict(DEFAULT_SETTINGS, **params['settings'])
    host = Host(module)
    if host.family == 'unknown':
        module.fail_json(msg='%s has neither dpkg nor rpm: linux_harden supports Debian- and RHEL-family hosts' % host.name)
    managers = management_users(module)
    result = dict(changed=False, controls=[], findings=[], changes=[], ledger=[], backup_id=None, rollback=None,
                  management_users=managers, summary={})

    if params['mode'] == 'rollback':
        try:
            backup = Backup.load(params['backup_root'], params['backup_id'], module)
            if backup.manifest.get('state') == 'rolled-back':
                result.update(backup_id=backup.id, msg='backup %s was already rolled back on %s'
                              % (backup.id, backup.manifest.get('closed')))
                module.exit_json(**result)
            changes, diffs = rollback(module, host, backup, module.check_mode)
            if not module.check_mode:
                backup.close('rolled-back')
        except (BackupError, ControlError, OSError) as exc:
            module.fail_json(msg='rollback of %s on %s failed: %s' % (params['backup_id'], host.name, to_native(exc)),
                             **result)
        result.update(changed=bool(changes), changes=changes, backup_id=backup.id,
                      msg='restored %d object(s) from backup %s' % (len(changes), backup.id))
        if module._diff:
            result['diff'] = diffs
        module.exit_json(**result)

    catalogue = [dict(c, params=fill(c['params'], settings)) for c in BASELINES[params['baseline']]]
    try:
        controls = select_controls(catalogue, params['controls'], params['exclude_controls'], host.family)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    run = Run(module, host, settings, managers)
    enforce = params['mode'] == 'enforce'
    if enforce:
        try:
            guard(run, controls)
        except Refused as exc:
            module.fail_json(msg='enforce refused, nothing was changed: %s' % exc, **result)
        except ControlError as exc:
            module.fail_json(msg='cannot check the management channel: %s' % exc, **result)
    try:
        results = harden(run, controls, enforce)
    finally:
        if run.backup is not None:
            run.backup.close()
    summary = summarise(results)
    backup_id = run.backup.id if run.backup is not None and run.changes else None
    result.update(
        changed=bool(run.changes), controls=results, findings=findings_of(results), changes=run.changes,
        summary=summary, backup_id=backup_id,
        rollback=contract.rollback(backup_id, 'bjeic.ops.linux_harden', {'mode': 'rollback', 'backup_id': backup_id})
        if backup_id else None,
        ledger=[contract.ledger_item('os', contract.key('baseline', params['baseline'], host.name), {
            'hostname': host.name, 'baseline': params['baseline'],
            'controls': dict((r['id'], 'pass' if r['status'] in ('pass', 'fixed') else r['status']) for r in results),
            'state': {'compliance_pct': summary['compliance_pct']}})],
    )
    if module._diff:
        result['diff'] = run.diffs
    errors = [r for r in results if r['status'] == 'error']
    if enforce and errors:
        module.fail_json(msg='enforce could not fix %d control(s): %s. Everything it changed is in backup %s'
                             % (len(errors), '; '.join('%s: %s' % (r['id'], r['message']) for r in errors),
                                backup_id or '(nothing changed)'), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
