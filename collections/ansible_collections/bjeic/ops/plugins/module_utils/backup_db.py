# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking a MySQL / MariaDB backup (数据库备份): a logical dump (mariadb-dump or mysqldump, one consistent
snapshot with routines, events and triggers) through zstd or gzip, or a physical set (mariadb-backup or
xtrabackup). Both are written under a hidden name beside the final one and renamed only when complete and, when
asked, restore-tested first by db_restore_test's own code; a dump gets a row manifest (`<dump>.rows`, the
`schema.table rows` lines db_restore_test compares against) of what its restore held. The password goes only into
a 0600 option file in a private directory that is removed afterwards: never on a command line, in a name or a log.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import shutil
import subprocess
import tempfile
import time

from ansible_collections.bjeic.ops.plugins.module_utils import backup_take as take
from ansible_collections.bjeic.ops.plugins.module_utils import mysql_scratch as scratch

DUMP_SUFFIX = {'zstd': '.sql.zst', 'gzip': '.sql.gz'}
COMPRESSOR = {'zstd': ['zstd', '-q', '-T0', '-3', '-c'], 'gzip': ['gzip', '-6', '-c']}
DUMP_TOOLS = ('mariadb-dump', 'mysqldump')
PHYSICAL_TOOLS = ('mariadb-backup', 'mariabackup', 'xtrabackup')


def dump_argv(tool, options_file, databases):
    argv = [tool, '--defaults-extra-file=%s' % options_file, '--single-transaction', '--routines', '--events',
            '--triggers', '--hex-blob', '--quick', '--default-character-set=utf8mb4']
    return argv + (['--databases'] + list(databases) if databases else ['--all-databases'])


def physical_argv(tool, options_file, target, datadir=None):
    argv = [tool, '--defaults-extra-file=%s' % options_file, '--backup', '--target-dir=%s' % target]
    return argv + (['--datadir=%s' % datadir] if datadir else [])


