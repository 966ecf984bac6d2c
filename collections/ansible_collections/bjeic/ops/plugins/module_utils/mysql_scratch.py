# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throw-away MySQL/MariaDB instance for restore tests, and the SQL that compares databases.

The scratch instance has its own data directory and socket under a scratch directory, no TCP
port (--skip-networking) and no option files (--no-defaults): it cannot disturb, or be reached
instead of, the production instance on the same host. It is always shut down and removed.

SQL read here: information_schema.TABLES (which tables exist), COUNT(*) per table and
CHECKSUM TABLE (content fingerprint; equal data in the same engine and row format gives the
same value).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import gzip
import os
import pwd
import shutil
import stat
import subprocess
import time

from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive

SYSTEM_SCHEMAS = ('mysql', 'information_schema', 'performance_schema', 'sys')

TABLES_SQL = ("SELECT table_schema, table_name FROM information_schema.TABLES WHERE table_type = 'BASE TABLE' "
              "AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') "
              "ORDER BY table_schema, table_name")


class ScratchError(Exception):
    """The scratch instance could not be made, started or used; the message says which step."""


def quote_name(name):
    return '`%s`' % name.replace('`', '``')


def quote_literal(text):
    return "'%s'" % text.replace('\\', '\\\\').replace("'", "\\'")


def fingerprint_sql(tables):
    """One script giving, per table, a row `schema<TAB>table<TAB>count`, then the CHECKSUM TABLE rows."""
    lines = ['SELECT %s, %s, COUNT(*) FROM %s.%s;' % (quote_literal(s), quote_literal(t), quote_name(s), quote_name(t))
             for s, t in tables]
    if tables:
        lines.append('CHECKSUM TABLE %s;' % ', '.join('%s.%s' % (quote_name(s), quote_name(t)) for s, t in tables))
    return '\n'.join(lines) + '\n'


def parse_fingerprint(text):
    """Client batch output of fingerprint_sql -> {'schema.table': {'rows': n, 'checksum': c or None}}."""
    tables = {}
    for line in text.splitlines():
        fields = line.split('\t')
        if len(fields) == 3:
            tables.setdefault('%s.%s' % (fields[0], fields[1]), {})['rows'] = int(fields[2])
        elif len(fields) == 2:
            checksum = None if fields[1] == 'NULL' else fields[1]
            tables.setdefault(fields[0], {})['checksum'] = checksum
    return tables


def option_file_value(value):
    """A value for a [client] option file, quoted so that # ; = and spaces survive."""
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def write_client_options(path, options):
    """[client] options (user, password, host, port, socket, ssl-*) in a 0600 file, never on a command line."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write('[client]\n')
        for key, value in options.items():
            if value not in (None, ''):
                handle.write('%s=%s\n' % (key, option_file_value(value)))


def open_dump(path):
    """A binary stream of the dump's SQL, decompressing .gz and .zst; (stream, process or None)."""
    if path.endswith('.gz'):
        return gzip.open(path, 'rb'), None
    if path.endswith('.zst'):
        try:
            process = archive.zstd_stream(path)
        except archive.ToolMissing as exc:
            raise ScratchError(str(exc))
        return process.stdout, process
    return open(path, 'rb'), None


def closed_parent(path, user):
    """(directory, mode) of the first parent of `path` that `user` (a pwd entry) cannot enter, or None."""
    parent = os.path.dirname(os.path.abspath(path))
    while True:
        info = os.stat(parent)
        if info.st_uid == user.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid == user.pw_gid:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return parent, oct(stat.S_IMODE(info.st_mode))
        if parent == '/':
            return None
        parent = os.path.dirname(parent)


def find_tool(names, module):
    for name in names:
        path = module.get_bin_path(name, opt_dirs=['/usr/sbin', '/usr/libexec', '/usr/local/mysql/bin'])
        if path:
            return path
    return None


CHECKPOINT_FILES = ('mariadb_backup_checkpoints', 'xtrabackup_checkpoints')


def is_physical(path):
    """A mariabackup / xtrabackup target directory (it holds the tool's checkpoints file)."""
    return os.path.isdir(path) and any(os.path.exists(os.path.join(path, name)) for name in CHECKPOINT_FILES)


