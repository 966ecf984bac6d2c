"""The AWX execution environment definition produces a build context (no image build possible here)."""
import os
import subprocess
import tarfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ansible_builder_creates_a_context_carrying_the_collection():
    subprocess.run([os.path.join(ROOT, 'scripts', 'build-ee-context')], check=True, capture_output=True, cwd=ROOT)
    context = os.path.join(ROOT, 'out', 'ee-context')
    containerfile = open(os.path.join(context, 'Containerfile')).read()
    assert 'ansible-galaxy collection install' in containerfile
    assert "ansible-core>=2.19,<2.20" in containerfile and 'ansible-runner>=2.4,<3' in containerfile
    galaxy = yaml.safe_load(open(os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops', 'galaxy.yml')))
    wanted = yaml.safe_load(open(os.path.join(context, '_build', 'requirements.yml')))['collections'][0]['name']
    assert wanted == 'collections/bjeic-ops-%s.tar.gz' % galaxy['version']   # requirements.yml follows galaxy.yml
    with tarfile.open(os.path.join(context, '_build', wanted)) as archive:
        assert 'plugins/modules/linux_inspect.py' in archive.getnames()


def test_the_context_carries_the_wrapper_and_enables_the_store_callback():
    subprocess.run([os.path.join(ROOT, 'scripts', 'build-ee-context')], check=True, capture_output=True, cwd=ROOT)
    context = os.path.join(ROOT, 'out', 'ee-context')
    containerfile = open(os.path.join(context, 'Containerfile')).read()
    assert 'ENV ANSIBLE_CALLBACKS_ENABLED=bjeic.ops.store' in containerfile
    assert 'pip install --no-deps /tmp/bjeic-wheels/*.whl' in containerfile
    [wheel] = os.listdir(os.path.join(context, '_build', 'wheels'))
    import zipfile
    with zipfile.ZipFile(os.path.join(context, '_build', 'wheels', wheel)) as archive:
        names = archive.namelist()
    assert 'bjeic_ops/recorder.py' in names and 'bjeic_ops/project/ansible.cfg' in names
    requirements = open(os.path.join(context, '_build', 'requirements.txt')).read()
    assert 'sqlalchemy' in requirements and 'psycopg' in requirements   # what the callback imports


def test_the_awx_credential_type_fits_the_collection_module_and_feeds_the_callback():
    """No AWX here: the definition is held to awx.awx.credential_type's documented options and to AWX's
    documented shape of custom credential types; what it injects is what the callback reads."""
    import ansible_collections.awx.awx.plugins.modules.credential_type as module
    options = yaml.safe_load(module.DOCUMENTATION)['options']
    definition = yaml.safe_load(open(os.path.join(ROOT, 'ee', 'awx', 'credential_type.yml')))
    assert set(definition) <= set(options)
    assert definition['kind'] in options['kind']['choices']
    fields = {field['id']: field for field in definition['inputs']['fields']}
    for field in fields.values():
        assert set(field) <= {'id', 'label', 'type', 'secret', 'help_text', 'multiline', 'format', 'choices'}
        assert field['type'] in ('string', 'boolean')
    assert fields['store_url']['secret'] is True and definition['inputs']['required'] == ['store_url']
    assert set(definition['injectors']) <= {'env', 'extra_vars', 'file'}
    callback = open(os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops', 'plugins', 'callback',
                                 'store.py')).read()
    docs = yaml.safe_load(callback.split("DOCUMENTATION = r'''")[1].split("'''")[0])['options']
    read_by_callback = {entry['name'] for option in docs.values() for entry in option.get('env', [])}
    assert set(definition['injectors']['env']) <= read_by_callback
    for value in definition['injectors']['env'].values():
        assert any('{{ %s' % name in value for name in fields)
    setup = yaml.safe_load(open(os.path.join(ROOT, 'ee', 'awx', 'setup.yml')))
    [task] = [t for t in setup[0]['tasks'] if 'awx.awx.credential_type' in t]
    assert set(task['awx.awx.credential_type']) <= set(options)
