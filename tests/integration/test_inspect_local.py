"""linux_inspect run by ansible on this machine (a real host): bad input gets a clear error."""
import os

import pytest

from bjeic_ops.contract import validate
from runner_runs import run_module as run_module_with_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOCAL = os.path.join(ROOT, 'inventories', 'local', 'hosts.yml')


def run_module(args):
    run = run_module_on(args)
    assert [r.host for r in run.results] == ['localhost']
    return run.results[0]


def run_module_on(args):
    return run_module_with_runner('bjeic.ops.linux_inspect', args, LOCAL, host_pattern='localhost')


def test_defaults_keep_the_contract():
    outcome = run_module({'window_hours': 24})
    result = outcome.result
    assert outcome.status == 'ok', result.get('msg')
    assert validate(result) == []
    assert result['summary'] == {severity: sum(1 for f in result['findings'] if f['severity'] == severity)
                                 for severity in ('critical', 'warning', 'info')}


@pytest.mark.parametrize('args, message', [
    ({'window_hours': 0}, 'window_hours must be a positive number of hours, got 0'),
    ({'log_sample_lines': 500}, 'log_sample_lines must be between 0 and 100, got 500'),
    ({'backup_paths': [{'path': '/backup/*.gz', 'max_age_hours': -1}]},
     'backup_paths: max_age_hours for /backup/*.gz must be positive, got -1.0'),
    ({'thresholds': {'fs.usage': {'warning': 'high'}}}, "thresholds.fs.usage.warning must be a number, got 'high'"),
])
def test_bad_input_is_refused_with_a_clear_message(args, message):
    outcome = run_module(args)
    assert outcome.status == 'failed'
    assert outcome.result['msg'] == message


def test_unknown_check_id_lists_the_valid_ones():
    outcome = run_module({'skip_checks': ['fs.full']})
    assert outcome.status == 'failed'
    assert 'fs.full' in outcome.result['msg'] and 'fs.usage' in outcome.result['msg']


def test_backup_evidence_on_this_host(tmp_path):
    fresh = tmp_path / 'fresh.tar.gz'
    fresh.write_bytes(b'backup')
    old = tmp_path / 'old.dump'
    old.write_bytes(b'backup')
    hours_ago = 30 * 3600
    os.utime(old, (os.path.getmtime(old) - hours_ago, os.path.getmtime(old) - hours_ago))
    result = run_module({'checks': ['backup.stale', 'backup.missing'], 'backup_paths': [
        {'path': str(tmp_path / '*.tar.gz'), 'max_age_hours': 24},
        {'path': str(tmp_path / '*.dump'), 'max_age_hours': 24},
        {'path': str(tmp_path / 'nothing-*'), 'max_age_hours': 24},
    ]}).result
    by_subject = {f['subject']: f for f in result['findings'] if f['check'].startswith('backup.')}
    assert str(tmp_path / '*.tar.gz') not in by_subject
    assert by_subject[str(tmp_path / '*.dump')]['severity'] == 'warning'       # 30h: beyond 24h, not 48h
    assert by_subject[str(tmp_path / '*.dump')]['value'] == pytest.approx(30, abs=0.2)
    assert by_subject[str(tmp_path / 'nothing-*')]['check'] == 'backup.missing'
    assert by_subject[str(tmp_path / 'nothing-*')]['severity'] == 'critical'