class MysqlBackup(object):
    """One MySQL backup set: spec {name, destination, method, databases, compression, retention, min_free_mb}."""

    def __init__(self, module, params, findings, host, restore_factory):
        self.module, self.params, self.findings, self.host = module, params, findings, host
        self.restore_factory = restore_factory      # (backup path) -> restore outcome dict, db_restore_test's code
        method = params['method']
        self.spec = {'name': params['name'], 'destination': params['destination'], 'compression': params['compression']}
        self.record = {'set': params['name'], 'kind': 'mysql', 'method': None, 'host': host, 'path': None,
                       'started': None, 'finished': None, 'seconds': None, 'size': None, 'tables': None, 'sha256': None,
                       'verified': None, 'pruned': [], 'state': 'planned', 'error': None, 'logical': method == 'logical'}
        self.changes = []

    def fail(self, why):
        self.record.update(state='failed', error=why)
        self.findings.add('backup.failed', 'critical', 'database backup %s was not taken: %s' % (self.params['name'], why),
                          subject=self.params['name'])

    def suffix(self):
        return DUMP_SUFFIX[self.params['compression']] if self.record['logical'] else ''    # a physical set: a directory

    def final_name(self, stamp):
        return '%s-%s%s' % (self.params['name'], stamp, self.suffix())

    def existing(self):
        return take.existing(self.spec, self.suffix(), directories=not self.record['logical'])

    def tool(self):
        names = DUMP_TOOLS if self.record['logical'] else PHYSICAL_TOOLS
        for name in names:
            path = self.module.get_bin_path(name)
            if path:
                return path
        raise take.TakeError('none of %s is installed on this host' % ', '.join(names))

    def run(self):
        destination = self.params['destination']
        try:
            tool = self.tool()
            self.record['method'] = os.path.basename(tool)
            if not os.path.isdir(destination):
                if self.module.check_mode:
                    return
                os.makedirs(destination, 0o700)
            with take.SetLock(self.spec):
                self.take(tool)
        except take.TakeError as exc:
            self.fail(str(exc))

    def take(self, tool):
        params = self.params
        for entry in os.listdir(params['destination']):
            if entry.startswith('.%s-' % params['name']) and not self.module.check_mode:
                stale = os.path.join(params['destination'], entry)
                take.remove(stale)
                self.record.setdefault('removed_partials', []).append(stale)
        previous = self.existing()
        needed = int(take.archive.path_size(previous[0][0]) * take.GROWTH) if previous else 0
        free = take.archive.free_bytes(params['destination'])
        if free - needed < params['min_free_mb'] * 1024 ** 2:
            raise take.TakeError('%s has %d MiB free; this backup needs about %d MiB (the previous one and a quarter) and '
                                 '%d MiB must stay free: nothing was written'
                                 % (params['destination'], free >> 20, needed >> 20, params['min_free_mb']))
        if self.module.check_mode:
            _keep, prune = take.to_keep(previous, params['retention'])
            self.record.update(needed=needed, would_prune=[p for p, _s in prune] if not take.no_policy(params['retention']) else [])
            return
        started = time.time()
        stamp = time.strftime(take.STAMP, time.gmtime(started))
        final = os.path.join(params['destination'], self.final_name(stamp))
        partial = os.path.join(params['destination'], '.' + os.path.basename(final))
        self.record.update(started=take.iso(started), path=final)
        private = tempfile.mkdtemp(prefix='bjeic-dbbackup-')     # 0700: the option file with the password
        try:
            options = os.path.join(private, 'client.cnf')
            scratch.write_client_options(options, {
                'user': params['login_user'], 'password': params['login_password'], 'socket': params['login_unix_socket'],
                'host': None if params['login_unix_socket'] else params['login_host'],
                'port': None if params['login_unix_socket'] else params['login_port'], 'ssl-ca': params['ca_cert']})
            if self.record['logical']:
                self.dump(tool, options, partial)
            else:
                self.physical(tool, options, partial)
        except take.TakeError:
            take.remove(partial)
            raise
        finally:
            shutil.rmtree(private, ignore_errors=True)
        outcome = None
        if params['restore_test']:
            outcome = self.restore_factory(partial)
            if not outcome.get('ok'):
                take.remove(partial)
                raise take.TakeError('the new backup did not pass its restore test (%s); it was not kept and no older '
                                     'backup was pruned' % (outcome.get('problem') or outcome.get('skipped') or 'see findings'))
            if self.record['logical'] and outcome.get('table_rows'):
                lines = ''.join('%s %d\n' % item for item in sorted(outcome['table_rows'].items()))
                from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import write_atomic
                write_atomic(self.module, final + '.rows', lines.encode('utf-8'), mode=0o600)
        os.rename(partial, final)        # the commit point
        finished = time.time()
        self.record.update(state='taken', finished=take.iso(finished), seconds=round(finished - started, 3),
                           size=take.archive.path_size(final), verified=bool(outcome and outcome.get('ok')),
                           tables=(outcome or {}).get('tables'),
                           sha256=take.archive.file_sha256(final) if self.record['logical'] else None)
        self.changes.append(take.taken_change(final, '%s bytes' % self.record['size']))
        if params['restore_test'] or take.no_policy(params['retention']):
            self.prune()
        else:
            self.findings.add('backup.retention_waits', 'info', 'database backup %s: retention waits for a restore-tested '
                              'backup (restore_test is off)' % params['name'], subject=params['name'])

    def dump(self, tool, options, partial):
        argv = dump_argv(tool, options, self.params['databases'])
        old_umask = os.umask(0o077)
        try:
            with open(partial, 'wb') as out:
                dumper = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                compressor = subprocess.Popen(COMPRESSOR[self.params['compression']], stdin=dumper.stdout, stdout=out,
                                              stderr=subprocess.PIPE)
                dumper.stdout.close()     # the compressor holds the pipe; the dumper sees a broken pipe if it dies
                dump_err = dumper.stderr.read().decode('utf-8', 'replace')
                dumper.wait()
                compress_err = compressor.stderr.read().decode('utf-8', 'replace')
                compressor.wait()
        except OSError as exc:
            raise take.TakeError('cannot run %s: %s' % (os.path.basename(argv[0]), exc))
        finally:
            os.umask(old_umask)
        if dumper.returncode != 0:
            raise take.TakeError('%s failed (rc %d): %s; nothing was kept' % (
                os.path.basename(tool), dumper.returncode, (dump_err.strip().splitlines() or ['no message'])[-1][:300]))
        if compressor.returncode != 0:
            raise take.TakeError('compressing the dump failed: %s; nothing was kept' % compress_err.strip()[:300])

    def physical(self, tool, options, partial):
        argv = physical_argv(tool, options, partial, self.params['datadir'])
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            raise take.TakeError('%s failed (rc %d): %s; nothing was kept' % (
                os.path.basename(tool), rc, (err.strip().splitlines() or ['no message'])[-1][:300]))
        if not scratch.is_physical(partial):
            raise take.TakeError('%s wrote no checkpoints file: the set is not complete; nothing was kept'
                                 % os.path.basename(tool))

    def prune(self):
        take.prune(self.existing(), self.params['retention'], ('.rows',), self.record, self.changes)
