"""The result contract's library on the target side (module_utils/contract.py)."""
import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import contract


def test_builders_make_what_the_wrapper_accepts_and_refuse_what_it_would_not():
    result = {
        'findings': [contract.finding('fs.usage', 'warning', '/', '/ is 85% full', 85, 80),
                     contract.unavailable('lvm.unavailable', 'web01', 'no LVM tools')],
        'ledger': [contract.ledger_item('os', contract.key('host', 'web01'), {'cpu': 2}),
                   contract.ledger_item('backup', contract.key('backup', 'etc', 'web01'), {})],
        'changes': [contract.change('/etc/login.defs', 'edit', 'a', 'b')],
        'rollback': contract.rollback('20261202T101500Z-1a2b3c', 'bjeic.ops.linux_harden', {'mode': 'rollback'}),
    }
    assert all(set(item) == {'check', 'severity', 'subject', 'value', 'threshold', 'message'} for item in result['findings'])
    assert all(set(item) == {'kind', 'key', 'attrs'} for item in result['ledger'])
    assert [item['key'] for item in result['ledger']] == ['host:web01', 'backup:etc@web01']
    assert result['rollback'] == {'id': '20261202T101500Z-1a2b3c',
                                  'how': {'module': 'bjeic.ops.linux_harden', 'args': {'mode': 'rollback'}}}
    with pytest.raises(contract.ContractError, match="unknown severity 'fatal'"):
        contract.finding('fs.usage', 'fatal', '/', 'x')
    with pytest.raises(contract.ContractError, match='must be dotted'):
        contract.finding('usage', 'info', '/', 'x')
    with pytest.raises(contract.ContractError, match="ledger kind 'hardware'"):
        contract.ledger_item('hardware', 'host:a', {})
    with pytest.raises(contract.ContractError, match='PREFIX:NAME'):
        contract.ledger_item('os', 'web01', {})


def test_findings_grade_filter_and_count():
    found = contract.Findings('web01', keep=lambda check: check == 'fs.usage')
    levels = {'warning': 80.0, 'critical': 90.0}
    assert found.graded('fs.usage', 95, levels, '%(mount)s is %(value)s%% full (%(severity)s at %(threshold)s)',
                        subject='/', mount='/') == 'critical'
    assert found.graded('fs.usage', 50, levels, 'fine') is None
    found.add('mem.usage', 'warning', 'not asked for: left out')
    found.unavailable('lvm.unavailable', 'no LVM tools')            # always reported
    assert [(f['check'], f['subject'], f['severity']) for f in found.items] == [
        ('fs.usage', '/', 'critical'), ('lvm.unavailable', 'web01', 'info')]
    assert found.items[0]['message'] == '/ is 95% full (critical at 90.0)'
    assert found.summary() == {'critical': 1, 'warning': 0, 'info': 1}
    below = {'warning': 10.0, 'critical': 5.0, '_direction': 'below'}
    assert contract.grade(4, below) == ('critical', 5.0) and contract.grade(20, below) == (None, None)


def test_commands_run_in_the_c_locale(ansible_module):
    rc, out, _err = contract.run_c(ansible_module, ['env'], environ_update={'EXTRA': 'kept'})
    environment = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
    assert rc == 0 and (environment['LANG'], environment['LC_ALL'], environment['EXTRA']) == ('C', 'C', 'kept')
