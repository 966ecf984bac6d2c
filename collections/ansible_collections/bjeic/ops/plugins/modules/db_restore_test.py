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
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql
from ansible_collections.bjeic.ops.plugins.module_utils import mysql_scratch as scratch
from ansible_collections.bjeic.ops.plugins.module_utils import restore_mssql
from ansible_collections.bjeic.ops.plugins.module_utils import restore_oracle
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings
from ansible_collections.bjeic.ops.plugins.module_utils.findings import stale_severity


def parse_row_manifest(text):
    """`schema.table rows` lines -> {'schema.table': rows}; ValueError names the first bad line."""
    counts = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith('#'):
            continue
        fields = line.split()
        if len(fields) != 2 or '.' not in fields[0] or not fields[1].isdigit():
            raise ValueError('not a "schema.table rows" line: %r' % line[:200])
        counts[fields[0]] = int(fields[1])
    return counts


def differences(restored, expected, with_checksum):
    """Tables missing from the restore, and tables whose rows (or checksum) differ from `expected`."""
    missing = sorted(set(expected) - set(restored))
    different = []
    for table in sorted(set(expected) & set(restored)):
        want, got = expected[table], restored[table]
        if want.get('rows') != got.get('rows') or (with_checksum and want.get('checksum') != got.get('checksum')):
            different.append('%s (rows %s, restored %s%s)' % (
                table, want.get('rows'), got.get('rows'),
                '; checksum differs' if with_checksum and want.get('checksum') != got.get('checksum') else ''))
    return missing, different


