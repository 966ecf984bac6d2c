# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host's side of the network policy: listening sockets and firewall rule sets.

Shared by linux_inspect (the network-policy ledger) and linux_watch (drift against a baseline).
Target-side code: Python 3.6+ standard library only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible_collections.bjeic.ops.plugins.module_utils import linux_parsers as parsers

FIREWALL_COMMANDS = (('nftables', ('nft', 'list', 'ruleset')), ('iptables', ('iptables-save',)),
                     ('ip6tables', ('ip6tables-save',)))


def read_text(path, default=None):
    try:
        with open(path, 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return default


def socket_owners():
    """{socket inode: 'comm (pid)'} from /proc/*/fd, for naming the process behind a port."""
    owners = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        fd_dir = '/proc/%s/fd' % pid
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        comm = None
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith('socket:['):
                if comm is None:
                    comm = (read_text('/proc/%s/comm' % pid, '?') or '?').strip()
                owners[int(target[8:-1])] = '%s (%s)' % (comm, pid)
    return owners


def listening_sockets():
    """[{proto, address, port, process}] of listening TCP and bound UDP sockets, sorted."""
    sockets = []
    for proto in ('tcp', 'tcp6', 'udp', 'udp6'):
        text = read_text('/proc/net/%s' % proto)
        if text:
            sockets.extend(parsers.parse_proc_net(text, proto))
    owners = socket_owners()
    return sorted(({'proto': s['proto'], 'address': s['address'], 'port': s['port'],
                    'process': owners.get(s['inode'], '?').rsplit(' (', 1)[0]} for s in sockets),
                  key=lambda s: (s['proto'], s['port'], s['address']))


def firewall_rules(module, run):
    """({backend: rule lines without counters, 'firewalld': state}, [problems]). `run(*argv)` -> (rc, out, err)."""
    firewall, problems = {}, []
    for name, command in FIREWALL_COMMANDS:
        binary = module.get_bin_path(command[0])
        if not binary:
            continue
        rc, out, err = run(binary, *command[1:])
        if rc == 0:
            firewall[name] = parsers.normalize_ruleset(out)
        else:
            problems.append('%s failed (rc=%d): %s' % (' '.join(command), rc, err.strip()[:300]))
    firewall_cmd = module.get_bin_path('firewall-cmd')
    if firewall_cmd:
        rc, out, _err = run(firewall_cmd, '--state')
        firewall['firewalld'] = out.strip() if rc == 0 else 'not running'
    if not firewall and not problems:
        problems.append('no nft, iptables-save or firewall-cmd: firewall rules not recorded')
    return firewall, problems
