"""The cloud resource ledger on a real SQLite store: imports through mappings, lifecycle rules, reconcile,
right-sizing. Export files are the fixtures under tests/fixtures/cloud (and an XLSX written here)."""
import json
import os
import shutil
from datetime import timedelta

import pytest

from bjeic_ops import BjeicOpsError, cloud
from bjeic_ops.cloud import CloudError, SizingPolicy
from bjeic_ops.store import COMPLETE, INCOMPLETE, Store, now

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures', 'cloud')
WEB01 = 'vm:0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a01'
WEB02 = 'vm:0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a02'
OLD_REPORT = 'vm:0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a03'
GIB = 1024 ** 3


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def fixture(name):
    return os.path.join(FIXTURES, name)


def import_file(store, export, mapping_name):
    mapping = cloud.load_mapping(fixture(mapping_name))
    return cloud.import_export(store, mapping, cloud.read_records(export, mapping), export)


def write_csv(path, lines):
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8-sig')
    return str(path)


# ---------------------------------------------------------------- mappings and imports

def test_csv_export_with_chinese_headers_becomes_typed_ledger_items(store):
    run_id, count = import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    assert count == 6 and store.get_run(run_id)['state'] == COMPLETE
    items = dict((i['key'], i) for i in store.ledger('cloud'))
    web01 = items[WEB01]['attrs']
    assert web01 == {'id': WEB01[3:], 'type': 'vm', 'source': 'gov-cloud', 'name': 'web01', 'status': 'running',
                     'cpu_count': 8, 'memory_gib': 16.0, 'zone': 'cn-bj-gov-1a', 'addresses': ['10.20.1.11'],
                     'owner': '市政务服务中心', 'flavor': 's6.2xlarge.2'}
    disk = items['disk:vol-7c1d2e3f4a5b6c7d8e01']
    assert disk['host'] == 'web01-data' and disk['attrs']['size_gib'] == 200.0
    assert disk['attrs']['attached_to'] == WEB01[3:]
    assert items['secgroup:sg-0a1b2c3d']['attrs']['type'] == 'secgroup'
    # An import is no inspection: `bjeic-ops findings` still answers from the newest inspection.
    assert store.latest_complete_run() is None


def test_json_export_with_nested_fields_and_units(store):
    import_file(store, fixture('openstack-servers.json'), 'openstack-mapping.yml')
    gis01 = dict((i['key'], i['attrs']) for i in store.ledger('cloud'))['vm:3f6c1b7e-2a4d-4c8e-b1f0-9d8e7c6b5a41']
    assert (gis01['flavor'], gis01['cpu_count'], gis01['memory_gib']) == ('m1.xlarge', 8, 16.0)
    assert gis01['addresses'] == ['10.30.0.21'] and gis01['zone'] == 'nova' and gis01['status'] == 'running'


def test_xlsx_export_by_sheet_name(store, tmp_path):
    from openpyxl import Workbook
    workbook = Workbook()
    workbook.active.title = '说明'
    workbook.active.append(['本表由云管平台导出'])
    sheet = workbook.create_sheet('云主机')
    sheet.append(['实例ID', '实例名称', '资源类型', '状态', 'vCPU', '内存(GiB)', '容量(GiB)', '挂载实例', '可用区',
                  '私网IP', '使用单位', '规格'])
    sheet.append([WEB01[3:], 'web01', '云主机', '运行中', 16, 32, None, None, 'cn-bj-gov-1a', '10.20.1.11',
                  '市政务服务中心', 's6.4xlarge.2'])
    sheet.append([None] * 12)   # trailing empty rows, as Excel leaves them
    path = str(tmp_path / 'ecs.xlsx')
    workbook.save(path)
    mapping = cloud.load_mapping(fixture('ecs-mapping.yml'))
    with pytest.raises(CloudError, match=r"has no sheet 'Sheet1'; sheets: 说明, 云主机"):
        cloud.read_records(path, cloud.Mapping(**dict(mapping.__dict__, sheet='Sheet1')))
    mapping.sheet = '云主机'
    _run, count = cloud.import_export(store, mapping, cloud.read_records(path, mapping), path)
    assert count == 1
    [item] = store.ledger('cloud')
    assert item['attrs']['cpu_count'] == 16 and item['attrs']['flavor'] == 's6.4xlarge.2'


