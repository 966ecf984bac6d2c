"""The collection builds and its documentation renders (what a user of ansible-galaxy sees)."""
import os
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION = os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops')
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))


def test_collection_builds_with_modules_and_roles(tmp_path):
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path), COLLECTION],
                   check=True, capture_output=True, env=ENV)
    import yaml
    version = yaml.safe_load(open(os.path.join(COLLECTION, 'galaxy.yml')))['version']
    tarball = tmp_path / ('bjeic-ops-%s.tar.gz' % version)
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert 'plugins/modules/linux_inspect.py' in names
    assert 'plugins/module_utils/linux_parsers.py' in names
    assert 'roles/inspect/meta/argument_specs.yml' in names
    for module in ('win_inspect', 'win_harden', 'win_patch'):   # the code and its documentation stub
        assert 'plugins/modules/%s.ps1' % module in names and 'plugins/modules/%s.py' % module in names
    assert 'plugins/module_utils/BjeicOps.psm1' in names and 'roles/patch/tasks/windows.yml' in names
    assert not any(name.startswith('tests/output') for name in names)


MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(COLLECTION, 'plugins', 'modules'))
                 if name.endswith('.py') and not name.startswith('_'))
ROLES = sorted(os.listdir(os.path.join(COLLECTION, 'roles')))


@pytest.mark.parametrize('module', MODULES)
def test_ansible_doc_renders_every_option(module):
    import yaml
    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), 'bjeic.ops.' + module], check=True,
                         capture_output=True, text=True, env=ENV).stdout
    spec = yaml.safe_load(__import__('importlib').import_module(
        'ansible_collections.bjeic.ops.plugins.modules.' + module).DOCUMENTATION)
    for option in spec.get('options', {}):
        assert option in out, option
    assert 'RETURN VALUES' in out and 'EXAMPLES' in out


@pytest.mark.parametrize('role', ROLES)
def test_role_documentation_renders(role):
    import yaml
    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'role', 'bjeic.ops.' + role], check=True,
                         capture_output=True, text=True, env=ENV).stdout
    with open(os.path.join(COLLECTION, 'roles', role, 'meta', 'argument_specs.yml')) as handle:
        options = yaml.safe_load(handle)['argument_specs']['main']['options']
    for option in options:
        assert option in out, option


def test_win_patch_categories_are_the_ones_win_updates_takes():
    """Across collections (ansible.windows comes with the ansible package, not in ansible-test's unit venv)."""
    import re
    import yaml
    from ansible_collections.bjeic.ops.tests.unit.plugins.modules import pstree
    import ansible_collections.ansible.windows.plugins.modules as windows_modules
    path = os.path.join(os.path.dirname(windows_modules.__file__), 'win_updates.py')
    namespace = {}
    exec(compile(open(path).read(), 'win_updates', 'exec'), namespace)
    described = ' '.join(yaml.safe_load(namespace['DOCUMENTATION'])['options']['category_names']['description'])
    ours = pstree.assignments(open(os.path.join(COLLECTION, 'plugins', 'modules', 'win_patch.ps1')).read())['$categoryids']
    for name in ours:   # win_updates takes CriticalUpdates for 'Critical Updates'; we send the category's GUID
        assert re.sub(r'(?<=[a-z])(?=[A-Z])', ' ', name) in described, name
    assert all(re.match(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', v) for v in ours.values())
