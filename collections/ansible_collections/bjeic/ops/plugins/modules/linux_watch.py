#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: linux_watch
short_description: Security watch of a Linux host against a baseline taken at the start of a watch
version_added: 0.2.0
description:
  - The security half of the special-period duty inspection (特殊时期安全值守). Compares the host with the
    baseline of the watch and reports what appeared or changed since - new listening ports, new or changed
    accounts, new or changed setuid/setgid files, and firewall rule drift.
  - The first run of a watch on a host records the baseline (C(/var/lib/bjeic-ops/watch/WATCH.json) by default)
    and reports one C(sec.baseline_captured) info finding; later runs of the same watch compare against it.
    A new O(watch) name starts a new baseline, so every watch compares with how the host was when it began.
  - Failed logins are counted by M(bjeic.ops.linux_inspect) (C(login.failed)), which the
    C(special_duty.yml) playbook runs beside this module with a one-hour window and tighter thresholds.
  - Needs only the Python 3.6+ standard library on the host. Run it with become, so it can hash every setuid
    file and read the firewall rules. Accounts come from C(/etc/passwd) and the sudo groups; no password hash is read.
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
    platforms: posix
    description: Linux only (reads C(/proc)).
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
  state_dir:
    description: Directory on the host for the baselines (made 0700, owned by the connecting user).
    type: path
    default: /var/lib/bjeic-ops/watch
  setuid_paths:
    description:
      - Directories searched for setuid and setgid files. Each is searched without crossing into other file
        systems; symbolic links are not followed.
    type: list
    elements: path
    default: [/usr, /opt, /home, /root, /srv, /tmp, /var/tmp, /etc]
  checks:
    description: Run only these checks. Empty means all.
    type: list
    elements: str
    default: []
    choices: [sec.listening_new, sec.account_new, sec.setuid_changed, sec.firewall_drift]
notes:
  - Severities - a new listening port, a new or changed account and firewall drift are warnings; a new account
    with user id 0, and a setuid/setgid file that is new or whose content, owner or mode changed, are critical.
  - A port, account or setuid file that went away is an info finding.
seealso:
  - module: bjeic.ops.linux_inspect
'''

EXAMPLES = r'''
- name: Hourly security watch during the National Day period
  bjeic.ops.linux_watch:
    watch: national-day-2026
  become: true

- name: Take a new baseline after an approved change
  bjeic.ops.linux_watch:
    watch: national-day-2026
    baseline: reset
  become: true
'''

RETURN = r'''
findings:
  description: What differs from the baseline (result contract).
  returned: always
  type: list
  elements: dict
  sample:
    - check: sec.listening_new
      severity: warning
      subject: tcp/0.0.0.0:4444
      value: {proto: tcp, address: 0.0.0.0, port: 4444, process: nc}
      threshold: null
      message: "new listening port tcp/0.0.0.0:4444 (nc) since the watch began"
baseline:
  description: The baseline compared with.
  returned: always
  type: dict
  sample: {watch: national-day-2026, path: /var/lib/bjeic-ops/watch/national-day-2026.json,
           captured_at: "2026-10-01T00:00:12Z", captured_now: false}
watched:
  description: How much was looked at this run.
  returned: always
  type: dict
  sample: {listening: 12, accounts: 31, setuid_files: 24, firewall_rules: 40}