class ScratchInstance:
    """mariadbd/mysqld on a fresh data directory under `root`, reached only through its socket."""

    def __init__(self, module, root, timeout=60):
        self.module, self.root, self.timeout = module, root, timeout
        self.datadir = os.path.join(root, 'data')
        self.socket = os.path.join(root, 'mysqld.sock')
        self.log = os.path.join(root, 'error.log')
        self.process = None
        self.server = find_tool(['mariadbd', 'mysqld'], module)
        self.client = find_tool(['mariadb', 'mysql'], module)
        self.admin = find_tool(['mariadb-admin', 'mysqladmin'], module)
        if not self.server or not self.client:
            raise ScratchError('the MySQL/MariaDB server and client programs (mariadbd/mysqld, mariadb/mysql) are not '
                               'installed on this host: run the restore test on the database host or a host with them')
        self.user = self._run_as()

    def _run_as(self):
        """The OS user the scratch server runs as: mysql when we are root and it exists."""
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam('mysql')
        except KeyError:
            return 'root'
        blocked = closed_parent(self.root, entry)
        if blocked:
            raise ScratchError('the scratch server runs as mysql, which cannot enter %s (mode %s): choose a scratch_dir '
                               'whose parents are open to other users, such as /var/tmp' % blocked)
        os.chown(self.root, entry.pw_uid, entry.pw_gid)   # new and empty: the server makes the rest as mysql
        return 'mysql'

    def is_mariadb(self):
        rc, out, _err = self.module.run_command([self.server, '--version'])
        return 'mariadb' in out.lower()

    def initialise(self):
        user = ['--user=%s' % self.user] if self.user else []
        if self.is_mariadb():
            installer = find_tool(['mariadb-install-db', 'mysql_install_db'], self.module)
            if not installer:
                raise ScratchError('mariadb-install-db is not installed: cannot make a scratch instance')
            command = [installer, '--no-defaults', '--datadir=%s' % self.datadir, '--auth-root-authentication-method=normal',
                       '--skip-test-db'] + user
        else:
            command = [self.server, '--no-defaults', '--initialize-insecure', '--datadir=%s' % self.datadir] + user
        rc, out, err = self.module.run_command(command)
        if rc != 0:
            raise ScratchError('initialising the scratch data directory failed (rc=%d): %s' % (rc, (err or out).strip()[-500:]))

    def adopt(self, backup_dir):
        """Make the data directory from a physical backup: copy it (prepare rewrites files, and the backup must
        stay as it is) and run the tool's --prepare on the copy, as a restore would."""
        tool = find_tool(['mariadb-backup', 'mariabackup', 'xtrabackup'], self.module)
        if not tool:
            raise ScratchError('a physical backup needs mariadb-backup (MariaDB) or xtrabackup (MySQL) on this host to be prepared')
        shutil.copytree(backup_dir, self.datadir, symlinks=True)
        rc, out, err = self.module.run_command([tool, '--prepare', '--target-dir=%s' % self.datadir])
        if rc != 0:
            lines = [line for line in (err or out).splitlines() if line.strip()]
            raise ScratchError('%s --prepare failed (rc=%d): %s' % (os.path.basename(tool), rc, ' | '.join(lines[-3:])))
        if self.user == 'mysql':
            entry = pwd.getpwnam('mysql')
            for folder, dirs, files in os.walk(self.datadir):
                for name in [folder] + [os.path.join(folder, n) for n in dirs + files]:
                    os.lchown(name, entry.pw_uid, entry.pw_gid)

    def start(self, skip_grants=False):
        """Start the server; skip_grants for a copied data directory, whose accounts are production's (the
        scratch server has no network and a private socket, so nobody else can reach it)."""
        user = ['--user=%s' % self.user] if self.user else []
        command = [self.server, '--no-defaults', '--datadir=%s' % self.datadir, '--socket=%s' % self.socket,
                   '--skip-networking', '--pid-file=%s' % os.path.join(self.root, 'mysqld.pid'),
                   '--log-error=%s' % self.log, '--innodb-buffer-pool-size=64M'] + user
        if skip_grants:
            command.append('--skip-grant-tables')
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.time() + self.timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise ScratchError('the scratch server exited with status %d while starting: %s'
                                   % (self.process.returncode, self.log_tail()))
            if os.path.exists(self.socket):
                rc, _out, _err = self.query('SELECT 1')
                if rc == 0:
                    return
            time.sleep(0.2)
        raise ScratchError('the scratch server did not accept connections within %ds: %s' % (self.timeout, self.log_tail()))

    def log_tail(self):
        try:
            with open(self.log) as handle:
                lines = [line.strip() for line in handle if '[ERROR]' in line]
            return '; '.join(lines[-3:]) or 'no error in its log'
        except (IOError, OSError):
            return 'no log'

    def client_command(self, options_file=None):
        if options_file:
            return [self.client, '--defaults-extra-file=%s' % options_file, '--batch', '--skip-column-names']
        return [self.client, '--no-defaults', '--socket=%s' % self.socket, '--user=root', '--batch', '--skip-column-names']

    def query(self, sql, options_file=None):
        return self.module.run_command(self.client_command(options_file) + ['--force'], data=sql, binary_data=True)

    def load(self, stream):
        """Feed a dump (a file object of SQL) to the scratch server. Returns (ok, error text)."""
        process = subprocess.Popen(self.client_command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        try:
            while True:
                block = stream.read(1 << 20)
                if not block:
                    break
                process.stdin.write(block)
        except BrokenPipeError:
            pass   # the client stopped at an error: its stderr says which
        except (IOError, OSError, EOFError) as exc:
            process.kill()
            process.communicate()
            return False, 'reading the dump failed: %s: %s' % (type(exc).__name__, exc)
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass
        error = process.stderr.read().decode('utf-8', 'replace').strip()
        rc = process.wait()
        return rc == 0, error.splitlines()[-1] if error else ('client exited %d' % rc if rc else '')

    def stop(self):
        if self.process and self.process.poll() is None:
            if self.admin:
                self.module.run_command([self.admin, '--no-defaults', '--socket=%s' % self.socket, '--user=root', 'shutdown'])
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def remove(root):
    shutil.rmtree(root, ignore_errors=True)
    return not os.path.exists(root)
