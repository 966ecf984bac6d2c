# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL Server restore test: RESTORE VERIFYONLY of the newest full backup, and optionally a real restore
under a scratch name, DBCC CHECKDB on it, and DROP.

Reads msdb.dbo.backupset and msdb.dbo.backupmediafamily (which file holds the newest full backup),
sys.databases (the scratch name must not exist) and SERVERPROPERTY('InstanceDefaultDataPath').
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql
from ansible_collections.bjeic.ops.plugins.module_utils.findings import stale_severity


def quote_name(name):
    return '[%s]' % name.replace(']', ']]')


def quote_string(text):
    return "N'%s'" % text.replace("'", "''")


def newest_full_sql(database):
    return ("SELECT TOP 1 mf.physical_device_name, bs.backup_finish_date, bs.has_backup_checksums, "
            "GETDATE() AS local_now, GETUTCDATE() AS utc_now FROM msdb.dbo.backupset bs "
            "JOIN msdb.dbo.backupmediafamily mf ON mf.media_set_id = bs.media_set_id "
            "WHERE bs.database_name = %s AND bs.type = 'D' AND bs.is_copy_only = 0 "
            "ORDER BY bs.backup_finish_date DESC" % quote_string(database))


def verify_sql(path, checksums):
    return 'RESTORE VERIFYONLY FROM DISK = %s%s' % (quote_string(path), ' WITH CHECKSUM' if checksums else '')


def filelist_sql(path):
    return 'RESTORE FILELISTONLY FROM DISK = %s' % quote_string(path)


def exists_sql(name):
    return 'SELECT COUNT(*) AS n FROM sys.databases WHERE name = %s' % quote_string(name)


DATA_PATH_SQL = "SELECT CAST(SERVERPROPERTY('InstanceDefaultDataPath') AS nvarchar(400)) AS data_path"


def restore_sql(path, scratch_name, files, data_path):
    """RESTORE DATABASE under the scratch name, every file moved to data_path under a scratch file name (so no
    file of the source database is touched). `files` are FILELISTONLY rows (logicalname, physicalname, type)."""
    separator = '\\' if '\\' in data_path or ':' in data_path else '/'
    moves = []
    for index, row in enumerate(files):
        extension = '.ldf' if row.get('type') == 'L' else '.mdf' if index == 0 else '.ndf'
        target = '%s%s%s_%d%s' % (data_path.rstrip('\\/'), separator, scratch_name, index, extension)
        moves.append('MOVE %s TO %s' % (quote_string(row['logicalname']), quote_string(target)))
    return 'RESTORE DATABASE %s FROM DISK = %s WITH %s, RECOVERY, STATS = 10' % (
        quote_name(scratch_name), quote_string(path), ', '.join(moves))


def checkdb_sql(name):
    return 'DBCC CHECKDB (%s) WITH NO_INFOMSGS, ALL_ERRORMSGS' % quote_name(name)


def drop_sql(name):
    return 'DROP DATABASE %s' % quote_name(name)


class MssqlRestore(object):
    """The SQL Server steps of a RestoreTest (restore_test.py): RESTORE VERIFYONLY of msdb's newest full backup,
    and optionally a restore under a new name checked with DBCC CHECKDB, then dropped."""

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
        rows = common.run_queries(connection, [('newest', newest_full_sql(params['database']))])['newest']
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
        steps = [('verify', verify_sql(newest['physical_device_name'], newest.get('has_backup_checksums')))]
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
        found = common.run_queries(connection, [('exists', exists_sql(name)),
                                                ('filelist', filelist_sql(path)),
                                                ('data_path', DATA_PATH_SQL)])
        if common.failed(found['exists']) or found['exists'][0]['n']:
            return 'restore_as %s names an existing database (or sys.databases cannot be read): choose a new name' % name
        if common.failed(found['filelist']):
            return 'RESTORE FILELISTONLY failed: %s' % found['filelist']
        data_path = found['data_path'][0]['data_path'] if not common.failed(found['data_path']) else None
        if not data_path:
            return "the instance's default data path cannot be read"
        steps = [('restore', restore_sql(path, name, found['filelist'], data_path)),
                 ('checkdb', checkdb_sql(name))]
        problem = self.mssql_run(connection, steps, outcome)
        dropped = common.run_queries(connection, [('drop', drop_sql(name))])['drop']
        outcome['cleaned'] = not common.failed(dropped)
        for key in ('restore', 'checkdb'):
            outcome.pop(key, None)   # row lists of no interest; the timings stay
        return problem
