"""The Python side that consumes Windows results, on a real SQLite store: results shaped as win_inspect,
win_harden, win_patch and win_watch return them (tests/fixtures/windows, held to each module's RETURN documentation)
go through the ingestor into ledgers, drift, findings, change records with rollback, the daily and monthly
reports and right-sizing; the roles pick the Windows tasks by connection; the example inventory connects
to Windows the safe way."""
import copy
import json
import os
import subprocess
import sys

import jinja2
import pytest
import yaml

from bjeic_ops import cloud, ledger, reports
from bjeic_ops.contract import validate
from bjeic_ops.ingest import Ingestor
from bjeic_ops.rollback import rollback_playbook
from bjeic_ops.store import COMPLETE, Store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, 'tests', 'fixtures', 'windows')
COLLECTION = os.path.join(ROOT, 'collections', 'ansible_collections', 'bjeic', 'ops')
ANSIBLE_KEYS = {'changed', 'failed', 'msg', 'diff'}
FIXTURE_MODULES = {'win_inspect.json': 'win_inspect', 'win_harden_enforce.json': 'win_harden',
                   'win_patch_planned.json': 'win_patch', 'win_patch_finish.json': 'win_patch',
                   'win_expand.json': 'win_expand', 'win_watch.json': 'win_watch'}


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding='utf-8') as handle:
        return json.load(handle)


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def record(store, playbook, host, results, check=False):
    """A complete run of `playbook` in which `host` returned each (module, result)."""
    run_id = store.begin_run(playbook, inventory='inventories/example', check_mode=check, operator='li.na', ticket='CHG-7')
    ingest = Ingestor(store, run_id, operator='li.na', ticket='CHG-7', check_mode=check)
    for module, result in results:
        ingest({'event': 'runner_on_ok', 'event_data': {'host': host, 'task': 'Task of ' + module,
                                                        'task_action': 'bjeic.ops.' + module, 'res': result}})
    ingest.flush()
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    return run_id


@pytest.mark.parametrize('name', sorted(FIXTURE_MODULES))
def test_fixtures_keep_the_contract_and_the_modules_documentation(name):
    result = fixture(name)
    assert validate(result) == []
    namespace = {}
    path = os.path.join(COLLECTION, 'plugins', 'modules', FIXTURE_MODULES[name] + '.py')
    exec(compile(open(path).read(), path, 'exec'), namespace)
    documented = set(yaml.safe_load(namespace['RETURN']))
    assert set(result) - ANSIBLE_KEYS <= documented, set(result) - ANSIBLE_KEYS - documented


def test_a_windows_inspection_becomes_os_network_and_cloud_ledgers(store):
    record(store, 'daily_inspection.yml', 'win-app01', [('win_inspect', fixture('win_inspect.json'))])
    [os_row] = ledger.rows(store.ledger('os'), 'os')
    assert os_row['os'] == 'Microsoft Windows Server 2019 Datacenter (10.0.17763)'
    assert os_row['filesystems'] == 'C: NTFS 100.0G, D: NTFS 200.0G'
    assert (os_row['cpu_count'], os_row['memory_gib'], os_row['addresses']) == (8, 32.0, '10.20.3.21')
    assert os_row['time_sync'] == 'w32time' and os_row['host'] == 'win-app01'
    [net] = ledger.rows(store.ledger('network'), 'network')
    assert (net['firewall_backends'], net['firewall_rules']) == ('windows_firewall', 2)
    assert net['listening'] == '443/tcp System, 5986/tcp System'
    [cloud_row] = ledger.rows(store.ledger('cloud'), 'cloud')
    assert cloud_row['key'] == 'self:vm:0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a01' and cloud_row['source'] == 'dmi'
    checks = sorted(f['check_id'] for f in store.findings())
    assert checks == ['backup.stale', 'fs.usage', 'login.failed', 'svc.failed']


def test_drift_is_configuration_not_the_days_figures(store):
    first = fixture('win_inspect.json')
    record(store, 'daily_inspection.yml', 'win-app01', [('win_inspect', first)])
    old = store.ledger('network') + store.ledger('os')
    second = copy.deepcopy(first)
    second['ledger'][0]['attrs']['state']['cpu_pct'] = 99.0                      # a busy day is not drift
    second['ledger'][0]['attrs']['state']['filesystems'][1]['used_pct'] = 95.0
    second['ledger'][1]['attrs']['firewall']['windows_firewall'].append('Inbound Allow Any TCP port 3389 (Remote Desktop)')
    record(store, 'daily_inspection.yml', 'win-app01', [('win_inspect', second)])
    drift = ledger.diff(old, store.ledger('network') + store.ledger('os'))
    assert drift == [{'key': 'netpolicy:WIN-APP01', 'change': 'changed', 'path': 'firewall.windows_firewall',
                      'before': [], 'after': ['Inbound Allow Any TCP port 3389 (Remote Desktop)']}]


