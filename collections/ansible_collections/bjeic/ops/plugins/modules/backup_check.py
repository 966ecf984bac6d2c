#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: backup_check
short_description: Verify file-level backups on a Linux host - age, size, integrity, manifest and a real restore
version_added: 0.1.0
description:
  - Checks backup sets described by path globs, in one call per host. For each set it finds the
    newest backup (by modification time) and checks its age against the set's recovery point
    objective, its size against a minimum and against the previous backup, and reads it through
    end to end.
  - Archives (tar, tar.gz, tar.bz2, tar.xz, tar.zst, zip, gzip, zst) are read to their last byte,
    so the format's own checks run - gzip CRC and length, zip CRC-32, zstd checksums, the tar
    end-of-archive blocks that a file cut at a member boundary lacks. zstd needs the C(zstd) tool
    on the host; without it the set is reported as not verifiable, not as good.
  - An optional manifest of sha256 lines (C(sha256sum) output) is held against the backup - an
    entry whose base name is the backup file's checks the file itself, any other entry checks the
    archive member (or, for a directory set, the file) of that path.
  - With O(restore_test), the newest archive of each set is extracted into a fresh directory under
    O(scratch_dir) (GNU tar for tar formats, as an operator would), every restored file is
    compared with the archive, with the manifest and, when the set names a C(source), with the
    live files; the directory is removed afterwards and the timings are returned.
  - Windows Server Backup (C(wbadmin get versions)) is not covered by this module; it is checked
    on Windows hosts by the Windows modules.
  - The module runs at a lower CPU priority (nice 10) so that reading large backups competes less
    with the host's own work. It changes nothing on the host; the restore test writes only under
    O(scratch_dir) and removes what it wrote.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Everything but the restore test runs in check mode; the restore test is skipped and the result says so.
  diff_mode:
    support: none
    description: Nothing on the host is changed.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with Python 3; GNU tar for the restore test of tar archives.
options:
  sets:
    description: The backup sets to check.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the set, used in findings and as the ledger key (C(backup:NAME@HOST)).
        type: str
        required: true
      path:
        description:
          - Shell glob of the set's backups (files or directories), e.g. C(/backup/etc/etc-*.tar.gz).
            Each match is one backup; the newest by modification time is checked.
          - Not needed for a set M(bjeic.ops.backup_create) takes - its O(sets[].destination) and
            O(sets[].compression) say where its backups are (and its manifests and source are known).
        type: str
      destination:
        description: The directory M(bjeic.ops.backup_create) writes the set's archives to (instead of O(sets[].path)).
        type: path
      compression:
        description: The compression M(bjeic.ops.backup_create) uses for the set (with O(sets[].destination)).
        type: str
        choices: [zstd, gzip]
        default: zstd
      paths:
        description: Read by M(bjeic.ops.backup_create) (what it backs up); accepted here so that one list serves both.
        type: list
        elements: path
        default: []
      exclude:
        description: Read by M(bjeic.ops.backup_create); accepted here so that one list serves both.
        type: list
        elements: str
        default: []
      retention:
        description: Read by M(bjeic.ops.backup_create); accepted here so that one list serves both.
        type: dict
        default: {}
      one_file_system:
        description: Read by M(bjeic.ops.backup_create); accepted here so that one list serves both.
        type: bool
        default: true
      min_free_mb:
        description: Read by M(bjeic.ops.backup_create); accepted here so that one list serves both.
        type: int
        default: 256
      max_age_hours:
        description:
          - Recovery point objective. A newest backup older than this is C(backup.stale) (warning),
            older than twice this critical.
        type: float
        default: 24
      min_size:
        description: Smallest acceptable size of the newest backup, in bytes or with a unit (C(10M), C(2G)).
        type: str
        default: '1'
      manifest:
        description:
          - Path of a sha256 manifest. C({file}) is replaced by the newest backup's path and
            C({name}) by the set's name, e.g. C({file}.sha256).
        type: str
      source:
        description:
          - Live directory the set backs up (e.g. C(/etc)); the restore test compares restored files
            with it. A first archive component equal to its name (C(etc/hosts)) is matched to it.
        type: path
      verify:
        description: Read the newest backup through. Off leaves age and size checks only.
        type: bool
        default: true
  restore_test:
    description: Restore the newest archive of every set into O(scratch_dir) and compare it.
    type: bool
    default: false
  shrink_threshold_pct:
    description: Report C(backup.shrunk) when the newest backup is this many percent smaller than the previous one.
    type: float
    default: 20
  restore_max_diff_pct:
    description:
      - With a set's C(source), the share of restored files that may differ from the live files
        (changed since the backup) before the restore test fails.
    type: float
    default: 10
  scratch_dir:
    description:
      - Directory under which each restore test makes (and removes) its own directory. It must have
        room for the unpacked archive; a restore that would not fit is skipped with a warning.
    type: path
    default: /var/tmp
