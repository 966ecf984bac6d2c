#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: backup_create
short_description: Take file backups on a Linux host, verify them at once, then apply retention
version_added: 0.4.0
description:
  - Takes each backup set (系统数据备份) with GNU tar - owners, modes, ACLs and extended attributes kept, one file
    system unless told, symbolic links archived as links and never followed - compressed with zstd or gzip into
    C(<destination>/<name>-<UTC time>.tar.zst).
  - The archive is written as a hidden C(.partial) file beside its final name, read back to its last byte, given a
    sha256 manifest C(<archive>.sha256) (the format M(bjeic.ops.backup_check) reads), and only then renamed. A run
    that dies leaves no file that looks like a good backup; the next run of the set removes the partial.
  - Refuses before writing when the destination lacks room - the previous backup's size and a quarter (or, for
    the first, the data's own size) plus O(sets[].min_free_mb).
  - Each new backup is then verified by M(bjeic.ops.backup_check)'s own code (read through, against its manifest,
    and with O(restore_test) restored into O(scratch_dir) and compared with the live files). Retention prunes older
    backups only after the new one verified.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Says what each set would take (files, bytes, the room it needs) and which backups retention would prune; writes nothing.
  diff_mode:
    support: none
    description: The change records name the archives written and pruned.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with GNU tar and zstd (or gzip); root to read everything (C(become=true)).
options:
  sets:
    description: The backup sets. The same list can be given to M(bjeic.ops.backup_check) to check them.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The set's name (letters, digits, C(.), C(_), C(-)); the archives are named after it.
        type: str
        required: true
      paths:
        description: Absolute paths to back up.
        type: list
        elements: path
        required: true
      exclude:
        description: tar exclude patterns (C(*.tmp), C(/var/log/journal)).
        type: list
        elements: str
        default: []
      destination:
        description: The directory the archives go to (created 0700).
        type: path
        required: true
      compression:
        description: The compressor.
        type: str
        choices: [zstd, gzip]
        default: zstd
      one_file_system:
        description: Stay on the file system of each path (tar C(--one-file-system)).
        type: bool
        default: true
      retention:
        description:
          - C({keep - N}) the newest N; C({daily, weekly, monthly}) the newest backup of each of that many days, ISO
            weeks and months; C({max_age_days}) none older. Combined, a backup any rule keeps is kept; the newest always is.
        type: dict
        default: {}
      max_age_hours:
        description: The recovery point objective the check holds the set to.
        type: float
        default: 24
      min_free_mb:
        description: MiB that must stay free in the destination after the backup.
        type: int
        default: 256
  restore_test:
    description: Restore each new archive into O(scratch_dir) and compare it with the live files before retention runs.
    type: bool
    default: false
  scratch_dir:
    description: Where a restore test makes (and removes) its directory.
    type: path
    default: /var/tmp
  shrink_threshold_pct:
    description: As in M(bjeic.ops.backup_check) - a new backup this many percent smaller than the previous one is C(backup.shrunk).
    type: float
    default: 20
  restore_max_diff_pct:
    description: As in M(bjeic.ops.backup_check) - the share of restored files that may differ from the live files.
    type: float
    default: 10
notes:
  - Findings - C(backup.failed) (critical - not taken, or taken and not verified), C(backup.changed_while_read)
    (warning), and what M(bjeic.ops.backup_check) finds in the new backup.
seealso:
  - module: bjeic.ops.backup_check
  - module: bjeic.ops.db_restore_test
'''

EXAMPLES = r'''
- name: Back up /etc and the application data, keep 7 daily, 4 weekly and 6 monthly backups
  bjeic.ops.backup_create:
    sets:
      - name: etc
        paths: [/etc]
        destination: /backup/etc
        retention: {daily: 7, weekly: 4, monthly: 6}
      - name: app
        paths: [/srv/app, /var/lib/app]
        exclude: ['*.tmp', /srv/app/cache]
        destination: /backup/app
        compression: gzip
        retention: {keep: 14}
    restore_test: true
  become: true
'''

RETURN = r'''
backups:
  description:
    - The backup record (数据备份记录) of each set, C({set, kind, host, path, compression, started, finished, seconds,
      size, files, sha256, verified, pruned, state, error}); C(state) is taken, failed or (check mode) planned.
  returned: always
  type: list
  elements: dict
  sample:
    - {set: etc, kind: file, host: web01, path: /backup/etc/etc-20261202T020000Z.tar.zst, compression: zstd,
       started: "2026-12-02T02:00:00Z", finished: "2026-12-02T02:00:04Z", seconds: 4.1, size: 1048576, files: 812,
       sha256: 3b1f..., verified: true, pruned: [/backup/etc/etc-20261125T020000Z.tar.zst], state: taken, error: null}
