"""Shared pytest set-up of the wrapper and integration tests (the collection's own unit tests are under
collections/ansible_collections/bjeic/ops/tests/unit and run with ansible-test units). The collection is
importable as ansible_collections.bjeic.ops through pytest's `pythonpath` setting (pyproject.toml)."""
import os


def pytest_configure(config):
    """ansible.cfg enables the store callback: plain ansible-playbook runs of the tests go to a store of the
    test session, never to the default store of whoever runs them (scripts/test names one in out/)."""
    import tempfile
    if 'BJEIC_OPS_STORE' not in os.environ:
        directory = tempfile.mkdtemp(prefix='bjeic-test-store-')
        os.environ['BJEIC_OPS_STORE'] = 'sqlite:///%s' % os.path.join(directory, 'store.sqlite')
        os.environ.setdefault('BJEIC_OPS_SPOOL', os.path.join(directory, 'spool'))
