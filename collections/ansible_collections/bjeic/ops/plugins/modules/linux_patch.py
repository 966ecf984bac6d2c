#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_patch
short_description: Plan, apply and roll back OS package updates on a Linux host as a recorded transaction
version_added: 0.1.0
description:
  - C(state=planned) lists the available updates (name, current and candidate version, repository,
    security flag) and changes nothing.
  - C(state=applied) installs them and records a transaction on the host under O(state_dir) (root
    only) - the installed package set before and after, the time, the snapshot - and returns its id
    as the rollback handle. The record is written before the package manager runs and again when it
    returns, so a run that dies half-way leaves a record that says so.
  - C(state=rolled_back) puts the recorded transaction back. With apt it installs the recorded
    versions again (downgrades allowed for those packages only) and removes packages the
    transaction added; because Debian-style archives drop old versions, applied keeps a .deb of
    every version it replaces beforehand - from apt's cache, from the repository, or rebuilt from
    the installed files as dpkg-repack does. With dnf it runs C(dnf history undo) of the recorded
    dnf transaction and falls back to versioned downgrades, installs and removals. Either way the
    result is read back with C(dpkg-query) / C(rpm -qa) and a difference is an error.
  - With O(snapshot), a btrfs or LVM snapshot of O(snapshot_mount) is taken before applying and
    rollback reverts to it at the next boot (btrfs - the snapshot becomes the default subvolume;
    LVM - C(lvconvert --merge)), after the live package rollback.
  - Refuses with a clear message, before changing anything, when the package manager is locked or
    unhealthy, a repository is unreachable, free space is short, an earlier transaction on the
    host never finished, or a replaced version could not be kept for rollback.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Check mode is C(state=planned) for apply, and reports what a rollback would change.
  diff_mode:
    support: full
    description: Applied and rolled back return the changed packages with their versions as a diff.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with apt (Debian, Ubuntu, UOS) or dnf/yum (RHEL, CentOS, Kylin, openEuler).
