# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host and the run of linux_harden: what the host is (family, PAM, sshd, services), and one
harden run (changes made through the backup, diffs, the change record)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import pwd
import socket
import stat

from ansible_collections.bjeic.ops.plugins.module_utils import config_edit as edit
from ansible_collections.bjeic.ops.plugins.module_utils import contract, linux_packages
from ansible_collections.bjeic.ops.plugins.module_utils.harden_catalogue import PAM_ACCOUNT, PAM_AUTH, PAM_PASSWORD
from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import Backup, write_atomic
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError


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


class Skip(Exception):
    """The control does not apply on this host; the message says why."""


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
        self._packages = None    # the package manager, found when a control first needs it
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

    # packages: through the package manager layer linux_patch uses (linux_packages)
    @property
    def packages(self):
        if self._packages is None:
            try:
                self._packages = linux_packages.pick_backend(self.module, 'auto', self.module.run_command)
            except PatchError as exc:
                raise ControlError(str(exc))
        return self._packages

    def installed(self, name):
        return self.packages.is_installed(name)

    def installed_set(self):
        return self._package_call(self.packages.installed_names)

    def install(self, names):
        self._package_call(self.packages.install_packages, names, advice='Check the package repositories of this host.')

    def remove(self, names):
        self._package_call(self.packages.remove_packages, names)

    @staticmethod
    def _package_call(call, *args, **kwargs):
        try:
            return call(*args)
        except PatchError as exc:
            raise ControlError('%s%s' % (exc, (' ' + kwargs['advice']) if kwargs.get('advice') else ''))

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
        self.change(path, 'edit' if old is not None else 'create', short_sha(old), short_sha(content))
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


def short_sha(text):
    if text is None:
        return None
    return hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()[:16]
