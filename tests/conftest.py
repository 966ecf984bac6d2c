"""Shared pytest set-up: make the collection importable as ansible_collections.bjeic.ops."""
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'collections'))


@pytest.fixture
def ansible_module(monkeypatch):
    """A real AnsibleModule built in this process (no arguments), for module_utils that write through it."""
    from ansible.module_utils import basic
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': {}}).encode())
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    return basic.AnsibleModule(argument_spec={})


def pytest_configure(config):
    """ansible.cfg enables the store callback: plain ansible-playbook runs of the tests go to a store of the
    test session, never to the default store of whoever runs them (scripts/test names one in out/)."""
    import tempfile
    if 'BJEIC_OPS_STORE' not in os.environ:
        directory = tempfile.mkdtemp(prefix='bjeic-test-store-')
        os.environ['BJEIC_OPS_STORE'] = 'sqlite:///%s' % os.path.join(directory, 'store.sqlite')
        os.environ.setdefault('BJEIC_OPS_SPOOL', os.path.join(directory, 'spool'))