def test_the_daily_report_counts_the_windows_host(store):
    run_id = record(store, 'daily_inspection.yml', 'win-app01', [('win_inspect', fixture('win_inspect.json'))])
    report = reports.daily(store, run_id)
    hosts = next(s for s in report.sections if s.ident == 'hosts')
    assert hosts.rows == [{'host': 'win-app01', 'status': 'ok', 'critical': 2, 'warning': 2, 'info': 0}]
    assert hosts.tones == ['bad']


def test_harden_changes_are_records_whose_rollback_runs_win_harden_as_system(store):
    run_id = record(store, 'harden.yml', 'win-app01', [('win_harden', fixture('win_harden_enforce.json'))])
    changes = store.changes(run_id=run_id)
    assert [c['object'] for c in changes] == ['HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\LmCompatibilityLevel',
                                              'secedit:System Access/MinimumPasswordLength']
    assert all(c['ticket'] == 'CHG-7' and c['operator'] == 'li.na' for c in changes)
    [play] = rollback_playbook(changes[0])
    [task] = play['tasks']
    assert task['bjeic.ops.win_harden'] == {'mode': 'rollback', 'backup_id': '20261201T020000Z-3f9a1c'}
    assert (play['hosts'], play['become'], task['become_method'], task['become_user']) == (
        'win-app01', True, 'ansible.builtin.runas', 'SYSTEM')
    baseline = store.ledger('os')[0]
    assert baseline['key'] == 'baseline:mlps3@WIN-APP01' and baseline['attrs']['controls']['acct.admin_name'] == 'fail'
    assert [f['check_id'] for f in store.findings(run_id)] == ['acct.admin_name']


def test_a_linux_rollback_keeps_the_inventorys_become():
    change = {'id': 3, 'host': 'web01', 'object': '/etc/login.defs', 'action': 'edit', 'module': 'bjeic.ops.linux_harden',
              'rollback': {'id': 'b1', 'how': {'module': 'bjeic.ops.linux_harden', 'args': {'mode': 'rollback', 'backup_id': 'b1'}}}}
    [task] = rollback_playbook(change)[0]['tasks']
    assert 'become_method' not in task and 'become_user' not in task


def test_check_mode_harden_makes_no_change_records(store):
    run_id = record(store, 'harden.yml', 'win-app01', [('win_harden', fixture('win_harden_enforce.json'))], check=True)
    assert store.changes(run_id=run_id) == []   # only a real run makes change records


def test_patch_transaction_and_monthly_patch_status(store):
    record(store, 'patch.yml', 'win-app01', [('win_patch', fixture('win_patch_planned.json')),
                                             ('win_patch', fixture('win_patch_finish.json'))])
    changes = store.changes()
    assert [c['action'] for c in changes] == ['install']
    [task] = rollback_playbook(changes[0])[0]['tasks']
    assert task['bjeic.ops.win_patch'] == {'state': 'rolled_back', 'transaction_id': '20261201T020500Z-7d1e9a'}
    items = [dict(i, check_mode=False) for i in store.ledger('os')]
    [row] = reports.patch_status(items, changes)
    assert row == {'host': 'win-app01', 'backend': 'windows', 'pending': 1, 'pending_security': 1, 'unfinished': 0,
                   'last_transaction': '20261101T020000Z-1a2b3c', 'patch_changes': 1}


def test_an_expansion_is_recorded_as_one_way_and_its_disk_size_reaches_the_cloud_ledger(store):
    record(store, 'expand.yml', 'win-app01', [('win_expand', fixture('win_expand.json'))])
    [change] = store.changes()
    assert (change['object'], change['action'], change['after']) == ('D:', 'grow partition', '300.0 GiB')
    with pytest.raises(Exception, match='cannot be rolled back: growing a partition or volume is one-way'):
        rollback_playbook(change)
    [item] = store.ledger('cloud')
    assert item['key'] == 'self:disk:vol-7c1d2e3f4a5b6c7d8e01' and item['attrs']['size_bytes'] == 300 * 1024 ** 3
    assert [f['check_id'] for f in store.findings()] == ['expand.fs_grown']


def test_right_sizing_reads_windows_cpu_busy_as_load_per_cpu():
    item = fixture('win_inspect.json')['ledger'][0]
    from datetime import datetime, timezone
    series = cloud.host_series([{'key': item['key'], 'host': 'win-app01', 'attrs': item['attrs'],
                                 'seen_at': datetime(2026, 12, 1, tzinfo=timezone.utc), 'check_mode': False}])
    [sample] = series['host:WIN-APP01']['samples']
    assert sample['cpu'] == 0.375 and sample['mem'] == 70.0 and (sample['disk'], sample['mount']) == (93.0, 'D:')


CONNECTIONS = [
    ({'ansible_connection': 'winrm'}, 'windows'), ({'ansible_connection': 'psrp'}, 'windows'),
    ({'ansible_connection': 'ansible.builtin.psrp'}, 'windows'),
    ({'ansible_connection': 'ssh', 'ansible_shell_type': 'powershell'}, 'windows'),
    ({'ansible_connection': 'ssh'}, 'linux'), ({}, 'linux'), ({'ansible_connection': 'local'}, 'linux')]


