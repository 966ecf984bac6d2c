"""Shared fixtures of the collection's unit tests (run by ansible-test units)."""
import json

import pytest


@pytest.fixture
def ansible_module(monkeypatch):
    """A real AnsibleModule built in this process (no arguments), for module_utils that write through it."""
    from ansible.module_utils import basic
    monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': {}}).encode())
    monkeypatch.setattr(basic, '_ANSIBLE_PROFILE', 'legacy')
    return basic.AnsibleModule(argument_spec={})
