#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_ledger
short_description: Database ledger of many instances, any engine, in one call from the controller
version_added: 0.4.0
description:
  - Reads every instance given, several at once, each exactly as its engine's ledger module reads it
    (M(bjeic.ops.oracle_ledger), M(bjeic.ops.mysql_ledger), M(bjeic.ops.mssql_ledger)), and returns the results
    grouped by the inventory host each instance belongs to (C(hosts)).
  - The C(db_ledger) role calls it once per play on the controller (C(db_ledger_run_on=controller), the default) and
    then gives each host its own part with M(bjeic.ops.host_result), so the record is per host as before. One call
    instead of one module process per instance saves the interpreter, Ansible's module code and the driver import
    each time, and the one-second status samples of all instances run side by side; see bench/README.md.
  - The result itself carries no ledger items or findings at its top level (they are the hosts'); the store records
    them from each host's part.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: posix
    description: Any host with Python and the drivers of the engines read that reaches the servers (the controller).
options:
  instances:
    description:
      - The instances to read. The filter P(bjeic.ops.db_instances#filter) with C(purpose=ledger) builds this list
        from the C(db_ledger_instances) and C(db_ledger_defaults) of a list of hosts.
      - Each entry takes the options of its engine's ledger module; an option another engine has but this one does
        not is ignored, as the per-engine modules never see it. Defaults are each engine's.
    type: list
    elements: dict
    required: true
    suboptions:
      engine:
        description: The database engine.
        type: str
        required: true
        choices: [mssql, mysql, oracle]
      host:
        description: Inventory host the instance belongs to; its result is returned under this name in C(hosts).
        type: str
      name:
        description: As O(bjeic.ops.mysql_ledger#module:name) - the label in the ledger key C(db:NAME@SERVER).
        type: str
      login_host:
        description: Host name or address of the server; default C(localhost).
        type: str
      login_port:
        description: TCP port; default 3306, 1521 or 1433 by engine.
        type: int
      login_user:
        description: The monitoring account.
        type: str
      login_password:
        description: Password of O(instances[].login_user). Keep it in Ansible Vault; it is never logged or returned.
        type: str
      connect_timeout:
        description: Seconds to wait for the connection before reporting C(db.unreachable); default 10.
        type: int
      log_window_hours:
        description: Errors in the alert / error log within this many hours are reported; default 24.
        type: float
      thresholds:
        description: As O(bjeic.ops.mysql_ledger#module:thresholds).
        type: dict
      backup_max_age_hours:
        description: As O(bjeic.ops.mysql_ledger#module:backup_max_age_hours).
        type: dict
      login_unix_socket:
        description: MySQL/MariaDB - path of the server's socket, instead of host and port.
        type: str
      ca_cert:
        description: MySQL/MariaDB and SQL Server - CA certificate to verify the server's TLS certificate with.
        type: path
        aliases: [ssl_ca]
      client_cert:
        description: MySQL/MariaDB - client certificate for TLS client authentication.
        type: path
        aliases: [ssl_cert]
      client_key:
        description: MySQL/MariaDB - key of O(instances[].client_cert).
        type: path
        aliases: [ssl_key]
      check_hostname:
        description: MySQL/MariaDB and SQL Server - with O(instances[].ca_cert), also check the certificate's name.
        type: bool
      backup_path:
        description: As O(bjeic.ops.mysql_ledger#module:backup_path).
        type: str
      sample_seconds:
        description: MySQL/MariaDB and SQL Server - seconds between the two status samples for rates; default 1.
        type: float
      service_name:
        description: Oracle - service name of the database (or PDB); required for an Oracle entry.
        type: str
      tcps:
        description: Oracle - connect with TLS (TCPS).
        type: bool
      wallet_location:
        description: Oracle - directory of the wallet for TCPS.
        type: path
      wallet_password:
        description: Oracle - password of the wallet. Keep it in Ansible Vault; it is never logged or returned.
        type: str
      ssl_server_cert_dn:
        description: Oracle - the distinguished name the server's certificate must have.
        type: str
      login_database:
        description: SQL Server - database to log in to; default C(master).
        type: str
  releases:
    description: As O(bjeic.ops.mysql_ledger#module:releases), for every instance.
    type: dict
    default: {}
  parallel:
    description:
      - How many instances are read at once (one connection each). The contract's 23 instances are one round - each
        takes about the one-second status sample plus its queries.
    type: int
    default: 32
  timeout:
    description:
      - Seconds one instance may take in all (connect, queries, the status sample). An instance not read by then is
        reported as not read, its host's part failed, and the others are not held up.
    type: int
    default: 600
notes:
  - An unreachable instance is a C(db.unreachable) finding, not a failure, as with the per-engine modules. An
    instance that cannot be read at all (a wrong option, missing privileges, no driver, the timeout) fails its
    host's part only; the other hosts' parts are whole.
  - Facts only the database host can see (a MariaDB error log file, CPU and memory for MySQL) are read when the
    module runs there; from the controller they are C(db.unavailable) findings. For those, the role's
    C(db_ledger_run_on=host) runs the per-engine modules on each host instead.
seealso:
  - module: bjeic.ops.host_result
  - module: bjeic.ops.db_probe
'''

EXAMPLES = r'''
- name: Read every instance of the play's hosts in one call on the controller
  bjeic.ops.db_ledger:
    instances: "{{ hostvars | bjeic.ops.db_instances(ansible_play_batch, 'ledger') }}"
    releases: "{{ lookup('ansible.builtin.file', 'db_releases.yml') | from_yaml }}"
  run_once: true
  delegate_to: localhost
  register: db_ledger_all

- name: Give each host its own instances' results
  bjeic.ops.host_result:
    result: "{{ db_ledger_all.hosts[inventory_hostname] }}"
  when: inventory_hostname in db_ledger_all.hosts
'''

RETURN = r'''
hosts:
  description:
    - Per inventory host (C('') for entries without O(instances[].host)), its part - shaped as a loop's result
      over its instances - C(results) (each what the engine's ledger module returns - C(ledger), C(findings),
      C(probes), C(database), C(msg)), C(failed) when any of its instances could not be read, and C(msg).
  returned: always
  type: dict
  sample:
    db03:
      changed: false
      failed: false
      msg: 'db:orders@db03: MariaDB 10.11.6, 2 finding(s)'
      results: [{available: true, ledger: [], findings: [], probes: [], msg: 'db:orders@db03: MariaDB 10.11.6, 2 finding(s)'}]
counts:
  description: Instances and hosts read, instances reachable, unreachable, and not read.
  returned: always
  type: dict
  sample: {instances: 23, hosts: 19, read: 22, unreachable: 1, failed: 0}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils import db_ledger_batch as batch
from ansible_collections.bjeic.ops.plugins.module_utils.db_advice import check_data


def main():
    module = AnsibleModule(
        argument_spec=dict(
            instances=dict(type='list', elements='dict', required=True, options=batch.instance_options()),
            releases=dict(type='dict', default={}),
            parallel=dict(type='int', default=32),
            timeout=dict(type='int', default=600),
        ),
        supports_check_mode=True)
    params = module.params
    for name in ('parallel', 'timeout'):
        if params[name] < 1:
            module.fail_json(msg='%s must be at least 1, got %d' % (name, params[name]))
    if params['releases']:
        try:
            check_data(params['releases'])
        except ValueError as exc:
            module.fail_json(msg='releases: %s' % exc)
    hosts = batch.read_all(params['instances'], params['releases'], params['parallel'], params['timeout'])
    counts = batch.counts(hosts)
    message = '%d instance(s) of %d host(s): %d read, %d unreachable, %d not read' % (
        counts['instances'], counts['hosts'], counts['read'], counts['unreachable'], counts['failed'])
    module.exit_json(changed=False, hosts=hosts, counts=counts, msg=message)


if __name__ == '__main__':
    main()