def test_any_ansible_inventory_can_be_imported(store, tmp_path):
    script = tmp_path / 'openstack_inventory.py'
    shutil.copy(fixture('openstack_inventory.py'), script)
    os.chmod(script, 0o755)
    records = cloud.inventory_records(str(script))
    assert [where for where, _r in records] == ['host gis01', 'host gis03']
    mapping = cloud.load_mapping(fixture('inventory-mapping.yml'))
    cloud.import_export(store, mapping, records, str(script))
    items = dict((i['key'], i['attrs']) for i in store.ledger('cloud'))
    assert items['vm:3f6c1b7e-2a4d-4c8e-b1f0-9d8e7c6b5a43']['name'] == 'gis03'
    assert items['vm:3f6c1b7e-2a4d-4c8e-b1f0-9d8e7c6b5a41']['flavor'] == 'm1.xlarge'


def test_a_bad_inventory_is_a_clear_error(tmp_path):
    with pytest.raises(BjeicOpsError, match='no inventory at .*missing.yml'):
        cloud.inventory_records(str(tmp_path / 'missing.yml'))


def test_every_bad_row_is_named_and_nothing_is_imported(store, tmp_path):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    before = store.ledger('cloud')
    header = open(fixture('ecs-export.csv'), encoding='utf-8-sig').readline().strip()
    path = write_csv(tmp_path / 'bad.csv', [
        header,
        'i-1,a,云主机,运行中,eight,16,,,z,,,',
        ',b,云主机,运行中,4,8,,,z,,,',
        'i-3,c,路由器,运行中,4,8,,,z,,,',
        'i-4,d,云主机,运行中,4,8,,,z,,,',
        'i-4,d2,云主机,运行中,4,8,,,z,,,'])
    mapping = cloud.load_mapping(fixture('ecs-mapping.yml'))
    with pytest.raises(CloudError) as error:
        cloud.import_export(store, mapping, cloud.read_records(path, mapping), path)
    message = str(error.value)
    assert message.startswith('nothing imported; 4 problem(s) in the export:')
    assert "row 2: cpu_count 'eight' is not a number" in message
    assert "row 3: no id (column '实例ID' is empty)" in message
    assert "row 4: 资源类型 '路由器' is not in type_values" in message
    assert 'row 6: vm:i-4 is listed twice (first at row 5)' in message
    assert store.ledger('cloud') == before and len(store.list_runs()) == 1


def test_a_missing_column_lists_the_columns_there_are(store, tmp_path):
    path = write_csv(tmp_path / 'renamed.csv', ['ID,名称,资源类型', 'i-1,a,云主机'])
    mapping = cloud.load_mapping(fixture('ecs-mapping.yml'))
    with pytest.raises(CloudError, match=r"the export has no column '实例ID', '实例名称', .*; its columns are: ID, 名称, 资源类型"):
        cloud.import_export(store, mapping, cloud.read_records(path, mapping), path)


def test_an_empty_export_is_refused_rather_than_marking_everything_absent(store, tmp_path):
    header = open(fixture('ecs-export.csv'), encoding='utf-8-sig').readline().strip()
    path = write_csv(tmp_path / 'empty.csv', [header])
    mapping = cloud.load_mapping(fixture('ecs-mapping.yml'))
    with pytest.raises(CloudError, match='holds no resources; nothing imported'):
        cloud.import_export(store, mapping, cloud.read_records(path, mapping), path)
    assert store.list_runs() == []


@pytest.mark.parametrize('text, message', [
    ('source: x\nfields: {name: a}\ntype: vm\n', 'fields must map at least id'),
    ('source: x\nfields: {id: a}\n', 'give either type'),
    ('source: x\nfields: {id: a}\ntype: router\n', "type 'router' is not one of vm, disk, secgroup, backup"),
    ('source: x\nfields: {id: a}\ntype: vm\ncolumns: {}\n', r'unknown key\(s\) columns'),
    ('source: x\nfields: {id: a}\ntype: vm\nunits: {cpu_count: MiB}\n', 'units: cpu_count: MiB must be a \\*_gib'),
    ('- just a list\n', 'must be a YAML mapping'),
])
def test_mapping_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / 'mapping.yml'
    path.write_text(text)
    with pytest.raises(CloudError, match=message):
        cloud.load_mapping(str(path))


