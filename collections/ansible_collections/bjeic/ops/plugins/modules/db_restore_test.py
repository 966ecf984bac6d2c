#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: db_restore_test
short_description: Prove the newest database backup restores - restore it into a scratch instance and compare
version_added: 0.1.0
description:
  - Finds the newest dump matching O(backup_path), restores it into a throw-away MySQL/MariaDB
    instance started for the test (its own data directory under O(scratch_dir), its own socket, no
    TCP port, no option files - it cannot touch the production instance), compares every restored
    table with the source server (row count and C(CHECKSUM TABLE)) or with the dump's manifest,
    then shuts the scratch instance down and removes it.
  - Runs on the database host (or any host with the same server version installed) because the
    scratch instance needs the server programs; the source is reached with the O(login_user)
    credentials through a 0600 option file inside the scratch directory, never on a command line.
  - Dumps may be plain C(.sql), C(.sql.gz) or C(.sql.zst) (zstd tool needed), as C(mysqldump) /
    C(mariadb-dump) write them. A match that is a mariabackup / xtrabackup target directory is a physical
    backup - it is copied into the scratch directory, prepared there with C(--prepare) (the backup itself is
    not touched) and started as the scratch instance's data directory, without its grant tables. A dump that stops half-way, has a damaged compression stream or
    SQL the server rejects fails the test with the client's own error line.
  - With O(engine=oracle), runs RMAN on the database host (as the oracle OS user, C(become_user)) with
    C(RESTORE DATABASE VALIDATE), C(RESTORE CONTROLFILE VALIDATE) and C(RESTORE ARCHIVELOG FROM TIME ... VALIDATE)
    - every backup piece a restore would read is read and its blocks checked - and reports each C(RMAN-) / C(ORA-)
    error.
  - With O(engine=mssql), finds the newest full backup of O(database) in msdb, runs C(RESTORE VERIFYONLY) on it
    (C(WITH CHECKSUM) when the backup has checksums) and, with O(restore_as), restores it under that new name with
    every file moved to scratch names, runs C(DBCC CHECKDB) on it and drops it. Runs wherever python-tds is; the
    backup path is the server's.
  - Oracle and SQL Server cannot run in this project's test environment; their paths are tested on the statements
    and outputs the vendors document (see the README).
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: In check mode the dump is found and its age checked; the restore is not run.
  diff_mode:
    support: none
    description: Nothing outside the scratch directory is changed.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with the MySQL or MariaDB server and client installed.
options:
  engine:
    description: The database engine of the backup.
    type: str
    choices: [mysql, oracle, mssql]
    default: mysql
  name:
    description: Name of the backup, for findings and the ledger key C(dbbackup:NAME@HOST).
    type: str
    required: true
  backup_path:
    description:
      - Shell glob of the dumps (files) or physical backups (directories); the newest by modification time is restored.
      - Required with O(engine=mysql); Oracle and SQL Server find their backups in their own catalogues.
    type: str
  max_age_hours:
    description: A newest dump older than this is C(db.backup_stale) (critical beyond twice this).
    type: float
    default: 24
  databases:
    description: Databases to compare. Empty compares every database the dump restored.
    type: list
    elements: str
    default: []
  compare:
    description:
      - C(source) compares with the live source server - exact for a quiesced source or a replica
        stopped at the dump's position; on a busy primary, writes since the dump show as differences.
      - C(manifest) compares row counts with O(manifest), written by the backup job at dump time.
      - C(none) only proves the dump loads.
    type: str
    choices: [source, manifest, none]
    default: source
  manifest:
    description:
      - Row-count manifest, lines C(schema.table rows). C({file}) is replaced by the dump's path.
        Required with O(compare=manifest).
    type: str
  scratch_dir:
    description: Directory under which the scratch instance lives while the test runs (removed afterwards).
    type: path
    default: /var/tmp
  start_timeout:
    description: Seconds to wait for the scratch server to accept connections.
    type: int
    default: 120
  login_host:
    description: Source server host (with O(compare=source)).
    type: str
  login_port:
    description: Source server TCP port; default 3306 (mysql) or 1433 (mssql).
    type: int
  login_database:
    description: Database to connect to (O(engine=mssql)).
    type: str
    default: master
  database:
    description: The database whose newest full backup is verified (O(engine=mssql)).
    type: str
  restore_as:
    description:
      - With O(engine=mssql), also restore the backup under this new database name, run DBCC CHECKDB on it and drop
        it. The name must not exist; the files go to the instance's default data path under scratch names.
    type: str
  oracle_home:
    description: ORACLE_HOME of the database (O(engine=oracle)).
    type: path
  oracle_sid:
    description: ORACLE_SID of the instance (O(engine=oracle)).
    type: str
  validate:
    description: What RMAN validates (O(engine=oracle)).
    type: list
    elements: str
    choices: [database, controlfile, spfile, archivelog]
    default: [database, controlfile, archivelog]
  archivelog_hours:
    description: Archive logs of this many recent hours are validated (O(engine=oracle)).
    type: float
    default: 24
  check_hostname:
    description: With O(ca_cert), also check that the server certificate names O(login_host) (O(engine=mssql)).
    type: bool
    default: true
  connect_timeout:
    description: Seconds to wait for the SQL Server connection (O(engine=mssql)).
    type: int
    default: 10
  login_user:
    description: Source server user; needs SELECT on the compared tables.
    type: str
  login_password:
    description: Password of O(login_user).
    type: str
  login_unix_socket:
    description: Source server socket, used instead of host and port.
    type: str
  ca_cert:
    description: CA certificate to verify the source server's TLS certificate with.
    type: path