options:
  state:
    description:
      - C(planned) lists updates, C(applied) installs them, C(rolled_back) restores O(transaction_id).
    type: str
    choices: [planned, applied, rolled_back]
    default: planned
  names:
    description:
      - Packages to update, as names or shell patterns (C(openssl*)). Default - every upgradable package.
    type: list
    elements: str
    default: []
  exclude:
    description: Packages never to update, as names or shell patterns.
    type: list
    elements: str
    default: []
  security_only:
    description:
      - Only updates the package manager knows to be security fixes (apt - from a security
        repository; dnf - from an updateinfo advisory of type security).
    type: bool
    default: false
  transaction_id:
    description:
      - The transaction to roll back (as returned by C(state=applied)), or C(latest) for the newest
        one on the host that is not rolled back yet. Required with C(state=rolled_back).
    type: str
  snapshot:
    description:
      - Take a file-system snapshot of O(snapshot_mount) before applying. C(auto) takes one when the
        file system allows it (btrfs, or an LVM logical volume) and says so when it does not.
    type: str
    choices: [none, auto, btrfs, lvm]
    default: none
  snapshot_mount:
    description: The mount point to snapshot (the file system holding the packages' files).
    type: path
    default: /
  lvm_snapshot_size:
    description: Size of an LVM snapshot, as lvcreate takes it (C(10G)) or in extents (C(20%ORIGIN)).
    type: str
    default: 20%ORIGIN
  revert_snapshot:
    description: On rollback, also revert to the transaction's snapshot (effective at the next boot).
    type: bool
    default: true
  backend:
    description: The package manager. C(auto) picks dnf on RHEL-family hosts, else apt, else dnf or yum.
    type: str
    choices: [auto, apt, dnf, yum]
    default: auto
  update_cache:
    description: Refresh the package lists before planning (also in check mode - it changes no package).
    type: bool
    default: true
  min_free_mb:
    description: Refuse to apply when C(/), C(/var) or C(/usr) has less free space than this (MiB).
    type: int
    default: 500
  lock_timeout:
    description: Seconds to wait for another apt/dpkg run to release the lock before giving up.
    type: int
    default: 60
  allow_irreversible:
    description:
      - Apply even when an old version could not be kept for rollback and no snapshot is taken.
        Off by default - an update that cannot be undone is refused and the packages are named.
    type: bool
    default: false
  allow_removals:
    description: Apply even when the update would remove installed packages (they are listed either way).
    type: bool
    default: false
  state_dir:
    description: Where transactions are recorded on the host (created root-only).
    type: path
    default: /var/lib/bjeic-ops/patch
notes:
  - Runs as root (C(become=true)).
  - Keeps configuration files an administrator edited (dpkg C(--force-confold)).
  - A snapshot revert needs a reboot; the result says C(reboot_required=true). For btrfs the root
    must be mounted without an explicit C(subvol=) in C(/etc/fstab) (as snapper sets it up),
    otherwise the default subvolume is ignored at boot.
seealso:
  - module: ansible.builtin.apt
  - module: ansible.builtin.dnf
'''

EXAMPLES = r'''
- name: List the security updates without changing anything
  bjeic.ops.linux_patch:
    state: planned
    security_only: true
  register: plan

- name: Apply every update but the kernel, with a snapshot where the file system allows one
  bjeic.ops.linux_patch:
    state: applied
    exclude: ['linux-image-*', 'kernel*']
    snapshot: auto
  register: patch

- name: Roll the transaction back
  bjeic.ops.linux_patch:
    state: rolled_back
    transaction_id: "{{ patch.transaction_id }}"
'''

RETURN = r'''
backend:
  description: The package manager used.
  returned: always
  type: str
  sample: apt
updates:
  description: Updates selected by names, exclude and security_only, C({name, current, candidate, repository, arch, security}).
  returned: always
  type: list
  elements: dict
  sample:
    - name: openssl
      current: 3.0.11-1~deb12u1
      candidate: 3.0.11-1~deb12u2
      repository: "Debian-Security:12/stable-security"
      arch: amd64
      security: true
new_packages:
  description: Packages the selected updates would install as new dependencies (apt).
  returned: always
  type: list
  elements: dict
removals:
  description: Installed packages the selected updates would remove, C({name, current}).
  returned: always
  type: list
  elements: dict
transaction_id:
  description: The transaction applied or rolled back; null when nothing was applied.
  returned: always
  type: str
  sample: 20261126T101500Z-1a2b3c
packages:
  description: What changed, C({name, before, after}) (null for a package that was absent).
  returned: always
  type: list
  elements: dict
  sample: [{name: bjeic-demo-lib, before: 1.0-1, after: 1.1-1}]
reboot_required:
  description: A reboot is needed - a kernel, libc, systemd or similar package changed, the OS flags one, or a snapshot revert waits for it.
  returned: always
  type: bool
services_restart:
  description: systemd units still running a replaced library or binary (from /proc); restart them.
  returned: always
  type: list
  elements: str
snapshot:
  description: The snapshot taken before applying (or reverted on rollback), C({type, mount, path | vg, lv, name, command}).
  returned: always
  type: dict
changes:
  description: One C({object, action, before, after}) per package changed.
  returned: always
  type: list
  elements: dict
rollback:
  description: The handle that undoes this transaction, C({id, how}) where C(how) runs this module with C(state=rolled_back); null otherwise.
  returned: always
  type: dict
  sample: {id: 20261126T101500Z-1a2b3c, how: {module: bjeic.ops.linux_patch, args: {state: rolled_back, transaction_id: 20261126T101500Z-1a2b3c}}}
findings:
  description: C(patch.updates_available), C(patch.security_updates), C(patch.reboot_required), C(patch.unfinished_transaction), C(patch.snapshot_unavailable).
  returned: always
  type: list
  elements: dict
ledger:
  description: One item of kind os, key C(patch:HOST), with the pending update counts and the last transaction.
  returned: always
  type: list
  elements: dict
'''

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding
from ansible_collections.bjeic.ops.plugins.module_utils import patch_snapshot
from ansible_collections.bjeic.ops.plugins.module_utils.patch_apt import AptBackend
from ansible_collections.bjeic.ops.plugins.module_utils.patch_dnf import DnfBackend
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import (
    PatchError, Transactions, changes_of, diff_of, mismatches, now, reboot_needed_by, select, services_needing_restart,
    set_diff)

RHEL_LIKE = ('rhel', 'fedora', 'centos', 'kylin', 'openeuler', 'anolis', 'rocky', 'almalinux')


def os_release_ids():
    ids = set()
    try:
        with open('/etc/os-release') as handle:
            for line in handle:
                key, dummy, value = line.strip().partition('=')
                if key in ('ID', 'ID_LIKE'):
                    ids.update(value.strip('"\'').lower().split())
    except (IOError, OSError):
        pass
    return ids


BINARIES = {'apt': 'apt-get', 'dnf': 'dnf', 'yum': 'yum'}


def pick_backend(module, wanted, run):
    found = dict((backend, module.get_bin_path(binary)) for backend, binary in BINARIES.items())
    if wanted == 'auto':
        rhel = bool(os_release_ids() & set(RHEL_LIKE))
        order = ('dnf', 'yum', 'apt') if rhel else ('apt', 'dnf', 'yum')
        wanted = next((backend for backend in order if found[backend]), None)
        if wanted is None:
            raise PatchError('this host has neither apt-get nor dnf/yum: linux_patch supports Debian- and RHEL-family hosts')
    if not found[wanted]:
        raise PatchError('backend=%s but this host has no %s' % (wanted, BINARIES[wanted]))
    if wanted == 'apt':
        return AptBackend(run, module.params['lock_timeout'])
    return DnfBackend(run, command=found[wanted])


def check_free_space(min_free_mb):
    short = []
    for path in ('/', '/var', '/usr'):
        if not os.path.isdir(path):
            continue
        info = os.statvfs(path)
        free_mb = info.f_bavail * info.f_frsize // (1024 * 1024)
        if free_mb < min_free_mb:
            short.append('%s has %d MiB free' % (path, free_mb))
    if short:
        raise PatchError('not enough disk space to patch (min_free_mb=%d): %s. Free space first (apt-get clean / '
                         'dnf clean all, old logs). Nothing was changed.' % (min_free_mb, ', '.join(short)))


class Patcher(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.host = socket.gethostname()
        self.backend = pick_backend(module, self.params['backend'], self.run)
        self.store = Transactions(self.params['state_dir'], module)
        self.result = dict(changed=False, backend=self.backend.name, updates=[], new_packages=[], removals=[],
                           transaction_id=None, packages=[], reboot_required=False, services_restart=[],
                           snapshot=None, changes=[], rollback=None, findings=[], ledger=[])

    def run(self, args, environ_update=None, cwd=None):
        return self.module.run_command(args, environ_update=environ_update, cwd=cwd)

    def handle(self, txn_id):
        return contract.rollback(txn_id, 'bjeic.ops.linux_patch', {'state': 'rolled_back', 'transaction_id': txn_id})

    # ---------------------------------------------------------------- plan
    def plan(self):
        result, params = self.result, self.params
        unfinished = self.store.unfinished()
        for txn_id in unfinished:
            result['findings'].append(finding(
                'patch.unfinished_transaction', 'critical', txn_id,
                'transaction %s on %s never finished (the run died while the package manager ran); check '
                '`dpkg --audit` / `dnf check`, then roll it back with state=rolled_back' % (txn_id, self.host)))
        self.backend.health()
        if params['update_cache']:
            self.backend.refresh()
        available, dummy = self.backend.available()
        chosen = select(available, params['names'], params['exclude'], params['security_only'])
        new, removals = [], []
        if chosen:   # what installing exactly these does, with the dependencies they pull in
            chosen, new, removals = self.backend.simulate(chosen)
        result.update(updates=chosen, new_packages=new, removals=removals)
        security = [u for u in available if u.get('security')]
        if available:
            result['findings'].append(finding(
                'patch.updates_available', 'info', self.host, '%d update(s) available on %s' % (len(available), self.host),
                value=len(available)))
        if security:
            result['findings'].append(finding(
                'patch.security_updates', 'warning', self.host, '%d security update(s) pending on %s: %s'
                % (len(security), self.host, ', '.join(u['name'] for u in security[:10])), value=len(security)))
        if self.backend.reboot_flagged():
            result['findings'].append(finding('patch.reboot_required', 'warning', self.host,
                                              '%s waits for a reboot to finish earlier updates' % self.host, value=True))
        result['ledger'] = [contract.ledger_item('os', contract.key('patch', self.host), {
            'hostname': self.host, 'backend': self.backend.name,
            'last_transaction': (self.store.ids() or [None])[-1],
            'state': {'pending': len(available), 'pending_security': len(security),
                      'unfinished_transactions': len(unfinished)}})]
        return unfinished

    # ---------------------------------------------------------------- apply
    def apply(self):
        result, params = self.result, self.params
        unfinished = self.plan()
        if self.module.check_mode or params['state'] == 'planned':
            result['changed'] = params['state'] == 'applied' and bool(result['updates'])
            return
        if unfinished:
            raise PatchError('transaction %s on this host never finished; roll it back first (state=rolled_back '
                             'transaction_id=%s). Nothing was changed.' % (unfinished[-1], unfinished[-1]))
        if not result['updates']:
            result['msg'] = 'no update to apply on %s' % self.host
            return
        if result['removals'] and not params['allow_removals']:
            raise PatchError('the update would remove %s; set allow_removals=true to accept, or exclude the packages '
                             'that need it. Nothing was changed.'
                             % ', '.join('%s %s' % (r['name'], r['current']) for r in result['removals']))
        check_free_space(params['min_free_mb'])
        self.backend.wait_for_lock()
        before = self.backend.installed()
        names = [u['name'] for u in result['updates']]
        record = self.store.create({'state': 'preparing', 'host': self.host, 'backend': self.backend.name,
                                    'selection': names, 'installed_before': before, 'snapshot': None,
                                    'kept': {}})
        try:
            self.keep_for_rollback(record, before)
            snapshot_kind = self.snapshot_kind()
            if snapshot_kind:
                record['snapshot'] = patch_snapshot.create(self.run, snapshot_kind, params['snapshot_mount'], record['id'],
                                                           params['lvm_snapshot_size'])
            self.refuse_irreversible(record)
        except (PatchError, OSError) as exc:
            self.store.discard(record)   # nothing changed yet: leave no transaction behind
            raise PatchError(to_native(exc))
        record.update(state='applying', started=now(), history_before=self.backend.history_last())
        self.store.save(record)
        error = None
        try:
            self.backend.apply(names)
        except PatchError as exc:
            error = to_native(exc)
        after = self.backend.installed()
        rows = set_diff(before, after)
        if error and not rows:
            self.store.discard(record)   # the package manager changed nothing: no transaction to undo
            raise PatchError('%s. No package changed; no transaction was recorded.' % error)
        record.update(installed_after=after, packages=rows, finished=now(), state='failed' if error else 'applied',
                      error=error)
        last = self.backend.history_last()
        record['history_id'] = last if last and last > (record['history_before'] or 0) else None
        self.store.save(record)
        result.update(transaction_id=record['id'], packages=rows, changes=changes_of(rows), changed=bool(rows),
                      snapshot=record['snapshot'], rollback=self.handle(record['id']),
                      services_restart=services_needing_restart())
        result['reboot_required'] = bool(reboot_needed_by(rows)) or self.backend.reboot_flagged()
        if self.module._diff:
            result['diff'] = diff_of(rows)
        if error:
            raise PatchError('%s. Transaction %s recorded what changed (%d package(s)); roll it back with '
                             'state=rolled_back transaction_id=%s' % (error, record['id'], len(rows), record['id']))
        result['msg'] = 'applied %d package change(s) on %s as transaction %s' % (len(rows), self.host, record['id'])

    def keep_for_rollback(self, record, before):
        """Keep every version this transaction replaces, while it can still be had."""
        directory = os.path.join(self.store.path(record['id']), 'packages')
        for update in self.result['updates'] + self.result['removals']:
            key = update['name']
            for version in before.get(key, []):
                source, detail = self.backend.keep_for_rollback(key, version, directory)
                record['kept'].setdefault(key, {})[version] = {'source': source, 'path': detail if source else None,
                                                               'problem': None if source else detail}
        self.store.save(record)

    def refuse_irreversible(self, record):
        lost = ['%s %s (%s)' % (key, version, kept['problem'])
                for key, versions in sorted(record['kept'].items()) for version, kept in versions.items()
                if not kept['source']]
        if lost and not record['snapshot'] and not self.params['allow_irreversible']:
            raise PatchError('these versions could not be kept for rollback: %s. Take a snapshot (snapshot=auto) or '
                             'accept with allow_irreversible=true. Nothing was changed.' % '; '.join(lost))

    def snapshot_kind(self):
        wanted = self.params['snapshot']
        if wanted == 'none':
            return None
        if wanted != 'auto':
            return wanted
        kind = patch_snapshot.detect(self.run, self.params['snapshot_mount'])
        if not kind:
            self.result['findings'].append(finding(
                'patch.snapshot_unavailable', 'info', self.params['snapshot_mount'],
                '%s is neither btrfs nor an LVM volume: no snapshot taken (snapshot=auto)' % self.params['snapshot_mount']))
        return kind

    # ---------------------------------------------------------------- rollback
    def rollback(self):
        result, params = self.result, self.params
        record = self.store.load(params['transaction_id'])
        result.update(transaction_id=record['id'], snapshot=record.get('snapshot'))
        if record['state'] == 'rolled_back':
            result['msg'] = 'transaction %s was already rolled back on %s' % (record['id'], record.get('rolled_back'))
            return
        if record['state'] not in ('applied', 'failed', 'applying'):
            raise PatchError('transaction %s is in state %s: there is nothing to roll back' % (record['id'], record['state']))
        if record['backend'] != self.backend.name:
            raise PatchError('transaction %s was made with %s; this run uses %s (set backend=%s)'
                             % (record['id'], record['backend'], self.backend.name, record['backend']))
        before = record['installed_before']
        current = self.backend.installed()
        planned = set_diff(current, before)
        if record.get('packages') is not None:
            # Only what this transaction changed: later changes by others (another transaction) stay.
            ours = set(row['name'] for row in record['packages'])
            planned = [row for row in planned if row['name'] in ours]
        touched = set(row['name'] for row in planned)
        if self.module.check_mode:
            result.update(changed=bool(planned) or bool(record.get('snapshot') and params['revert_snapshot']),
                          packages=planned, changes=changes_of(planned, 'rollback'))
            return
        method = None
        if planned:
            kept = dict((key, dict((v, k['path']) for v, k in versions.items() if k['path']))
                        for key, versions in record['kept'].items())
            method = self.backend.undo(record, current, touched, kept, self.module.warn)
        after = self.backend.installed()
        wrong = mismatches(before, after, touched)
        rows = set_diff(current, after)
        result.update(packages=rows, changes=changes_of(rows, 'rollback'), changed=bool(rows))
        if wrong:
            record.update(state='rollback_failed', rollback_error=wrong)
            self.store.save(record)
            found = '; '.join('%(name)s is %(found)s, expected %(expected)s' % w for w in wrong)
            raise PatchError('rollback of %s left %d package(s) at the wrong version: %s' % (record['id'], len(wrong), found))
        reverted = None
        if record.get('snapshot') and params['revert_snapshot']:
            reverted = patch_snapshot.revert(self.run, record['snapshot'])
            result['changed'] = True
        record.update(state='rolled_back', rolled_back=now(), rollback_method=method, snapshot_reverted=reverted)
        self.store.save(record)
        result['reboot_required'] = bool(reverted) or bool(reboot_needed_by(rows))
        result['services_restart'] = services_needing_restart()
        if self.module._diff:
            result['diff'] = diff_of(rows)
        result['msg'] = 'rolled back transaction %s on %s (%d package change(s), %s)%s' % (
            record['id'], self.host, len(rows), method or 'packages already at the recorded versions',
            '; the %s snapshot becomes active at the next boot' % record['snapshot']['type'] if reverted else '')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['planned', 'applied', 'rolled_back'], default='planned'),
            names=dict(type='list', elements='str', default=[]),
            exclude=dict(type='list', elements='str', default=[]),
            security_only=dict(type='bool', default=False),
            transaction_id=dict(type='str'),
            snapshot=dict(type='str', choices=['none', 'auto', 'btrfs', 'lvm'], default='none'),
            snapshot_mount=dict(type='path', default='/'),
            lvm_snapshot_size=dict(type='str', default='20%ORIGIN'),
            revert_snapshot=dict(type='bool', default=True),
            backend=dict(type='str', choices=['auto', 'apt', 'dnf', 'yum'], default='auto'),
            update_cache=dict(type='bool', default=True),
            min_free_mb=dict(type='int', default=500),
            lock_timeout=dict(type='int', default=60),
            allow_irreversible=dict(type='bool', default=False),
            allow_removals=dict(type='bool', default=False),
            state_dir=dict(type='path', default='/var/lib/bjeic-ops/patch'),
        ),
        required_if=[('state', 'rolled_back', ['transaction_id'])],
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg='linux_patch must run as root (become: true): it installs packages and keeps root-only records')
    try:
        patcher = Patcher(module)
    except PatchError as exc:
        module.fail_json(msg=to_native(exc))
    try:
        if module.params['state'] == 'rolled_back':
            patcher.rollback()
        else:
            patcher.apply()
    except (PatchError, OSError) as exc:
        result = patcher.result
        result.pop('msg', None)
        module.fail_json(msg='%s on %s: %s' % (module.params['state'].replace('_', ' '), patcher.host, to_native(exc)),
                         **result)
    module.exit_json(**patcher.result)


if __name__ == '__main__':
    main()