def test_unknown_file_kind_and_corrupt_files(tmp_path):
    mapping = cloud.load_mapping(fixture('ecs-mapping.yml'))
    (tmp_path / 'x.txt').write_text('a')
    with pytest.raises(CloudError, match="unknown export format '.txt'"):
        cloud.read_records(str(tmp_path / 'x.txt'), mapping)
    (tmp_path / 'x.xlsx').write_bytes(b'PK\x03\x04 not really a workbook')
    with pytest.raises(CloudError, match='is not a readable XLSX workbook'):
        cloud.read_records(str(tmp_path / 'x.xlsx'), mapping)
    (tmp_path / 'x.json').write_text('{"servers": ')
    with pytest.raises(CloudError, match='cannot read .*x.json'):
        cloud.read_records(str(tmp_path / 'x.json'), mapping)
    with pytest.raises(CloudError, match='no such export file'):
        cloud.read_records(str(tmp_path / 'gone.csv'), mapping)


def test_an_import_that_fails_half_way_never_becomes_the_ledger(store):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    before = store.ledger('cloud')
    unstorable = [{'host': 'x', 'kind': 'cloud', 'key': 'vm:x', 'attrs': {'when': object()}}]
    with pytest.raises(Exception):
        store.import_ledger('gov-cloud', 'broken.csv', unstorable)
    runs = store.list_runs()
    assert runs[0]['state'] == INCOMPLETE and runs[0]['playbook'] == 'cloud-import:gov-cloud'
    assert store.ledger('cloud') == before
    assert [r['id'] for r in store.latest_imports().values()] == [runs[1]['id']]


# ---------------------------------------------------------------- lifecycle

def test_lifecycle_rules(store):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    key, _id = cloud.record(store, 'request', 'vm:web01', 'REQ-1', 'new portal', {'cpu_count': '8'}, 'li.na')
    assert key == WEB01   # a unique name resolves to the resource's id
    with pytest.raises(CloudError, match='was already requested \\(ticket REQ-1\\); record a change instead'):
        cloud.record(store, 'request', WEB01, 'REQ-9', 'again')
    cloud.record(store, 'change', WEB01, 'CHG-2', 'more CPUs', {'cpu_count': '16'})
    with pytest.raises(CloudError, match='vm:i-nothing is unknown: no request recorded'):
        cloud.record(store, 'change', 'vm:i-nothing', 'CHG-3', 'typo')
    with pytest.raises(CloudError, match='needs --ticket and --reason'):
        cloud.record(store, 'reclaim', WEB01, ' ', 'no ticket')
    with pytest.raises(CloudError, match="must be TYPE:ID with TYPE one of"):
        cloud.record(store, 'request', 'server:web09', 'REQ-3', 'wrong type')
    cloud.record(store, 'reclaim', WEB01, 'RC-1', 'portal retired')
    with pytest.raises(CloudError, match='was reclaimed on .* \\(ticket RC-1\\); a reclaimed resource takes no more changes'):
        cloud.record(store, 'change', WEB01, 'CHG-4', 'too late')
    # A planned resource can be requested before the platform creates it.
    key, _id = cloud.record(store, 'request', 'vm:gis-new', 'REQ-5', 'GIS platform')
    assert key == 'vm:gis-new'
    estate = cloud.gather(store)
    assert cloud.lifecycle_state(WEB01, estate) == 'reclaimed'
    assert cloud.lifecycle_state('vm:gis-new', estate) == 'requested'
    assert cloud.lifecycle_state(WEB02, estate) == 'in_use'
    actions = [e['action'] for e in store.cloud_events(WEB01)]
    assert actions == ['request', 'change', 'reclaim']