class RestoreTest:
    def __init__(self, module):
        self.module, self.params = module, module.params
        self.host = socket.gethostname()
        self.found = Findings(self.params['name'])
        self.add = self.found.add
        self.backup = {'dump': None, 'restore': None}

    def run(self):
        if self.params['engine'] == 'oracle':
            return self.run_oracle()
        if self.params['engine'] == 'mssql':
            return self.run_mssql()
        dumps = archive.newest_first(self.params['backup_path'])
        if not dumps:
            self.add('backup.missing', 'critical', 'database backup %s: no dump matches %s'
                     % (self.params['name'], self.params['backup_path']))
            return
        dump = dumps[0]
        # a physical backup is finished when its tool writes the checkpoints file
        stamp = next((os.path.join(dump, n) for n in scratch.CHECKPOINT_FILES if os.path.exists(os.path.join(dump, n))), dump)
        age = round((time.time() - os.path.getmtime(stamp)) / 3600.0, 2)
        self.backup.update(dump=dump, size=archive.path_size(dump), age_hours=age,
                           count=len(dumps))
        limit = self.params['max_age_hours']
        severity = stale_severity(age, limit)
        if severity:
            self.add('db.backup_stale', severity,
                     'database backup %s: newest dump %s is %.1f h old, allowed %s h' % (self.params['name'], dump, age, limit),
                     value=age, threshold=limit)
        if self.module.check_mode:
            self.backup['restore'] = {'ok': None, 'skipped': 'check mode'}
            return
        self.restore(dump)

    def restore(self, dump):
        physical = scratch.is_physical(dump)
        outcome = {'ok': False, 'cleaned': False, 'kind': 'physical' if physical else 'dump'}
        self.backup['restore'] = outcome
        if physical and not self.fits(dump, outcome):
            return
        root = tempfile.mkdtemp(prefix='bjeic-dbrestore-', dir=self.params['scratch_dir'])
        instance = None
        try:
            instance = scratch.ScratchInstance(self.module, root, self.params['start_timeout'])
            started = time.time()
            if physical:
                instance.adopt(dump)
                outcome['prepare_seconds'] = round(time.time() - started, 3)
                started = time.time()
                instance.start(skip_grants=True)
                problem = None
            else:
                instance.initialise()
                instance.start()
            outcome['start_seconds'] = round(time.time() - started, 3)
            if not physical:
                problem = self.load(instance, dump, outcome)
            if problem is None:
                started = time.time()
                problem = self.compare(instance, root, dump, outcome)
                outcome['compare_seconds'] = round(time.time() - started, 3)
        except scratch.ScratchError as exc:
            problem = str(exc)
        finally:
            if instance is not None:
                instance.stop()
            outcome['cleaned'] = scratch.remove(root)
        outcome['ok'] = problem is None
        if problem:
            outcome['problem'] = problem
            self.fail(dump, problem)

    def fits(self, backup_dir, outcome):
        """A physical backup is copied before it is prepared: skip (with a finding) when the copy would not fit."""
        need = int(archive.tree_size(backup_dir) * 1.1)
        free = archive.free_bytes(self.params['scratch_dir'])
        if need <= free:
            return True
        outcome.update(ok=None, skipped='needs %d bytes in %s, %d free' % (need, self.params['scratch_dir'], free))
        message = 'database backup %s: restore test of %s skipped: the prepared copy needs %d MiB in %s and only %d MiB ' \
            'are free' % (self.params['name'], backup_dir, need >> 20, self.params['scratch_dir'], free >> 20)
        self.add('db.restore_skipped', 'warning', message)
        return False

    def load(self, instance, dump, outcome):
        started = time.time()
        stream, process = scratch.open_dump(dump)
        try:
            ok, error = instance.load(stream)
            if process is not None:
                try:   # drains what the client left unread, so a zstd failure is zstd's own, not a closed pipe
                    archive.finish_zstd(process)
                except archive.ArchiveError as exc:
                    ok, error = False, str(exc)
        finally:
            stream.close()
        outcome['load_seconds'] = round(time.time() - started, 3)
        return None if ok else 'the dump does not load: %s' % error

    def restored_tables(self, instance):
        rc, out, err = instance.query(scratch.TABLES_SQL)
        if rc != 0:
            raise scratch.ScratchError('listing the restored tables failed: %s' % err.strip()[-300:])
        tables = [tuple(line.split('\t')) for line in out.splitlines() if '\t' in line]
        wanted = self.params['databases']
        return [t for t in tables if not wanted or t[0] in wanted]

    def compare(self, instance, root, dump, outcome):
        tables = self.restored_tables(instance)
        script = scratch.fingerprint_sql(tables)
        rc, out, err = instance.query(script)
        if rc != 0:
            return 'reading the restored tables failed: %s' % err.strip()[-300:]
        restored = scratch.parse_fingerprint(out)
        outcome.update(tables=len(restored), rows=sum(t.get('rows') or 0 for t in restored.values()))
        missing_dbs = sorted(set(self.params['databases']) - set(t[0] for t in tables))
        if missing_dbs:
            return 'the dump holds no table of database(s) %s' % ', '.join(missing_dbs)
        if not tables:
            return 'the dump restored no table'
        mode = self.params['compare']
        if mode == 'none':
            return None
        if mode == 'manifest':
            expected = self.read_manifest(dump)
            if expected is None:
                return None   # reported as its own finding
            wanted = self.params['databases']
            expected = dict((k, {'rows': v}) for k, v in expected.items() if not wanted or k.split('.', 1)[0] in wanted)
            missing, different = differences(restored, expected, False)
        else:
            expected = self.source_fingerprint(instance, root, script)
            if expected is None:
                return None   # reported as db.unreachable
            missing, different = differences(restored, expected, True)
        outcome.update(missing=missing, different=different, compared_with=mode)
        if missing or different:
            return '%d table(s) missing from the restore (%s), %d different from the %s (%s)' % (
                len(missing), ', '.join(missing[:5]) or '-', len(different), mode, '; '.join(different[:5]) or '-')
        return None

    def read_manifest(self, dump):
        path = (self.params['manifest'] or '').replace('{file}', dump)
        try:
            with open(path) as handle:
                return parse_row_manifest(handle.read())
        except (IOError, OSError, ValueError) as exc:
            self.add('db.restore_failed', 'critical', 'database backup %s: manifest %s cannot be used: %s'
                     % (self.params['name'], path, exc))
            return None

    def source_fingerprint(self, instance, root, script):
        options = os.path.join(root, 'source.cnf')
        params = self.params
        scratch.write_client_options(options, {
            'user': params['login_user'], 'password': params['login_password'],
            'socket': params['login_unix_socket'],
            'host': None if params['login_unix_socket'] else params['login_host'],
            'port': None if params['login_unix_socket'] else params['login_port'],
            'ssl-ca': params['ca_cert']})
        rc, out, err = instance.query(script, options_file=options)
        if rc != 0 and not out:
            self.add('db.unreachable', 'critical', 'database backup %s: the source server could not be queried to '
                     'compare the restore: %s' % (params['name'], err.strip().splitlines()[-1] if err.strip() else 'rc %d' % rc))
            return None
        return scratch.parse_fingerprint(out)

    def fail(self, what, problem):
        self.add('db.restore_failed', 'critical', 'database backup %s: restore test of %s failed: %s'
                 % (self.params['name'], what, problem), value=problem)

    def run_oracle(self):
        params = self.params
        if self.module.check_mode:
            self.backup['restore'] = {'ok': None, 'skipped': 'check mode'}
            return
        started = time.time()
        outcome = restore_oracle.validate(self.module, params['oracle_home'], params['oracle_sid'], params['validate'],
                                          params['archivelog_hours'])
        outcome.update(kind='rman validate', targets=params['validate'], seconds=round(time.time() - started, 3))
        self.backup['restore'] = outcome
        if not outcome['ok']:
            problem = 'RMAN validation of %s failed (rc %s): %s' % (
                ', '.join(params['validate']), outcome['rc'], '; '.join(outcome['errors'][:5]) or 'no error line')
            self.fail('ORACLE_SID %s' % params['oracle_sid'], problem)

    def run_mssql(self):
        params = self.params
        if not db_mssql.HAS_DRIVER:
            self.module.fail_json(msg=missing_required_lib(db_mssql.DRIVER))
        try:
            connection = db_mssql.connect(params)
        except Exception as exc:  # driver errors; none carries the password
            self.add('db.unreachable', 'critical', 'database backup %s: cannot connect to %s:%s: %s'
                     % (params['name'], params['login_host'], params['login_port'], common.error_text(exc)))
            return
        try:
            self.mssql_steps(connection)
        finally:
            connection.close()

    def mssql_steps(self, connection):
        params = self.params
        rows = common.run_queries(connection, [('newest', restore_mssql.newest_full_sql(params['database']))])['newest']
        if common.failed(rows) or not rows:
            self.add('backup.missing', 'critical', 'database backup %s: msdb records no full backup of %s%s'
                     % (params['name'], params['database'], ' (%s)' % rows if common.failed(rows) else ''))
            return
        newest = rows[0]
        offset = common.clock_offset(newest)
        finished = newest['backup_finish_date'] - offset
        age = common.age_hours(finished, common.utc_now()) or 0.0
        self.backup.update(dump=newest['physical_device_name'], age_hours=age, finished=common.iso(finished))
        severity = stale_severity(age, params['max_age_hours'])
        if severity:
            self.add('db.backup_stale', severity, 'database backup %s: newest full backup of %s finished %.1f h ago, '
                     'allowed %s h' % (params['name'], params['database'], age, params['max_age_hours']),
                     value=age, threshold=params['max_age_hours'])
        if self.module.check_mode:
            self.backup['restore'] = {'ok': None, 'skipped': 'check mode'}
            return
        outcome = {'ok': False, 'kind': 'verifyonly'}
        self.backup['restore'] = outcome
        steps = [('verify', restore_mssql.verify_sql(newest['physical_device_name'], newest.get('has_backup_checksums')))]
        problem = self.mssql_run(connection, steps, outcome)
        if problem is None and params['restore_as']:
            outcome['kind'] = 'restore'
            problem = self.mssql_restore(connection, newest['physical_device_name'], outcome)
        outcome['ok'] = problem is None
        if problem:
            self.fail(newest['physical_device_name'], problem)

    def mssql_run(self, connection, steps, outcome):
        """Run (step, sql) in order, timing each; the first failure's server message is the problem."""
        for step, sql in steps:
            started = time.time()
            result = common.run_queries(connection, [(step, sql)])[step]
            outcome['%s_seconds' % step] = round(time.time() - started, 3)
            if common.failed(result):
                return '%s failed: %s' % (step, result)
            outcome[step] = result
        return None

    def mssql_restore(self, connection, path, outcome):
        name = self.params['restore_as']
        found = common.run_queries(connection, [('exists', restore_mssql.exists_sql(name)),
                                                ('filelist', restore_mssql.filelist_sql(path)),
                                                ('data_path', restore_mssql.DATA_PATH_SQL)])
        if common.failed(found['exists']) or found['exists'][0]['n']:
            return 'restore_as %s names an existing database (or sys.databases cannot be read): choose a new name' % name
        if common.failed(found['filelist']):
            return 'RESTORE FILELISTONLY failed: %s' % found['filelist']
        data_path = found['data_path'][0]['data_path'] if not common.failed(found['data_path']) else None
        if not data_path:
            return "the instance's default data path cannot be read"
        steps = [('restore', restore_mssql.restore_sql(path, name, found['filelist'], data_path)),
                 ('checkdb', restore_mssql.checkdb_sql(name))]
        problem = self.mssql_run(connection, steps, outcome)
        dropped = common.run_queries(connection, [('drop', restore_mssql.drop_sql(name))])['drop']
        outcome['cleaned'] = not common.failed(dropped)
        for key in ('restore', 'checkdb'):
            outcome.pop(key, None)   # row lists of no interest; the timings stay
        return problem

    def ledger(self):
        attrs = {'name': self.params['name'], 'engine': self.params['engine'], 'host': self.host,
                 'backup_path': self.params['backup_path'], 'max_age_hours': self.params['max_age_hours'],
                 'state': self.backup}
        return [contract.ledger_item('backup', contract.key('dbbackup', self.params['name'], self.host), attrs)]


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
