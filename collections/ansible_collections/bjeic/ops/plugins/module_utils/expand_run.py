# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux_expand's run: plan every target first (a refusal changes nothing), then do each one's steps and read
every one back; add swap with a backup of /etc/fstab; put swap back on rollback.

Growing is one-way: each growth change carries `rollback: {irreversible: why}` instead of a handle. Swap added by
the run can be taken away again (the run's rollback handle), and only that.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings
from ansible_collections.bjeic.ops.plugins.module_utils.expand_host import ExpandError, ExpandHost, human
from ansible_collections.bjeic.ops.plugins.module_utils.expand_plan import SLACK, plan_swap, plan_target
from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import Backup, BackupError, write_atomic
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_core import DEFAULT_THRESHOLDS

ONE_WAY = ('growing a partition, physical volume, logical volume or file system is one-way: it is never shrunk '
           'back (xfs cannot shrink at all); the host backups and snapshots are the way back')
GROWTH_STEPS = {'grow_partition': 'grow partition', 'pvresize': 'pvresize', 'lvextend': 'lvextend',
                'grow_fs': 'grow file system'}


class Expansion(object):
    def __init__(self, module, host=None, fstab='/etc/fstab'):
        self.module = module
        self.params = module.params
        self.host = host or ExpandHost(lambda argv: contract.run_c(module, argv))
        self.fstab = fstab
        self.growpart = module.get_bin_path('growpart')     # None: a partition that must grow is refused
        self.hostname = os.uname()[1]
        self.findings = Findings(subject=self.hostname)
        self.steps = []
        self.changes = []
        self.backup = None
        self.result = {'changed': False, 'targets': [], 'swap': None, 'steps': self.steps, 'disks': [],
                       'cloud_change': self.params.get('cloud_change'), 'backup_id': None, 'rollback': None}

    # ---------------------------------------------------------------- planning
    def plan(self):
        plans = [plan_target(self.host, target, self.params['rescan'], self.growpart) for target in self.params['targets']]
        swap = self.params.get('swap')
        swap_steps = plan_swap(self.host, swap, self.params['min_free_mb'] * 1024 ** 2, self.fstab) if swap else []
        return plans, swap_steps

    # ---------------------------------------------------------------- the run
    def expand(self):
        plans, swap_steps = self.plan()     # every refusal is raised here, before any change
        disks = []
        for index, target in enumerate(self.params['targets']):
            # Planned again right before its turn: an earlier target may have grown the same disk or volume group.
            plan = plans[index] if self.module.check_mode or index == 0 else plan_target(
                self.host, target, self.params['rescan'], self.growpart)
            entry = {'mount': plan.mount, 'size': plan.size, 'fstype': plan.fstype, 'source': plan.source,
                     'fs_before': plan.fs_before, 'fs_after': plan.fs_after if self.module.check_mode else plan.fs_before,
                     'steps': plan.steps}
            self.result['targets'].append(entry)
            disks.extend(d for d in plan.disks if d not in disks)
            for item in plan.steps:
                self._do(item, plan, entry)
            if not self.module.check_mode and any(s['step'] == 'grow_fs' for s in plan.steps):
                self._report_usage(plan.mount)
        if swap_steps:
            self.result['swap'] = {'path': self.params['swap'].get('lv') and '/dev/' + self.params['swap']['lv']
                                   or self.params['swap']['path'], 'steps': swap_steps, 'active': None}
            for item in swap_steps:
                self._do_swap(item)
        self._close(disks)

    def _record(self, item):
        self.steps.append(item)
        if item['step'] == 'rescan':
            return
        self.result['changed'] = True
        if item['step'] in GROWTH_STEPS:
            self.changes.append(contract.change(item['object'], GROWTH_STEPS[item['step']],
                                                human(item['before']), human(item['after']), irreversible=ONE_WAY))
        else:
            self.changes.append(contract.change(item['object'], item['step'], item['before'], item['after']))

    def _do(self, item, plan, entry):
        if item['step'] == 'rescan' or self.module.check_mode:
            self._record(item)
            return
        self.host.must(item['argv'], '%s of %s' % (item['step'].replace('_', ' '), item['object']))
        if item['step'] == 'grow_partition':
            now = self.host.size_of(item['device'])
            if now != item['after']:
                raise ExpandError('%s is %s after growpart, not the %s planned: the kernel did not take the new '
                                  'partition table (partx --update %s)'
                                  % (item['object'], human(now), human(item['after']), item['object']))
        elif item['step'] == 'grow_fs':
            now = self.host.fs_size(plan.fstype, plan.source, plan.mount)
            device = self.host.size_of(self.host.device_name(plan.source))
            if now <= item['before'] or now < device - SLACK:
                raise ExpandError('%s reports %s after growing (it was %s, its device is %s): the file system did not '
                                  'grow' % (plan.mount, human(now), human(item['before']), human(device)))
            item['after'] = entry['fs_after'] = plan.fs_after = now
        self._record(item)

    def _report_usage(self, mountpoint):
        stat = os.statvfs(mountpoint)
        used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
        avail = stat.f_bavail * stat.f_frsize
        pct = round(100.0 * used / (used + avail), 1) if used + avail else 0.0
        self.findings.add('expand.fs_grown', 'info', '%s is now %s, %s%% used' % (
            mountpoint, human(stat.f_blocks * stat.f_frsize), pct), subject=mountpoint, value=pct)
        self.findings.graded('fs.usage', pct, DEFAULT_THRESHOLDS['fs.usage'],
                             mountpoint + ' is still %(value)s%% full after growing (%(severity)s at %(threshold)s%%)',
                             subject=mountpoint)

    # ---------------------------------------------------------------- swap
    def _do_swap(self, item):
        if self.module.check_mode:
            self._record(item)
            return
        if self.backup is None:
            self.backup = Backup.create(self.params['backup_dir'], 'linux_expand swap', self.hostname, self.module)
            self.result['backup_id'] = self.backup.id
        kind = item['step']
        if kind == 'create_swapfile':
            self.backup.record({'type': 'swapfile', 'path': item['object']})
            self._create_swapfile(item['object'], item['after'], item['fstype'])
        elif kind == 'lvcreate':
            self.backup.record({'type': 'swaplv', 'path': item['object']})
            self.host.must(item['argv'], 'creating the swap volume %s' % item['object'])
        elif kind == 'fstab':
            self.backup.save_file(self.fstab)
            with open(self.fstab) as handle:
                text = handle.read()
            text += ('' if not text or text.endswith('\n') else '\n') + item['after'] + '\n'
            stat = os.stat(self.fstab)
            write_atomic(self.module, self.fstab, text.encode('utf-8'), mode=stat.st_mode & 0o7777,
                         uid=stat.st_uid, gid=stat.st_gid)
        elif kind == 'swapon':
            rc, out, err = self.host.run(item['argv'])
            self.result['swap']['active'] = rc == 0
            if rc != 0:
                # Not a change, and not a failure of the run: the swap is there and in fstab (a container may
                # forbid swapon); a later run tries again.
                self.findings.add('expand.swap_not_enabled', 'warning', 'swap %s is made and in %s but swapon refused it '
                                  'now: %s' % (item['object'], self.fstab, (err or out).strip()[:200]), subject=item['object'])
                self.steps.append(dict(item, done=False))
                return
        else:
            self.host.must(item['argv'], '%s of %s' % (kind, item['object']))
        self._record(item)

    def _create_swapfile(self, path, size, fstype):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            if fstype == 'btrfs':
                # A btrfs swap file must be NOCOW, which only an empty file can be made.
                self.host.must(['chattr', '+C', path], 'marking %s no-copy-on-write' % path)
            os.posix_fallocate(fd, 0, size)
            os.fsync(fd)
        except (OSError, ExpandError):
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)

    # ---------------------------------------------------------------- the result
    def _close(self, disks):
        if self.backup is not None:
            self.backup.close()
            self.result['rollback'] = contract.rollback(self.backup.id, 'bjeic.ops.linux_expand',
                                                        {'state': 'rolled_back', 'backup_id': self.backup.id})
        ledger = []
        for disk in disks:
            entry = {'name': disk, 'serial': self.host.serial(disk), 'size_bytes': self.host.size_of(disk)}
            self.result['disks'].append(entry)
            if entry['serial']:
                # The host's own word on a cloud disk's size: the cloud ledger shows it beside the platform's.
                ledger.append(contract.ledger_item('cloud', contract.key('self', 'disk:' + entry['serial']), {
                    'type': 'disk', 'id': entry['serial'], 'host': self.hostname, 'device': '/dev/' + disk,
                    'size_bytes': entry['size_bytes'], 'cloud_change': self.params.get('cloud_change')}))
        self.result.update(changes=self.changes, findings=self.findings.items, ledger=ledger,
                           summary=self.findings.summary(), diff=self._diff())
        if self.changes and self.result['rollback'] is None:
            self.result['rollback_unavailable'] = ONE_WAY

    def _diff(self):
        def before(item):
            if item['step'] == 'fstab':
                return '%s: add %s' % (item['object'], item['after'])
            return '%s %s: %s' % (item['step'], item['object'], human(item['before']) if item['before'] else '-')

        def after(item):
            shown = item['after'] if item['step'] == 'fstab' else human(item['after'])
            return '%s %s: %s' % (item['step'], item['object'], shown)
        changing = [s for s in self.steps if s['step'] != 'rescan']
        return {'before': ''.join(before(s) + '\n' for s in changing), 'after': ''.join(after(s) + '\n' for s in changing)}

    # ---------------------------------------------------------------- rollback (swap only)
    def rollback(self):
        try:
            backup = Backup.load(self.params['backup_dir'], self.params['backup_id'], self.module)
        except BackupError as exc:
            raise ExpandError(str(exc))
        if backup.manifest['state'] == 'rolled_back':
            self.result.update(backup_id=backup.id, changes=[], findings=[], ledger=[], summary=contract.summary([]),
                               msg='backup %s was already rolled back' % backup.id)
            return
        edited = backup.edited_since()
        if edited and not self.params['force']:
            raise ExpandError('%s changed since backup %s was taken: nothing was rolled back (force=true restores '
                              'it over those edits)' % (', '.join(edited), backup.id))
        active = self.host.active_swaps()
        for entry in reversed(backup.manifest['entries']):
            if entry['type'] in ('swapfile', 'swaplv'):
                path = entry['path']
                on = any(os.path.realpath(p) == os.path.realpath(path) for p in active)
                gone = not os.path.lexists(path)
                if gone and not on:
                    continue
                if not self.module.check_mode:
                    if on:
                        self.host.must(['swapoff', path], 'turning swap %s off' % path)
                    if entry['type'] == 'swapfile':
                        os.unlink(path)
                    else:
                        self.host.must(['lvremove', '-y', path], 'removing the swap volume %s' % path)
                self.changes.append(contract.change(path, 'remove swap', 'swap', None))
            elif entry['type'] == 'file' and backup.restore_file(entry, check_mode=self.module.check_mode):
                self.changes.append(contract.change(entry['path'], 'restore', 'edited by linux_expand', 'as backed up'))
        if not self.module.check_mode:
            backup.close(state='rolled_back')
        self.result.update(changed=bool(self.changes), changes=self.changes, backup_id=backup.id,
                           findings=[], ledger=[], summary=contract.summary([]))
