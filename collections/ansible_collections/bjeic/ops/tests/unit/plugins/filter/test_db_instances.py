"""The db_instances filter: every instance of a group, with the host's defaults under it, the host named, only the
options the probe takes (held equal to db_probe's spec), and a clear error for a malformed list."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.bjeic.ops.plugins.filter.db_instances import PROBE_OPTIONS, FilterModule
from ansible_collections.bjeic.ops.plugins.modules.db_probe import INSTANCE_OPTIONS

db_instances = FilterModule().filters()['db_instances']


def test_the_filter_keeps_exactly_the_probe_options():
    assert set(PROBE_OPTIONS) == set(INSTANCE_OPTIONS)


def test_instances_of_a_group_with_defaults_and_host():
    hostvars = {
        'db01': {'ansible_host': '10.0.0.5', 'db_ledger_defaults': {'connect_timeout': 5, 'thresholds': {'x': 1}},
                 'db_ledger_instances': [{'engine': 'oracle', 'name': 'hr', 'service_name': 'HR', 'login_user': 'm',
                                          'login_password': 'pw', 'log_window_hours': 6},
                                         {'engine': 'mysql', 'name': 'shop', 'login_host': 'db01-vip', 'connect_timeout': 2}]},
        'db02': {'db_ledger_instances': [{'engine': 'mssql', 'name': 'erp'}]},
        'web01': {},
    }
    assert db_instances(hostvars, ['db01', 'db02', 'web01']) == [
        {'engine': 'oracle', 'name': 'hr', 'service_name': 'HR', 'login_user': 'm', 'login_password': 'pw',
         'connect_timeout': 5, 'host': 'db01', 'login_host': '10.0.0.5'},
        {'engine': 'mysql', 'name': 'shop', 'login_host': 'db01-vip', 'connect_timeout': 2, 'host': 'db01'},
        {'engine': 'mssql', 'name': 'erp', 'host': 'db02', 'login_host': 'db02'}]
    assert db_instances(hostvars, []) == []


def test_a_malformed_list_says_which_host_and_entry():
    with pytest.raises(AnsibleFilterError, match=r'host db01: db_ledger_instances\[1\] must be a dict with an engine'):
        db_instances({'db01': {'db_ledger_instances': [{'engine': 'mysql'}, {'name': 'x'}]}}, ['db01'])
    with pytest.raises(AnsibleFilterError, match='host db01: db_ledger_instances must be a list'):
        db_instances({'db01': {'db_ledger_instances': 'mysql'}}, ['db01'])


def test_the_ledger_purpose_keeps_exactly_the_ledger_options_and_skips_hosts_that_read_their_own():
    from ansible_collections.bjeic.ops.plugins.filter.db_instances import LEDGER_OPTIONS
    from ansible_collections.bjeic.ops.plugins.module_utils.db_ledger_batch import instance_options
    assert set(LEDGER_OPTIONS) == set(instance_options())
    hostvars = {
        'db01': {'db_ledger_defaults': {'thresholds': {'db.log_errors': {'warning': 5}}, 'note': 'kept out'},
                 'db_ledger_instances': [{'engine': 'mysql', 'name': 'shop', 'sample_seconds': 2}]},
        'db02': {'db_ledger_run_on': 'host', 'db_ledger_instances': [{'engine': 'mssql', 'name': 'erp'}]},
    }
    assert db_instances(hostvars, ['db01', 'db02'], 'ledger') == [
        {'engine': 'mysql', 'name': 'shop', 'sample_seconds': 2, 'thresholds': {'db.log_errors': {'warning': 5}},
         'host': 'db01', 'login_host': 'db01'}]
    assert [i['host'] for i in db_instances(hostvars, ['db01', 'db02'])] == ['db01', 'db02']
    with pytest.raises(AnsibleFilterError, match='purpose must be probe or ledger'):
        db_instances(hostvars, ['db01'], 'backup')
