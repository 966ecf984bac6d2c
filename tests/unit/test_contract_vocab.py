"""The target side and the wrapper speak one vocabulary, and what the target's builders make the wrapper accepts."""
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from bjeic_ops import contract as wrapper_contract, vocab


def test_the_target_and_the_wrapper_share_one_vocabulary():
    assert contract.SEVERITIES == vocab.SEVERITIES
    assert contract.LEDGER_KINDS == vocab.LEDGER_KINDS
    assert contract.PROBE_ERRORS == vocab.PROBE_ERRORS


def test_what_the_builders_make_keeps_the_contract_the_wrapper_validates():
    result = {
        'findings': [contract.finding('fs.usage', 'warning', '/', '/ is 85% full', 85, 80),
                     contract.unavailable('lvm.unavailable', 'web01', 'no LVM tools')],
        'ledger': [contract.ledger_item('os', contract.key('host', 'web01'), {'cpu': 2})],
        'changes': [contract.change('/etc/login.defs', 'edit', 'a', 'b')],
        'rollback': contract.rollback('20261202T101500Z-1a2b3c', 'bjeic.ops.linux_harden', {'mode': 'rollback'}),
        'probes': [contract.probe('orcl', 'oracle', 'db01:1521', True, 12.4, '2026-12-06T02:00:00Z', host='db01'),
                   contract.probe('erp', 'mssql', 'db07:1433', False, 10000, '2026-12-06T02:00:00Z',
                                  error_class='timeout', error='no answer within 31 s')],
    }
    assert wrapper_contract.validate(result) == []


def test_a_probe_that_breaks_the_contract_is_named():
    problems = wrapper_contract.validate({'probes': [{'instance': 'orcl', 'up': False, 'error_class': 'gremlins'},
                                                     {'up': True}]})
    assert problems == ["probes[0] is down with error_class 'gremlins', not one of refused, timeout, auth, dns, "
                        "network, tls, query, driver, error",
                        'probes[1] needs an instance (a label) and up (true or false)']
    assert wrapper_contract.keys_at_fault(problems) == {'probes'}


def test_a_summary_has_one_meaning():
    assert wrapper_contract.validate({'summary': dict(contract.summary([]), pass_=3, compliance_pct=100.0)}) == []
    assert wrapper_contract.validate({'summary': {'pass': 20, 'fail': 0, 'compliance_pct': 100.0}}) == [
        'summary must count the findings by severity (critical, warning, info), then any counts of its own']
    assert wrapper_contract.validate({'summary': 'drill passed'}) != []     # a sentence goes in msg
    assert wrapper_contract.validate({'summary': {}, 'failed': True}) == []   # a module that failed early counted nothing
