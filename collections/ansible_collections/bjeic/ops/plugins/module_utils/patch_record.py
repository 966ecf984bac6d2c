# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Patch transactions as recorded on the host, and the package-set arithmetic around them.

A transaction is a root-only directory `<root>/<id>/` with `record.json` and the package files
kept for rollback (`packages/`). The record is written before anything changes (state
`applying`) and rewritten when the package manager returns, so a run that dies half-way still
leaves a record that says so. States: applying -> applied | failed -> rolled_back.

Package sets are {key: [version, ...]}: the key is what the package manager installs by (dpkg's
binary:Package, rpm's name.arch), with a list because rpm keeps several kernels side by side.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import json
import os
import re
import shutil
import time

from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import new_backup_id, write_atomic

OPEN_STATES = ('applying',)
UNDOABLE_STATES = ('applied', 'failed', 'applying', 'committed')
# Packages whose new version only takes effect after a reboot (dnf needs-restarting's list, and
# Debian's kernel and init packages).
REBOOT_PACKAGES = ('kernel', 'kernel-core', 'kernel-rt', 'linux-image-*', 'linux-firmware', 'glibc', 'libc6',
                   'systemd', 'udev', 'dbus', 'dbus-broker', 'openssl-libs', 'libssl*', 'gnutls')


class PatchError(Exception):
    """The patch run cannot go on; the message says why and what to do. Nothing was changed unless
    the message says so."""


def now():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def package_name(key):
    """The bare name of a package key (`libc6:amd64` -> libc6, `kernel.x86_64` -> kernel)."""
    if ':' in key:
        return key.split(':', 1)[0]
    return key.rsplit('.', 1)[0] if '.' in key else key


def matches(key, patterns):
    name = package_name(key)
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(key, p) for p in patterns)


def select(updates, names, exclude, security_only):
    """The updates a run applies: named (glob patterns, default all), minus excluded, minus
    non-security ones when asked."""
    chosen = []
    for update in updates:
        if names and not matches(update['name'], names):
            continue
        if exclude and matches(update['name'], exclude):
            continue
        if security_only and not update.get('security'):
            continue
        chosen.append(update)
    return chosen


def set_diff(before, after):
    """[{name, before, after}] for every key whose versions differ; versions joined with ', '."""
    rows = []
    for key in sorted(set(before) | set(after)):
        old, new = sorted(before.get(key, [])), sorted(after.get(key, []))
        if old != new:
            rows.append({'name': key, 'before': ', '.join(old) or None, 'after': ', '.join(new) or None})
    return rows


def action_of(row):
    if row['before'] is None:
        return 'install'
    if row['after'] is None:
        return 'remove'
    return 'upgrade'


def changes_of(rows, verb=None):
    return [{'object': 'package:%s' % row['name'], 'action': verb or action_of(row),
             'before': row['before'], 'after': row['after']} for row in rows]


def diff_of(rows):
    return {'before': ''.join('%s %s\n' % (r['name'], r['before']) for r in rows if r['before']),
            'after': ''.join('%s %s\n' % (r['name'], r['after']) for r in rows if r['after']),
            'before_header': 'installed packages', 'after_header': 'installed packages'}


def mismatches(expected, current, keys):
    """Keys whose versions now differ from `expected`: [{name, expected, found}]."""
    out = []
    for key in sorted(keys):
        want, have = sorted(expected.get(key, [])), sorted(current.get(key, []))
        if want != have:
            out.append({'name': key, 'expected': ', '.join(want) or 'absent', 'found': ', '.join(have) or 'absent'})
    return out


def reboot_needed_by(rows):
    return sorted(r['name'] for r in rows if matches(r['name'], REBOOT_PACKAGES))


_DELETED_LIB = re.compile(r'\s(/(?:usr/)?(?:lib|lib64|bin|sbin|libexec)\S*) \(deleted\)$')


def services_needing_restart(proc='/proc'):
    """systemd units whose processes still map a deleted (replaced) library or binary."""
    units = set()
    for pid in os.listdir(proc):
        if not pid.isdigit():
            continue
        try:
            with open(os.path.join(proc, pid, 'maps')) as handle:
                stale = any(_DELETED_LIB.search(line.rstrip('\n')) for line in handle)
            if not stale:
                continue
            with open(os.path.join(proc, pid, 'cgroup')) as handle:
                for line in handle:
                    unit = line.rstrip('\n').rsplit('/', 1)[-1]
                    if unit.endswith('.service'):
                        units.add(unit)
                        break
        except (IOError, OSError):   # the process ended, or is not ours to read
            continue
    return sorted(units)


class Transactions(object):
    """The transaction records under one root directory."""

    def __init__(self, root, module):
        self.root = root
        self.module = module   # the AnsibleModule: its atomic_move writes the records

    def path(self, txn_id):
        return os.path.join(self.root, txn_id)

    def create(self, record):
        if not os.path.isdir(self.root):
            os.makedirs(self.root, 0o700)
        os.chmod(self.root, 0o700)
        record['id'] = new_backup_id()
        os.mkdir(self.path(record['id']), 0o700)
        os.mkdir(os.path.join(self.path(record['id']), 'packages'), 0o700)
        record.setdefault('created', now())
        self.save(record)
        return record

    def save(self, record):
        data = json.dumps(record, indent=1, sort_keys=True).encode('utf-8')
        write_atomic(self.module, os.path.join(self.path(record['id']), 'record.json'), data, mode=0o600)

    def discard(self, record):
        """Remove a transaction that changed nothing (refused before the package manager ran)."""
        shutil.rmtree(self.path(record['id']), ignore_errors=True)

    def ids(self):
        if not os.path.isdir(self.root):
            return []
        return sorted(name for name in os.listdir(self.root)
                      if os.path.isfile(os.path.join(self.root, name, 'record.json')))

    def load(self, txn_id, latest_of=UNDOABLE_STATES, doing='rolled back'):
        """The record of `txn_id`; `latest` is the newest transaction in one of the states `latest_of`."""
        known = self.ids()
        if txn_id == 'latest':
            candidates = [i for i in known if self._state(i) in latest_of]
            if not candidates:
                raise PatchError('no transaction on this host can be %s (under %s: %s)'
                                 % (doing, self.root, ', '.join(known[-5:]) or 'none'))
            txn_id = candidates[-1]
        if not txn_id or '/' in txn_id or txn_id.startswith('.') or txn_id not in known:
            raise PatchError('transaction %s is unknown on this host; transactions under %s: %s'
                             % (txn_id, self.root, ', '.join(known[-10:]) or 'none'))
        path = os.path.join(self.path(txn_id), 'record.json')
        try:
            with open(path) as handle:
                return json.load(handle)
        except ValueError as exc:
            raise PatchError('the record of transaction %s (%s) is corrupt (%s): nothing was changed; '
                             'compare the installed packages by hand' % (txn_id, path, exc))

    def _read(self, txn_id):
        """The record, or None when it cannot be read."""
        try:
            with open(os.path.join(self.path(txn_id), 'record.json')) as handle:
                return json.load(handle)
        except (IOError, OSError, ValueError):
            return None

    def _state(self, txn_id):
        record = self._read(txn_id)
        return record.get('state') if record is not None else 'corrupt'

    def records(self, states):
        """The records of the transactions in one of `states`, oldest first (each file read once)."""
        return [record for record in (self._read(i) for i in self.ids())
                if record is not None and record.get('state') in states]

    def unfinished(self):
        """Transactions a killed run left in state applying."""
        return [i for i in self.ids() if self._state(i) in OPEN_STATES]
