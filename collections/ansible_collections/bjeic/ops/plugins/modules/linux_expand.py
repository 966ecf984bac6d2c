#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_expand
short_description: Grow a Linux host's partitions, volumes and file systems to the disk the cloud platform enlarged, and add swap
version_added: 0.4.0
description:
  - After the cloud platform enlarged a virtual disk (or attached a new one to a volume group), brings the host up
    to it in one call, for every target given - rescan the disk, grow the last partition (GPT or MBR, as
    C(growpart) does), C(pvresize), C(lvextend), then grow the mounted file system online (ext3/ext4
    C(resize2fs), xfs C(xfs_growfs), btrfs C(filesystem resize)).
  - Plans every target first and refuses, before touching anything, a mount point that is not mounted or not
    what the inventory says (O(targets[].device), O(targets[].fstype)), a file system it cannot grow online, a
    partition that is not the last one on its disk, a disk that did not grow by what was asked, a volume group
    with too little free, and a logical volume with a mounted snapshot. It never shrinks.
  - Every step is read back - the partition size the kernel reports, the size the file system itself reports.
  - Growing is one-way; each growth change record says so (C(rollback.irreversible)) instead of carrying a
    handle. Swap the run added (O(swap)) can be removed again - the result's C(rollback) handle does that.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description:
      - Plans and shows every step with its sizes before and after; changes nothing on a disk. It does rescan the
        disks (unless O(rescan=false)), which only makes the kernel read the size the platform gave them.
  diff_mode:
    support: full
    description: The steps with their sizes before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts; root (C(become=true)).
options:
  targets:
    description: The file systems to grow, each by its mount point.
    type: list
    elements: dict
    default: []
    suboptions:
      mount:
        description: The mount point.
        type: path
        required: true
      size:
        description:
          - C(fill) - all the room the disk or volume group has; C(120G) - grow to at least this size (nothing to
            do when already there); C(+50G) - grow by this much now (refused when the disk did not grow that
            much); C(+80%FREE) - a share of the volume group's free space (LVM only). Binary units (K, M, G, T).
          - C(fill) and absolute sizes are idempotent; C(+SIZE) on LVM extends again on every run, as lvextend does.
        type: str
        default: fill
      device:
        description: The device the inventory says is mounted there; refused when it is another.
        type: str
      fstype:
        description: The file-system type the inventory says it has; refused when it is another.
        type: str
  swap:
    description: Swap to make, enable and put in /etc/fstab - a swap file (O(swap.path)) or a logical volume (O(swap.lv)).
    type: dict
    suboptions:
      size:
        description: The swap space's size, like C(8G).
        type: str
        required: true
      path:
        description: The swap file (created 0600 root). Not used with O(swap.lv).
        type: path
        default: /swapfile
      lv:
        description: A logical volume C(VG/NAME) to create as swap instead of a file.
        type: str
      priority:
        description: The swap priority (C(pri=) in fstab).
        type: int
  rescan:
    description: Make the kernel read each disk's size again first (SCSI rescan, C(losetup -c)); virtio and NVMe follow by themselves.
    type: bool
    default: true
  min_free_mb:
    description: A swap file is refused when it would leave less than this free on its file system (MiB).
    type: int
    default: 1024
  cloud_change:
    description: The cloud change record or ticket this expansion executes (for example C(disk:vol-0a1b)); kept in the result and the ledger.
    type: str
  state:
    description: C(present) grows and adds swap; C(rolled_back) removes the swap that backup O(backup_id) added.
    type: str
    choices: [present, rolled_back]
    default: present
  backup_id:
    description: The backup to roll back (the C(backup_id) a run that added swap returned). Required with C(state=rolled_back).
    type: str
  force:
    description: Roll back even when /etc/fstab was edited by someone else since.
    type: bool
    default: false
  backup_dir:
    description: Where the backups of /etc/fstab are kept (root only).
    type: path
    default: /var/lib/bjeic-ops/expand
notes:
  - Needs C(growpart) to grow a partition (Debian/Ubuntu C(cloud-guest-utils), RHEL family C(cloud-utils-growpart)).
  - An online ext resize needs CAP_SYS_RESOURCE, which the root of a container may lack; it is refused then.
seealso:
  - module: community.general.lvol
  - module: community.general.filesystem
'''

EXAMPLES = r'''
- name: Preview what the expansion would do
  bjeic.ops.linux_expand:
    targets:
      - {mount: /data, size: +50G, device: /dev/vg_data/lv_data, fstype: xfs}
      - {mount: /var, size: fill}
  check_mode: true
  diff: true

