#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_harden
short_description: Audit, enforce and roll back the MLPS 2.0 level-3 baseline on a Linux host
version_added: 0.1.0
description:
  - Checks a Linux host against a security baseline mapped to GB/T 22239-2019 level 3 (MLPS 2.0,
    clause 8.1.4), fixes what fails, and puts everything back exactly on request.
  - The baseline is a catalogue of controls kept as data (C(plugins/module_utils/harden_catalogue.py)),
    each tagged with the clause it serves - password complexity, ageing and history, login failure
    lockout (pam_faillock), idle timeouts, sshd settings and crypto, insecure services, auditd and
    its rules, rsyslog, umask, permissions of the account files, accounts (UID 0, empty passwords,
    system accounts), core dumps and network kernel settings.
  - C(mode=audit) changes nothing and reports every control. C(mode=enforce) first backs up every
    file and setting it is about to change under O(backup_root) (root only, with a manifest), then
    changes it, and returns the backup id as the rollback handle. C(mode=rollback) restores a
    backup byte for byte (content, mode, owner), removes files and packages that enforce added,
    and restores service states and kernel settings.
  - Never cuts the management channel. Enforce refuses to turn off root login over SSH when the
    management user is root, and password login when a management user has no SSH key; it never
    expires, locks or changes the shell of a management user; the new sshd configuration is
    checked with C(sshd -t) and for the management users' key login before it is put in place,
    and sshd is reloaded (existing sessions stay) only after that.
  - Debian, Ubuntu and UOS (dpkg) and RHEL, CentOS, Rocky, Kylin and openEuler (rpm) hosts. On
    RHEL-family hosts where authselect manages PAM, lockout and history are switched on with
    authselect features instead of editing PAM files.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Enforce and rollback report what they would change and change nothing.
  diff_mode:
    support: full
    description: Every file enforce or rollback changes comes back as a before/after diff.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with dpkg (Debian family) or rpm (RHEL family).
options:
  mode:
    description:
      - C(audit) reports, C(enforce) fixes failing controls, C(rollback) restores the backup O(backup_id).
    type: str
    choices: [audit, enforce, rollback]
    default: audit
  baseline:
    description: The built-in catalogue to use.
    type: str
    choices: [mlps3]
    default: mlps3
  controls:
    description:
      - Control ids or tags to include (for example C(ssh.crypto), C(password), C(ssh)). Empty means
        every control except the opt-in ones (C(ssh.password_auth)), which must be named.
    type: list
    elements: str
    default: []
  exclude_controls:
    description: Control ids or tags to leave out, applied after O(controls).
    type: list
    elements: str
    default: []
  settings:
    description:
      - Overrides of the baseline's parameters. Known keys and defaults - C(password_min_length) 8,
        C(password_min_classes) 3, C(password_max_days) 90, C(password_min_days) 1,
        C(password_warn_age) 7, C(password_history) 5, C(lockout_attempts) 5, C(lockout_seconds) 600,
        C(session_timeout) 600, C(ssh_client_alive_interval) 300, C(ssh_client_alive_count_max) 3,
        C(ssh_max_auth_tries) 4, C(umask) 027, C(banner_text) (Chinese and English notice),
        C(apply_to_existing_users) false (when true, C(pwd.existing_users) sets ageing on existing
        interactive accounts).
    type: dict
    default: {}
  management_users:
    description:
      - Accounts Ansible and the operators connect with. Enforce never locks, expires or changes the
        shell of these, and refuses changes that would lock them out. The user that ran C(sudo) to
        reach root and the session's login user are added automatically.
    type: list
    elements: str
    default: []
  backup_id:
    description: The backup to restore (required with C(mode=rollback)), as returned by enforce.
    type: str
  backup_root:
    description: Where backups live on the host (created root-only).
    type: path
    default: /var/lib/bjeic-ops/harden
  force:
    description:
      - Rollback only. Restore files even when they were changed by someone else after enforce
        (those later edits are lost). Without it rollback refuses and names the files.
    type: bool
    default: false
notes:
  - In containers, C(/proc/sys) is read-only and the kernel audit system belongs to the host, so
    kernel settings are written to C(/etc/sysctl.d) (applied at boot) and auditd is enabled but may
    not run; the control's message says so and the control passes on its persistent configuration.
  - Without systemd, service controls (auditd, rsyslog, insecure services) are C(skipped).
  - Rollback restores the account files (C(/etc/passwd), C(/etc/shadow)) as they were before
    enforce; it refuses when they changed since (for example a password change) unless O(force=true).
