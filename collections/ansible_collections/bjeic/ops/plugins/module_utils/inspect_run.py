# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily inspection in one call: the cloud identity, every gatherer in turn (one failing gatherer is a
finding, not a failed task), and the ledger items."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


from ansible_collections.bjeic.ops.plugins.module_utils import cloud_identity
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, unavailable
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_storage import (
    inspect_filesystems, inspect_identity, inspect_lvm)
from ansible_collections.bjeic.ops.plugins.module_utils.inspect_system import (
    inspect_backups, inspect_crash_files, inspect_logins, inspect_logs, inspect_memory, inspect_network,
    inspect_processes, inspect_services, inspect_time, inspect_tmp)


# ---------------------------------------------------------------- cloud resource

def inspect_cloud(insp):
    """The host as a cloud resource (云主机): its instance id, placement, size and attached disks."""
    if not insp.module.params['cloud_identity']:
        return
    identity, problems = cloud_identity.read_identity()
    if identity is None:
        insp.add(unavailable('cloud.unavailable', insp.hostname,
                             'no cloud instance identity: %s; set cloud_identity=false on physical servers'
                             % '; '.join(problems)))
        return
    attrs = dict((k, v) for k, v in identity.items() if k != 'instance_id')
    attrs.update({'type': 'vm', 'id': identity['instance_id'], 'name': insp.hostname})
    attrs.update({
        'cpu_count': (insp.attrs.get('cpu') or {}).get('count'),
        'memory_bytes': insp.attrs.get('memory_bytes'),
        'disks': [{'name': d['name'], 'serial': d['serial'], 'size_bytes': d['size_bytes']}
                  for d in insp.attrs.get('disks') or []],
        'addresses': sorted(a['address'] for a in insp.attrs.get('addresses') or []
                            if a.get('family') in ('inet', 'inet6') and not a['address'].startswith(('127.', '::1', 'fe80'))),
    })
    insp.cloud = attrs


# ---------------------------------------------------------------- main

GATHERERS = (
    (('fs.usage', 'fs.inodes', 'fs.readonly', 'fs.fstab_mismatch'), inspect_filesystems, True),
    (('lvm.vg_free',), inspect_lvm, True),
    (('mem.usage', 'swap.usage', 'cpu.load'), inspect_memory, True),
    (('proc.zombie',), inspect_processes, False),
    (('svc.failed', 'svc.down'), inspect_services, False),
    (('login.failed',), inspect_logins, True),
    (('tmp.usage',), inspect_tmp, False),
    (('files.core_dump',), inspect_crash_files, False),
    (('log.errors',), inspect_logs, False),
    (('backup.stale', 'backup.missing'), inspect_backups, False),
    (('ntp.unsynced',), inspect_time, True),
    ((), inspect_network, True),
    ((), inspect_cloud, True),
)


def inspect(insp):
    inspect_identity(insp)
    for checks, gatherer, feeds_ledger in GATHERERS:
        if not (insp.on(*checks) or feeds_ledger):
            continue
        try:
            gatherer(insp)
        except Exception as exc:  # one broken part must not hide the rest of the inspection
            insp.add(finding('inspect.error', 'warning', insp.hostname,
                             '%s failed: %s: %s' % (gatherer.__name__, type(exc).__name__, exc)))
    severity_order = {'critical': 0, 'warning': 1, 'info': 2}
    insp.findings.sort(key=lambda f: (severity_order[f['severity']], f['check'], f['subject']))
    return insp.findings


def ledger_items(insp):
    attrs = dict(insp.attrs, state=insp.state)
    items = [contract.ledger_item('os', contract.key('host', insp.hostname), attrs)]
    if insp.network is not None:
        items.append(contract.ledger_item('network', contract.key('netpolicy', insp.hostname), insp.network))
    if insp.cloud is not None:
        # `self:` marks the host's own report; the platform's export of the same instance is `vm:ID`.
        items.append(contract.ledger_item('cloud', contract.key('self', 'vm:%s' % insp.cloud['id']), insp.cloud))
    return items
