# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: db_instances
short_description: The database instances of a group of hosts, as one list for M(bjeic.ops.db_probe) or M(bjeic.ops.db_ledger)
version_added: 0.4.0
description:
  - Reads each host's C(db_ledger_instances) (the list the db_ledger role reads), merges its C(db_ledger_defaults)
    under every instance, names the host in C(host) and defaults C(login_host) to the host's C(ansible_host) (or its
    inventory name), and keeps only the options the probe takes (thresholds and other ledger settings are dropped),
    or with O(purpose=ledger) those M(bjeic.ops.db_ledger) takes.
  - With O(purpose=ledger), hosts whose C(db_ledger_run_on) is C(host) are left out (their instances are read on the
    host itself).
  - So one probe call on the controller covers every instance of every database host, with the connection settings
    and vaulted passwords the ledgers already use.
positional: hosts
options:
  _input:
    description: C(hostvars).
    type: dict
    required: true
  hosts:
    description: The hosts whose instances to list, usually C(groups['databases']).
    type: list
    elements: str
    required: true
  purpose:
    description: Which module the list is for - C(probe) (M(bjeic.ops.db_probe)) or C(ledger) (M(bjeic.ops.db_ledger)).
    type: str
    default: probe
    choices: [probe, ledger]
author:
  - bjeic.ops maintainers (@bjeic-ops)
'''

EXAMPLES = r'''
- name: Probe every instance of the databases group in one call
  bjeic.ops.db_probe:
    instances: "{{ hostvars | bjeic.ops.db_instances(groups['databases'] | default([])) }}"

- name: Read the ledger of every instance of the play's hosts in one call
  bjeic.ops.db_ledger:
    instances: "{{ hostvars | bjeic.ops.db_instances(ansible_play_batch, 'ledger') }}"
  run_once: true
  delegate_to: localhost
'''

RETURN = r'''
_value:
  description: One dict per instance, in host order, with C(host) set.
  type: list
  elements: dict
'''

from ansible.errors import AnsibleFilterError

# The options of bjeic.ops.db_probe's `instances` entries (a unit test holds the two equal).
PROBE_OPTIONS = ('engine', 'name', 'host', 'login_host', 'login_port', 'login_user', 'login_password',
                 'connect_timeout', 'login_unix_socket', 'service_name', 'login_database', 'ca_cert', 'client_cert',
                 'client_key', 'check_hostname', 'tcps', 'wallet_location', 'wallet_password', 'ssl_server_cert_dn')
# The options of bjeic.ops.db_ledger's `instances` entries: the probe's and the ledger settings (a unit test again).
LEDGER_OPTIONS = PROBE_OPTIONS + ('log_window_hours', 'thresholds', 'backup_max_age_hours', 'backup_path',
                                  'sample_seconds')
OPTIONS = {'probe': PROBE_OPTIONS, 'ledger': LEDGER_OPTIONS}


def db_instances(hostvars, hosts, purpose='probe'):
    if purpose not in OPTIONS:
        raise AnsibleFilterError('db_instances: purpose must be probe or ledger, got %r' % (purpose,))
    out = []
    for host in hosts or []:
        variables = hostvars[host]
        if purpose == 'ledger' and variables.get('db_ledger_run_on') == 'host':
            continue
        defaults = variables.get('db_ledger_defaults') or {}
        instances = variables.get('db_ledger_instances') or []
        if not isinstance(instances, list) or not isinstance(defaults, dict):
            raise AnsibleFilterError('host %s: db_ledger_instances must be a list of dicts and db_ledger_defaults a '
                                     'dict' % host)
        for index, instance in enumerate(instances):
            if not isinstance(instance, dict) or not instance.get('engine'):
                raise AnsibleFilterError('host %s: db_ledger_instances[%d] must be a dict with an engine' % (host, index))
            merged = dict(defaults)
            merged.update(instance)
            entry = dict((key, value) for key, value in merged.items() if key in OPTIONS[purpose])
            entry['host'] = host
            entry.setdefault('login_host', variables.get('ansible_host') or host)
            out.append(entry)
    return out


class FilterModule(object):
    def filters(self):
        return {'db_instances': db_instances}