def test_two_resources_with_one_name_need_the_id(store, tmp_path):
    header = open(fixture('ecs-export.csv'), encoding='utf-8-sig').readline().strip()
    path = write_csv(tmp_path / 'twins.csv', [header, 'i-1,app,云主机,运行中,2,4,,,z,,,', 'i-2,app,云主机,运行中,2,4,,,z,,,'])
    mapping = cloud.load_mapping(fixture('ecs-mapping.yml'))
    cloud.import_export(store, mapping, cloud.read_records(path, mapping), path)
    with pytest.raises(CloudError, match="2 vm resources are named 'app' \\(vm:i-1, vm:i-2\\): give the id"):
        cloud.record(store, 'change', 'vm:app', 'CHG-1', 'which one')


def test_history_shows_records_and_what_the_platform_changed(store, tmp_path):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    cloud.record(store, 'change', WEB01, 'CHG-7', '扩容', {'flavor': 's6.4xlarge.2'})
    text = open(fixture('ecs-export.csv'), encoding='utf-8-sig').read().replace('web01,云主机,运行中,8,16', 'web01,云主机,运行中,16,32')
    path = tmp_path / 'next-day.csv'
    path.write_text(text, encoding='utf-8-sig')
    import_file(store, str(path), 'ecs-mapping.yml')
    rows = cloud.history_rows(store, WEB01, 'en')
    assert [r['event'] for r in rows] == ['first_seen', 'change', 'observed_change', 'observed_change']
    assert rows[0]['detail'].startswith('platform export (Run ')
    assert sorted(r['detail'] for r in rows[2:]) == ['platform export cpu_count: 8 -> 16',
                                                     'platform export memory_gib: 16.0 -> 32.0']
    zh = cloud.localize(cloud.history_rows(store, WEB01), 'zh')
    assert [r['event'] for r in zh][:2] == ['首次发现', '变更']
    with pytest.raises(CloudError, match='nothing is known of vm:i-none'):
        cloud.history_rows(store, 'vm:i-none')


# ---------------------------------------------------------------- reconcile

def self_report(store, instance_id, host, days_ago=0):
    """A host's own report as linux_inspect returns it, stored through a complete run."""
    run_id = store.begin_run('daily_inspection.yml')
    store.write_batch({'ledger_items': [{
        'run_id': run_id, 'host': host, 'kind': 'cloud', 'key': 'self:vm:' + instance_id,
        'attrs': {'type': 'vm', 'id': instance_id, 'name': host, 'source': 'cloud-init', 'cpu_count': 8,
                  'memory_bytes': 16 * GIB, 'addresses': ['10.20.1.11']},
        'seen_at': now() - timedelta(days=days_ago)}]})
    store.finish_run(run_id, COMPLETE, 'successful', 0)


def test_reconcile_names_each_kind_of_disagreement(store):
    with pytest.raises(CloudError, match='no platform export has been imported'):
        cloud.reconcile(store)
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    for key in (WEB01, 'disk:vol-7c1d2e3f4a5b6c7d8e01', 'disk:vol-7c1d2e3f4a5b6c7d8e02', 'secgroup:sg-0a1b2c3d'):
        cloud.record(store, 'request', key, 'REQ-1', 'portal')
    cloud.record(store, 'reclaim', OLD_REPORT, 'RC-9', 'project ended')
    cloud.record(store, 'request', 'vm:gis-new', 'REQ-2', 'GIS')
    self_report(store, WEB01[3:], 'web01')
    self_report(store, 'i-rogue', 'rogue01')
    self_report(store, 'i-long-gone', 'gone01', days_ago=30)
    problems = dict(((p['key'], p['problem']), p) for p in cloud.reconcile(store, lang='en'))
    assert sorted(problems) == sorted([
        (OLD_REPORT, 'reclaimed_present'), (WEB02, 'unrecorded'), (WEB02, 'not_inspected'),
        ('vm:gis-new', 'not_in_platform'), ('vm:i-rogue', 'unknown_to_platform')])
    assert problems[(OLD_REPORT, 'reclaimed_present')]['severity'] == 'critical'
    assert problems[(WEB02, 'not_inspected')]['detail'] == 'no inspection report in 7 days (last: never)'
    assert problems[('vm:i-rogue', 'unknown_to_platform')]['detail'].startswith('host rogue01 reports itself')
    zh = cloud.localize(cloud.reconcile(store), 'zh')
    assert zh[0]['problem'] == '已回收但平台仍存在' and zh[0]['severity'] == '严重'
    assert '已回收(工单 RC-9)' in zh[0]['detail']


