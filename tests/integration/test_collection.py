"""The collection builds and its documentation renders (what a user of ansible-galaxy sees)."""
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTION = os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops')
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))


def test_collection_builds_with_modules_and_roles(tmp_path):
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path), COLLECTION],
                   check=True, capture_output=True, env=ENV)
    tarball = tmp_path / 'bjeic-ops-0.1.0.tar.gz'
    with tarfile.open(tarball) as archive:
        names = archive.getnames()
    assert 'plugins/modules/linux_inspect.py' in names
    assert 'plugins/module_utils/linux_parsers.py' in names
    assert 'roles/inspect/meta/argument_specs.yml' in names
    assert not any(name.startswith('tests/output') for name in names)


def test_ansible_doc_renders_every_option():
    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), 'bjeic.ops.linux_inspect'], check=True,
                         capture_output=True, text=True, env=ENV).stdout
    for option in ('thresholds', 'window_hours', 'backup_paths', 'checks', 'skip_checks',
                   'log_sample_lines', 'core_dump_paths'):
        assert option in out
    assert 'RETURN VALUES' in out and 'findings' in out


def test_role_documentation_renders():
    out = subprocess.run([os.path.join(BIN, 'ansible-doc'), '-t', 'role', 'bjeic.ops.inspect'], check=True,
                         capture_output=True, text=True, env=ENV).stdout
    assert 'inspect_thresholds' in out and 'inspect_report_dir' in out
