# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""db_restore_test for MySQL and MariaDB: the newest dump (mysqldump or a physical mariabackup/xtrabackup set)
restored into a scratch server on this host, its tables compared with the source or a row manifest."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile
import time

from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive
from ansible_collections.bjeic.ops.plugins.module_utils import mysql_scratch as scratch
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


class MysqlRestore(object):
    """The MySQL steps of a RestoreTest (restore_test.py): it brings params, module, add, fail and backup."""

    def run_mysql(self):
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
        outcome.update(tables=len(restored), rows=sum(t.get('rows') or 0 for t in restored.values()),
                       table_rows=dict((table, t.get('rows')) for table, t in restored.items()))
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