'''

import grp
import json
import os
import re
import socket
import stat
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils import linux_network as network
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, unavailable
from ansible_collections.bjeic.ops.plugins.module_utils.fs_walk import OneFileSystemWalk
from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import sha256_of

CHECKS = ('sec.listening_new', 'sec.account_new', 'sec.setuid_changed', 'sec.firewall_drift')
WALK_LIMIT = 3000000          # entries looked at per run before the setuid search stops (and says so)
WATCH_NAME = re.compile(r'^[A-Za-z0-9_.-]{1,100}$')
SETUID_PATHS = ('/usr', '/opt', '/home', '/root', '/srv', '/tmp', '/var/tmp', '/etc')
SHOWN = 5                     # rule lines quoted in a drift message


def accounts():
    """{name: {uid, gid, shell, home}} from /etc/passwd (no password field is read)."""
    out = {}
    for line in (network.read_text('/etc/passwd', '') or '').splitlines():
        fields = line.split(':')
        if len(fields) >= 7 and fields[0] and not line.startswith('#'):
            out[fields[0]] = {'uid': int(fields[2]) if fields[2].isdigit() else fields[2],
                              'gid': int(fields[3]) if fields[3].isdigit() else fields[3],
                              'home': fields[5], 'shell': fields[6]}
    return out


def privileged_groups():
    """Members of the groups that grant root through sudo."""
    members = {}
    for name in ('sudo', 'wheel', 'admin'):
        try:
            members[name] = sorted(grp.getgrnam(name).gr_mem)
        except KeyError:
            continue
    return members


def setuid_files(paths):
    """({path: {mode, uid, gid, sha256}}, truncated) for setuid/setgid regular files under `paths`."""
    found = {}
    walk = OneFileSystemWalk(paths, WALK_LIMIT, skip_linked_tops=True)
    for path, info in walk:
        if stat.S_ISREG(info.st_mode) and info.st_mode & (stat.S_ISUID | stat.S_ISGID):
            try:
                digest = sha256_of(path)
            except (IOError, OSError):
                digest = None
            found[path] = {'mode': '%04o' % stat.S_IMODE(info.st_mode), 'uid': info.st_uid,
                           'gid': info.st_gid, 'sha256': digest}
    return found, walk.truncated


def observe(module, run):
    """Everything a watch compares, as plain data (the baseline has this shape too)."""
    firewall, problems = network.firewall_rules(module, run)
    setuid, truncated = setuid_files(module.params['setuid_paths'])
    processes = dict(('%s/%s:%s' % (s['proto'], s['address'], s['port']), s['process'])
                     for s in network.listening_sockets())
    return {'listening': sorted(processes), 'processes': processes, 'accounts': accounts(),
            'privileged_groups': privileged_groups(), 'setuid': setuid,
            'firewall': dict((k, v) for k, v in firewall.items() if isinstance(v, list))}, problems, truncated


def compare(base, now, enabled):
    """Findings for what changed from `base` to `now` (both from observe())."""
    out = []
    if 'sec.listening_new' in enabled:
        for port in sorted(set(now['listening']) - set(base['listening'])):
            process = now['processes'].get(port, '?')
            out.append(finding('sec.listening_new', 'warning', port, 'new listening port %s (%s) since the watch began'
                               % (port, process), value={'socket': port, 'process': process}))
        for port in sorted(set(base['listening']) - set(now['listening'])):
            out.append(finding('sec.listening_new', 'info', port, 'port %s no longer listens' % port, value=port))
    if 'sec.account_new' in enabled:
        out.extend(compare_accounts(base, now))
    if 'sec.setuid_changed' in enabled:
        out.extend(compare_setuid(base['setuid'], now['setuid']))
    if 'sec.firewall_drift' in enabled:
        for backend in sorted(set(base['firewall']) | set(now['firewall'])):
            before, after = base['firewall'].get(backend, []), now['firewall'].get(backend, [])
            added, removed = [r for r in after if r not in before], [r for r in before if r not in after]
            if added or removed:
                out.append(finding('sec.firewall_drift', 'warning', backend,
                                   '%s rules changed since the watch began: %d added, %d removed%s'
                                   % (backend, len(added), len(removed), _quote(added, removed)),
                                   value={'added': added, 'removed': removed}))
    return out


def compare_accounts(base, now):
    out = []
    old, new = base['accounts'], now['accounts']
    for name in sorted(set(new) - set(old)):
        critical = new[name]['uid'] == 0
        out.append(finding('sec.account_new', 'critical' if critical else 'warning', name,
                           'new account %s (uid %s, shell %s) since the watch began%s'
                           % (name, new[name]['uid'], new[name]['shell'], ': it has user id 0' if critical else ''),
                           value=new[name]))
    for name in sorted(set(new) & set(old)):
        if new[name] != old[name]:
            critical = new[name]['uid'] == 0 and old[name]['uid'] != 0
            out.append(finding('sec.account_new', 'critical' if critical else 'warning', name,
                               'account %s changed since the watch began: %s -> %s' % (name, old[name], new[name]),
                               value={'before': old[name], 'after': new[name]}))
    for name in sorted(set(old) - set(new)):
        out.append(finding('sec.account_new', 'info', name, 'account %s was removed during the watch' % name))
    for group in sorted(set(now['privileged_groups']) | set(base['privileged_groups'])):
        added = sorted(set(now['privileged_groups'].get(group, [])) - set(base['privileged_groups'].get(group, [])))
        if added:
            out.append(finding('sec.account_new', 'critical', 'group:%s' % group,
                               '%s joined the %s group (root through sudo) since the watch began'
                               % (', '.join(added), group), value=added))
    return out


def compare_setuid(old, new):
    out = []
    for path in sorted(set(new) - set(old)):
        out.append(finding('sec.setuid_changed', 'critical', path, 'new setuid/setgid file %s (mode %s, uid %s)'
                           % (path, new[path]['mode'], new[path]['uid']), value=new[path]))
    for path in sorted(set(new) & set(old)):
        changed = [k for k in ('sha256', 'mode', 'uid', 'gid') if new[path].get(k) != old[path].get(k)]
        if changed:
            out.append(finding('sec.setuid_changed', 'critical', path, 'setuid/setgid file %s changed (%s) since the '
                               'watch began' % (path, ', '.join(changed)),
                               value={'before': old[path], 'after': new[path]}))
    for path in sorted(set(old) - set(new)):
        out.append(finding('sec.setuid_changed', 'info', path, 'setuid/setgid file %s is gone or lost its bit' % path))
    return out


def _quote(added, removed):
    lines = ['+ ' + r for r in added[:SHOWN]] + ['- ' + r for r in removed[:SHOWN]]
    return (': ' + '; '.join(lines)) if lines else ''


def write_baseline(module, path, data):
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.watch-')
    with os.fdopen(fd, 'w') as handle:
        json.dump(data, handle, sort_keys=True)
    module.atomic_move(tmp, path)
    os.chmod(path, 0o600)   # atomic_move gives a new file the default mode; the baseline lists the host's weak spots


def load_baseline(path):
    with open(path) as handle:
        data = json.load(handle)
    missing = [k for k in ('listening', 'accounts', 'setuid', 'firewall', 'captured_at') if k not in data]
    if missing:
        raise ValueError('missing %s' % ', '.join(missing))
    data.setdefault('privileged_groups', {})
    data.setdefault('processes', {})
    return data


def main():
    module = AnsibleModule(
        argument_spec=dict(
            watch=dict(type='str', default='default'),
            baseline=dict(type='str', default='keep', choices=['keep', 'reset']),
            state_dir=dict(type='path', default='/var/lib/bjeic-ops/watch'),
            setuid_paths=dict(type='list', elements='path', default=list(SETUID_PATHS)),
            checks=dict(type='list', elements='str', default=[], choices=list(CHECKS)),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not WATCH_NAME.match(params['watch']):
        module.fail_json(msg='watch %r: use letters, digits, ".", "_" and "-" only (it names the baseline file)'
                         % params['watch'])
    host = socket.gethostname()
    path = os.path.join(params['state_dir'], params['watch'] + '.json')
    enabled = set(params['checks'] or CHECKS)

    def run(*argv):
        return contract.run_c(module, argv)

    now, problems, truncated = observe(module, run)
    findings = [unavailable('sec.unavailable', host, problem) for problem in problems]
    if truncated:
        findings.append(unavailable('sec.unavailable', host, 'setuid search stopped after %d entries: narrow '
                                    'setuid_paths' % WALK_LIMIT))
    watched = {'listening': len(now['listening']), 'accounts': len(now['accounts']), 'setuid_files': len(now['setuid']),
               'firewall_rules': sum(len(v) for v in now['firewall'].values())}
    base = None
    if params['baseline'] == 'keep' and os.path.exists(path):
        try:
            base = load_baseline(path)
        except (IOError, OSError, ValueError) as exc:
            module.fail_json(msg='the baseline %s of watch %s cannot be read (%s): run with baseline=reset to record '
                                 'a new one' % (path, params['watch'], exc))
    if base is None:
        now['captured_at'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        if not module.check_mode:
            try:
                write_baseline(module, path, now)
            except (IOError, OSError) as exc:
                module.fail_json(msg='cannot record the baseline of watch %s at %s: %s (run with become, or set '
                                     'state_dir)' % (params['watch'], path, exc))
        findings.append(finding('sec.baseline_captured', 'info', host, '%s baseline of watch %s on %s: %s'
                                % ('would record the' if module.check_mode else 'recorded the', params['watch'], host,
                                   ', '.join('%s %s' % (v, k) for k, v in sorted(watched.items())))))
        module.exit_json(changed=False, findings=findings, watched=watched,
                         baseline={'watch': params['watch'], 'path': path, 'captured_at': now['captured_at'],
                                   'captured_now': not module.check_mode},
                         msg='baseline of watch %s recorded' % params['watch'])
    findings.extend(compare(base, now, enabled))
    serious = [f for f in findings if f['severity'] != 'info']
    module.exit_json(changed=False, findings=findings, watched=watched,
                     baseline={'watch': params['watch'], 'path': path, 'captured_at': base['captured_at'],
                               'captured_now': False},
                     msg='%d change(s) since the baseline of watch %s (%s)'
                         % (len(serious), params['watch'], base['captured_at']))


if __name__ == '__main__':
    main()
