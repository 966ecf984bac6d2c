#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is the documentation of a Windows module; the code is win_watch.ps1 beside it.

DOCUMENTATION = r'''
---
module: win_watch
short_description: Security watch of a Windows Server host against a baseline taken at the start of a watch
version_added: 0.4.0
description:
  - The Windows twin of M(bjeic.ops.linux_watch), for the special-period duty inspection (特殊时期安全值守) of the
    Windows half of the fleet. Compares the host with the baseline of the watch and reports what appeared or changed
    since - new listening ports (with their process), new or changed local accounts and new members of
    Administrators, Remote Desktop Users and Backup Operators, new or changed services, new or changed scheduled
    tasks, new or changed autostart entries (the Run and RunOnce keys of the machine and of every loaded user
    profile, the common Startup folder) and firewall rule drift (the rules as the firewall service stores them,
    local and group policy, and the profiles' state).
  - The check ids are those of M(bjeic.ops.linux_watch) where the meaning is the same (C(sec.listening_new),
    C(sec.account_new), C(sec.firewall_drift)); C(sec.service_new), C(sec.task_new) and C(sec.autostart_new) are
    Windows' own ways to persist.
  - The first run of a watch on a host records the baseline (C(%ProgramData%\\bjeic-ops\\watch\\WATCH.json), readable
    by Administrators and SYSTEM only) and reports one C(sec.baseline_captured) info finding; later runs of the same
    watch compare against it. A new O(watch) name starts a new baseline.
  - CIM classes, cmdlets and the registry are read, never the screen text of localised tools; groups are found by
    their well-known SID, so a Chinese-language Windows reports the same. Failed logons are counted by
    M(bjeic.ops.win_inspect) (C(login.failed)), which C(special_duty.yml) runs beside this module.
  - Run it as an administrator (the roles and C(special_duty.yml) run Windows modules as SYSTEM).
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Compares as usual; a baseline that does not exist yet is not written.
  diff_mode:
    support: none
    description: The host is not changed; the module's own baseline file is its state, not configuration.
  platform:
    support: full
    platforms: windows
    description: Windows Server 2012 R2 and later (Windows PowerShell 5.1; Get-ScheduledTask, Get-NetTCPConnection).
options:
  watch:
    description:
      - Name of the watch; the baseline is kept per name. C(bjeic-ops run special_duty.yml) passes the id of the
        watch started with C(bjeic-ops duty start).
      - Letters, digits, C(.), C(_) and C(-) only.
    type: str
    default: default
  baseline:
    description:
      - C(keep) compares with the watch's baseline (recording it first if there is none).
      - C(reset) records a new baseline now, for instance after an approved change during the watch.
    type: str
    choices: [keep, reset]
    default: keep
  checks:
    description: Run only these checks. Empty means all.
    type: list
    elements: str
    default: []
    choices: [sec.listening_new, sec.account_new, sec.service_new, sec.task_new, sec.autostart_new, sec.firewall_drift]
notes:
  - Severities - a new listening port, a new or changed local account, a new service, scheduled task or autostart
    entry, and firewall drift are warnings; a new member of Administrators, Remote Desktop Users or Backup Operators,
    a service whose program or account changed, a scheduled task whose actions or account changed, and an autostart
    entry whose command changed are critical.
  - What went away (a port, an account, a service, a task, an entry) is an info finding.
  - A part that cannot be read (the Task Scheduler service stopped, say) is a C(sec.unavailable) info finding; the
    rest of the watch still runs.
seealso:
  - module: bjeic.ops.linux_watch
  - module: bjeic.ops.win_inspect
'''

EXAMPLES = r'''
- name: Hourly security watch during the National Day period
  bjeic.ops.win_watch:
    watch: national-day-2026
  become: true
  become_method: ansible.builtin.runas
  become_user: SYSTEM

- name: Take a new baseline after an approved change
  bjeic.ops.win_watch:
    watch: national-day-2026
    baseline: reset
'''

RETURN = r'''
findings:
  description: What differs from the baseline (result contract).
  returned: always
  type: list
  elements: dict
  sample:
    - check: sec.account_new
      severity: critical
      subject: group:S-1-5-32-544
      value: ['WIN-APP01\backdoor (S-1-5-21-1004336348-1177238915-682003330-1013)']
      threshold: null
      message: "WIN-APP01\\backdoor (S-1-5-21-...-1013) joined Administrators (S-1-5-32-544) since the watch began"
baseline:
  description: The baseline compared with.
  returned: always
  type: dict
  sample: {watch: national-day-2026, path: 'C:\ProgramData\bjeic-ops\watch\national-day-2026.json',
           captured_at: "2026-10-01T00:00:12Z", captured_now: false}
watched:
  description: How much was looked at this run.
  returned: always
  type: dict
  sample: {listening: 24, accounts: 4, services: 211, tasks: 143, autostart: 6, firewall_rules: 412}
'''
