"""An installed bjeic-ops works outside the checkout (issue 21): the wheel carries the project's playbooks,
ansible.cfg and collection, and `bjeic-ops run daily_inspection.yml -i INVENTORY` runs from any directory.

The wheel is built from this checkout and installed with --no-deps into a fresh virtual environment in a
temporary directory. Its dependencies are the ones already installed in the project's .venv, reached through a
.pth file (installing ansible afresh would download ~50 MB for nothing this test checks); ansible-core is
installed into the new environment as well, for its ansible-playbook command. Nothing of the checkout is on
the new environment's path: not the source tree, not .venv/bin, not the editable install's import hook.
"""
import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(*command, **kwargs):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=900, **kwargs)
    if done.returncode != 0:
        raise AssertionError('%s exited %d\n%s\n%s' % (' '.join(map(str, command)), done.returncode,
                                                       done.stdout[-3000:], done.stderr[-3000:]))
    return done


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp('installed')
    wheels = base / 'wheels'
    # Build from a copy of the source: setuptools keeps a build/ directory in the tree it builds.
    source = base / 'source'
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns('.venv', '.git', '.lab', 'out', 'build', '*.egg-info',
                                                                '.test-artifacts', '__pycache__', 'output'))
    run(sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--quiet', '--disable-pip-version-check', source, '-w', wheels)
    [wheel] = list(wheels.iterdir())
    venv = base / 'venv'
    run(sys.executable, '-m', 'venv', venv)
    python = venv / 'bin' / 'python'
    purelib = run(python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])').stdout.strip()
    with open(os.path.join(purelib, 'bjeic-test-dependencies.pth'), 'w') as handle:
        handle.write(sysconfig.get_paths()['purelib'] + '\n')   # the project venv's packages, as plain paths
    import ansible
    run(python, '-m', 'pip', 'install', '--quiet', '--no-deps', '--ignore-installed', '--disable-pip-version-check',
        'ansible-core==%s' % ansible.__version__, wheel)
    return venv


def clean_environment(venv, tmp_path):
    env = {'PATH': '%s:/usr/local/bin:/usr/bin:/bin' % (venv / 'bin'), 'HOME': os.environ.get('HOME', '/root'),
           'LANG': 'C.UTF-8', 'BJEIC_OPS_STORE': 'sqlite:///%s' % (tmp_path / 'store.sqlite'),
           'BJEIC_OPS_ARTIFACTS': str(tmp_path / 'artifacts'), 'BJEIC_OPS_OPERATOR': 'zhao.lei'}
    assert ROOT not in env['PATH']
    return env


def test_the_installed_package_finds_its_project_and_runs_the_inspection_from_any_directory(installed, tmp_path):
    env = clean_environment(installed, tmp_path)
    where = run(installed / 'bin' / 'python', '-c',
                'import bjeic_ops, bjeic_ops.project as p; print(bjeic_ops.__file__); print(p.root())',
                env=env, cwd=tmp_path).stdout.split()
    assert where[0].startswith(str(installed)) and where[1].startswith(str(installed))
    assert not where[1].startswith(ROOT)
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(json.dumps({'linux': {'hosts': {'localhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': str(installed / 'bin' / 'python'),
        'ansible_become': False}}}}))
    done = run(installed / 'bin' / 'bjeic-ops', 'run', 'daily_inspection.yml', '-i', inventory,
               '-e', '{"inspect_checks": ["fs.usage"]}', env=env, cwd=tmp_path)
    assert 'run 1 complete (successful, rc=0)' in done.stdout
    ledger = json.loads(run(installed / 'bin' / 'bjeic-ops', 'ledger', 'os', '--format', 'json', env=env,
                            cwd=tmp_path).stdout)
    assert [item['host'] for item in ledger] == ['localhost']
    runs = run(installed / 'bin' / 'bjeic-ops', 'runs', env=env, cwd=tmp_path).stdout
    assert 'playbooks/daily_inspection.yml' in runs


def test_a_project_directory_can_be_named_explicitly(installed, tmp_path):
    env = dict(clean_environment(installed, tmp_path), BJEIC_OPS_PROJECT=str(tmp_path / 'nowhere'))
    done = subprocess.run([str(installed / 'bin' / 'bjeic-ops'), 'run', 'daily_inspection.yml', '-i', 'x'],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ('bjeic-ops: BJEIC_OPS_PROJECT=%s holds no ansible.cfg and playbooks/: give the project '
                           'directory\n' % (tmp_path / 'nowhere'))
