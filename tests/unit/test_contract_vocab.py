"""The target side and the wrapper speak one vocabulary, and what the target's builders make the wrapper accepts."""
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from bjeic_ops import contract as wrapper_contract, vocab


def test_the_target_and_the_wrapper_share_one_vocabulary():
    assert contract.SEVERITIES == vocab.SEVERITIES
    assert contract.LEDGER_KINDS == vocab.LEDGER_KINDS


def test_what_the_builders_make_keeps_the_contract_the_wrapper_validates():
    result = {
        'findings': [contract.finding('fs.usage', 'warning', '/', '/ is 85% full', 85, 80),
                     contract.unavailable('lvm.unavailable', 'web01', 'no LVM tools')],
        'ledger': [contract.ledger_item('os', contract.key('host', 'web01'), {'cpu': 2})],
        'changes': [contract.change('/etc/login.defs', 'edit', 'a', 'b')],
        'rollback': contract.rollback('20261202T101500Z-1a2b3c', 'bjeic.ops.linux_harden', {'mode': 'rollback'}),
    }
    assert wrapper_contract.validate(result) == []
