# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The apt backend of linux_patch (Debian, Ubuntu, UOS).

Plans from `apt-get -s` (its `Inst`/`Remv` lines are a stable format), applies with
`apt-get install --only-upgrade` of exactly the planned names, and rolls back by installing the
recorded versions again with downgrades allowed for those packages only. Debian-style archives
drop old versions, so before applying it keeps a .deb of every version it replaces: from apt's
cache, from the repository, or rebuilt from the installed files (as dpkg-repack does).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import os
import re
import shutil
import time

from ansible_collections.bjeic.ops.plugins.module_utils.contract import C_LOCALE
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError

ENV = dict(C_LOCALE, DEBIAN_FRONTEND='noninteractive', APT_LISTCHANGES_FRONTEND='none', NEEDRESTART_MODE='l',
           UCF_FORCE_CONFFOLD='1')
# Keep the administrator's configuration files on upgrade: production hosts have edited ones.
DPKG_OPTIONS = ('-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold')
_INST = re.compile(r'^Inst (\S+) (?:\[(\S+)\] )?\((\S+) (.*) \[(\S+)\]\)')
_REMV = re.compile(r'^Remv (\S+) \[(\S+)\]')
INFO_DIR = '/var/lib/dpkg/info'
LOCKS = ('/var/lib/dpkg/lock-frontend', '/var/lib/dpkg/lock')
CONTROL_SKIP = ('Status', 'Conffiles', 'Config-Version')
MAINTAINER_FILES = ('preinst', 'postinst', 'prerm', 'postrm', 'config', 'templates', 'triggers', 'shlibs',
                    'symbols', 'conffiles', 'md5sums')


def parse_simulation(text):
    """`apt-get -s` output -> (installs [{name, current, candidate, repository, arch, security}], removals)."""
    installs, removals = [], []
    for line in text.splitlines():
        found = _INST.match(line)
        if found:
            name, current, candidate, repository, arch = found.groups()
            installs.append({'name': name, 'current': current, 'candidate': candidate, 'repository': repository,
                             'arch': arch, 'security': 'security' in repository.lower()})
            continue
        found = _REMV.match(line)
        if found:
            removals.append({'name': found.group(1), 'current': found.group(2)})
    return installs, removals


def explain(action, out, err):
    """A package-manager failure as an engineer needs it at 3 a.m."""
    text = (err or '') + (out or '')
    if 'Could not get lock' in text or 'is held by process' in text:
        held = re.search(r'held by process (\d+)(?: \(([^)]*)\))?', text)
        who = ' by process %s (%s)' % held.groups() if held else ''
        return PatchError('%s: the package manager is locked%s; another apt/dpkg run is in progress. Wait for it '
                          'or stop it, then run again. Nothing was changed.' % (action, who))
    fetch = re.findall(r'^(?:Err:\d+|E: Failed to fetch|W: Failed to fetch) (\S+)', text, re.M)
    if fetch:
        return PatchError('%s: repository unreachable (%s). Check the host\'s sources and its route to the '
                          'mirror. Nothing was changed.' % (action, ', '.join(sorted(set(fetch))[:3])))
    lines = [line for line in text.splitlines() if line.startswith(('E:', 'dpkg:'))] or text.strip().splitlines()[-5:]
    return PatchError('%s failed: %s' % (action, ' | '.join(lines)[-1500:]))


