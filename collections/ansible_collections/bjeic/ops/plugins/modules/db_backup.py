#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_backup
short_description: Take a MySQL / MariaDB, Oracle or SQL Server backup, verify it at once, then apply retention
version_added: 0.4.0
description:
  - C(method=logical) dumps with C(mariadb-dump) (or C(mysqldump)) in one consistent snapshot
    (C(--single-transaction)) with routines, events and triggers, through zstd or gzip, into
    C(<destination>/<name>-<UTC time>.sql.zst). C(method=physical) takes a C(mariadb-backup) (or C(xtrabackup))
    set into C(<destination>/<name>-<UTC time>/).
  - Either is written under a hidden name beside the final one and renamed only when complete. With
    O(restore_test) (the default) it is first restored into a scratch server on this host by
    M(bjeic.ops.db_restore_test)'s own code; a backup that does not restore is not kept, and no older one is
    pruned. A dump then gets a row manifest C(<dump>.rows) (C(schema.table rows), what its restore held) that
    M(bjeic.ops.db_restore_test) compares later restores against.
  - The password goes only into a 0600 option file in a private directory that is removed afterwards - never on a
    command line (C(ps)), in a file name, the record or a log.
  - C(engine=oracle) runs RMAN with OS authentication (C(rman target /) as the oracle user) - C(BACKUP AS COMPRESSED
    BACKUPSET INCREMENTAL LEVEL 0|1 DATABASE PLUS ARCHIVELOG) into O(destination), C(CROSSCHECK) and C(DELETE
    NOPROMPT OBSOLETE) per O(recovery_window_days) - then verifies with RMAN's C(RESTORE DATABASE VALIDATE),
    C(RESTORE CONTROLFILE VALIDATE) and C(RESTORE ARCHIVELOG ... VALIDATE) (M(bjeic.ops.db_restore_test)'s code).
  - C(engine=mssql) sends C(BACKUP DATABASE) (or C(DIFFERENTIAL), or C(BACKUP LOG)) C(... WITH CHECKSUM) - and
    C(COMPRESSION) where the edition has it (Standard, Enterprise) - to a file in O(destination) on the server, then
    C(RESTORE VERIFYONLY ... WITH CHECKSUM). The server writes the file itself; it is recorded in msdb only when
    complete. Retention of SQL Server files is the server's (a maintenance plan), not this module's.
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: Says whether the backup would fit and which backups retention would prune; writes nothing.
  diff_mode:
    support: none
    description: The change records name the backups written and pruned.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with MariaDB or MySQL client tools; a physical backup runs on the database host itself.
options:
  engine:
    description: The database engine.
    type: str
    choices: [mysql, oracle, mssql]
    default: mysql
  name:
    description: The backup's name; the files are named after it.
    type: str
    required: true
  level:
    description: Oracle - the RMAN incremental level, C(0) (full) or C(1).
    type: int
    choices: [0, 1]
    default: 0
  recovery_window_days:
    description: Oracle - the recovery window RMAN's C(DELETE OBSOLETE) keeps.
    type: int
    default: 7
  oracle_home:
    description: Oracle - the ORACLE_HOME of the instance.
    type: path
  oracle_sid:
    description: Oracle - the ORACLE_SID of the instance.
    type: str
  database:
    description: SQL Server - the database to back up.
    type: str
  mssql_type:
    description: SQL Server - C(full), C(diff) (differential) or C(log).
    type: str
    choices: [full, diff, log]
    default: full
  login_database:
    description: SQL Server - the database the login connects to.
    type: str
    default: master
  connect_timeout:
    description: SQL Server - seconds to wait for the connection.
    type: int
    default: 10
  check_hostname:
    description: SQL Server - check the certificate's host name (with O(ca_cert)).
    type: bool
    default: true
  destination:
    description: The directory backups go to (created 0700).
    type: path
    required: true
  method:
    description: C(logical) (a dump) or C(physical) (mariadb-backup / xtrabackup).
    type: str
    choices: [logical, physical]
    default: logical
  databases:
    description: The databases of a dump (empty - all). A physical backup is always of the whole server.
    type: list
    elements: str
    default: []
  compression:
    description: The compressor of a dump.
    type: str
    choices: [zstd, gzip]
    default: zstd
  retention:
    description: As in M(bjeic.ops.backup_create) - C(keep), C(daily), C(weekly), C(monthly), C(max_age_days).
    type: dict
    default: {}
  min_free_mb:
    description: MiB that must stay free in the destination after the backup.
    type: int
    default: 256
  restore_test:
    description: Restore the new backup into a scratch server and compare it (O(compare)) before it is kept.
    type: bool
    default: true
  compare:
    description:
      - What the restore is compared with - C(none) (it restores, and its tables are counted into the manifest),
        or C(source) (every table's rows and checksum equal the live server's - only for a server nobody writes to
        during the backup).
    type: str
    choices: [none, source]
    default: none
  scratch_dir:
    description: Where the scratch server of the restore test lives (and is removed).
    type: path
    default: /var/tmp
  start_timeout:
    description: Seconds the scratch server may take to start.
    type: int
    default: 120
  datadir:
    description: The server's data directory, for a physical backup when the server's option files do not say.
    type: path
  login_user:
    description: The user the backup logs in as (it needs SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES; RELOAD and PROCESS for physical).
    type: str
  login_password:
    description: Its password (from ansible-vault); written only to a 0600 option file that is removed afterwards.
    type: str
  login_host:
    description: The server's address.
    type: str
    default: localhost
  login_port:
    description: The server's port (default 3306 for MySQL, 1433 for SQL Server).
    type: int
  login_unix_socket:
    description: The server's socket (instead of host and port).
    type: str
  ca_cert:
    description: A CA bundle to check the server's certificate.
    type: path
notes:
  - Oracle and SQL Server do not run on the project's test machine - their statements are tested as text, parsed,
    and RMAN is run as a stand-in; the opt-in live tests (C(BJEIC_ORACLE_DSN), C(BJEIC_MSSQL_DSN)) cover the ledgers.
seealso:
  - module: bjeic.ops.db_restore_test
  - module: bjeic.ops.backup_create
'''

EXAMPLES = r'''
- name: Nightly dump of the orders databases, restore-tested, 14 kept
  bjeic.ops.db_backup:
    name: orders
    destination: /backup/db
    databases: [orders, crm]
    retention: {keep: 14}
    login_user: bjeic_backup
    login_password: "{{ vault_db_backup_password }}"
    login_unix_socket: /run/mysqld/mysqld.sock
  become: true

- name: Weekly physical backup of the whole server
  bjeic.ops.db_backup:
    name: full
    method: physical
    destination: /backup/physical
    retention: {weekly: 4}
    login_user: bjeic_backup
    login_password: "{{ vault_db_backup_password }}"
'''

RETURN = r'''
backups:
  description:
    - The backup record (数据备份记录), one item - C({set, kind, method, host, path, started, finished, seconds, size,
      tables, sha256, verified, pruned, state, error}); C(state) is taken, failed or (check mode) planned.
  returned: always
  type: list
  elements: dict
  sample:
    - {set: orders, kind: mysql, method: mariadb-dump, host: db01, path: /backup/db/orders-20261202T020000Z.sql.zst,
       started: "2026-12-02T02:00:00Z", finished: "2026-12-02T02:03:10Z", seconds: 190.2, size: 73400320, tables: 48,
       sha256: 9c1e..., verified: true, pruned: [], state: taken, error: null}
restore:
  description: The restore test (MySQL) or verification (RMAN validate, RESTORE VERIFYONLY) of the new backup; null without one.
  returned: always
  type: dict
changes:
  description: One C({object, action, before, after, rollback}) per backup written or pruned; neither can be rolled back.
  returned: always
  type: list
  elements: dict
rollback:
  description: Always null - a backup is kept, a pruned one is gone.
  returned: always
  type: dict
findings:
  description: C(backup.failed) (critical), C(backup.retention_waits) (info), and the restore test's findings.
  returned: always
  type: list
  elements: dict
summary:
  description: Counts of findings by severity.
  returned: always
  type: dict
  sample: {critical: 0, warning: 0, info: 0}
'''

import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils.backup_db import MysqlBackup
from ansible_collections.bjeic.ops.plugins.module_utils.backup_vendor import MssqlBackup, OracleBackup
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings
from ansible_collections.bjeic.ops.plugins.module_utils.restore_test import RestoreTest


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine=dict(type='str', choices=['mysql', 'oracle', 'mssql'], default='mysql'),
            name=dict(type='str', required=True),
            destination=dict(type='path', required=True),
            level=dict(type='int', choices=[0, 1], default=0),
            recovery_window_days=dict(type='int', default=7),
            oracle_home=dict(type='path'),
            oracle_sid=dict(type='str'),
            database=dict(type='str'),
            mssql_type=dict(type='str', choices=['full', 'diff', 'log'], default='full'),
            login_database=dict(type='str', default='master'),
            connect_timeout=dict(type='int', default=10),
            check_hostname=dict(type='bool', default=True),
            method=dict(type='str', choices=['logical', 'physical'], default='logical'),
            databases=dict(type='list', elements='str', default=[]),
            compression=dict(type='str', choices=['zstd', 'gzip'], default='zstd'),
            retention=dict(type='dict', default={}),
            min_free_mb=dict(type='int', default=256),
            restore_test=dict(type='bool', default=True),
            compare=dict(type='str', choices=['none', 'source'], default='none'),
            scratch_dir=dict(type='path', default='/var/tmp'),
            start_timeout=dict(type='int', default=120),
            datadir=dict(type='path'),
            login_user=dict(type='str'),
            login_password=dict(type='str', no_log=True),
            login_host=dict(type='str', default='localhost'),
            login_port=dict(type='int'),
            login_unix_socket=dict(type='str'),
            ca_cert=dict(type='path'),
        ),
        required_if=[('engine', 'oracle', ['oracle_home', 'oracle_sid']), ('engine', 'mssql', ['database', 'login_user'])],
        supports_check_mode=True,
    )
    params = module.params
    if params['login_port'] is None:
        params['login_port'] = 1433 if params['engine'] == 'mssql' else 3306
    if not params['name'].replace('-', '').replace('_', '').replace('.', '').isalnum():
        module.fail_json(msg='name %r: letters, digits, ".", "_" and "-" only (the files are named after it)' % params['name'])
    host = socket.gethostname()
    found = Findings(params['name'])
    restored = {}

    def restore(path):
        # db_restore_test's own code, pointed at the new backup.
        test = RestoreTest(module)
        test.params = dict(params, backup_path=path, manifest=None, login_database=None, max_age_hours=24.0)
        test.add = found.add
        test.found = found
        test.restore(path)
        restored.update(test.backup['restore'] or {})
        return restored

    if params['engine'] == 'oracle':
        backup = OracleBackup(module, params, found, host)
        backup.run()
        restored.update(backup.verification or {})
    elif params['engine'] == 'mssql':
        from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql
        if not db_mssql.HAS_DRIVER:
            from ansible.module_utils.basic import missing_required_lib
            module.fail_json(msg=missing_required_lib(db_mssql.DRIVER))
        backup = MssqlBackup(module, params, found, host)
        backup.run(db_mssql.connect)
        restored.update(backup.verification or {})
    else:
        backup = MysqlBackup(module, params, found, host, restore)
        backup.run()
    record = backup.record
    result = dict(changed=bool(backup.changes) or (module.check_mode and record['state'] == 'planned'),
                  backups=[record], restore=restored or None, changes=backup.changes, rollback=None,
                  findings=found.items, summary=found.summary(),
                  msg='database backup %s on %s: %s%s' % (params['name'], host, record['state'],
                                                          ' - %s' % record['error'] if record['error'] else ''))
    if record['state'] == 'failed':
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
