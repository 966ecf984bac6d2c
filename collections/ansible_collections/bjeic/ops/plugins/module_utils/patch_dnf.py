# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dnf backend of linux_patch (RHEL, CentOS, Kylin, openEuler; yum on dnf-based releases).

Plans with `dnf repoquery --upgrades` (with `--security` from the repositories' updateinfo),
applies with `dnf upgrade` of exactly the planned name.arch, and rolls back with
`dnf history undo` of the recorded dnf transaction, falling back to versioned downgrades,
installs and removals when the history cannot be undone. Before applying it keeps the rpm of
every version it replaces (`dnf download`) while the repository still has it.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible_collections.bjeic.ops.plugins.module_utils.contract import C_LOCALE
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError, mismatches

ENV = C_LOCALE
# A repository that cannot be reached is an error, not a silent skip (some dnf.conf set it True).
STRICT = '--setopt=skip_if_unavailable=False'
QUERY_FORMAT = '%{name}.%{arch}\t%{evr}\t%{repoid}\n'
_HISTORY_ROW = re.compile(r'^\s*(\d+)\s*\|', re.M)


def explain(action, out, err):
    text = (err or '') + (out or '')
    if 'Waiting for process with pid' in text or 'another copy is running' in text.lower():
        return PatchError('%s: the package manager is locked by another dnf/yum run. Wait for it or stop it, then '
                          'run again. Nothing was changed.' % action)
    repos = re.findall(r"Failed to download metadata for repo '([^']+)'|Cannot download repomd.xml.*?repo '?([\w.-]+)",
                       text)
    if repos or 'Curl error' in text:
        names = sorted(set(a or b for a, b in repos)) or ['?']
        return PatchError('%s: repository unreachable (%s). Check the host\'s repository files and its route to '
                          'the mirror. Nothing was changed.' % (action, ', '.join(names)))
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(('Error', 'Problem', '- '))]
    return PatchError('%s failed: %s' % (action, ' | '.join(lines or text.strip().splitlines()[-5:])[-1500:]))


def nevra(key, version):
    """name.arch + [epoch:]version-release -> name-[epoch:]version-release.arch (what dnf accepts)."""
    name, dummy, arch = key.rpartition('.')
    return '%s-%s.%s' % (name, version, arch)