notes:
  - Findings - C(backup.missing) (critical, no dump matches), C(db.backup_stale), C(db.restore_skipped)
    (warning - the copy of a physical backup would not fit in O(scratch_dir)),
    C(db.restore_failed) (critical - the dump does not load or differs from the source or manifest),
    C(db.unreachable) (critical - the source server cannot be queried for the comparison).
'''

EXAMPLES = r'''
- name: Restore last night's dump of the application database and compare with the server
  bjeic.ops.db_restore_test:
    name: appdb
    backup_path: /backup/mysql/appdb-*.sql.gz
    max_age_hours: 26
    databases: [appdb]
    login_unix_socket: /run/mysqld/mysqld.sock
    login_user: bjeic_check
    login_password: "{{ vault_mysql_check_password }}"
  become: true
  register: restore_test
'''

RETURN = r'''
backup:
  description: The dump and what the restore test found.
  returned: always
  type: dict
  sample:
    dump: /backup/mysql/appdb-20261126.sql.gz
    size: 104857600
    age_hours: 5.1
    restore:
      ok: true
      load_seconds: 41.2
      compare_seconds: 3.3
      tables: 48
      rows: 1250000
      different: []
      missing: []
      cleaned: true
ledger:
  description: One item of kind backup, key C(dbbackup:NAME@HOST).
  returned: always
  type: list
  elements: dict
findings:
  description: Findings (result contract).
  returned: always
  type: list
  elements: dict
'''
import os
import socket

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils.restore_test import RestoreTest


def check_mysql_params(module):
    params = module.params
    if params['compare'] == 'manifest' and not params['manifest']:
        module.fail_json(msg='compare=manifest needs manifest: the path of the row-count manifest')
    if params['compare'] == 'source' and not (params['login_user'] and (params['login_host'] or params['login_unix_socket'])):
        module.fail_json(msg='compare=source needs the source server: set login_user, and login_unix_socket or login_host '
                             '(or compare=manifest / none)')
    if not os.path.isdir(params['scratch_dir']):
        module.fail_json(msg='scratch_dir %s does not exist on %s' % (params['scratch_dir'], socket.gethostname()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine=dict(type='str', choices=['mysql', 'oracle', 'mssql'], default='mysql'),
            name=dict(type='str', required=True),
            backup_path=dict(type='str'),
            max_age_hours=dict(type='float', default=24),
            databases=dict(type='list', elements='str', default=[]),
            compare=dict(type='str', choices=['source', 'manifest', 'none'], default='source'),
            manifest=dict(type='str'),
            scratch_dir=dict(type='path', default='/var/tmp'),
            start_timeout=dict(type='int', default=120),
            login_host=dict(type='str'),
            login_port=dict(type='int'),
            login_database=dict(type='str', default='master'),
            database=dict(type='str'),
            restore_as=dict(type='str'),
            oracle_home=dict(type='path'),
            oracle_sid=dict(type='str'),
            validate=dict(type='list', elements='str', choices=['database', 'controlfile', 'spfile', 'archivelog'],
                          default=['database', 'controlfile', 'archivelog']),
            archivelog_hours=dict(type='float', default=24),
            check_hostname=dict(type='bool', default=True),
            connect_timeout=dict(type='int', default=10),
            login_user=dict(type='str'),
            login_password=dict(type='str', no_log=True),
            login_unix_socket=dict(type='str'),
            ca_cert=dict(type='path'),
        ),
        required_if=[('engine', 'mysql', ['backup_path']),
                     ('engine', 'oracle', ['oracle_home', 'oracle_sid']),
                     ('engine', 'mssql', ['database', 'login_host', 'login_user'])],
        supports_check_mode=True,
    )
    params = module.params
    if params['login_port'] is None:
        params['login_port'] = 1433 if params['engine'] == 'mssql' else 3306
    if params['engine'] == 'mysql':
        check_mysql_params(module)
    test = RestoreTest(module)
    test.run()
    restore = test.backup.get('restore') or {}
    module.exit_json(changed=False, backup=test.backup, findings=test.found.items, ledger=test.ledger(),
                     msg='restore test of %s: %s' % (module.params['name'], 'passed' if restore.get('ok') else
                                                     restore.get('skipped') or 'failed, see findings'))


if __name__ == '__main__':
    main()
