#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: mssql_ledger
short_description: Database ledger item and health findings of a SQL Server instance
version_added: 0.1.0
description:
  - Reads one SQL Server instance through python-tds (pure Python, no ODBC driver) and returns its ledger item
    (kind db) - machine, instance and server name, version, level and edition, Windows or Linux version, CPUs
    and memory, every database with its state and recovery model, data and log files with growth and maximum,
    space used per database and the free space of the volumes holding the files, tempdb, errors of severity 17
    and above (and I/O, log-full and filegroup-full errors) from the error log within a window, login failures,
    performance figures (connections, batches and transactions per second over a short sample, buffer cache hit
    ratio, page life expectancy, top waits) and the last full, differential and log backup per database from
    msdb - with findings against thresholds.
  - C(db.archive_off) is reported for user databases in the SIMPLE recovery model (no point-in-time restore);
    log backups are checked only for databases in FULL or BULK_LOGGED.
  - 'Privileges: C(VIEW SERVER STATE), C(VIEW ANY DEFINITION), C(SELECT) on C(msdb.dbo.backupset), a user in each
    database, and C(securityadmin) (C(VIEW SERVER SECURITY STATE) on 2022) for the error log.'
  - SQL Server 2012 and later, on Windows or Linux. No SQL Server runs in this project's test environment; see the
    README for what is verified and the opt-in live test.
author:
  - bjeic.ops maintainers (@bjeic-ops)
extends_documentation_fragment:
  - bjeic.ops.db_ledger
attributes:
  platform:
    support: full
    platforms: posix
    description: Any host with Python and python-tds that reaches the instance's TCP port.
options:
  name:
    description: Ledger label of the instance; default the instance name (C(MSSQLSERVER) for the default instance).
    type: str
  login_port:
    description: TCP port of the instance (named instances - their fixed port; SQL Browser is not used).
    type: int
    default: 1433
  login_database:
    description: Database to connect to.
    type: str
    default: master
  ca_cert:
    description: CA certificate to verify the server's TLS certificate with; setting it turns encryption on.
    type: path
  check_hostname:
    description: With O(ca_cert), also check that the certificate names O(login_host).
    type: bool
    default: true
  sample_seconds:
    description: Seconds between the two counter samples that the per-second rates come from.
    type: float
    default: 1
'''

EXAMPLES = r'''
- name: Ledger of the default instance on a Windows database host, read from the controller over TLS
  bjeic.ops.mssql_ledger:
    login_host: sql01.example.gov.cn
    login_user: bjeic_monitor
    login_password: "{{ vault_mssql_monitor_password }}"
    ca_cert: /etc/pki/bjeic/sql-ca.pem
    backup_max_age_hours: {full: 192, incremental: 26, log: 1}
  delegate_to: localhost
'''

RETURN = r'''
available:
  description: Whether the instance could be reached.
  returned: always
  type: bool
database:
  description: The facts read (engine-neutral shape, see the db_ledger role's README); null when unreachable.
  returned: always
  type: dict
  sample:
    engine: mssql
    instance: MSSQLSERVER
    server: SQL01
    version: 15.0.4355.3
    edition: Standard Edition (64-bit)
    archive: {kind: recovery model, mode: {appdb: FULL, master: SIMPLE}, 'off': []}
    backups: [{scope: appdb, type: log, last: '2026-11-26T01:45:02Z', age_hours: 0.3}]
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
from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql


def main():
    module = AnsibleModule(argument_spec=db_mssql.argument_spec(), supports_check_mode=True, **db_mssql.ARGUMENT_RULES)
    common.run_module(module, db_mssql)


if __name__ == '__main__':
    main()
