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


def test_report_file_writes_on_the_controller_without_a_module(tmp_path):
    """The roles' last step through ansible-playbook: written in check mode too, a blocked directory is one line and
    the other hosts still get theirs, an empty directory writes nothing. The hosts are unreachable names: the
    action never connects."""
    import json
    import yaml
    (tmp_path / 'blocked').write_text('a file where the directory should be')
    playbook = tmp_path / 'play.yml'
    playbook.write_text(yaml.safe_dump([{
        'hosts': 'all', 'gather_facts': False,
        'tasks': [{'name': 'Write', 'bjeic.ops.report_file': {
            'dir': "{{ (top ~ '/blocked') if inventory_hostname == 'bad' else (top ~ '/out') }}",
            'result': {'host': '{{ inventory_hostname }}', 'findings': []}}},
            {'name': 'Nothing to write', 'bjeic.ops.report_file': {'dir': '', 'result': {}}, 'register': 'empty'},
            {'name': 'Skipped', 'ansible.builtin.assert': {'that': ['empty is skipped']}}]}]))
    inventory = tmp_path / 'hosts'
    inventory.write_text('good ansible_host=192.0.2.1\nother ansible_host=192.0.2.2\nbad ansible_host=192.0.2.3\n')
    done = subprocess.run([os.path.join(BIN, 'ansible-playbook'), '-i', str(inventory), str(playbook), '--check',
                           '-e', 'top=%s' % tmp_path], capture_output=True, text=True, env=ENV, timeout=120)
    assert done.returncode == 2, done.stdout
    assert sorted(os.listdir(str(tmp_path / 'out'))) == ['good.json', 'other.json']
    assert json.load(open(str(tmp_path / 'out' / 'good.json'))) == {'host': 'good', 'findings': []}
    assert 'could not write the report in %s/blocked on the controller' % tmp_path in done.stdout
    assert 'Traceback' not in done.stdout + done.stderr
    recap = dict(line.split(None, 1) for line in done.stdout.split('PLAY RECAP')[1].splitlines()[1:] if line.strip())
    assert 'ok=2' in recap['good'] and 'skipped=1' in recap['good'] and 'failed=1' in recap['bad']
