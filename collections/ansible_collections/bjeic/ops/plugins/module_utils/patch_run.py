# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One patch run of linux_patch: the package manager this host has (linux_packages), the plan, the
apply in a recorded transaction with the versions it replaced kept, the commit that releases its snapshot, and the
rollback of a transaction."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket

from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding
from ansible_collections.bjeic.ops.plugins.module_utils import patch_snapshot
from ansible_collections.bjeic.ops.plugins.module_utils.linux_packages import pick_backend
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import (
    UNDOABLE_STATES, PatchError, Transactions, changes_of, diff_of, mismatches, now, reboot_needed_by, select,
    services_needing_restart, set_diff)


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
        self.backend = pick_backend(module, self.params['backend'], self.run, self.params['lock_timeout'])
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
        for record in self.store.records(('applied',)):
            if record.get('snapshot'):
                result['findings'].append(finding(
                    'patch.snapshot_held', 'warning', record['id'],
                    'transaction %s on %s (applied %s) still holds its %s snapshot: once the patch is accepted, '
                    'release it with state=committed (an LVM snapshot slows writes and is lost when it fills)'
                    % (record['id'], self.host, record.get('finished'), record['snapshot']['type'])))
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

    # ---------------------------------------------------------------- commit
    def commit(self):
        """Accept an applied transaction: release its snapshot. Its packages can still be rolled back."""
        result = self.result
        record = self.store.load(self.params['transaction_id'], latest_of=('applied',), doing='committed')
        snapshot = record.get('snapshot')
        result.update(transaction_id=record['id'], snapshot=snapshot)
        if record['state'] == 'committed':
            result['msg'] = 'transaction %s was already committed on %s (%s)' % (record['id'], self.host,
                                                                                 record.get('committed'))
            return
        if record['state'] != 'applied':
            raise PatchError('transaction %s is in state %s: only an applied transaction can be committed%s'
                             % (record['id'], record['state'], ' (roll it back first)' if record['state'] in
                                ('failed', 'applying') else ''))
        released = patch_snapshot.release(self.run, snapshot, self.module.check_mode) if snapshot else None
        packages_still = 'its packages can still be rolled back (state=rolled_back transaction_id=%s)' % record['id']
        changes = [contract.change('patch transaction %s' % record['id'], 'committed', 'applied', 'committed',
                                   irreversible='a commit is final; ' + packages_still)]
        if released:
            changes.append(contract.change(
                '%s snapshot %s' % (snapshot['type'], snapshot.get('path') or '%s/%s' % (snapshot['vg'], snapshot['name'])),
                'released', 'present', None, irreversible='a released snapshot cannot be taken back; ' + packages_still))
        result.update(changed=True, changes=changes)
        if self.module._diff:
            result['diff'] = {'before': 'state: applied\n', 'after': 'state: committed\n'}
        if self.module.check_mode:
            return
        record.update(state='committed', committed=now(), snapshot_released=released)
        self.store.save(record)
        result['msg'] = 'committed transaction %s on %s%s' % (
            record['id'], self.host, '; released its %s snapshot' % snapshot['type'] if released else
            '; its snapshot was already gone' if snapshot else '')

    # ---------------------------------------------------------------- rollback
    def rollback(self):
        result, params = self.result, self.params
        record = self.store.load(params['transaction_id'])
        result.update(transaction_id=record['id'], snapshot=record.get('snapshot'))
        if record['state'] == 'rolled_back':
            result['msg'] = 'transaction %s was already rolled back on %s' % (record['id'], record.get('rolled_back'))
            return
        if record['state'] not in UNDOABLE_STATES:
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
        # A committed transaction's snapshot was released: only its packages can go back.
        revert = bool(record.get('snapshot') and params['revert_snapshot'] and record['state'] != 'committed')
        if self.module.check_mode:
            result.update(changed=bool(planned) or revert,
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
        if revert:
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
            '; the %s snapshot becomes active at the next boot' % record['snapshot']['type'] if reverted else
            '; its snapshot was released when it was committed, so the file system stays as it is'
            if record.get('snapshot_released') else '')
