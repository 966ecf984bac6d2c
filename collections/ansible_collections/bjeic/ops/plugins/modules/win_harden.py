#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is the documentation of a Windows module; the code is win_harden.ps1 beside it.

DOCUMENTATION = r'''
---
module: win_harden
short_description: Harden Windows Server to the MLPS 2.0 level-3 baseline, with exact rollback
version_added: 0.2.0
description:
  - The Windows twin of M(bjeic.ops.linux_harden). Checks (C(audit)), applies (C(enforce)) and undoes
    (C(rollback)) a baseline mapped to GB/T 22239-2019 8.1.4 (安全计算环境), kept as data in
    C(module_utils/BjeicOpsWinBaseline.psm1); one engine checks and applies every control.
  - "Controls: C(pwd.complexity), C(pwd.min_length) 8, C(pwd.max_age) 90 days, C(pwd.min_age) 1 day,
    C(pwd.history) 5 (8.1.4.1a, secedit); C(auth.lockout) 5 failures, 10 minutes (8.1.4.1b);
    C(session.inactivity) 600 s (8.1.4.1b); C(rdp.nla) NLA over TLS and C(rdp.encryption) high
    (8.1.4.1c); C(ntlm.v2_only) LmCompatibilityLevel 5 and no LM hashes (8.1.4.1c); C(acct.guest)
    disabled; C(acct.admin_name) renamed (audit only); C(anon.restrict), C(share.admin_default)
    (8.1.4.2); C(audit.policy) 13 advanced audit subcategories by GUID and C(log.security_size) 1 GiB
    (8.1.4.3); C(smb.v1_off), C(svc.insecure), C(autorun.off), C(fw.profiles) (8.1.4.4)."
  - Before enforce changes anything it copies the whole local security policy (C(secedit /export)) and
    audit policy (C(auditpol /backup)) into C(<backup_root>/<backup id>/) and records every value it
    replaces (registry values and whether they existed, service start modes and states, firewall
    profile settings) in a manifest that is rewritten before each change, so a run that dies half-way
    can still be rolled back.
  - Rollback restores each recorded value, removes registry values and keys enforce created, and
    refuses when a setting was changed again after enforce unless O(force=true).
  - "The management channel: it never disables WinRM, SECLOGON (become), RPC, the HTTP service,
    Remote Desktop, OpenSSH or the firewall service; it does not turn a firewall profile on unless an
    enabled inbound allow rule covers every WinRM listener port in that profile; it never renames or
    disables the account it runs as or a O(management_users) entry."
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Enforce and rollback report what they would change and change nothing.
  diff_mode:
    support: full
    description: The values before and after, per control.
  platform:
    support: full
    platforms: windows
    description: Windows Server 2012 R2 and later, run as an administrator.
options:
  mode:
    description:
      - C(audit) checks and changes nothing; C(enforce) brings failing controls to the baseline;
        C(rollback) restores the backup O(backup_id).
    type: str
    choices: [audit, enforce, rollback]
    default: audit
  baseline:
    description: The baseline to check.
    type: str
    choices: [mlps3]
    default: mlps3
  controls:
    description:
      - Only these control ids or tags (C(password), C(accounts), C(session), C(rdp), C(auth), C(smb),
        C(kernel), C(audit), C(services), C(firewall)); empty means all.
    type: list
    elements: str
    default: []
  exclude_controls:
    description: Control ids or tags to leave out.
    type: list
    elements: str
    default: []
  settings:
    description:
      - "Numbers of the baseline: C(min_password_length) 8, C(max_password_age_days) 90,
        C(min_password_age_days) 1, C(password_history) 5, C(lockout_threshold) 5,
        C(lockout_duration_minutes) 10, C(lockout_window_minutes) 10, C(inactivity_timeout_seconds) 600,
        C(security_log_max_bytes) 1073741824, C(insecure_services) (TlntSvr, SimpTcp, SSDPSRV, upnphost,
        Browser, RemoteAccess, FTPSVC)."
      - Unknown keys are refused with the list of known ones.
    type: dict
    default: {}
  management_users:
    description:
      - Accounts the management channel uses besides the one the module runs as; they are never disabled
        or renamed.
    type: list
    elements: str
    default: []
  backup_id:
    description: The backup to restore (C(mode=rollback)); enforce returns it.
    type: str
  backup_root:
    description:
      - Where backups are kept. The default, C(%ProgramData%\bjeic-ops\harden), is made readable by
        Administrators and SYSTEM only.
    type: path
  force:
    description: Roll back even settings that were changed again after enforce.
    type: bool
    default: false
notes:
  - On a domain member a Group Policy may set the same values. Enforce reads every value back; one the
    domain policy overrides is an C(error) that names it, and the GPO is where to change it.
  - C(share.admin_default) and C(smb.v1_off) take effect when the Server service restarts; enforce does
    not restart it.
seealso:
  - module: bjeic.ops.linux_harden
  - module: bjeic.ops.win_inspect
'''