sets:
  description: What M(bjeic.ops.backup_check)'s code found in each new backup (as backup_check returns it).
  returned: always
  type: list
  elements: dict
changes:
  description: One C({object, action, before, after, rollback}) per archive written (C(backup)) or pruned (C(prune)); neither can be rolled back.
  returned: always
  type: list
  elements: dict
rollback:
  description: Always null - a backup is kept, a pruned one is gone.
  returned: always
  type: dict
findings:
  description: What is wrong (result contract).
  returned: always
  type: list
  elements: dict
ledger:
  description: One item of kind backup per set, key C(backup:NAME@HOST), as backup_check returns it.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of findings by severity, and of sets taken and verified.
  returned: always
  type: dict
  sample: {critical: 0, warning: 0, info: 0, sets: 2, taken: 2, verified: 2}
'''

import re
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.formatters import human_to_bytes
from ansible_collections.bjeic.ops.plugins.module_utils.backup_set import check_set, ledger_item
from ansible_collections.bjeic.ops.plugins.module_utils.backup_take import SetTake
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings

SET_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sets=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                paths=dict(type='list', elements='path', required=True),
                exclude=dict(type='list', elements='str', default=[]),
                destination=dict(type='path', required=True),
                compression=dict(type='str', choices=['zstd', 'gzip'], default='zstd'),
                one_file_system=dict(type='bool', default=True),
                retention=dict(type='dict', default={}),
                max_age_hours=dict(type='float', default=24),
                min_free_mb=dict(type='int', default=256),
            )),
            restore_test=dict(type='bool', default=False),
            scratch_dir=dict(type='path', default='/var/tmp'),
            shrink_threshold_pct=dict(type='float', default=20),
            restore_max_diff_pct=dict(type='float', default=10),
        ),
        supports_check_mode=True,
    )
    sets = module.params['sets']
    names = [spec['name'] for spec in sets]
    for spec in sets:
        if not SET_NAME.match(spec['name']):
            module.fail_json(msg='set name %r: letters, digits, ".", "_" and "-" only (archives are named after it)' % spec['name'])
        if names.count(spec['name']) > 1:
            module.fail_json(msg='backup set names must be unique (they key the ledger); %s is repeated' % spec['name'])
        relative = [p for p in spec['paths'] if not p.startswith('/')]
        if relative or not spec['paths']:
            module.fail_json(msg='sets[%s].paths must be absolute paths, got %s' % (spec['name'], relative or 'none'))
        unknown = set(spec['retention']) - {'keep', 'daily', 'weekly', 'monthly', 'max_age_days'}
        bad = [k for k, v in spec['retention'].items() if k not in unknown and (not isinstance(v, int) or v < 0)]
        if unknown or bad:
            module.fail_json(msg='sets[%s].retention takes keep, daily, weekly, monthly and max_age_days as whole '
                                 'numbers; got %s' % (spec['name'], ', '.join(sorted(unknown | set(bad)))))
    host = socket.gethostname()
    found = Findings()
    checks, records, changes, ledger = [], [], [], []

    def verify(spec):
        spec['min_size_bytes'] = human_to_bytes(spec['min_size'])
        state = check_set(module, spec, found.add_item)
        checks.append(state)
        ledger.append(ledger_item(host, spec, state))
        restore = state.get('restore') or {}
        return state.get('verified') is True and restore.get('ok') is not False

    for spec in sets:
        take = SetTake(module, spec, found, host)
        take.run(verify)
        records.append(take.record)
        changes.extend(take.changes)
    summary = found.summary()
    summary.update(sets=len(records), taken=sum(1 for r in records if r['state'] == 'taken'),
                   verified=sum(1 for r in records if r['verified']))
    failed = [r['set'] for r in records if r['state'] == 'failed' or (r['state'] == 'taken' and not r['verified'])]
    result = dict(changed=bool(changes) or (module.check_mode and bool(records)), backups=records, sets=checks,
                  changes=changes, rollback=None, findings=found.items, ledger=ledger, summary=summary,
                  msg='%d backup set(s) on %s: %d taken, %d verified%s' % (
                      len(records), host, summary['taken'], summary['verified'],
                      '; failed: %s' % ', '.join(failed) if failed else ''))
    if failed:
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
