# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Oracle and SQL Server backups for db_backup, through the same drivers and with the same limits as the ledgers:
RMAN (`BACKUP ... DATABASE PLUS ARCHIVELOG`, level 0 or 1, `CROSSCHECK`, `DELETE OBSOLETE` per a recovery window,
then RMAN's own `RESTORE ... VALIDATE` - restore_oracle's) with OS authentication, and SQL Server's
`BACKUP DATABASE / LOG ... WITH CHECKSUM` (compression where the edition has it) then `RESTORE VERIFYONLY`.
Neither engine runs on the test machine: the statements are tested as text and parsed, RMAN through a stand-in."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import time

from ansible_collections.bjeic.ops.plugins.module_utils import backup_take as take
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import restore_oracle
from ansible_collections.bjeic.ops.plugins.module_utils.restore_mssql import quote_string, verify_sql

PIECE = re.compile(r'piece handle=(\S+)')
DELETED = re.compile(r'deleted backup piece\s*\n\s*backup piece handle=(\S+)', re.I)
# SQL Server editions with backup compression (SERVERPROPERTY('EngineEdition')): Standard, Enterprise, Azure SQL MI
COMPRESSING_EDITIONS = (2, 3, 8)


def rman_script(name, destination, level, recovery_window_days, tag):
    where = destination.rstrip('/')
    return '\n'.join([
        'CONFIGURE RETENTION POLICY TO RECOVERY WINDOW OF %d DAYS;' % recovery_window_days,
        'CONFIGURE CONTROLFILE AUTOBACKUP ON;',
        "CONFIGURE CONTROLFILE AUTOBACKUP FORMAT FOR DEVICE TYPE DISK TO '%s/%s_cf_%%F';" % (where, name),
        "BACKUP AS COMPRESSED BACKUPSET INCREMENTAL LEVEL %d DATABASE FORMAT '%s/%s_db_%%U' TAG '%s' "
        "PLUS ARCHIVELOG FORMAT '%s/%s_arc_%%U' TAG '%s';" % (level, where, name, tag, where, name, tag),
        'CROSSCHECK BACKUP;',
        'CROSSCHECK ARCHIVELOG ALL;',
        'DELETE NOPROMPT OBSOLETE;',
        'EXIT;']) + '\n'


def mssql_backup_sql(database, path, kind, compress, label):
    verb = 'LOG' if kind == 'log' else 'DATABASE'
    options = ['CHECKSUM', 'INIT', 'FORMAT', 'NAME = %s' % quote_string(label)]
    if kind == 'diff':
        options.insert(0, 'DIFFERENTIAL')
    if compress:
        options.append('COMPRESSION')
    return 'BACKUP %s [%s] TO DISK = %s WITH %s' % (verb, database.replace(']', ']]'), quote_string(path), ', '.join(options))


EDITION_SQL = "SELECT CAST(SERVERPROPERTY('EngineEdition') AS int) AS edition"


class VendorBackup(object):
    def __init__(self, module, params, findings, host):
        self.module, self.params, self.findings, self.host = module, params, findings, host
        self.record = {'set': params['name'], 'kind': params['engine'], 'method': None, 'host': host,
                       'path': params['destination'], 'started': None, 'finished': None, 'seconds': None, 'size': None,
                       'tables': None, 'sha256': None, 'verified': None, 'pruned': [], 'state': 'planned', 'error': None}
        self.changes = []
        self.verification = None

    def fail(self, why):
        self.record.update(state='failed', error=why)
        self.findings.add('backup.failed', 'critical', 'database backup %s was not taken: %s' % (self.params['name'], why),
                          subject=self.params['name'])

    def taken(self, started, pieces, verified):
        finished = time.time()
        self.record.update(state='taken', started=take.iso(started), finished=take.iso(finished),
                           seconds=round(finished - started, 3), verified=verified, pieces=pieces)
        self.changes.append(take.taken_change(self.params['destination'], '%d piece(s)' % len(pieces) if pieces else 'backup'))
        if not verified:
            self.findings.add('backup.failed', 'critical', 'database backup %s was taken but did not verify: %s' % (
                self.params['name'], '; '.join((self.verification or {}).get('errors') or ['see the result'])[:300]),
                subject=self.params['name'])


class OracleBackup(VendorBackup):
    def run(self):
        params = self.params
        level = params['level']
        self.record['method'] = 'rman level %d' % level
        env, rman = restore_oracle.environment(params['oracle_home'], params['oracle_sid'])
        if not os.access(rman, os.X_OK):
            return self.fail('rman not found at %s: check oracle_home' % rman)
        if self.module.check_mode:
            self.record['script'] = rman_script(params['name'], params['destination'], level,
                                                params['recovery_window_days'], 'CHECK')
            return
        started = time.time()
        tag = ('%s_L%d_%s' % (params['name'], level, time.strftime('%Y%m%dT%H%M%S', time.gmtime(started))))[:30].upper()
        script = rman_script(params['name'], params['destination'], level, params['recovery_window_days'], tag)
        rc, out, err = self.module.run_command([rman, 'target', '/'], data=script, environ_update=env)
        errors = ['%s: %s' % pair for pair in restore_oracle.errors_of(out + '\n' + err)]
        if rc != 0 or errors:
            return self.fail('RMAN %s' % ('; '.join(errors[:3]) or 'exited %d' % rc))
        deleted = DELETED.findall(out)
        pieces = [p for p in PIECE.findall(out) if p not in deleted]
        self.record['pruned'] = deleted
        for path in deleted:
            self.changes.append({'object': path, 'action': 'prune', 'before': 'backup piece', 'after': None,
                                 'rollback': {'irreversible': 'RMAN deleted the obsolete piece'}})
        self.record['tag'] = tag
        self.verification = restore_oracle.validate(self.module, params['oracle_home'], params['oracle_sid'],
                                                    ['database', 'controlfile', 'archivelog'], 24.0)
        self.taken(started, pieces, self.verification['ok'])


class MssqlBackup(VendorBackup):
    def run(self, connect):
        params = self.params
        kind = params['mssql_type']
        self.record['method'] = 'backup %s' % ('log' if kind == 'log' else 'database%s' % (' differential' if kind == 'diff' else ''))
        try:
            connection = connect(params)
        except Exception as exc:  # driver errors; none carries the password
            return self.fail('cannot connect to %s:%s: %s' % (params['login_host'], params['login_port'], common.error_text(exc)))
        try:
            edition = common.run_queries(connection, [('edition', EDITION_SQL)])['edition']
            compress = not common.failed(edition) and bool(edition) and edition[0]['edition'] in COMPRESSING_EDITIONS
            started = time.time()
            stamp = time.strftime(take.STAMP, time.gmtime(started))
            separator = '\\' if '\\' in params['destination'] else '/'
            extension = '.trn' if kind == 'log' else '.bak'
            path = '%s%s%s-%s%s' % (params['destination'].rstrip('\\/'), separator, params['name'], stamp, extension)
            sql = mssql_backup_sql(params['database'], path, kind, compress, 'bjeic-ops %s %s %s' % (params['name'], kind, stamp))
            self.record.update(path=path, compression=compress, statement=sql)
            if self.module.check_mode:
                return
            result = common.run_queries(connection, [('backup', sql)])['backup']
            if common.failed(result):
                return self.fail('%s: %s' % (self.record['method'], result))
            verify = common.run_queries(connection, [('verify', verify_sql(path, True))])['verify']
            self.verification = {'ok': not common.failed(verify), 'errors': [verify] if common.failed(verify) else []}
            self.taken(started, [path], self.verification['ok'])
        finally:
            connection.close()
