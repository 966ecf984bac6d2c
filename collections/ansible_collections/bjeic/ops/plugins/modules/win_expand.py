#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is the documentation of a Windows module; the code is win_expand.ps1 beside it.

DOCUMENTATION = r'''
---
module: win_expand
short_description: Grow Windows volumes to the disk the cloud platform enlarged
version_added: 0.4.0
description:
  - The Windows twin of M(bjeic.ops.linux_expand). Rescans the storage (C(Update-HostStorageCache)), then grows
    each target's partition with C(Resize-Partition), to the size asked and at most to the supported maximum
    C(Get-PartitionSupportedSize) reports. NTFS and ReFS grow with their partition, online.
  - Plans every target first and refuses, before anything changes, a drive letter without a partition, a file
    system other than the inventory says or one that cannot grow online, and a disk that did not grow by what
    was asked. It never shrinks. The new size is read back from C(Get-Partition).
  - Growing is one-way; each change record says so (C(rollback.irreversible)).
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Plans and shows each partition's size before and after; it does rescan the storage, which changes nothing on a disk.
  diff_mode:
    support: full
    description: The partitions with their sizes before and after.
  platform:
    support: full
    platforms: windows
    description: Windows Server 2012 R2 and later (the Storage module), as an administrator.
options:
  targets:
    description: The volumes to grow, by drive letter.
    type: list
    elements: dict
    default: []
    suboptions:
      drive:
        description: The drive letter, C(D) or C(D:).
        type: str
        required: true
      size:
        description:
          - C(fill) - to the supported maximum; C(120G) - grow to at least this size; C(+50G) - grow by this much
            (refused when the disk does not offer it). Binary units (K, M, G, T).
        type: str
        default: fill
      fstype:
        description: The file system the inventory says the volume has (C(NTFS), C(ReFS)); refused when it is another.
        type: str
  rescan:
    description: Make Windows read each disk's size again first (C(Update-HostStorageCache)).
    type: bool
    default: true
  cloud_change:
    description: The cloud change record or ticket this expansion executes; kept in the result and the ledger.
    type: str
seealso:
  - module: bjeic.ops.linux_expand
  - module: community.windows.win_partition
'''

EXAMPLES = r'''
- name: Grow D to fill the enlarged disk, E by 20 GiB
  bjeic.ops.win_expand:
    targets:
      - {drive: D, size: fill, fstype: NTFS}
      - {drive: E, size: +20G}
    cloud_change: disk:vol-0a1b
'''

RETURN = r'''
targets:
  description: Per target C({drive, size, fstype, disk, partition, before, after, maximum}); sizes in bytes.
  returned: always
  type: list
  elements: dict
  sample: [{drive: D, size: fill, fstype: NTFS, disk: 1, partition: 2, before: 53687091200, after: 107374182400, maximum: 107374182400}]
steps:
  description: Every partition grown, C({step, object, before, after}).
  returned: always
  type: list
  elements: dict
  sample: [{step: grow_partition, object: "D:", before: 53687091200, after: 107374182400}]
changes:
  description: One C({object, action, before, after, rollback}) per partition grown; C(rollback.irreversible) says why it cannot be undone.
  returned: always
  type: list
  elements: dict
  sample:
    - {object: "D:", action: grow partition, before: 50.0 GiB, after: 100.0 GiB, rollback: {irreversible: "growing ... is one-way: ..."}}
rollback:
  description: Always null - growing is one-way.
  returned: always
  type: dict
rollback_unavailable:
  description: Why the changes cannot be rolled back.
  returned: when something grew
  type: str
cloud_change:
  description: O(cloud_change), as given.
  returned: always
  type: str
findings:
  description: C(expand.fs_grown) - the new size and usage of each grown volume.
  returned: always
  type: list
  elements: dict
  sample: [{check: expand.fs_grown, severity: info, subject: "D:", value: 41.5, threshold: null, message: "D: is now 100.0 GiB, 41.5% used"}]
ledger:
  description: Kind cloud, key C(self:disk:SERIAL) for every disk with a serial number - the host's word on its size.
  returned: always
  type: list
  elements: dict
  sample:
    - {kind: cloud, key: "self:disk:vol-0a1b", attrs: {type: disk, id: vol-0a1b, host: WIN-APP01, device: disk 1, size_bytes: 107374182400}}
summary:
  description: How many findings of each severity, C({critical, warning, info}).
  returned: always
  type: dict
  sample: {critical: 0, warning: 0, info: 1}
'''