def test_resource_rows_join_platform_host_and_records(store):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    self_report(store, WEB01[3:], 'web01')
    cloud.record(store, 'request', WEB01, 'REQ-1', 'portal')
    rows = dict((r['key'], r) for r in cloud.resource_rows(cloud.gather(store)))
    web01 = rows[WEB01]
    assert (web01['lifecycle'], web01['platform_status'], web01['in_export']) == ('in_use', 'running', True)
    assert web01['spec'] == 's6.2xlarge.2 8vCPU 16.0GiB' and web01['last_ticket'] == 'REQ-1'
    assert web01['self_reported_at'] is not None and rows[WEB02]['self_reported_at'] is None
    assert rows['disk:vol-7c1d2e3f4a5b6c7d8e01']['spec'] == '200.0GiB'


def test_a_disk_row_shows_the_size_its_host_reports_after_an_expansion(store):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    disk = 'disk:vol-7c1d2e3f4a5b6c7d8e01'
    cloud.record(store, 'change', disk, 'CHG-7', 'grow /data', {'size_gib': 300})
    # The daily inspection yesterday: the virtio serial is the volume id cut to 20 characters; this one's is whole,
    # since the export's two volumes share their first 20.
    run_id = store.begin_run('daily_inspection.yml')
    store.write_batch({'ledger_items': [{
        'run_id': run_id, 'host': 'web01', 'kind': 'cloud', 'key': 'self:vm:' + WEB01[3:],
        'attrs': {'type': 'vm', 'id': WEB01[3:], 'name': 'web01', 'cpu_count': 8, 'memory_bytes': 16 * GIB,
                  'disks': [{'name': 'vdb', 'serial': 'vol-7c1d2e3f4a5b6c7d8e01', 'size_bytes': 200 * GIB},
                            {'name': 'vdc', 'serial': 'vol-7c1d2e3f4a5b6c7d', 'size_bytes': 50 * GIB}]},
        'seen_at': now() - timedelta(days=1)}]})
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    rows = dict((r['key'], r) for r in cloud.resource_rows(cloud.gather(store)))
    assert rows[disk]['host_size_gib'] == 200.0 and rows[disk]['spec'] == '200.0GiB'
    # linux_expand's report of the grown disk: newer, so it wins; it is evidence on the row, not a row of its own.
    run_id = store.begin_run('expand.yml')
    store.write_batch({'ledger_items': [{
        'run_id': run_id, 'host': 'web01', 'kind': 'cloud', 'key': 'self:disk:vol-7c1d2e3f4a5b6c7d8e01',
        'attrs': {'type': 'disk', 'id': 'vol-7c1d2e3f4a5b6c7d8e01', 'host': 'web01', 'device': '/dev/vdb',
                  'size_bytes': 300 * GIB, 'cloud_change': disk},
        'seen_at': now()}]})
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    rows = dict((r['key'], r) for r in cloud.resource_rows(cloud.gather(store)))
    assert rows[disk]['host_size_gib'] == 300.0 and rows[disk]['last_ticket'] == 'CHG-7'
    assert 'disk:vol-7c1d2e3f4a5b6c7d8e01' in rows and len([k for k in rows if k.startswith('disk:vol-7c1d')]) == 2
    # A cut serial that is the start of two volume ids names neither.
    assert rows['disk:vol-7c1d2e3f4a5b6c7d8e02']['host_size_gib'] is None
    assert not [p for p in cloud.reconcile(store) if 'vol-7c1d2e3f4a5b6c7d' in p['key'] and p['key'] != disk
                and p['key'] != 'disk:vol-7c1d2e3f4a5b6c7d8e02']


