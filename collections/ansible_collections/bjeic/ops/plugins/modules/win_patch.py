#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is the documentation of a Windows module; the code is win_patch.ps1 beside it.

DOCUMENTATION = r'''
---
module: win_patch
short_description: Windows patching as a recorded transaction with a rollback that removes what it added
version_added: 0.2.0
description:
  - The Windows twin of M(bjeic.ops.linux_patch). The installed update set is read from C(Get-HotFix)
    and the DISM package list (C(Get-WindowsPackage -Online)), not from the Windows Update history,
    which forgets and can be cleared.
  - C(state=planned) lists the installed set and the updates the configured source (WSUS or Windows
    Update) offers in O(category_names), filtered by O(accept_list) and O(reject_list); findings
    C(patch.updates_available), C(patch.security_updates) (critical when one is rated Critical),
    C(patch.reboot_required) and C(patch.unfinished_transaction).
  - C(state=applied) records a transaction around the installation, which the role makes with
    M(ansible.windows.win_updates) - C(stage=begin) writes the installed set to
    C(<record_root>/<id>/transaction.json) before anything is installed (state C(applying));
    C(stage=finish) reads it again and records what was added (state C(applied), or C(failed) with
    O(outcome=failed)). A run killed in between leaves C(applying), which the next plan reports and the
    next begin refuses.
  - C(state=rolled_back) removes through DISM (C(Remove-WindowsPackage -NoRestart)) exactly the packages
    the transaction added and that are still installed, then marks it rolled back; a package DISM will
    not remove (a servicing stack update is permanent) fails the task with its name and DISM's reason.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: planned is read-only; begin and finish write no record; rolled_back lists what it would remove.
  diff_mode:
    support: none
    description: The result's C(packages) and C(changes) say what was added or removed.
  platform:
    support: full
    platforms: windows
    description: Windows Server 2012 R2 and later, as an administrator (DISM and the update agent need it).
options:
  state:
    description: C(planned), C(applied) (with O(stage)) or C(rolled_back) (with O(transaction_id)).
    type: str
    choices: [planned, applied, rolled_back]
    default: planned
  stage:
    description: For C(state=applied) - C(begin) before the installation, C(finish) after it.
    type: str
    choices: [begin, finish]
  transaction_id:
    description:
      - The transaction C(begin) returned (for C(finish) and C(rolled_back)); C(latest) rolls back the newest
        applied or failed one.
    type: str
  outcome:
    description: For C(finish) - how the installation went; C(failed) records the transaction as failed (it can still be rolled back).
    type: str
    choices: [ok, failed]
    default: ok
  category_names:
    description: Update categories to plan for, the names M(ansible.windows.win_updates) takes.
    type: list
    elements: str
    default: [SecurityUpdates, CriticalUpdates, UpdateRollups]
  accept_list:
    description: Only updates whose KB id or title (a regular expression) matches one of these.
    type: list
    elements: str
    default: []
  reject_list:
    description: Never updates whose KB id or title (a regular expression) matches one of these.
    type: list
    elements: str
    default: []
  search:
    description: Search the update source when planning; V(false) reports the installed set only.
    type: bool
    default: true
  record_root:
    description:
      - Where transactions are kept. The default, C(%ProgramData%\bjeic-ops\patch), is made readable by
        Administrators and SYSTEM only.
    type: path
notes:
  - Searching for updates over WinRM can be refused by the update agent; run the task with become
    (C(become_method=runas), C(become_user=SYSTEM)), as M(ansible.windows.win_updates) does.
seealso:
  - module: bjeic.ops.linux_patch
  - module: ansible.windows.win_updates
'''

EXAMPLES = r'''
- name: Plan
  bjeic.ops.win_patch:
    category_names: [SecurityUpdates, CriticalUpdates]
    reject_list: [KB5005463]
  register: plan

- name: Record the transaction, install, record what was added
  block:
    - name: Begin
      bjeic.ops.win_patch:
        state: applied
        stage: begin
      register: txn
    - name: Install
      ansible.windows.win_updates:
        category_names: [SecurityUpdates, CriticalUpdates]
        reboot: true
    - name: Finish
      bjeic.ops.win_patch:
        state: applied
        stage: finish
        transaction_id: "{{ txn.transaction_id }}"

- name: Roll the newest transaction back
  bjeic.ops.win_patch:
    state: rolled_back
    transaction_id: latest
'''

RETURN = r'''
transaction_id:
  description: The transaction begun, finished or rolled back.
  returned: always
  type: str
  sample: 20261201T020000Z-7d1e9a
installed:
  description: For C(planned) - C({hotfixes, packages, read_at}), the KBs and the DISM update packages installed.
  returned: when state is planned
  type: dict
  sample: {hotfixes: [KB5034439, KB5034768], packages: ['Package_for_RollupFix~31bf3856ad364e35~amd64~~20348.2322.1.10']}
available:
  description: For C(planned) - updates offered, each C({kb, title, severity, categories, size_bytes, security}).
  returned: when state is planned
  type: list
  elements: dict
  sample: [{kb: [KB5035857], title: 2024-03 Cumulative Update for Microsoft server operating system, severity: Critical, security: true}]
packages:
  description: What finish recorded as added (C({name, package, before, after})) or rollback removed.
  returned: always
  type: list
  elements: dict
  sample: [{name: KB5035857, package: 'Package_for_RollupFix~31bf3856ad364e35~amd64~~20348.2340.1.5', before: null, after: installed}]
added_hotfixes:
  description: For C(finish) - KBs in Get-HotFix now that were not before.
  returned: when stage is finish
  type: list
  elements: str
  sample: [KB5035857]
changes:
  description: The change record's body, C({object, action, before, after}).
  returned: always
  type: list
  elements: dict
  sample:
    - object: KB5035857 Package_for_RollupFix~31bf3856ad364e35~amd64~~20348.2340.1.5
      action: install
      before: null
      after: Package_for_RollupFix~31bf3856ad364e35~amd64~~20348.2340.1.5
findings:
  description: For C(planned), the findings described above.
  returned: always
  type: list
  elements: dict
  sample: [{check: patch.security_updates, severity: critical, subject: WIN-APP01, value: 2, threshold: null, message: "..."}]
reboot_required:
  description: Whether a restart is pending (component servicing or Windows Update say so, or DISM asked for one).
  returned: always
  type: bool
  sample: true
ledger:
  description:
    - For C(planned), one item of kind os keyed C(patch:HOST) with the pending update counts, the installed
      KBs and the last transaction (the monthly report's patch status).
  returned: when state is planned
  type: list
  elements: dict
  sample: [{kind: os, key: "patch:WIN-APP01", attrs: {backend: windows, last_transaction: 20261201T020000Z-7d1e9a, state: {pending: 3}}}]
rollback:
  description: The handle that undoes this transaction (after a finish that added packages), C({id, how}).
  returned: always
  type: dict
  sample: {id: 20261201T020000Z-7d1e9a, how: {module: bjeic.ops.win_patch, args: {state: rolled_back, transaction_id: 20261201T020000Z-7d1e9a}}}
'''
