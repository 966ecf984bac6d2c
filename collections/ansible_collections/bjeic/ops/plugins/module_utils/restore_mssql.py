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