class AptBackend(object):
    name = 'apt'

    def __init__(self, run, lock_timeout=60):
        self._run = run
        self.lock_timeout = lock_timeout
        self.options = ('-o', 'DPkg::Lock::Timeout=%d' % lock_timeout) + DPKG_OPTIONS

    def wait_for_lock(self):
        """Wait (up to lock_timeout) until no other apt/dpkg run holds dpkg's locks. apt takes them
        with fcntl record locks, as lockf does; a free lock is released again at once."""
        deadline = time.time() + self.lock_timeout
        for path in LOCKS:
            if not os.path.exists(path):
                continue
            fd = os.open(path, os.O_RDWR)
            try:
                while True:
                    try:
                        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.lockf(fd, fcntl.LOCK_UN)
                        break
                    except (IOError, OSError) as exc:
                        if exc.errno not in (errno.EACCES, errno.EAGAIN) or time.time() >= deadline:
                            raise PatchError('the package manager is locked: another apt/dpkg run holds %s (waited '
                                             '%ds; `fuser -v %s` names it). Wait for it or stop it, then run again. '
                                             'Nothing was changed.' % (path, self.lock_timeout, path))
                        time.sleep(1)
            finally:
                os.close(fd)

    def run(self, args, action, cwd=None):
        rc, out, err = self._run(list(args), environ_update=ENV, cwd=cwd)
        if rc != 0:
            raise explain(action, out, err)
        return out, err

    # ---------------------------------------------------------------- state
    def installed(self):
        out, dummy = self.run(['dpkg-query', '-W', '-f', '${db:Status-Abbrev}\t${binary:Package}\t${Version}\n'],
                              'reading the installed packages (dpkg-query)')
        packages = {}
        for line in out.splitlines():
            status, key, version = (line.split('\t') + ['', ''])[:3]
            if len(status) > 1 and status[1] not in 'nc':    # n: not installed, c: only config files left
                packages[key] = [version]
        return packages

    def health(self):
        rc, out, err = self._run(['dpkg', '--audit'], environ_update=ENV)
        if out.strip() or rc != 0:
            raise PatchError('dpkg reports packages in a broken state (dpkg --audit): %s Repair with '
                             '`dpkg --configure -a` (and `apt-get -f install`) first. Nothing was changed.'
                             % ' '.join((out + err).split())[:600])

    def refresh(self):
        out, err = self.run(('apt-get', 'update') + self.options[:2], 'refreshing the package lists (apt-get update)')
        if re.search(r'^(?:Err:\d+|[WE]: Failed to fetch)', out + err, re.M):
            raise explain('refreshing the package lists (apt-get update)', out, err)

    def reboot_flagged(self):
        return os.path.exists('/run/reboot-required') or os.path.exists('/var/run/reboot-required')

    # ---------------------------------------------------------------- names (linux_harden: packages a control needs)
    def installed_names(self):
        out, dummy = self.run(['dpkg-query', '-W', '-f', '${Package} ${Status}\n'], 'reading the installed packages')
        return set(line.split()[0] for line in out.splitlines() if line.endswith('install ok installed'))

    def is_installed(self, name):
        rc, out, dummy = self._run(['dpkg-query', '-W', '-f', '${Status}', name], environ_update=ENV)
        return rc == 0 and 'install ok installed' in out

    def install_packages(self, names):
        """Install these packages (without recommends, keeping configuration files); the package lists are
        refreshed once when a name is not found in them."""
        self.wait_for_lock()
        args = ('apt-get', 'install', '-y', '-q', '--no-install-recommends') + self.options + tuple(names)
        rc, out, err = self._run(list(args), environ_update=ENV)
        if rc != 0 and 'Unable to locate package' in (err + out):
            self.refresh()
            rc, out, err = self._run(list(args), environ_update=ENV)
        if rc != 0:
            raise explain('installing %s (apt-get install)' % ', '.join(names), out, err)

    def remove_packages(self, names):
        self.wait_for_lock()
        self.run(('apt-get', 'purge', '-y', '-q') + self.options + tuple(names),
                 'removing %s (apt-get purge)' % ', '.join(names))

    # ---------------------------------------------------------------- plan and apply
    def available(self):
        """Every pending upgrade, with the new packages it would pull in."""
        out, dummy = self.run(('apt-get', '-s', '-o', 'Debug::NoLocking=1') + self.options + ('upgrade', '--with-new-pkgs'),
                              'listing upgrades (apt-get -s upgrade)')
        installs, removals = parse_simulation(out)
        return [i for i in installs if i['current']], removals

    def simulate(self, chosen):
        """What installing exactly these upgrades does: (upgrades, new packages, removals)."""
        names = tuple(u['name'] for u in chosen)
        out, dummy = self.run(('apt-get', '-s', '-o', 'Debug::NoLocking=1') + self.options
                              + ('install', '--only-upgrade') + names, 'planning the upgrade (apt-get -s)')
        installs, removals = parse_simulation(out)
        return [i for i in installs if i['current']], [i for i in installs if not i['current']], removals

    def history_last(self):
        """apt keeps no transaction history to undo by id."""
        return None

    def apply(self, names):
        return self.run(('apt-get', '-y', '-q') + self.options + ('install', '--only-upgrade') + tuple(names),
                        'installing the upgrades (apt-get install --only-upgrade)')

    # ---------------------------------------------------------------- rollback
    def keep_for_rollback(self, key, version, directory):
        """Keep a .deb of `key` at `version` (installed now) in `directory`: (source, path) or (None, why)."""
        name, dummy, arch = key.partition(':')
        arch = arch or self.arch_of(key)
        cached = '/var/cache/apt/archives/%s_%s_%s.deb' % (name, version.replace(':', '%3a'), arch)
        if os.path.isfile(cached):
            target = os.path.join(directory, os.path.basename(cached))
            shutil.copyfile(cached, target)
            return 'cache', target
        before = set(os.listdir(directory))
        rc, out, err = self._run(['apt-get', 'download', '-o', 'APT::Sandbox::User=root', '%s=%s' % (key, version)],
                                 environ_update=ENV, cwd=directory)
        fetched = sorted(set(os.listdir(directory)) - before)
        if rc == 0 and fetched:
            return 'repository', os.path.join(directory, fetched[0])
        return self.repack(key, version, directory)

    def arch_of(self, key):
        out, dummy = self.run(['dpkg-query', '-W', '-f', '${Architecture}', key], 'reading %s' % key)
        return out.strip()

    def repack(self, key, version, directory):
        """Rebuild the installed package from its files, control data and maintainer scripts."""
        rc, control, err = self._run(['dpkg-query', '-s', key], environ_update=ENV)
        rc_files, listing, dummy = self._run(['dpkg-query', '-L', key], environ_update=ENV)
        if rc != 0 or rc_files != 0:
            return None, 'dpkg-query cannot describe %s: %s' % (key, err.strip())
        tree = os.path.join(directory, 'repack-' + key.replace(':', '_'))
        shutil.rmtree(tree, ignore_errors=True)
        os.makedirs(os.path.join(tree, 'DEBIAN'))
        os.chmod(tree, 0o755)
        os.chmod(os.path.join(tree, 'DEBIAN'), 0o755)
        missing = []
        for path in listing.splitlines():
            if not path.startswith('/') or path == '/.':
                continue       # diversion notes
            if not copy_into(path, tree):
                missing.append(path)
        if missing:
            shutil.rmtree(tree, ignore_errors=True)
            return None, 'cannot rebuild %s %s: %d of its files are gone (%s)' % (
                key, version, len(missing), ', '.join(missing[:3]))
        with open(os.path.join(tree, 'DEBIAN', 'control'), 'w') as handle:
            handle.write(control_without_status(control))
        prefix = os.path.join(INFO_DIR, key if os.path.exists(os.path.join(INFO_DIR, key + '.list'))
                              else key.split(':')[0])
        for part in MAINTAINER_FILES:
            if os.path.exists('%s.%s' % (prefix, part)):
                shutil.copy2('%s.%s' % (prefix, part), os.path.join(tree, 'DEBIAN', part))
        target = os.path.join(directory, '%s_%s_repacked.deb' % (key.replace(':', '_'), version.replace(':', '%3a')))
        rc, out, err = self._run(['dpkg-deb', '-Zgzip', '--build', tree, target], environ_update=ENV)
        shutil.rmtree(tree, ignore_errors=True)
        if rc != 0:
            return None, 'dpkg-deb could not rebuild %s: %s' % (key, (err or out).strip()[-300:])
        return 'repacked', target

    def undo(self, record, current, touched, kept, warn):
        """Install the recorded version of every touched package (the kept .deb where there is one),
        remove the ones the transaction added. Returns how it rolled back."""
        args = []
        for key in sorted(touched):
            version = (record['installed_before'].get(key) or [None])[0]
            path = kept.get(key, {}).get(version)
            if version is None:
                args.append(key + '-')
            elif path and os.path.isfile(path):
                args.append(path)
            else:
                args.append('%s=%s' % (key, version))
        self.run(('apt-get', '-y', '-q', '--allow-downgrades') + self.options + ('install',) + tuple(args),
                 'rolling back (apt-get install --allow-downgrades)')
        return 'reinstall of the recorded versions'


def control_without_status(text):
    """`dpkg-query -s` output made into a DEBIAN/control file (status-only fields removed)."""
    keep, lines = True, []
    for line in text.splitlines():
        if line and not line[0].isspace():
            keep = line.split(':', 1)[0] not in CONTROL_SKIP
        if keep and line.strip():
            lines.append(line)
    return '\n'.join(lines) + '\n'


def copy_into(path, tree):
    """Copy one installed path (directory, symlink or file) into `tree`, keeping mode and owner."""
    target = tree + path
    try:
        info = os.lstat(path)
    except OSError:
        return False
    parent = os.path.dirname(target)
    if not os.path.isdir(parent):
        os.makedirs(parent)
    if os.path.islink(path):
        os.symlink(os.readlink(path), target)
    elif os.path.isdir(path):
        if not os.path.isdir(target):
            os.mkdir(target)
        shutil.copystat(path, target)
    else:
        shutil.copy2(path, target)
    os.lchown(target, info.st_uid, info.st_gid)
    return True
