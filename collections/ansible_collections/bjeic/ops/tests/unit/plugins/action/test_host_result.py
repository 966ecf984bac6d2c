"""host_result: a host's part becomes its result whole, but cannot set facts or Ansible's own task keys."""
from ansible_collections.bjeic.ops.plugins.action.host_result import own_part


def test_the_part_is_the_result_without_ansibles_own_keys():
    part = {'failed': True, 'msg': '1 of 2 instance(s) could not be read', 'results': [{'ledger': [], 'msg': 'x'}],
            'ansible_facts': {'ansible_host': 'elsewhere'}, '_ansible_no_log': False, 'invocation': {'module_args': {}}}
    assert own_part(part) == {'failed': True, 'changed': False, 'msg': '1 of 2 instance(s) could not be read',
                              'results': [{'ledger': [], 'msg': 'x'}]}
    assert own_part({'changed': 1})['changed'] is True