EXAMPLES = r'''
- name: Audit against the baseline
  bjeic.ops.win_harden:
  register: audit

- name: Enforce the password and audit controls only
  bjeic.ops.win_harden:
    mode: enforce
    controls: [password, audit]
    settings:
      min_password_length: 12
  register: hardened

- name: Roll it back
  bjeic.ops.win_harden:
    mode: rollback
    backup_id: "{{ hardened.backup_id }}"
'''

RETURN = r'''
controls:
  description: One entry per control considered.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: Control id (also the finding's check id)., type: str, sample: ntlm.v2_only}
    title: {description: What the control asks., type: str, sample: Only NTLMv2 is sent and LM hashes are not stored}
    clause: {description: GB/T 22239-2019 clause it serves., type: str, sample: 8.1.4.1c}
    severity: {description: Severity of the finding when the control fails., type: str, sample: warning}
    status:
      description: C(pass), C(fail), C(fixed) (enforce changed it and it passes now), C(skipped) (refused to
        protect the management channel) or C(error).
      type: str
      sample: fixed
    before: {description: What was found for each setting., type: raw, sample: {LmCompatibilityLevel: 3, NoLMHash: 1}}
    after: {description: What is there after enforce (null in audit and check mode)., type: raw, sample: {LmCompatibilityLevel: 5, NoLMHash: 1}}
    message: {description: 'Why it failed, what was done, or why it was skipped.', type: str, sample: set LmCompatibilityLevel = 5}
  sample: [{id: ntlm.v2_only, clause: 8.1.4.1c, status: fixed}]
summary:
  description:
    - The findings by severity (the one meaning of C(summary) in the result contract), then the number of controls per
      status and the compliance percentage (passing of applicable).
  returned: always
  type: dict
  sample: {critical: 0, warning: 1, info: 0, pass: 15, fail: 1, fixed: 5, skipped: 1, error: 0, compliance_pct: 95.2}
findings:
  description: Failing controls, each C({check, severity, subject, value, threshold, message}) with the control id as check.
  returned: always
  type: list
  elements: dict
  sample: [{check: smb.v1_off, severity: critical, subject: SMBv1 is off, value: {SMB1: 1}, threshold: null, message: "..."}]
changes:
  description: What enforce or rollback changed, C({object, action, before, after, control}).
  returned: always
  type: list
  elements: dict
  sample: [{object: 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa\LmCompatibilityLevel', action: set, before: 3, after: 5, control: ntlm.v2_only}]
ledger:
  description: One item of kind C(os) keyed C(baseline:mlps3@<host>) with each control's status, for compliance drift.
  returned: always
  type: list
  elements: dict
  sample: [{kind: os, key: baseline:mlps3@WIN-APP01, attrs: {baseline: mlps3, controls: {smb.v1_off: pass}}}]
backup_id:
  description: The backup enforce made (null when nothing changed), or the one rollback restored.
  returned: always
  type: str
  sample: 20261201T101500Z-1a2b3c
rollback:
  description: The handle that undoes this enforce, C({id, how}) where C(how) runs this module with C(mode=rollback); null otherwise.
  returned: always
  type: dict
  sample: {id: 20261201T101500Z-1a2b3c, how: {module: bjeic.ops.win_harden, args: {mode: rollback, backup_id: 20261201T101500Z-1a2b3c}}}
management_users:
  description: The accounts treated as the management channel.
  returned: always
  type: list
  elements: str
  sample: ['GOV\svc-ansible']
'''