notes:
  - Findings - C(backup.missing) (critical, no backup matches), C(backup.stale), C(backup.corrupt)
    (critical - unreadable archive or checksum mismatch), C(backup.shrunk) (warning - shrunk past
    the threshold; critical below C(min_size)), C(backup.restore_failed) (critical),
    C(backup.restore_skipped) (warning), C(backup.manifest) (warning - manifest missing or
    unparsable), C(backup.unavailable) (info - could not be checked here).
seealso:
  - module: bjeic.ops.linux_inspect
'''

EXAMPLES = r'''
- name: Verify the configuration and database dump backups, with a restore test
  bjeic.ops.backup_check:
    sets:
      - name: etc
        path: /backup/etc/etc-*.tar.gz
        max_age_hours: 26
        min_size: 100K
        manifest: "{file}.sha256"
        source: /etc
      - name: app-dumps
        path: /backup/db/app-*.sql.gz
        max_age_hours: 26
    restore_test: true
    scratch_dir: /var/tmp
  become: true
  register: backup_result
'''

RETURN = r'''
sets:
  description: Per set, what was found and checked (also returned as ledger items of kind backup).
  returned: always
  type: list
  elements: dict
  sample:
    - name: etc
      newest: /backup/etc/etc-20261126.tar.gz
      age_hours: 3.2
      size: 1048576
      previous_size: 1040000
      count: 7
      format: tar.gz
      verified: true
      members: 812
      verify_seconds: 0.41
      manifest: {checked: 812, missing: [], different: []}
      restore: {ok: true, files: 812, bytes: 5242880, restore_seconds: 0.3, compare_seconds: 0.2, cleaned: true}
ledger:
  description: One item of kind backup per set, key C(backup:NAME@HOST).
  returned: always
  type: list
  elements: dict
findings:
  description: What is wrong with the backups (result contract).
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of findings by severity and of sets verified.
  returned: always
  type: dict
  sample: {critical: 1, warning: 0, info: 0, sets: 2, verified: 1}
'''

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.common.text.formatters import human_to_bytes
from ansible_collections.bjeic.ops.plugins.module_utils.backup_set import check_set, ledger_item
from ansible_collections.bjeic.ops.plugins.module_utils.backup_take import check_spec
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings


def main():
    module = AnsibleModule(
        argument_spec=dict(
            sets=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                path=dict(type='str'),
                destination=dict(type='path'),
                compression=dict(type='str', choices=['zstd', 'gzip'], default='zstd'),
                paths=dict(type='list', elements='path', default=[]),
                exclude=dict(type='list', elements='str', default=[]),
                retention=dict(type='dict', default={}),
                one_file_system=dict(type='bool', default=True),
                min_free_mb=dict(type='int', default=256),
                max_age_hours=dict(type='float', default=24),
                min_size=dict(type='str', default='1'),
                manifest=dict(type='str'),
                source=dict(type='path'),
                verify=dict(type='bool', default=True),
            )),
            restore_test=dict(type='bool', default=False),
            shrink_threshold_pct=dict(type='float', default=20),
            restore_max_diff_pct=dict(type='float', default=10),
            scratch_dir=dict(type='path', default='/var/tmp'),
        ),
        supports_check_mode=True,
    )
    names = [spec['name'] for spec in module.params['sets']]
    if not names:
        module.fail_json(msg='sets is empty: give at least one backup set as {name, path} or {name, destination}')
    duplicated = sorted(set(n for n in names if names.count(n) > 1))
    if duplicated:
        module.fail_json(msg='backup set names must be unique (they key the ledger); repeated: %s' % ', '.join(duplicated))
    for spec in module.params['sets']:
        if not spec['path'] and not spec['destination']:
            module.fail_json(msg='sets[%s] needs path (a glob of its backups) or destination (where backup_create '
                                 'writes them)' % spec['name'])
        if not spec['path']:
            taken = check_spec(spec)
            spec.update(path=taken['path'], manifest=spec['manifest'] or taken['manifest'],
                        source=spec['source'] or taken['source'])
        if spec['max_age_hours'] <= 0:
            module.fail_json(msg='sets[%s].max_age_hours must be above 0, got %s' % (spec['name'], spec['max_age_hours']))
        try:
            spec['min_size_bytes'] = human_to_bytes(spec['min_size'])
        except ValueError as exc:
            module.fail_json(msg='sets[%s].min_size %r is not a size (bytes, or with a unit such as 10M): %s'
                             % (spec['name'], spec['min_size'], to_native(exc)))
    try:
        os.nice(10)   # reading large backups should yield to the host's own work
    except OSError:
        pass
    host = socket.gethostname()
    found = Findings()
    states = [check_set(module, spec, found.add_item) for spec in module.params['sets']]
    findings = found.items
    summary = found.summary()
    summary.update(sets=len(states), verified=sum(1 for s in states if s['verified']))
    problems = [f for f in findings if f['severity'] != 'info']
    module.exit_json(changed=False, sets=states, findings=findings, summary=summary,
                     ledger=[ledger_item(host, spec, state) for spec, state in zip(module.params['sets'], states)],
                     msg='%d backup set(s) checked on %s: %d verified, %d problem(s)'
                     % (len(states), host, summary['verified'], len(problems)))


if __name__ == '__main__':
    main()
