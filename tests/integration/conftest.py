"""Integration fixtures: real lab hosts (podman containers over SSH on 127.0.0.1)."""
import importlib.util
import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_labctl():
    spec = importlib.util.spec_from_file_location('labctl', os.path.join(ROOT, 'lab', 'labctl.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def labctl():
    if not shutil.which('podman'):
        pytest.skip('podman is not installed: run scripts/bootstrap --test (it installs podman and builds the lab image)')
    return load_labctl()


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
