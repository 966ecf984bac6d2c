#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: oracle_ledger
short_description: Database ledger item and health findings of an Oracle database
version_added: 0.1.0
description:
  - Reads one Oracle database service through python-oracledb in thin mode (pure Python, no Oracle client)
    and returns its ledger item (kind db) - instance and host name, version and edition, platform, CPUs
    and memory (V$OSSTAT), data and temp files with autoextend and maximum, tablespace use against the size
    autoextend can reach, the recovery area, archive-log mode, ORA- errors and incidents from the alert log
    (V$DIAG_ALERT_EXT) within a window, performance figures (sessions, V$SYSMETRIC rates and buffer cache hit
    ratio, top non-idle waits) and the last full, incremental and archive-log backups from RMAN's job history -
    with findings against thresholds.
  - UNDO and TEMPORARY tablespaces are listed but not graded for free space (their use is not a capacity problem).
  - RMAN records a level 0 incremental as C(DB INCR); where full backups are level 0, set
    C(full) to 0 in O(backup_max_age_hours) and let C(incremental) carry the check.
  - 'Privileges: C(CREATE SESSION) and C(SELECT_CATALOG_ROLE) (or C(SELECT ANY DICTIONARY)). DBA_ views show the
    container connected to: give a PDB service name for a PDB''s tablespaces.'
  - Oracle 11.2 and later. No Oracle database runs in this project's test environment; see the README for what is
    verified and the opt-in live test.
author:
  - bjeic.ops maintainers (@bjeic-ops)
extends_documentation_fragment:
  - bjeic.ops.db_ledger
attributes:
  platform:
    support: full
    platforms: posix
    description: Any host with Python and python-oracledb that reaches the listener.
options:
  name:
    description: Ledger label of the database; default the O(service_name).
    type: str
  login_port:
    description: Listener port.
    type: int
    default: 1521
  service_name:
    description: Service name of the database (or PDB) to read.
    type: str
    required: true
  tcps:
    description: Connect with TLS (protocol TCPS); the server certificate is verified against O(wallet_location).
    type: bool
    default: false
  wallet_location:
    description: Directory of the wallet (C(ewallet.pem)) holding the CA certificate, for O(tcps=true).
    type: path
  wallet_password:
    description: Password of an encrypted wallet.
    type: str
  ssl_server_cert_dn:
    description: Distinguished name the server certificate must have, when it does not match the host name.
    type: str
'''

EXAMPLES = r'''
- name: Ledger of the ORCL service, read from the controller
  bjeic.ops.oracle_ledger:
    login_host: db01.example.gov.cn
    service_name: ORCL
    login_user: bjeic_monitor
    login_password: "{{ vault_oracle_monitor_password }}"
    backup_max_age_hours: {full: 0, incremental: 26, log: 2}
    thresholds:
      db.tablespace_free: {warning: 10, critical: 5}
  delegate_to: localhost

- name: Over TCPS with the CA in a wallet
  bjeic.ops.oracle_ledger:
    login_host: db02.example.gov.cn
    login_port: 2484
    service_name: HRPDB
    tcps: true
    wallet_location: /etc/bjeic/oracle-wallet
    login_user: bjeic_monitor
    login_password: "{{ vault_oracle_monitor_password }}"
  delegate_to: localhost
'''

RETURN = r'''
available:
  description: Whether the database could be reached.
  returned: always
  type: bool
database:
  description: The facts read (engine-neutral shape, see the db_ledger role's README); null when unreachable.
  returned: always
  type: dict
  sample:
    engine: oracle
    instance: orcl1
    server: db01
    version: 19.0.0.0.0
    edition: Enterprise Edition
    archive: {kind: archivelog, mode: ARCHIVELOG, 'off': []}
    spaces: [{name: USERS, contents: PERMANENT, used_bytes: 1048576000, max_bytes: 34359721984, free_pct: 96.95}]
    backups: [{scope: database, type: log, last: '2026-11-26T01:00:12Z', age_hours: 1.5}]
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
from ansible_collections.bjeic.ops.plugins.module_utils import db_oracle


def main():
    module = AnsibleModule(argument_spec=db_oracle.argument_spec(), supports_check_mode=True, **db_oracle.ARGUMENT_RULES)
    common.run_module(module, db_oracle)


if __name__ == '__main__':
    main()