- name: Grow /data, fill /var and add an 8 GiB swap file, for the cloud change of disk vol-0a1b
  bjeic.ops.linux_expand:
    targets:
      - {mount: /data, size: +50G}
      - {mount: /var, size: fill}
    swap: {size: 8G}
    cloud_change: disk:vol-0a1b
  register: grown

- name: Take the swap file away again
  bjeic.ops.linux_expand:
    state: rolled_back
    backup_id: "{{ grown.backup_id }}"
'''

RETURN = r'''
targets:
  description: Per target C({mount, size, fstype, source, fs_before, fs_after, steps}); sizes in bytes.
  returned: always
  type: list
  elements: dict
  sample: [{mount: /data, size: fill, fstype: xfs, source: /dev/vdb1, fs_before: 53687091200, fs_after: 107374182400, steps: []}]
steps:
  description:
    - Every step in order, C({step, object, before, after, argv}).
    - C(step) is rescan, grow_partition, pvresize, lvextend, grow_fs, create_swapfile, lvcreate, mkswap, fstab or swapon.
  returned: always
  type: list
  elements: dict
  sample: [{step: grow_partition, object: /dev/vdb1, before: 53686042624, after: 107373133824, argv: [growpart, /dev/vdb, "1"]}]
swap:
  description: The swap asked for, C({path, steps, active}); null without O(swap).
  returned: always
  type: dict
disks:
  description: The disks under the targets, C({name, serial, size_bytes}) as the kernel sees them after the run.
  returned: always
  type: list
  elements: dict
cloud_change:
  description: O(cloud_change), as given.
  returned: always
  type: str
backup_id:
  description: The backup of /etc/fstab taken before swap was added (the rollback id); null otherwise.
  returned: always
  type: str
changes:
  description: One C({object, action, before, after}) per step done; growth changes carry C(rollback.irreversible) with the reason.
  returned: always
  type: list
  elements: dict
rollback:
  description: The handle that removes the swap this run added, C({id, how}); null when the run only grew (growing is one-way).
  returned: always
  type: dict
rollback_unavailable:
  description: Why the changes of this run cannot be rolled back, when they cannot.
  returned: when the run grew something and added no swap
  type: str
findings:
  description: C(expand.fs_grown) (info - the new size and usage of each grown mount), C(fs.usage) when still full, C(expand.swap_not_enabled).
  returned: always
  type: list
  elements: dict
ledger:
  description: Kind cloud, key C(self:disk:SERIAL) for every disk with a serial (the cloud volume id) - the host's word on its size.
  returned: always
  type: list
  elements: dict
summary:
  description: How many findings of each severity, C({critical, warning, info}).
  returned: always
  type: dict
  sample: {critical: 0, warning: 0, info: 1}
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils.expand_host import ExpandError
from ansible_collections.bjeic.ops.plugins.module_utils.expand_run import Expansion


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type='list', elements='dict', default=[], options=dict(
                mount=dict(type='path', required=True),
                size=dict(type='str', default='fill'),
                device=dict(type='str'),
                fstype=dict(type='str'),
            )),
            swap=dict(type='dict', options=dict(
                size=dict(type='str', required=True),
                path=dict(type='path', default='/swapfile'),
                lv=dict(type='str'),
                priority=dict(type='int'),
            )),
            rescan=dict(type='bool', default=True),
            min_free_mb=dict(type='int', default=1024),
            cloud_change=dict(type='str'),
            state=dict(type='str', choices=['present', 'rolled_back'], default='present'),
            backup_id=dict(type='str'),
            force=dict(type='bool', default=False),
            backup_dir=dict(type='path', default='/var/lib/bjeic-ops/expand'),
        ),
        required_if=[('state', 'rolled_back', ['backup_id'])],
        supports_check_mode=True,
    )
    if os.geteuid() != 0:
        module.fail_json(msg='linux_expand must run as root (become: true): it grows partitions and file systems')
    if module.params['state'] == 'present' and not module.params['targets'] and not module.params['swap']:
        module.fail_json(msg='linux_expand: nothing to do - give targets (mount points to grow) or swap')
    expansion = Expansion(module)
    try:
        if module.params['state'] == 'rolled_back':
            expansion.rollback()
        else:
            expansion.expand()
    except (ExpandError, OSError) as exc:
        result = expansion.result
        done = [s for s in expansion.steps if s['step'] != 'rescan']
        if done:
            result.update(changes=expansion.changes, changed=True)
        module.fail_json(msg='%s on %s: %s%s' % (
            'expand' if module.params['state'] == 'present' else 'roll back', expansion.hostname, to_native(exc),
            '; done before it (one-way): %s' % ', '.join('%s %s' % (s['step'], s['object']) for s in done) if done else
            '; nothing was changed'), **result)
    module.exit_json(**expansion.result)


if __name__ == '__main__':
    main()
