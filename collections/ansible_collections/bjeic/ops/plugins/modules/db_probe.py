#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_probe
short_description: Availability probe of database instances (connect, one trivial query, latency, why it failed)
version_added: 0.4.0
description:
  - Probes every instance given, in parallel, the way a client reaches it - connect, read the server's name and
    version with one trivial query, close - and returns one compact probe per instance (C(probes)) - up or down,
    the time it took, and when down the class of the failure in one word.
  - This is the measurement behind the contract's availability target (99.9 %); run it every few minutes from one
    place (C(playbooks/db_probe.yml), the C(db-availability) job of C(schedules.yml)). The full database ledger
    (M(bjeic.ops.mysql_ledger) and its twins) is a dozen queries and kilobytes per instance; read it daily.
  - The store turns probes into availability as time - a failed probe starts downtime, the next good one ends it,
    and a gap in probing is counted as unmeasured, not as up.
  - Oracle and SQL Server are probed with the same drivers as their ledgers (python-oracledb in thin mode,
    python-tds); MySQL and MariaDB with PyMySQL. Only the driver of an engine that is probed is needed.
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
    description: Any host with Python and the engine's driver that reaches the servers (usually the controller).
options:
  instances:
    description:
      - The instances to probe, all in this one call. The filter P(bjeic.ops.db_instances#filter) builds this list
        from the C(db_ledger_instances) of the hosts of an inventory group.
    type: list
    elements: dict
    required: true
    suboptions:
      engine:
        description: The database engine.
        type: str
        required: true
        choices: [mysql, oracle, mssql]
      name:
        description:
          - Label of the instance, as in its ledger key C(db:NAME@SERVER); the engine's default otherwise
            (C(mysql-PORT), the Oracle service name, C(mssql)).
        type: str
      host:
        description:
          - Inventory host the instance belongs to; the availability record is kept per instance and host. Without
            it the probe names the host it connected to.
        type: str
      login_host:
        description: Host name or address of the server.
        type: str
        default: localhost
      login_port:
        description: TCP port; 3306, 1521 or 1433 by engine.
        type: int
      login_user:
        description: The monitoring account (any account that may log in; the probe reads nothing else).
        type: str
      login_password:
        description: Password of O(instances[].login_user). Keep it in Ansible Vault; it is never logged or returned.
        type: str
      connect_timeout:
        description: Seconds for the connection, and again for the greeting and for the query.
        type: int
        default: 10
      login_unix_socket:
        description: MySQL/MariaDB - path of the server's socket, instead of host and port.
        type: str
      service_name:
        description: Oracle - service name of the database (or PDB); required for O(instances[].engine=oracle).
        type: str
      login_database:
        description: SQL Server - database to log in to.
        type: str
        default: master
      ca_cert:
        description: MySQL and SQL Server - CA certificate to verify the server's TLS certificate with; turns TLS on.
        type: path
      client_cert:
        description: MySQL - client certificate for TLS client authentication.
        type: path
      client_key:
        description: MySQL - key of O(instances[].client_cert).
        type: path
      check_hostname:
        description: MySQL and SQL Server - with O(instances[].ca_cert), also check that the certificate names the host.
        type: bool
        default: true
      tcps:
        description: Oracle - connect with TLS (protocol TCPS).
        type: bool
        default: false
      wallet_location:
        description: Oracle - directory of the wallet holding the CA certificate, for O(instances[].tcps=true).
        type: path
      wallet_password:
        description: Oracle - password of an encrypted wallet.
        type: str
      ssl_server_cert_dn:
        description: Oracle - distinguished name the server certificate must have.
        type: str
  slow_ms:
    description:
      - A probe that takes this many milliseconds or more (connect and query) gives the finding C(db.probe_slow)
        (warning); the instance still counts as up. 0 switches the check off.
    type: int
    default: 1000
  parallel:
    description: How many instances are probed at the same time.
    type: int
    default: 8
notes:
  - Failure classes - C(refused) (nothing listens, or the listener does not know the service), C(timeout) (no answer
    within the connect timeout, or a server that accepts and then says nothing), C(auth) (the login was refused),
    C(dns) (the name does not resolve), C(network) (no route, connection reset), C(tls) (certificate or handshake),
    C(query) (connected, but the trivial query failed), C(driver) (the engine's Python driver is missing), C(error)
    (anything else; the driver's message says what).
  - Findings - C(db.unreachable) (critical, one per instance down, the class as its value) and C(db.probe_slow)
    (warning). The task itself does not fail when an instance is down.
seealso:
  - module: bjeic.ops.mysql_ledger
  - module: bjeic.ops.oracle_ledger
  - module: bjeic.ops.mssql_ledger
'''

EXAMPLES = r'''
- name: Probe every instance of the databases group from the controller
  bjeic.ops.db_probe:
    instances: "{{ hostvars | bjeic.ops.db_instances(groups['databases']) }}"
  delegate_to: localhost
  run_once: true

- name: Probe two instances, half a second counting as slow
  bjeic.ops.db_probe:
    instances:
      - engine: oracle
        name: orcl
        host: db01
        login_host: db01.example.gov.cn
        service_name: ORCL
        login_user: bjeic_monitor
        login_password: "{{ vault_oracle_monitor_password }}"
      - engine: mssql
        name: erp
        host: db07
        login_host: db07.example.gov.cn
        login_user: bjeic_monitor
        login_password: "{{ vault_mssql_monitor_password }}"
    slow_ms: 500
'''

RETURN = r'''
probes:
  description: One probe per instance, in the order given (result contract, stored as the availability record).
  returned: always
  type: list
  elements: dict
  contains:
    instance:
      description: The instance's label.
      type: str
      sample: orcl
    host:
      description: The inventory host it belongs to, as given (null when not given).
      type: str
      sample: db01
    engine:
      description: mysql, oracle or mssql.
      type: str
      sample: oracle
    target:
      description: Where the probe connected (host:port, or the socket path).
      type: str
      sample: db01.example.gov.cn:1521
    up:
      description: Whether the server accepted the login and answered the query.
      type: bool
      sample: true
    latency_ms:
      description: Milliseconds from the start of the connect to the answer (or to the failure).
      type: int
      sample: 23
    at:
      description: When the probe started, UTC, ISO 8601.
      type: str
      sample: '2026-12-06T02:05:00.104392Z'
    version:
      description: The server's version, when up.
      type: str
      sample: 19.0.0.0.0
    server:
      description: The server's own host name, when up.
      type: str
      sample: db01
    error_class:
      description: Why it is down, in one word (see the notes); null when up.
      type: str
      sample: refused
    error:
      description: The driver's message, one line; null when up.
      type: str
      sample: "(2003, \"Can't connect to MySQL server on 'db03' ([Errno 111] Connection refused)\")"
findings:
  description: Findings (result contract) - C(db.unreachable) and C(db.probe_slow).
  returned: always
  type: list
  elements: dict
summary:
  description: Findings by severity, and the instances probed, up and down.
  returned: always
  type: dict
  sample: {critical: 1, warning: 0, info: 0, probed: 23, up: 22, down: 1}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils import db_probe

INSTANCE_OPTIONS = dict(
    engine=dict(type='str', required=True, choices=['mysql', 'oracle', 'mssql']),
    name=dict(type='str'),
    host=dict(type='str'),
    login_host=dict(type='str', default='localhost'),
    login_port=dict(type='int'),
    login_user=dict(type='str'),
    login_password=dict(type='str', no_log=True),
    connect_timeout=dict(type='int', default=10),
    login_unix_socket=dict(type='str'),
    service_name=dict(type='str'),
    login_database=dict(type='str', default='master'),
    ca_cert=dict(type='path'),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    check_hostname=dict(type='bool', default=True),
    tcps=dict(type='bool', default=False),
    wallet_location=dict(type='path'),
    wallet_password=dict(type='str', no_log=True),
    ssl_server_cert_dn=dict(type='str'),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            instances=dict(type='list', elements='dict', required=True, options=INSTANCE_OPTIONS,
                           required_if=[('engine', 'oracle', ['service_name'])]),
            slow_ms=dict(type='int', default=1000),
            parallel=dict(type='int', default=8),
        ),
        supports_check_mode=True)
    params = module.params
    if not params['instances']:
        module.fail_json(msg='no instances to probe: the list is empty (bjeic.ops.db_instances lists those of an inventory '
                         'group: is the group empty, or do its hosts list no db_ledger_instances?)')
    for name in ('slow_ms', 'parallel'):
        if params[name] < (1 if name == 'parallel' else 0):
            module.fail_json(msg='%s must be %s, got %d' % (name, 'at least 1' if name == 'parallel' else '0 or more',
                                                            params[name]))
    bad = [i.get('name') or i['login_host'] for i in params['instances'] if i['connect_timeout'] < 1]
    if bad:
        module.fail_json(msg='connect_timeout must be at least 1 second (instances %s)' % ', '.join(bad))
    probes = db_probe.probe_all(params['instances'], params['parallel'])
    found = db_probe.findings(probes, params['slow_ms'])
    down = [p for p in probes if not p['up']]
    summary = dict(found.summary(), probed=len(probes), up=len(probes) - len(down), down=len(down))
    message = '%d of %d instance(s) up' % (summary['up'], summary['probed'])
    if down:
        message += '; down: %s' % ', '.join('%s (%s)' % (db_probe.subject_of(p), p['error_class']) for p in down)
    module.exit_json(changed=False, probes=probes, findings=found.items, summary=summary, msg=message)


if __name__ == '__main__':
    main()
