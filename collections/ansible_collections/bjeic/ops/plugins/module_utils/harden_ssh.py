# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controls of the SSH server: settings checked against `sshd -T` for each management user, one edit
of sshd_config validated with `sshd -t` before it replaces the old file, reload not restart."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import pwd
import re
import tempfile

from ansible_collections.bjeic.ops.plugins.module_utils import config_edit as edit
from ansible_collections.bjeic.ops.plugins.module_utils.harden_auth import OPS, check_managed
from ansible_collections.bjeic.ops.plugins.module_utils.harden_host import BLOCK, ControlError, SSHD_CONFIG, read


def sshd_value_ok(effective, op, wanted):
    if op == 'subset':
        return bool(effective) and set(effective.split(',')) <= set(wanted)
    if effective is None:
        return False
    if op == 'eq':
        return effective.lower() == str(wanted).lower()
    return edit.compare(effective, op, wanted)


def check_sshd(run, p):
    effective = run.sshd_config()
    before, problems = {}, []
    for keyword, op, wanted in p['settings']:
        value = effective.get(keyword.lower())
        if value is None:
            continue  # this OpenSSH does not know the keyword (kbdinteractiveauthentication before 8.7)
        before[keyword] = value
        if not sshd_value_ok(value, op, wanted):
            shown = ','.join(wanted) if op == 'subset' else wanted
            problems.append('%s is %s, wanted %s %s' % (keyword, value, OPS[op], shown))
    ok_file, file_message = check_managed(p.get('file'))
    if not ok_file:
        problems.append(file_message)
    return not problems, before, '; '.join(problems) or 'sshd runs with %s' % ', '.join(
        '%s %s' % (k, v if len(v) < 60 else '(%d allowed)' % len(v.split(','))) for k, v in before.items())


def sshd_setting(run, keyword, op, wanted):
    """The value enforce writes for one sshd keyword."""
    if op == 'subset':
        kind = {'Ciphers': 'cipher', 'MACs': 'mac', 'KexAlgorithms': 'kex'}[keyword]
        supported = run.host.sshd_supported(kind)
        values = [v for v in wanted if supported is None or v in supported]
        return ','.join(values)
    return wanted


def fix_sshd_group(run, controls):
    """Apply every failing sshd control in one edit of sshd_config, validated, then one reload."""
    effective = run.sshd_config()
    settings = []
    for control in controls:
        p = control['params']
        for keyword, op, wanted in p['settings']:
            if keyword.lower() in effective:
                settings.append((keyword, sshd_setting(run, keyword, op, wanted)))
    # Keep what an older managed block set for controls that pass now.
    old_block = [line.split(None, 1) for line in edit.sshd_split_block(read(SSHD_CONFIG), BLOCK)[0] if line.strip()]
    keywords = set(k.lower() for k, _v in settings)
    settings = [(k, v) for k, v in old_block if k.lower() not in keywords] + settings
    for control in controls:
        if control['params'].get('file'):
            spec = control['params']['file']
            run.control = control['id']
            run.write(spec['path'], spec['content'], spec['mode'])
    run.control = ','.join(c['id'] for c in controls)
    old = read(SSHD_CONFIG)
    new = edit.sshd_managed_block(old, BLOCK, settings)
    if new == old:
        return
    validate_sshd(run, new)
    if run.write(SSHD_CONFIG, new) and not run.check_mode:
        reload_sshd(run.host)
        run.effective_sshd = None


def validate_sshd(run, content):
    """sshd -t on the new file, and each management user's key login still allowed by it."""
    fd, candidate = tempfile.mkstemp(prefix='bjeic-sshd-candidate-')
    with os.fdopen(fd, 'w') as handle:
        handle.write(content)
    try:
        rc, out, err = run.host.sshd('-t', '-f', candidate)
        if rc != 0:
            raise ControlError('sshd -t rejected the new configuration (%s); %s was left unchanged'
                               % ((err or out).strip()[-300:], SSHD_CONFIG))
        for user in run.managers:
            try:
                pwd.getpwnam(user)
            except KeyError:
                continue
            config = run.host.sshd_effective(candidate, user)
            if config.get('pubkeyauthentication') != 'yes':
                raise ControlError('the new sshd configuration would refuse key login for management user %s; '
                                   '%s was left unchanged' % (user, SSHD_CONFIG))
            if user == 'root' and config.get('permitrootlogin') == 'no':
                raise ControlError('the new sshd configuration would refuse root, a management user; left unchanged')
    finally:
        os.unlink(candidate)


def reload_sshd(host):
    """Reload (not restart) sshd: existing sessions, Ansible's own among them, stay up."""
    if host.systemd:
        for unit in ('ssh.service', 'sshd.service'):
            _enabled, active = host.unit_state(unit)
            if active == 'active':
                host.must('systemctl', 'reload', unit)
                return
    pid = read('/run/sshd.pid').strip() or read('/var/run/sshd.pid').strip()
    if pid.isdigit():
        os.kill(int(pid), 1)  # SIGHUP: sshd re-reads its configuration


def check_ssh_protocol(run, p):
    rc, out, err = run.host.run('ssh', '-V')
    match = re.search(r'OpenSSH_(\d+)\.(\d+)', out + err)
    if match and (int(match.group(1)), int(match.group(2))) >= (7, 4):
        return True, {'openssh': match.group(0)}, '%s speaks only protocol 2 (SSH-1 was removed in 7.4)' % match.group(0)
    effective = run.sshd_config()
    protocol = effective.get('protocol')
    return protocol == '2', {'protocol': protocol}, 'Protocol is %s, wanted 2' % protocol


def fix_ssh_protocol(run, p):
    fix_sshd_group(run, [{'id': 'ssh.protocol', 'params': {'settings': [('Protocol', 'eq', '2')]}}])


# accounts ------------------------------------------------------------
