"""A real MariaDB server for tests: its own data directory, on 127.0.0.1 at a free port, binary log on.

Started and removed by the tests themselves (nothing is left running). It runs as the `mysql` user
when the tests run as root, as Debian's mariadb-server package expects.
"""
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time


class ServerMissing(RuntimeError):
    pass


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class MariaDB:
    def __init__(self):
        self.server = shutil.which('mariadbd') or shutil.which('mariadbd', path='/usr/sbin')
        self.installer = shutil.which('mariadb-install-db')
        self.client = shutil.which('mariadb')
        if not (self.server and self.installer and self.client):
            raise ServerMissing('MariaDB server/client are not installed: scripts/bootstrap --test installs '
                                'mariadb-server and mariadb-client')
        # pytest's temporary directories are private to root; the server runs as mysql
        self.root = tempfile.mkdtemp(prefix='bjeic-mariadb-')
        os.chmod(self.root, 0o755)
        self.datadir = os.path.join(self.root, 'data')
        self.socket = os.path.join(self.root, 'mysqld.sock')
        self.error_log = os.path.join(self.root, 'error.log')
        self.port = free_port()
        self.process = None
        self.user = 'mysql' if os.geteuid() == 0 else None

    def _own(self, path):
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def start(self):
        self._own(self.root)
        user = ['--user=%s' % self.user] if self.user else []
        subprocess.run([self.installer, '--no-defaults', '--datadir=%s' % self.datadir, '--skip-test-db',
                        '--auth-root-authentication-method=normal'] + user, check=True, capture_output=True)
        return self.resume()

    def halt(self):
        """Stop the server (as a crash or an operator would), keeping its data for resume()."""
        self.process.terminate()
        self.process.wait(timeout=60)

    def resume(self):
        """Start the server on its data directory and port; returns when it answers."""
        user = ['--user=%s' % self.user] if self.user else []
        self.process = subprocess.Popen(
            [self.server, '--no-defaults', '--datadir=%s' % self.datadir, '--socket=%s' % self.socket,
             '--port=%d' % self.port, '--bind-address=127.0.0.1', '--log-error=%s' % self.error_log,
             '--log-bin=%s' % os.path.join(self.datadir, 'binlog'), '--server-id=1', '--event-scheduler=ON',
             '--innodb-buffer-pool-size=64M', '--character-set-server=utf8mb4', '--pid-file=%s' % os.path.join(self.root, 'mysqld.pid')] + user,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('mariadbd exited %d: %s' % (self.process.returncode, self.log_text()[-2000:]))
            if os.path.exists(self.socket) and self.sql('SELECT 1', check=False).returncode == 0:
                return self
            time.sleep(0.2)
        raise RuntimeError('mariadbd did not start within 60 s: %s' % self.log_text()[-2000:])

    def log_text(self):
        try:
            with open(self.error_log, errors='replace') as handle:
                return handle.read()
        except OSError:
            return ''

    def sql(self, statements, check=True, database=None):
        """Run SQL as root through the socket; returns the CompletedProcess (tab-separated output)."""
        command = [self.client, '--no-defaults', '--socket=%s' % self.socket, '--user=root', '--default-character-set=utf8mb4', '--batch',
                   '--skip-column-names']
        if database:
            command.append(database)
        done = subprocess.run(command, input=statements, capture_output=True, text=True)
        if check and done.returncode != 0:
            raise RuntimeError('SQL failed: %s\n%s' % (done.stderr, statements[:500]))
        return done

    def dump(self, path, databases):
        """A real mariadb-dump of `databases` into `path` (plain SQL)."""
        with open(path, 'wb') as handle:
            subprocess.run([shutil.which('mariadb-dump'), '--no-defaults', '--socket=%s' % self.socket, '--user=root',
                            '--single-transaction', '--routines', '--databases'] + list(databases),
                           stdout=handle, check=True)

    def physical_backup(self, target):
        """A real mariadb-backup --backup of the whole server into the directory `target` (not prepared)."""
        tool = shutil.which('mariadb-backup')
        if not tool:
            raise ServerMissing('mariadb-backup is not installed: scripts/bootstrap --test installs it')
        subprocess.run([tool, '--no-defaults', '--backup', '--target-dir=%s' % target, '--socket=%s' % self.socket,
                        '--user=root', '--datadir=%s' % self.datadir], check=True, capture_output=True)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def serve(setup_sql):
    """For a module fixture (`for server in serve(SQL): yield server`): a started server with `setup_sql` run as root,
    stopped and removed however the tests end; the tests are skipped when MariaDB is not installed."""
    import pytest
    try:
        server = MariaDB()
    except ServerMissing as exc:
        pytest.skip(str(exc))
    server.start()
    try:
        server.sql(setup_sql)
        yield server
    finally:
        server.stop()