def test_the_newest_import_of_a_source_is_its_current_export(store, tmp_path):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    lines = open(fixture('ecs-export.csv'), encoding='utf-8-sig').read().splitlines()
    path = write_csv(tmp_path / 'without-web02.csv', [line for line in lines if 'web02' not in line])
    import_file(store, path, 'ecs-mapping.yml')
    import_file(store, fixture('openstack-servers.json'), 'openstack-mapping.yml')   # another platform
    estate = cloud.gather(store)
    assert sorted(estate.imports) == ['gov-cloud', 'openstack-gov']
    assert WEB02 not in estate.present and WEB02 in estate.platform
    assert 'vm:3f6c1b7e-2a4d-4c8e-b1f0-9d8e7c6b5a41' in estate.present and WEB01 in estate.present
    assert cloud.lifecycle_state(WEB02, estate) == 'absent'


# ---------------------------------------------------------------- right-sizing

def inspections(store, host, samples, cpus=8, memory_gib=16, days_ago_start=1):
    """One complete inspection run per sample (cpu: per-CPU load, mem: % used, disk: % used of /data)."""
    for index, (cpu, mem, disk) in enumerate(samples):
        run_id = store.begin_run('daily_inspection.yml')
        total = memory_gib * GIB
        attrs = {'hostname': host, 'cpu': {'count': cpus}, 'memory_bytes': total,
                 'filesystems': [{'mountpoint': '/', 'readonly': False}, {'mountpoint': '/data', 'readonly': False},
                                 {'mountpoint': '/iso', 'readonly': True}],
                 'state': {'load': {'5m': cpu * cpus}, 'memory_available_bytes': int(total * (100 - mem) / 100),
                           'filesystems': [{'mountpoint': '/', 'used_pct': 40.0},
                                           {'mountpoint': '/data', 'used_pct': disk},
                                           {'mountpoint': '/iso', 'used_pct': 100.0}]}}
        store.write_batch({'ledger_items': [{'run_id': run_id, 'host': host, 'kind': 'os', 'key': 'host:' + host,
                                             'attrs': attrs,
                                             'seen_at': now() - timedelta(days=days_ago_start + index, hours=1)}]})
        store.finish_run(run_id, COMPLETE, 'successful', 0)


def by_host(rows):
    return dict((r['host'], r) for r in rows)


def test_p95_is_a_value_that_was_observed():
    assert cloud.p95([5, 1, 4, 2, 3]) == 5
    assert cloud.p95(list(range(1, 101))) == 95
    assert cloud.p95([0.3]) == 0.3


def test_recommendations_from_inspection_history(store):
    busy = [(0.9, 50, 50)] * 19 + [(1.6, 50, 50)]                  # p95 load 0.9 per CPU on 8 CPUs
    inspections(store, 'busy01', busy)
    inspections(store, 'quiet01', [(0.1, 20, 40)] * 10, cpus=8, memory_gib=32)
    inspections(store, 'idle01', [(0.01, 10, 20)] * 10, cpus=2, memory_gib=4)
    inspections(store, 'full01', [(0.5, 60, 70)] * 9 + [(0.5, 60, 91.5)], cpus=4)
    inspections(store, 'new01', [(0.5, 50, 50)] * 3)
    rows = by_host(cloud.optimize(store, days=30))
    assert rows['busy01']['actions'] == ['upsize_cpu'] and rows['busy01']['suggestion'] == {'cpu_count': (8, 16)}
    assert (rows['busy01']['cpu_p95'], rows['busy01']['cpu_max'], rows['busy01']['samples']) == (0.9, 1.6, 20)
    assert rows['quiet01']['actions'] == ['downsize_cpu', 'downsize_memory']
    assert rows['quiet01']['suggestion'] == {'cpu_count': (8, 2), 'memory_gib': (32, 16)}
    assert rows['idle01']['actions'][0] == 'idle'
    assert rows['full01']['actions'] == ['expand_disk']
    assert (rows['full01']['disk_max'], rows['full01']['disk_mount']) == (91.5, '/data')   # the read-only /iso is left out
    assert rows['new01']['actions'] == ['insufficient_data']
    table = by_host(cloud.optimize_table(cloud.optimize(store, days=30), 30, 'zh'))
    assert table['busy01']['recommendation'] == '扩容CPU' and table['busy01']['suggestion'] == 'vCPU 8 → 16'
    assert '20 次巡检、20 天(统计 30 天)' in table['busy01']['evidence']
    assert '每CPU 5分钟负载 p95 0.9、最大 1.6' in table['busy01']['evidence']
    assert table['full01']['evidence'].endswith('/data 最高使用率 91.5%')
    assert table['full01']['how'] == ('ansible-playbook playbooks/expand.yml -l full01 -e '
                                      '\'{"expand_targets": [{"mount": "/data", "size": "fill"}]}\'')
    assert table['busy01']['how'] is None
    english = by_host(cloud.optimize_table(cloud.optimize(store, days=30), 30, 'en'))
    assert english['quiet01']['suggestion'] == 'vCPU 8 -> 2, memory 32 -> 16 GiB'