def render(expression, hostvars):
    from ansible_collections.bjeic.ops.plugins.filter.os_family import FilterModule
    environment = jinja2.Environment()
    environment.filters.update(('bjeic.ops.' + name, f) for name, f in FilterModule().filters().items())
    return environment.from_string(expression).render(**hostvars)


@pytest.mark.parametrize('role', ['inspect', 'harden', 'patch', 'expand'])
@pytest.mark.parametrize('hostvars, family', CONNECTIONS)
def test_roles_pick_the_tasks_by_connection(role, hostvars, family):
    role_dir = os.path.join(COLLECTION, 'roles', role)
    expression = yaml.safe_load(open(os.path.join(role_dir, 'vars', 'main.yml')))['__%s_os_family' % role]
    assert render(expression, hostvars) == family
    tasks = os.path.join(role_dir, 'tasks')
    if role == 'expand':   # one task per family in main.yml, chosen by condition
        assert "__expand_os_family == '%s'" % family in open(os.path.join(tasks, 'main.yml')).read()
    else:
        assert os.path.exists(os.path.join(tasks, family + '.yml'))


def test_the_example_inventory_connects_to_windows_safely():
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i',
                           os.path.join(ROOT, 'inventories', 'example'), '--list'],
                          capture_output=True, text=True, timeout=120, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')))
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    windows = data['windows']['children']
    hosts = [h for group in windows for h in data[group]['hosts']]
    assert len(hosts) == 3
    for host in hosts:
        hostvars = data['_meta']['hostvars'][host]
        assert hostvars['ansible_connection'] == 'winrm' and hostvars['ansible_port'] == 5986
        assert hostvars['ansible_winrm_scheme'] == 'https'
        assert hostvars['ansible_winrm_server_cert_validation'] == 'validate'   # never 'ignore'
        assert hostvars['ansible_winrm_transport'] in ('kerberos', 'ntlm')     # never basic or plaintext
        assert hostvars['ansible_winrm_message_encryption'] == 'always'
        assert hostvars['ansible_password'].startswith('{{ vault_')            # from vault, not written here


def test_a_watch_over_both_families_is_one_duty_record(store):
    """Hourly rounds of special_duty.yml with Linux hosts (linux_watch, a result captured on a real host) and
    Windows hosts (win_watch): the duty record counts both families and lists the Windows security findings."""
    from datetime import timedelta
    from sqlalchemy import update
    from bjeic_ops.store import runs
    from bjeic_ops.times import now
    with open(os.path.join(ROOT, 'bench', 'data', 'watch-round-result.json')) as handle:
        linux = json.load(handle)
    start = now() - timedelta(hours=3)
    watch = store.start_watch('2026 国庆值守', operator='li.na', at=start)
    for hour in range(3):
        run_id = record(store, 'playbooks/special_duty.yml', 'lnx01', [('linux_watch', linux)])
        ingest = Ingestor(store, run_id)
        ingest({'event': 'runner_on_ok', 'event_data': {
            'host': 'win-app01', 'task': 'Security watch of a Windows host', 'task_action': 'bjeic.ops.win_watch',
            'res': fixture('win_watch.json')}})
        ingest.flush()
        with store.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(started_at=start + timedelta(hours=hour,
                                                                                                     minutes=1)))
    store.stop_watch(watch, operator='wang.fang', at=start + timedelta(hours=3))
    report = reports.duty(store, watch)
    kpis = dict((k, v) for k, v, _t in report.sections[0].kpis)
    assert (kpis['duty_rounds'], kpis['hosts_watched'], kpis['hosts_watched_linux'], kpis['hosts_watched_windows']) \
        == (3, 2, 1, 1)
    rounds = next(s for s in report.sections if s.ident == 'rounds')
    assert [(r['linux_hosts'], r['windows_hosts']) for r in rounds.rows] == [(1, 1)] * 3
    security = next(s for s in report.sections if s.ident == 'security')
    windows_checks = set(r['check'] for r in security.rows if r['host'] == 'win-app01')
    assert windows_checks == {'sec.account_new', 'sec.service_new', 'sec.autostart_new', 'sec.listening_new'}
    assert 'info' not in set(r['severity'] for r in security.rows)         # a removed task is not a duty finding
    assert kpis['missed_rounds'] == 0


@pytest.mark.parametrize('hostvars, family', CONNECTIONS)
def test_the_duty_playbook_picks_the_watch_module_by_connection(hostvars, family):
    play = yaml.safe_load(open(os.path.join(ROOT, 'playbooks', 'special_duty.yml')))[0]
    expression = play['vars']['__special_duty_windows']
    assert render(expression, hostvars) == str(family == 'windows')
    modules = [t for t in play['tasks'] if 'bjeic.ops.linux_watch' in t or 'bjeic.ops.win_watch' in t]
    assert [(next(k for k in t if k.startswith('bjeic.ops.')), t['when']) for t in modules] == [
        ('bjeic.ops.linux_watch', 'not __special_duty_windows'), ('bjeic.ops.win_watch', '__special_duty_windows')]
    assert play['hosts'] == "{{ target | default('linux:windows') }}"
