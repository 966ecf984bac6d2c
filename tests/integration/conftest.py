"""Integration fixtures: real lab hosts (podman containers over SSH on 127.0.0.1)."""
import importlib.util
import os
import shutil
import subprocess
import sys

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