def test_the_window_and_the_policy_decide(store):
    inspections(store, 'web01', [(0.9, 50, 50)] * 5, days_ago_start=1)
    inspections(store, 'web01', [(0.01, 50, 50)] * 5, days_ago_start=40)   # outside a 30-day window
    assert by_host(cloud.optimize(store, days=30))['web01']['actions'] == ['insufficient_data']
    rows = by_host(cloud.optimize(store, days=30, policy=SizingPolicy(min_samples=5)))
    assert rows['web01']['samples'] == 5 and rows['web01']['actions'] == ['upsize_cpu']
    rows = by_host(cloud.optimize(store, days=60, policy=SizingPolicy(min_samples=5)))
    assert rows['web01']['samples'] == 10 and rows['web01']['cpu_p95'] == 0.9
    with pytest.raises(CloudError, match='--days must be a positive number'):
        cloud.optimize(store, days=0)


def test_idle_platform_resources_are_flagged_with_the_export_as_evidence(store):
    import_file(store, fixture('ecs-export.csv'), 'ecs-mapping.yml')
    rows = dict((r['resource'], r) for r in cloud.optimize(store, days=30))
    assert rows[OLD_REPORT]['platform_evidence'] == 'stopped'
    assert rows['disk:vol-7c1d2e3f4a5b6c7d8e02']['platform_evidence'] == 'unattached'
    assert 'disk:vol-7c1d2e3f4a5b6c7d8e01' not in rows and WEB01 not in rows


def test_check_mode_runs_do_not_count(store):
    inspections(store, 'web01', [(0.9, 50, 50)] * 7)
    items = store.observations('os', now() - timedelta(days=30), now())
    assert len(cloud.host_series(items)['host:web01']['samples']) == 7
    checked = [dict(i, check_mode=True) for i in items]
    assert cloud.host_series(checked) == {}


def test_cli_json_output_roundtrip(tmp_path, capsys):
    from bjeic_ops.cli import main
    store_url = 'sqlite:///%s' % (tmp_path / 'cli.sqlite')
    assert main(['--store', store_url, 'cloud', 'import', fixture('ecs-export.csv'),
                 '--mapping', fixture('ecs-mapping.yml')]) == 0
    assert main(['--store', store_url, 'cloud', 'reclaim', 'vm:old-report', '--ticket', 'RC-9',
                 '--reason', 'project ended']) == 0
    capsys.readouterr()
    assert main(['--store', store_url, 'cloud', 'reconcile', '--format', 'json', '--lang', 'en']) == 10
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]['key'] == OLD_REPORT and rows[0]['problem'] == 'reclaimed_present'
    assert main(['--store', store_url, 'cloud', 'reconcile', '--format', 'csv', '--out', str(tmp_path / 'r.csv')]) == 10
    assert '已回收但平台仍存在' in (tmp_path / 'r.csv').read_text(encoding='utf-8-sig')
    assert main(['--store', store_url, 'cloud', 'change', 'vm:nope', '--ticket', 'C', '--reason', 'r']) == 1
    assert 'vm:nope is unknown' in capsys.readouterr().err
