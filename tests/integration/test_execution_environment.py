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
    assert "ansible-core>=2.18,<2.20" in containerfile and 'ansible-runner>=2.4,<3' in containerfile
    galaxy = yaml.safe_load(open(os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops', 'galaxy.yml')))
    wanted = yaml.safe_load(open(os.path.join(context, '_build', 'requirements.yml')))['collections'][0]['name']
    assert wanted == 'collections/bjeic-ops-%s.tar.gz' % galaxy['version']   # requirements.yml follows galaxy.yml
    with tarfile.open(os.path.join(context, '_build', wanted)) as archive:
        assert 'plugins/modules/linux_inspect.py' in archive.getnames()
