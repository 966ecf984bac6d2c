"""daily_inspection.yml through ansible-runner against real lab hosts."""
import json
import os

from bjeic_ops.contract import validate
from runner_runs import run_playbook

INSPECT_TASK = 'Inspect the host in one call'


def test_one_inspection_task_per_host_and_results_on_disk(lab_inventory, tmp_path):
    run = run_playbook('daily_inspection.yml', lab_inventory, extravars={'inspect_report_dir': str(tmp_path)})
    assert run.status == 'successful', run.results
    inspections = [r for r in run.results if r.task == INSPECT_TASK]
    assert sorted(r.host for r in inspections) == ['pytest-plain', 'pytest-sd']
    for record in inspections:
        assert record.status == 'ok'
        assert validate(record.result) == []
        on_disk = json.loads((tmp_path / ('%s.json' % record.host)).read_text())
        assert on_disk['findings'] == record.result['findings']
        ledger = on_disk['ledger'][0]
        assert ledger['key'] == 'host:%s' % record.host
        attrs = ledger['attrs']
        assert attrs['hostname'] == record.host
        assert attrs['os']['id'] == 'debian' and attrs['os']['version'] == '12'
        assert any(fs['mountpoint'] == '/' for fs in attrs['filesystems'])
        assert attrs['cpu']['count'] >= 1 and attrs['memory_bytes'] > 0
    # The host without systemd says what it could not see instead of guessing.
    plain = run.for_task(INSPECT_TASK)['pytest-plain']
    assert any(f['check'] == 'svc.unavailable' and f['severity'] == 'info' for f in plain['findings'])
    assert plain['ledger'][0]['attrs']['log_source'].startswith('/var/log/syslog')
    systemd = run.for_task(INSPECT_TASK)['pytest-sd']
    assert not any(f['check'] == 'svc.unavailable' for f in systemd['findings'])
    assert systemd['ledger'][0]['attrs']['log_source'].startswith('journal')


def test_check_mode_inspects_the_same_way(lab_inventory):
    run = run_playbook('daily_inspection.yml', lab_inventory, check=True, limit='pytest-sd')
    assert run.status == 'successful'
    result = run.for_task(INSPECT_TASK)['pytest-sd']
    assert result['changed'] is False and validate(result) == []
    assert 'fs.usage' in result['checks']


def test_thresholds_change_the_grading(lab_inventory):
    # Root of a lab host is far from full; a warning level of 0 % must flag it.
    run = run_playbook('daily_inspection.yml', lab_inventory, limit='pytest-plain',
                       extravars={'inspect_thresholds': {'fs.usage': {'warning': 0}},
                                  'inspect_checks': ['fs.usage']})
    result = run.for_task(INSPECT_TASK)['pytest-plain']
    assert result['checks'] == ['fs.usage']
    root = [f for f in result['findings'] if f['check'] == 'fs.usage' and f['subject'] == '/']
    assert root and root[0]['severity'] == 'warning' and root[0]['threshold'] == 0


def test_unknown_threshold_fails_with_a_clear_message(lab_inventory):
    run = run_playbook('daily_inspection.yml', lab_inventory, limit='pytest-plain',
                       extravars={'inspect_thresholds': {'disk.usage': {'warning': 70}}})
    assert run.status == 'failed'
    failed = run.for_task(INSPECT_TASK, status='failed')['pytest-plain']
    assert failed['msg'].startswith("thresholds: unknown check id 'disk.usage'; known ids with thresholds: backup.stale, cpu.load")


def test_unknown_check_id_is_refused_by_the_role_spec(lab_inventory):
    run = run_playbook('daily_inspection.yml', lab_inventory, limit='pytest-plain',
                       extravars={'inspect_checks': ['fs.usage', 'disk.full']})
    assert run.status == 'failed'
    failed = run.for_task(INSPECT_TASK, status='failed')['pytest-plain']
    assert 'disk.full' in failed['msg'] and 'fs.usage' in failed['msg']


def test_an_unreachable_host_does_not_stop_the_others(lab_inventory, tmp_path):
    inventory = tmp_path / 'hosts.ini'
    text = open(lab_inventory).read().replace(
        '[linux]\n', '[linux]\ngone ansible_host=127.0.0.1 ansible_port=9 ansible_user=lab\n')
    inventory.write_text(text)
    run = run_playbook('daily_inspection.yml', str(inventory), extravars={'inspect_report_dir': str(tmp_path / 'out')})
    statuses = {(r.host, r.status) for r in run.results if r.task == INSPECT_TASK}
    assert ('gone', 'unreachable') in statuses
    assert ('pytest-sd', 'ok') in statuses and ('pytest-plain', 'ok') in statuses
    assert sorted(os.listdir(tmp_path / 'out')) == ['pytest-plain.json', 'pytest-sd.json']