seealso:
  - name: GB/T 22239-2019
    description: Information security technology - Baseline for classified protection of cybersecurity.
    link: https://openstd.samr.gov.cn/bzgk/gb/
'''

EXAMPLES = r'''
- name: Audit against the MLPS level-3 baseline
  bjeic.ops.linux_harden:
  become: true
  register: audit

- name: Enforce, with a 12-character minimum and SSH left out
  bjeic.ops.linux_harden:
    mode: enforce
    settings:
      password_min_length: 12
    exclude_controls: [ssh]
    management_users: ["{{ ansible_user }}"]
  become: true
  register: hardened

- name: Roll back that enforce
  bjeic.ops.linux_harden:
    mode: rollback
    backup_id: "{{ hardened.backup_id }}"
  become: true
'''

RETURN = r'''
controls:
  description: One entry per control considered.
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: Control id (also the finding's check id)., type: str, sample: ssh.root_login}
    title: {description: What the control asks., type: str, sample: No direct root login over SSH}
    clause: {description: GB/T 22239-2019 clause it serves., type: str, sample: 8.1.4.2b}
    status:
      description: C(pass), C(fail), C(fixed) (enforce changed it and it passes now), C(skipped) (not
        applicable here) or C(error).
      type: str
      sample: fixed
    before:
      description: What was found.
      type: raw
      sample: {PermitRootLogin: "yes"}
    after:
      description: What is there after enforce (null in check mode, which changes nothing).
      type: raw
      sample: {PermitRootLogin: "no"}
    message:
      description: Why it failed, what was done, or why it was skipped.
      type: str
      sample: sshd runs with PermitRootLogin no
  sample: [{id: ssh.root_login, title: No direct root login over SSH, clause: 8.1.4.2b, status: fixed}]
summary:
  description:
    - The findings by severity (the one meaning of C(summary) in the result contract), then the number of controls per
      status and the compliance percentage (passing of applicable).
  returned: always
  type: dict
  sample: {critical: 0, warning: 0, info: 0, pass: 20, fail: 0, fixed: 6, skipped: 1, error: 0, compliance_pct: 100.0}
findings:
  description: Failing controls, each C({check, severity, subject, value, threshold, message}) with the control id as check.
  returned: always
  type: list
  elements: dict
  sample: [{check: pwd.max_days, severity: warning, subject: /etc/login.defs, value: {PASS_MAX_DAYS: "99999"}, threshold: "<= 90", message: "..."}]
changes:
  description: What enforce or rollback changed, C({object, action, before, after, control}).
  returned: always
  type: list
  elements: dict
  sample: [{object: /etc/login.defs, action: edit, before: 3c5a1f..., after: 9d0e44..., control: pwd.max_days}]
ledger:
  description: One item of kind C(os) keyed C(baseline:mlps3@<host>) with each control's status, for compliance drift.
  returned: always
  type: list
  elements: dict
  sample: [{kind: os, key: baseline:mlps3@web01, attrs: {baseline: mlps3, controls: {ssh.root_login: pass}}}]
backup_id:
  description: The backup enforce made (null when nothing changed), or the one rollback restored.
  returned: always
  type: str
  sample: 20261126T101500Z-1a2b3c
rollback:
  description: The handle that undoes this enforce, C({id, how}) where C(how) runs this module with C(mode=rollback); null otherwise.
  returned: always
  type: dict
  sample: {id: 20261126T101500Z-1a2b3c, how: {module: bjeic.ops.linux_harden, args: {mode: rollback, backup_id: 20261126T101500Z-1a2b3c}}}
management_users:
  description: The accounts treated as the management channel.
  returned: always
  type: list
  elements: str
  sample: [opsadmin]
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.harden_catalogue import BASELINES, DEFAULT_SETTINGS
from ansible_collections.bjeic.ops.plugins.module_utils.harden_engine import (
    findings_of, guard, harden, rollback, select_controls, summarise)
from ansible_collections.bjeic.ops.plugins.module_utils.harden_host import (
    ControlError, Host, Refused, Run, fill, management_users)
from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import Backup, BackupError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            mode=dict(type='str', choices=['audit', 'enforce', 'rollback'], default='audit'),
            baseline=dict(type='str', choices=['mlps3'], default='mlps3'),
            controls=dict(type='list', elements='str', default=[]),
            exclude_controls=dict(type='list', elements='str', default=[]),
            settings=dict(type='dict', default={}),
            management_users=dict(type='list', elements='str', default=[]),
            backup_id=dict(type='str'),
            backup_root=dict(type='path', default='/var/lib/bjeic-ops/harden'),
            force=dict(type='bool', default=False),
        ),
        required_if=[('mode', 'rollback', ['backup_id'])],
        supports_check_mode=True,
    )
    params = module.params
    if os.geteuid() != 0:
        module.fail_json(msg='linux_harden must run as root (become: true): it reads /etc/shadow and sshd -T')
    unknown = sorted(set(params['settings']) - set(DEFAULT_SETTINGS))
    if unknown:
        module.fail_json(msg='settings: unknown keys %s; known: %s' % (', '.join(unknown), ', '.join(sorted(DEFAULT_SETTINGS))))
    settings = dict(DEFAULT_SETTINGS, **params['settings'])
    host = Host(module)
    if host.family == 'unknown':
        module.fail_json(msg='%s has neither dpkg nor rpm: linux_harden supports Debian- and RHEL-family hosts' % host.name)
    managers = management_users(module)
    result = dict(changed=False, controls=[], findings=[], changes=[], ledger=[], backup_id=None, rollback=None,
                  management_users=managers, summary=contract.summary([]))

    if params['mode'] == 'rollback':
        try:
            backup = Backup.load(params['backup_root'], params['backup_id'], module)
            if backup.manifest.get('state') == 'rolled-back':
                result.update(backup_id=backup.id, msg='backup %s was already rolled back on %s'
                              % (backup.id, backup.manifest.get('closed')))
                module.exit_json(**result)
            changes, diffs = rollback(module, host, backup, module.check_mode)
            if not module.check_mode:
                backup.close('rolled-back')
        except (BackupError, ControlError, OSError) as exc:
            module.fail_json(msg='rollback of %s on %s failed: %s' % (params['backup_id'], host.name, to_native(exc)),
                             **result)
        result.update(changed=bool(changes), changes=changes, backup_id=backup.id,
                      msg='restored %d object(s) from backup %s' % (len(changes), backup.id))
        if module._diff:
            result['diff'] = diffs
        module.exit_json(**result)

    catalogue = [dict(c, params=fill(c['params'], settings)) for c in BASELINES[params['baseline']]]
    try:
        controls = select_controls(catalogue, params['controls'], params['exclude_controls'], host.family)
    except ValueError as exc:
        module.fail_json(msg=to_native(exc))
    run = Run(module, host, settings, managers)
    enforce = params['mode'] == 'enforce'
    if enforce:
        try:
            guard(run, controls)
        except Refused as exc:
            module.fail_json(msg='enforce refused, nothing was changed: %s' % exc, **result)
        except ControlError as exc:
            module.fail_json(msg='cannot check the management channel: %s' % exc, **result)
    try:
        results = harden(run, controls, enforce)
    finally:
        if run.backup is not None:
            run.backup.close()
    findings = findings_of(results)
    summary = dict(contract.summary(findings), **summarise(results))
    backup_id = run.backup.id if run.backup is not None and run.changes else None
    result.update(
        changed=bool(run.changes), controls=results, findings=findings, changes=run.changes,
        summary=summary, backup_id=backup_id,
        rollback=contract.rollback(backup_id, 'bjeic.ops.linux_harden', {'mode': 'rollback', 'backup_id': backup_id})
        if backup_id else None,
        ledger=[contract.ledger_item('os', contract.key('baseline', params['baseline'], host.name), {
            'hostname': host.name, 'baseline': params['baseline'],
            'controls': dict((r['id'], 'pass' if r['status'] in ('pass', 'fixed') else r['status']) for r in results),
            'state': {'compliance_pct': summary['compliance_pct']}})],
    )
    if module._diff:
        result['diff'] = run.diffs
    errors = [r for r in results if r['status'] == 'error']
    if enforce and errors:
        module.fail_json(msg='enforce could not fix %d control(s): %s. Everything it changed is in backup %s'
                             % (len(errors), '; '.join('%s: %s' % (r['id'], r['message']) for r in errors),
                                backup_id or '(nothing changed)'), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
