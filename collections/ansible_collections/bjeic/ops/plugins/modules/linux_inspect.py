#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_inspect
short_description: Daily inspection of a Linux host in one call
version_added: 0.1.0
description:
  - Gathers everything the daily inspection needs from a Linux host in one module call (one round
    trip per host) and returns it as a configuration ledger item and a list of findings.
  - Covers file systems (usage, inodes, read-only mounts, fstab entries not mounted), LVM volume
    groups and logical volumes, swap, memory and CPU load, zombie processes, failed systemd units,
    logins (current, recent, failed), C(/tmp) and C(/var/tmp) usage, core dumps and crash files,
    system log errors, backup evidence and time synchronisation.
  - Read-only. Needs only the Python 3.6+ standard library on the host. Works without systemd and
    without LVM; what cannot be observed is reported as an C(info) finding with a check id ending in
    C(.unavailable), never guessed.
  - Run it with privilege escalation (become) so it can read C(/var/log/btmp) and the system logs.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so check mode runs the same inspection.
  diff_mode:
    support: none
    description: Nothing is changed, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Linux only (reads C(/proc) and C(/sys)).
options:
  thresholds:
    description:
      - Warning and critical levels per check id, merged over the defaults. Give only the levels you
        want to change, for example C(fs.usage) with only C(warning=75).
      - "Defaults (units in brackets): C(fs.usage) 80/90 [% used], C(fs.inodes) 80/90 [% used],
        C(lvm.vg_free) 10/5 [% free, lower is worse], C(swap.usage) 50/80 [%], C(mem.usage) 85/95 [%],
        C(cpu.load) 1.0/2.0 [5-minute load per CPU], C(proc.zombie) 1/10 [zombies under one parent],
        C(login.failed) 5/30 [failed logins in the window], C(tmp.usage) 1024/4096 [MiB under one
        directory], C(files.core_dump) 1/10 [crash files on the host], C(log.errors) 10/100 [error
        lines in the window], C(backup.stale) 1/2 [multiples of the backup's max_age_hours]."
      - Checks without levels have a fixed severity - C(fs.readonly), C(backup.missing) are critical;
        C(fs.fstab_mismatch), C(svc.failed), C(ntp.unsynced) are warnings; C(svc.down) (a unit of
        O(services) not running) is critical.
    type: dict
    default: {}
  window_hours:
    description:
      - How far back to look for failed logins, recent logins and log errors, in hours.
    type: int
    default: 24
  backup_paths:
    description:
      - Backup evidence to look for. The newest file matching each glob is compared with its maximum age.
      - No match is a C(backup.missing) finding; too old a match is C(backup.stale).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Shell glob of the backup files, for example C(/backup/db/*.tar.gz).
        type: str
        required: true
      max_age_hours:
        description: Age in hours after which the newest backup is stale.
        type: float
        default: 24
  services:
    description:
      - systemd units that must be running on the host (business services, e.g. C(nginx), C(mariadb)).
        Each one not active is a C(svc.down) finding; a unit that does not exist is one too.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Run only these checks. Empty means all checks.
    type: list
    elements: str
    default: []
    choices: &check_ids
      - fs.usage
      - fs.inodes
      - fs.readonly
      - fs.fstab_mismatch
      - lvm.vg_free
      - swap.usage
      - mem.usage
      - cpu.load
      - proc.zombie
      - svc.failed
      - svc.down
      - login.failed
      - tmp.usage
      - files.core_dump
      - log.errors
      - backup.stale
      - backup.missing
      - ntp.unsynced
  skip_checks:
    description:
      - Checks not to run, applied after O(checks).
    type: list
    elements: str
    default: []
    choices: *check_ids
  log_sample_lines:
    description:
      - How many of the newest error lines to return as samples with the C(log.errors) finding.
    type: int
    default: 10
  cloud_identity:
    description:
      - Report the host as a cloud resource (云主机) - a ledger item of kind C(cloud) keyed
        C(self:vm:<instance id>) with its platform, region, zone, instance type, CPUs, memory, disks
        (with the serial that carries the cloud volume id) and addresses.
      - The instance id comes from cloud-init's C(/run/cloud-init/instance-data.json) (never the
        sensitive copy), else C(/var/lib/cloud/data/instance-id), else the DMI system UUID when the
        DMI vendor is a cloud platform.
      - A host with none of these gets an C(info) finding C(cloud.unavailable). Set V(false) on
        physical servers.
    type: bool
    default: true
  core_dump_paths:
    description:
      - Directories searched for core dumps and crash files. C(/tmp) and C(/var/tmp) are searched two
        levels deep, the others only at their top level.
    type: list
    elements: path
    default: [/tmp, /var/tmp, /, /var/crash, /var/lib/systemd/coredump]
notes:
  - Each file system is queried with a time limit, so a hung network mount becomes a C(fs.usage)
    critical finding instead of a hung inspection.
  - Failed logins come from C(/var/log/btmp) (only password and keyboard-interactive failures are
    recorded there by sshd); recent logins from C(/var/log/wtmp); current sessions from C(/run/utmp).
  - Log errors come from the journal (priority err and above) where systemd runs, otherwise from
    C(/var/log/messages) or C(/var/log/syslog) (lines matching error words, as those files carry no priority).
seealso:
  - name: Result contract
    description: The keys every bjeic.ops module returns (docs/architecture.md in the project).
    link: https://docs.ansible.com/ansible/latest/dev_guide/developing_modules_general.html
'''

EXAMPLES = r'''
- name: Daily inspection with default thresholds
  bjeic.ops.linux_inspect:
  become: true
  register: inspection

- name: Stricter disk thresholds, backup evidence, no load check
  bjeic.ops.linux_inspect:
    thresholds:
      fs.usage: {warning: 70, critical: 85}
    backup_paths:
      - path: /backup/db/*.dump.gz
        max_age_hours: 26
      - path: /backup/etc/etc-*.tar.gz
        max_age_hours: 170
    skip_checks: [cpu.load]
  become: true
  register: inspection

- name: Fail the play on critical findings
  ansible.builtin.assert:
    that: inspection.findings | selectattr('severity', 'equalto', 'critical') | list | length == 0
    fail_msg: "{{ inspection.findings | selectattr('severity', 'equalto', 'critical') | map(attribute='message') | list }}"
'''

RETURN = r'''
ledger:
  description:
    - Configuration items observed. One item of kind C(os) keyed C(host:<hostname>), and one of kind
      C(network) keyed C(netpolicy:<hostname>) with the listening ports (C(listening), each
      C({proto, address, port, process})) and the firewall rules (C(firewall), rule lines per backend
      C(nftables), C(iptables), C(ip6tables) without packet counters, and the C(firewalld) state).
    - On a cloud host (see O(cloud_identity)) one item of kind C(cloud) keyed C(self:vm:<instance id>)
      with C(type), C(id), C(name), C(platform), C(cloud_name), C(region), C(availability_zone),
      C(instance_type), C(source), C(cpu_count), C(memory_bytes), C(disks) and C(addresses), as far
      as the host knows them.
    - Values that change from run to run (usage, load, uptime, sessions) sit under C(attrs.state),
      which drift reports leave out.
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Ledger kind.
      type: str
      sample: os
    key:
      description: Stable key across runs.
      type: str
      sample: host:web01
    attrs:
      description:
        - Hostname, fqdn, addresses, os, kernel, arch, cpu, memory_bytes, swap_bytes, disks,
          filesystems, volume_groups, logical_volumes, uptime_seconds, boot_time, time_sync,
          sessions, recent_logins, inspected_at.
      type: dict
      sample: {hostname: web01, os: {name: Debian GNU/Linux, version: "12"}, cpu: {count: 4}}
findings:
  description: What is wrong or worth noting, each C({check, severity, subject, value, threshold, message}).
  returned: always
  type: list
  elements: dict
  sample:
    - check: fs.usage
      severity: critical
      subject: /var
      value: 93.4
      threshold: 90
      message: "/var is 93.4% full (critical at 90%): 1.2 GiB free of 20.0 GiB"
summary:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {critical: 1, warning: 2, info: 0}
checks:
  description: The check ids that ran.
  returned: always
  type: list
  elements: str
  sample: [fs.usage, fs.inodes, proc.zombie]
thresholds:
  description: The thresholds in force after merging O(thresholds) over the defaults.
  returned: always
  type: dict
  sample: {fs.usage: {warning: 80.0, critical: 90.0}}
'''

import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.findings import ThresholdError, merge_thresholds, public_thresholds
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_core import (
    CHECK_IDS, DEFAULT_THRESHOLDS, Inspection)
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_run import inspect, ledger_items


def main():
    module = AnsibleModule(
        argument_spec=dict(
            thresholds=dict(type='dict', default={}),
            window_hours=dict(type='int', default=24),
            backup_paths=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='str', required=True),
                max_age_hours=dict(type='float', default=24),
            )),
            services=dict(type='list', elements='str', default=[]),
            checks=dict(type='list', elements='str', default=[], choices=list(CHECK_IDS)),
            skip_checks=dict(type='list', elements='str', default=[], choices=list(CHECK_IDS)),
            log_sample_lines=dict(type='int', default=10),
            cloud_identity=dict(type='bool', default=True),
            core_dump_paths=dict(type='list', elements='path',
                                 default=['/tmp', '/var/tmp', '/', '/var/crash', '/var/lib/systemd/coredump']),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['window_hours'] <= 0:
        module.fail_json(msg='window_hours must be a positive number of hours, got %d' % params['window_hours'])
    if not 0 <= params['log_sample_lines'] <= 100:
        module.fail_json(msg='log_sample_lines must be between 0 and 100, got %d' % params['log_sample_lines'])
    for spec in params['backup_paths']:
        if spec['max_age_hours'] <= 0:
            module.fail_json(msg='backup_paths: max_age_hours for %s must be positive, got %s' % (spec['path'], spec['max_age_hours']))
    if not os.path.isdir('/proc/self'):
        module.fail_json(msg='linux_inspect needs a Linux host with /proc mounted; %s has none' % socket.gethostname())
    try:
        thresholds = merge_thresholds(DEFAULT_THRESHOLDS, params['thresholds'])
    except ThresholdError as exc:
        module.fail_json(msg=str(exc))
    enabled = set(params['checks'] or CHECK_IDS) - set(params['skip_checks'])
    insp = Inspection(module, thresholds, enabled)
    findings = inspect(insp)
    summary = contract.summary(findings)
    module.exit_json(
        changed=False,
        ledger=ledger_items(insp),
        findings=findings,
        summary=summary,
        checks=sorted(enabled),
        thresholds=public_thresholds(thresholds),
    )


if __name__ == '__main__':
    main()
