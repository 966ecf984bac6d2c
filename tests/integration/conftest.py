"""Integration fixtures: real lab hosts (podman containers over SSH on 127.0.0.1)."""
import glob
import importlib.util
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_lab_module(name):
    """A script of lab/ (labctl, testrepo) imported as a module."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, 'lab', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def labctl():
    if not shutil.which('podman'):
        pytest.skip('podman is not installed: run scripts/bootstrap --test (it installs podman and builds the lab image)')
    return load_lab_module('labctl')


@pytest.fixture(scope='session')
def testrepo():
    """lab/testrepo.py: the patching test packages and their repositories."""
    return load_lab_module('testrepo')


@pytest.fixture(scope='module')
def lab_inventory(labctl, tmp_path_factory):
    """Two lab hosts: pytest-sd runs systemd, pytest-plain does not. Yields the inventory path."""
    names = ['pytest-sd', 'pytest-plain']
    try:
        hosts = labctl.up(names[:1], systemd=True) + labctl.up(names[1:])
        path = tmp_path_factory.mktemp('inventory') / 'hosts.ini'
        path.write_text(labctl.inventory(hosts))
        yield str(path)
    finally:
        labctl.down(names)


class Cli:
    """`bjeic-ops` as an operator runs it: a subprocess, headless, with its own store and artifacts."""

    def __init__(self, tmp_path):
        self.store_path = tmp_path / 'store.sqlite'
        self.artifacts = tmp_path / 'artifacts'
        self.env = dict(os.environ, BJEIC_OPS_STORE='sqlite:///%s' % self.store_path,
                        BJEIC_OPS_ARTIFACTS=str(self.artifacts), BJEIC_OPS_OPERATOR='zhang.wei',
                        ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([
                            os.path.join(ROOT, 'collections'), os.path.join(ROOT, 'tests', 'fixtures', 'collections')]))
        self.command = [os.path.join(os.path.dirname(sys.executable), 'bjeic-ops')]

    def __call__(self, *args, check=True):
        done = subprocess.run(self.command + [str(a) for a in args], capture_output=True, text=True, env=self.env,
                              timeout=600)
        if check and done.returncode != 0:
            raise AssertionError('bjeic-ops %s exited %d\nstdout: %s\nstderr: %s' % (
                ' '.join(map(str, args)), done.returncode, done.stdout[-3000:], done.stderr[-3000:]))
        return done

    def popen(self, *args):
        return subprocess.Popen(self.command + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=self.env, start_new_session=True)

    def store(self):
        from bjeic_ops.store import Store
        return Store('sqlite:///%s' % self.store_path)


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path)


@pytest.fixture(scope='module')
def module_cli(tmp_path_factory):
    """A `Cli` shared by a module's tests (one store filled once, read by several tests)."""
    return Cli(tmp_path_factory.mktemp('cli'))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def postgres_url():
    """A private PostgreSQL cluster on 127.0.0.1 for the session: its SQLAlchemy URL."""
    binaries = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    if not binaries or not shutil.which('runuser'):
        pytest.skip('PostgreSQL server binaries are not installed: scripts/bootstrap --test installs package postgresql')
    bindir = os.path.dirname(binaries[-1])
    # pytest's own temporary directories are private to root; the server runs as postgres.
    base = tempfile.mkdtemp(prefix='bjeic-pg-')
    os.chmod(base, 0o755)
    data = pathlib.Path(base) / 'data'
    data.mkdir(mode=0o700)
    shutil.chown(data, 'postgres', 'postgres')
    port = free_port()

    def as_postgres(*command):
        done = subprocess.run(['runuser', '-u', 'postgres', '--'] + list(command), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError('%s failed: %s %s' % (command[0], done.stdout, done.stderr))
        return done
    as_postgres(os.path.join(bindir, 'initdb'), '-D', str(data), '--auth=trust', '-U', 'postgres', '-E', 'UTF8')
    as_postgres(os.path.join(bindir, 'pg_ctl'), '-D', str(data), '-w', '-l', str(data / 'server.log'), '-o',
                '-p %d -k %s -c listen_addresses=127.0.0.1' % (port, data), 'start')
    try:
        yield 'postgresql+psycopg://postgres@127.0.0.1:%d/postgres' % port
    finally:
        as_postgres(os.path.join(bindir, 'pg_ctl'), '-D', str(data), '-m', 'immediate', 'stop')
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope='module')
def local_inventory(tmp_path_factory):
    """This machine as the database host `dbhost` (the tests' own MariaDB runs here), over the local connection."""
    path = tmp_path_factory.mktemp('inventory') / 'hosts.ini'
    path.write_text('dbhost ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    return path
