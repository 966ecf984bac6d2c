#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is the documentation of a Windows module; the code is win_inspect.ps1 beside it.

DOCUMENTATION = r'''
---
module: win_inspect
short_description: Daily inspection of a Windows Server host in one call
version_added: 0.2.0
description:
  - The Windows twin of M(bjeic.ops.linux_inspect) - gathers everything the daily inspection needs in
    one module call (one round trip per host) and returns ledger items and findings with the same
    check ids where the meaning is the same.
  - Covers volumes (usage), the page file, memory and CPU use, automatic services that failed, services
    that must run, failed logons (event 4625) and recent interactive and remote desktop logons (4624),
    System and Application log errors in the window, temp folder usage, a pending restart, time
    synchronisation, Windows Server Backup (newest version, its age and the last result), the firewall
    profiles and rules, and listening ports.
  - Read-only. Uses CIM classes and event log queries, never the screen text of localised tools, so a
    Chinese-language Windows reports the same. What cannot be observed is an C(info) finding whose check
    id ends in C(.unavailable).
  - Run it as an administrator (reading the Security log and Windows Server Backup needs it).
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
    platforms: windows
    description: Windows Server 2012 R2 and later (Windows PowerShell 5.1).
options:
  thresholds:
    description:
      - Warning and critical levels per check id, merged over the defaults. Give only the levels you
        want to change, for example C(fs.usage) with only C(warning=75).
      - "Defaults: C(fs.usage) 80/90 [% used], C(swap.usage) 50/80 [% of the page file], C(mem.usage)
        85/95 [%], C(cpu.usage) 80/95 [% busy over 3 s], C(login.failed) 5/30 [failed logons in the
        window], C(tmp.usage) 1024/4096 [MiB under one folder], C(log.errors) 10/100 [error events in
        the window], C(backup.stale) 1/2 [multiples of O(backup_max_age_hours)]."
      - Checks without levels have a fixed severity - C(svc.down), C(backup.missing), C(backup.failed)
        are critical; C(svc.failed), C(reboot.pending), C(ntp.unsynced) are warnings.
    type: dict
    default: {}
  window_hours:
    description:
      - How far back to count failed logons, recent logons and log errors, in hours.
    type: int
    default: 24
  services:
    description:
      - Services (by service name, not display name) that must be running, such as business services.
        Each one stopped or not installed is a critical C(svc.down) finding.
    type: list
    elements: str
    default: []
  checks:
    description:
      - Only these check ids run (empty runs all). What feeds the ledger is gathered either way.
    type: list
    elements: str
    default: []
    choices: [fs.usage, swap.usage, mem.usage, cpu.usage, svc.failed, svc.down, login.failed, tmp.usage,
              log.errors, backup.stale, backup.missing, backup.failed, reboot.pending, ntp.unsynced]
  skip_checks:
    description:
      - These check ids do not run (applied after O(checks)).
    type: list
    elements: str
    default: []
    choices: [fs.usage, swap.usage, mem.usage, cpu.usage, svc.failed, svc.down, login.failed, tmp.usage,
              log.errors, backup.stale, backup.missing, backup.failed, reboot.pending, ntp.unsynced]
  log_sample_lines:
    description:
      - How many of the newest error events to return as samples with the C(log.errors) finding (0 to 100).
    type: int
    default: 10
  temp_paths:
    description:
      - Folders whose size is the C(tmp.usage) check.
    type: list
    elements: path
    default: ['C:\Windows\Temp']
  backup_max_age_hours:
    description:
      - The age the newest Windows Server Backup version may reach, in hours (its recovery point objective).
        C(backup.stale) grades the age in multiples of it; 0 turns the age check off.
    type: float
    default: 26
  ignore_services:
    description:
      - Automatic services whose stopped state is normal and not a C(svc.failed) finding (updaters that
        stop themselves, licensing, on-demand services).
    type: list
    elements: str
    default: [gupdate, gupdatem, edgeupdate, sppsvc, RemoteRegistry, MapsBroker, tiledatamodelsvc, CDPSvc,
              WbioSrvc, TrustedInstaller]
  cloud_identity:
    description:
      - Report the host as a cloud resource (ledger kind C(cloud), key C(self:vm:<instance id>)) when its
        SMBIOS manufacturer names a cloud platform; the system UUID is the instance id.
      - Otherwise an C(info) finding C(cloud.unavailable). Set V(false) on physical servers.
    type: bool
    default: true
notes:
  - Automatic services that stopped cleanly (exit code 0) are trigger-start services at rest and are not
    reported; one that stopped with another exit code is.
  - Time synchronisation is read from the W32Time service and the leap indicator on the first line of
    C(w32tm /query /status), which is the same in every display language.
seealso:
  - module: bjeic.ops.linux_inspect
  - module: bjeic.ops.win_harden
'''

EXAMPLES = r'''
- name: Inspect a Windows host
  bjeic.ops.win_inspect:
    services: [W3SVC, MSSQLSERVER]
    thresholds:
      fs.usage: {warning: 75}
    backup_max_age_hours: 26
  register: inspection

- name: A host backed up by another tool
  bjeic.ops.win_inspect:
    skip_checks: [backup.stale, backup.missing, backup.failed]
'''

RETURN = r'''
ledger:
  description:
    - Configuration items observed. One of kind C(os) keyed C(host:<hostname>) (hostname, fqdn, os,
      kernel, arch, cpu, memory_bytes, swap_bytes, page_files, domain, disks, filesystems, addresses,
      boot_time, time_sync, log_source), one of kind C(network) keyed C(netpolicy:<hostname>)
      (C(listening) ports, C(firewall.windows_firewall) rule lines, C(firewall_profiles)), and on a cloud
      host one of kind C(cloud) keyed C(self:vm:<instance id>).
    - Values that change from run to run (usage, CPU, uptime, logons, backup age) sit under C(attrs.state),
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
      sample: host:WIN-APP01
    attrs:
      description: The item's attributes.
      type: dict
      sample: {hostname: WIN-APP01, os: {name: Microsoft Windows Server 2019 Datacenter, version: 10.0.17763}}
findings:
  description: What is wrong or worth noting, each C({check, severity, subject, value, threshold, message}).
  returned: always
  type: list
  elements: dict
  sample:
    - check: fs.usage
      severity: critical
      subject: 'D:'
      value: 93.4
      threshold: 90
      message: "D: is 93.4% full (critical at 90%): 6.6 GiB free of 100.0 GiB"
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
  sample: [cpu.usage, fs.usage, mem.usage]
thresholds:
  description: The thresholds in force after merging O(thresholds) over the defaults.
  returned: always
  type: dict
  sample: {fs.usage: {warning: 80.0, critical: 90.0}}
'''
