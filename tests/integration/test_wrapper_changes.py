"""Change records from real changes on lab hosts, and rollback through the recorded handle."""
import json
import os

import openpyxl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'change_file.yml')


def read_on(labctl, name, path):
    done = __import__('subprocess').run(['podman', 'exec', labctl.PREFIX + name, 'cat', path], capture_output=True,
                                        text=True, env=dict(os.environ, CONTAINERS_CONF=os.path.join(labctl.LAB_DIR, 'containers.conf')))
    return done.stdout if done.returncode == 0 else None


def test_changes_are_recorded_and_rolled_back(cli, lab_inventory, labctl, tmp_path):
    # Check mode changes nothing and records nothing.
    cli('run', PLAYBOOK, '-i', lab_inventory, '--check', '--diff', '--limit', 'pytest-sd')
    assert json.loads(cli('changes', '--format', 'json').stdout) == []
    assert read_on(labctl, 'pytest-sd', '/etc/bjeic-app.conf') is None

    cli('run', PLAYBOOK, '-i', lab_inventory, '--diff', '--limit', 'pytest-sd', '--ticket', 'CHG-7')
    cli('run', PLAYBOOK, '-i', lab_inventory, '--diff', '--limit', 'pytest-sd', '--ticket', 'CHG-8',
        '-e', 'app_max_connections=250')
    records = json.loads(cli('changes', '--host', 'pytest-sd', '--format', 'json').stdout)
    assert [(r['object'], r['ticket']) for r in records] == [
        ('/etc/motd', 'CHG-7'), ('/etc/bjeic-app.conf', 'CHG-7'), ('/etc/bjeic-app.conf', 'CHG-8')]
    motd, first, second = records
    assert motd['module'] == 'ansible.builtin.copy' and motd['operator'] == 'zhang.wei'
    assert '+managed by bjeic.ops' in motd['diff']
    assert motd['rollback'] is None
    assert (second['before'], second['after']) == ('max_connections=100\n', 'max_connections=250\n')
    assert second['rollback']['how']['module'] == 'bjeic_test.lab.versioned_file'
    assert read_on(labctl, 'pytest-sd', '/etc/bjeic-app.conf') == 'max_connections=250\n'

    # Roll back the second change: the file is as it was before it, and the rollback is itself recorded.
    done = cli('rollback', second['id'], '--ticket', 'CHG-8-RB')
    assert 'complete (successful' in done.stdout
    assert read_on(labctl, 'pytest-sd', '/etc/bjeic-app.conf') == 'max_connections=100\n'
    last = json.loads(cli('changes', '--format', 'json').stdout)[-1]
    assert (last['action'], last['ticket'], last['after']) == ('restore', 'CHG-8-RB', 'max_connections=100\n')

    # A change whose module returned no handle says so instead of guessing.
    done = cli('rollback', motd['id'], check=False)
    assert done.returncode == 1
    assert 'has no rollback wired: its module returned no rollback handle' in done.stderr

    # Change records (变更记录单) as a workbook.
    cli('changes', '--format', 'xlsx', '--out', tmp_path / 'changes.xlsx')
    sheet = openpyxl.load_workbook(tmp_path / 'changes.xlsx')['变更记录单']
    headers = [cell.value for cell in sheet[1]]
    for header in ('编号', '主机', '变更对象', '变更前', '变更后', '操作人', '工单号', '回退句柄'):
        assert header in headers
    assert sheet.max_row == 1 + 4
