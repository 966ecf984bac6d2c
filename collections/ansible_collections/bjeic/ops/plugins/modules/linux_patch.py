#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_patch
short_description: Plan, apply, commit and roll back OS package updates on a Linux host as a recorded transaction
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
  - C(state=committed) accepts an applied transaction once the host has proved itself - it
    releases the transaction's snapshot (C(btrfs subvolume delete) / C(lvremove)), because an LVM
    snapshot left in place slows every write to its origin and is invalidated when it fills. The
    packages can still be rolled back afterwards; the file system can no longer be reverted. The
    plan warns (C(patch.snapshot_held)) about every applied transaction still holding a snapshot.
  - Refuses with a clear message, before changing anything, when the package manager is locked or
    unhealthy, a repository is unreachable, free space is short, an earlier transaction on the
    host never finished, or a replaced version could not be kept for rollback.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Check mode is C(state=planned) for apply, and reports what a rollback or a commit would change.
  diff_mode:
    support: full
    description: Applied and rolled back return the changed packages with their versions as a diff; committed the transaction's state.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with apt (Debian, Ubuntu, UOS) or dnf/yum (RHEL, CentOS, Kylin, openEuler).
options:
  state:
    description:
      - C(planned) lists updates, C(applied) installs them, C(rolled_back) restores O(transaction_id),
        C(committed) accepts O(transaction_id) and releases its snapshot.
    type: str
    choices: [planned, applied, rolled_back, committed]
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
      - The transaction to roll back or commit (as returned by C(state=applied)), or C(latest) - for
        rollback the newest one on the host that is not rolled back yet, for commit the newest applied
        one. Required with C(state=rolled_back) and C(state=committed).
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

- name: Accept the transaction a week later - release its snapshot
  bjeic.ops.linux_patch:
    state: committed
    transaction_id: latest
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
  description: The transaction applied, rolled back or committed; null when nothing was applied.
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
  description: The snapshot taken before applying (or reverted on rollback, or released on commit), C({type, mount, path | vg, lv, name, command}).
  returned: always
  type: dict
changes:
  description:
    - One C({object, action, before, after}) per package changed.
    - On commit, the transaction and its released snapshot, each with C(rollback.irreversible).
  returned: always
  type: list
  elements: dict
rollback:
  description: The handle that undoes this transaction, C({id, how}) where C(how) runs this module with C(state=rolled_back); null otherwise.
  returned: always
  type: dict
  sample: {id: 20261126T101500Z-1a2b3c, how: {module: bjeic.ops.linux_patch, args: {state: rolled_back, transaction_id: 20261126T101500Z-1a2b3c}}}
findings:
  description:
    - C(patch.updates_available), C(patch.security_updates), C(patch.reboot_required), C(patch.unfinished_transaction),
      C(patch.snapshot_unavailable), C(patch.snapshot_held).
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

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError
from ansible_collections.bjeic.ops.plugins.module_utils.patch_run import Patcher


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['planned', 'applied', 'rolled_back', 'committed'], default='planned'),
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
        required_if=[('state', 'rolled_back', ['transaction_id']), ('state', 'committed', ['transaction_id'])],
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
        elif module.params['state'] == 'committed':
            patcher.commit()
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