class DnfBackend(object):
    name = 'dnf'

    def __init__(self, run, command='dnf'):
        self._run = run
        self.command = command

    def run(self, args, action, cwd=None, ok=(0,)):
        rc, out, err = self._run(list(args), environ_update=ENV, cwd=cwd)
        if rc not in ok:
            raise explain(action, out, err)
        return out, err

    def dnf(self, *args):
        return (self.command, '-y', '-q', STRICT, '--setopt=install_weak_deps=False') + args

    # ---------------------------------------------------------------- names (linux_harden: packages a control needs)
    def installed_names(self):
        out, dummy = self.run(['rpm', '-qa', '--qf', '%{NAME}\n'], 'reading the installed packages (rpm -qa)')
        return set(out.split())

    def is_installed(self, name):
        rc, dummy, dummy = self._run(['rpm', '-q', name], environ_update=ENV)
        return rc == 0

    def install_packages(self, names):
        self.run(self.dnf('install', *names), 'installing %s (%s install)' % (', '.join(names), self.command))

    def remove_packages(self, names):
        self.run(self.dnf('remove', *names), 'removing %s (%s remove)' % (', '.join(names), self.command))

    # ---------------------------------------------------------------- state
    def installed(self):
        out, dummy = self.run(['rpm', '-qa', '--qf', '%{NAME}.%{ARCH}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n'],
                              'reading the installed packages (rpm -qa)')
        packages = {}
        for line in out.splitlines():
            key, dummy, version = line.partition('\t')
            if key.startswith('gpg-pubkey.'):
                continue                     # imported signing keys, not packages
            packages.setdefault(key, []).append(version)
        return packages

    def health(self):
        rc, out, err = self._run([self.command, '-q', 'check'], environ_update=ENV)
        if rc != 0 or out.strip():
            raise PatchError('%s check reports problems in the rpm database: %s Repair them first. Nothing was changed.'
                             % (self.command, ' '.join((out + err).split())[:600]))

    def refresh(self):
        self.run((self.command, '-q', STRICT, 'makecache', '--refresh'), 'refreshing the repository metadata (dnf makecache)')

    def reboot_flagged(self):
        return False

    def wait_for_lock(self):
        """dnf waits for its own lock and says so; a timeout shows up as its error."""

    # ---------------------------------------------------------------- plan and apply
    def _upgrades(self, *extra):
        out, dummy = self.run((self.command, '-q', STRICT, 'repoquery', '--upgrades', '--latest-limit', '1',
                               '--qf', QUERY_FORMAT) + extra, 'listing upgrades (dnf repoquery --upgrades)')
        rows = {}
        for line in out.splitlines():
            parts = line.split('\t')
            if len(parts) == 3:
                rows[parts[0]] = {'candidate': parts[1], 'repository': parts[2]}
        return rows

    def available(self):
        upgrades, security = self._upgrades(), self._upgrades('--security')
        installed = self.installed()
        plan = []
        for key in sorted(upgrades):
            current = sorted(installed.get(key, []))
            plan.append({'name': key, 'current': current[-1] if current else None,
                         'candidate': upgrades[key]['candidate'], 'repository': upgrades[key]['repository'],
                         'arch': key.rpartition('.')[2], 'security': key in security})
        return plan, []

    def simulate(self, chosen):
        """dnf resolves dependencies at apply time; the plan is the chosen upgrades."""
        return chosen, [], []

    def history_last(self):
        rc, out, err = self._run([self.command, '-q', 'history', 'list'], environ_update=ENV)
        ids = [int(i) for i in _HISTORY_ROW.findall(out)] if rc == 0 else []
        return max(ids) if ids else 0

    def apply(self, names):
        return self.run(self.dnf('upgrade') + tuple(names), 'installing the upgrades (dnf upgrade)')

    # ---------------------------------------------------------------- rollback
    def keep_for_rollback(self, key, version, directory):
        before = set(os.listdir(directory))
        rc, out, err = self._run([self.command, '-q', 'download', '--destdir', directory, nevra(key, version)],
                                 environ_update=ENV)
        fetched = sorted(set(os.listdir(directory)) - before)
        if rc == 0 and fetched:
            return 'repository', os.path.join(directory, fetched[0])
        return None, ('%s is not in any enabled repository (dnf download: %s)'
                      % (nevra(key, version), ' '.join((err or out).split())[-200:]))

    def undo(self, record, current, touched, kept, warn):
        """`dnf history undo` of the recorded dnf transaction; when that fails or leaves a package at
        another version, versioned downgrades, installs and removals. Returns how it rolled back."""
        before, history_id = record['installed_before'], record.get('history_id')
        if history_id:
            try:
                self.run(self.dnf('history', 'undo', str(history_id)), 'rolling back (dnf history undo %s)' % history_id)
                current = self.installed()
                wrong = mismatches(before, current, touched)
                if not wrong:
                    return 'dnf history undo %s' % history_id
                problem = 'it left %s' % ', '.join('%(name)s at %(found)s' % w for w in wrong)
            except PatchError as exc:
                current = self.installed()
                problem = str(exc)
            warn('dnf history undo %s failed (%s); falling back to versioned downgrades' % (history_id, problem))
        self.downgrade(before, current, touched, kept)
        return 'versioned downgrade'

    def downgrade(self, before, current, touched, kept):
        """Bring every touched package back to its recorded versions, one dnf command per kind of step."""
        downgrade, install, remove = [], [], []
        for key in sorted(touched):
            want = [v for v in before.get(key, []) if v not in current.get(key, [])]
            drop = [v for v in current.get(key, []) if v not in before.get(key, [])]
            files = kept.get(key, {})
            for version in drop:
                remove.append(nevra(key, version))
            for version in want:
                spec = files[version] if files.get(version) and os.path.isfile(files[version]) else nevra(key, version)
                (downgrade if drop else install).append(spec)
        if downgrade:
            self.run(self.dnf('downgrade') + tuple(downgrade), 'rolling back (dnf downgrade)')
        if install:
            self.run(self.dnf('install') + tuple(install), 'rolling back (dnf install)')
        leftover = [spec for spec in remove if self._run(['rpm', '-q', spec], environ_update=ENV)[0] == 0]
        if leftover:
            self.run(self.dnf('remove') + tuple(leftover), 'rolling back (dnf remove)')
