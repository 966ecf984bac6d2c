#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mysql_ledger
short_description: Database ledger item and health findings of a MySQL or MariaDB instance
version_added: 0.1.0
description:
  - Reads one MySQL / MariaDB instance through PyMySQL (pure Python, no client programs) and returns its
    ledger item (kind db) - version and edition, server host, schemas with their sizes, InnoDB data and
    temporary files, binary log settings and usage, errors in the error log within a window, performance
    figures (sessions, queries and transactions per second over a short sample, buffer pool hit ratio,
    top waits) and the age of the newest dump - with findings against thresholds.
  - The error log is read from C(performance_schema.error_log) on MySQL 8.0.22 and later; MariaDB has no such
    table, so its log file is read, which needs the module to run on the database host.
  - MySQL keeps no backup history; O(backup_path) names the dump files whose age is checked.
  - 'Privileges the monitoring user needs: C(PROCESS), C(REPLICATION CLIENT) (or C(BINLOG MONITOR) on MariaDB
    10.5+) for SHOW BINARY LOGS, C(SELECT) on C(performance_schema).'
author:
  - bjeic.ops maintainers (@bjeic-ops)
extends_documentation_fragment:
  - bjeic.ops.db_ledger
attributes:
  platform:
    support: full
    platforms: posix
    description: Any host with Python and PyMySQL that reaches the server.
options:
  name:
    description: Ledger label of the instance; default C(mysql-PORT).
    type: str
  login_port:
    description: TCP port of the server.
    type: int
    default: 3306
  login_unix_socket:
    description: Path of the server's socket, used instead of host and port (module on the database host).
    type: str
  ca_cert:
    description: CA certificate to verify the server's TLS certificate with; setting it turns TLS on.
    type: path
    aliases: [ssl_ca]
  client_cert:
    description: Client certificate for TLS client authentication.
    type: path
    aliases: [ssl_cert]
  client_key:
    description: Key of O(client_cert).
    type: path
    aliases: [ssl_key]
  check_hostname:
    description: With O(ca_cert), also check that the certificate names O(login_host).
    type: bool
    default: true
  backup_path:
    description:
      - Shell glob of the instance's dump files, on the host that runs the module. The newest one's
        modification time is the last full backup. Without it the backup age is not checked (C(db.unavailable)).
    type: str
  sample_seconds:
    description: Seconds between the two status samples that the per-second rates come from.
    type: float
    default: 1
'''

EXAMPLES = r'''
- name: Ledger of the instance on this database host, with its nightly dumps
  bjeic.ops.mysql_ledger:
    login_unix_socket: /run/mysqld/mysqld.sock
    login_user: bjeic_monitor
    login_password: "{{ vault_mysql_monitor_password }}"
    backup_path: /backup/mysql/*.sql.gz
    thresholds:
      db.tablespace_free: {warning: 20, critical: 10}
  become: true

- name: From the controller over TLS (no error log file, CPU or memory from here)
  bjeic.ops.mysql_ledger:
    name: mysql-orders
    login_host: db03.example.gov.cn
    login_user: bjeic_monitor
    login_password: "{{ vault_mysql_monitor_password }}"
    ca_cert: /etc/pki/bjeic/db-ca.pem
  delegate_to: localhost
'''

RETURN = r'''
available:
  description: Whether the server could be reached.
  returned: always
  type: bool
database:
  description: The facts read (engine-neutral shape, see the db_ledger role's README); null when unreachable.
  returned: always
  type: dict
  sample:
    engine: mysql
    product: MariaDB
    version: 10.11.6
    server: db03
    archive: {kind: binlog, mode: 'ON', format: MIXED, expire_seconds: 864000, 'off': []}
    errors: [{time: '2026-11-26T02:00:01Z', level: ERROR, text: 'Event Scheduler: ...'}]
    perf: {sessions: 12, queries_per_sec: 850.2, transactions_per_sec: 120.5, buffer_hit_pct: 99.97, top_waits: []}
ledger:
  description: One item of kind db, key C(db:NAME@SERVER); this run's measurements are under C(attrs.state).
  returned: always
  type: list
  elements: dict
findings:
  description: Findings (result contract).
  returned: always
  type: list
  elements: dict
probes:
  description:
    - This connection as an availability probe (result contract), shaped as M(bjeic.ops.db_probe) returns them - up
      with the time the connection took, or down with the class of the failure.
  returned: always
  type: list
  elements: dict
  sample: [{instance: orders, host: null, engine: mysql, target: 'db03:3306', up: true, latency_ms: 18,
            at: '2026-12-06T07:00:00Z', version: 10.11.6, server: db03, error_class: null, error: null}]
thresholds:
  description: Thresholds in force.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import db_mysql


def main():
    module = AnsibleModule(argument_spec=db_mysql.argument_spec(), supports_check_mode=True, **db_mysql.ARGUMENT_RULES)
    common.run_module(module, db_mysql)


if __name__ == '__main__':
    main()
