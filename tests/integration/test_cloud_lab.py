"""The cloud resource ledger end to end: real inspections of lab hosts that carry cloud-init data, run through
`bjeic-ops run` into the store over several simulated days (the test rewrites the runs' timestamps in the store,
not the code), then real platform export files imported, reconciled and right-sized through the CLI."""
import json
import os
from datetime import timedelta

import pytest

from labrun import backdate, lab_hosts

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures', 'cloud')
WEB01_ID = '0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a01'     # web01 in ecs-export.csv
ROGUE_ID = 'i-2ze0rogue0000001'                      # in no export
INSTANCE_DATA = {
    'v1': {'cloud_name': 'openstack', 'platform': 'openstack', 'instance_id': WEB01_ID, 'local_hostname': 'cloud-a',
           'region': 'RegionOne', 'availability_zone': 'cn-bj-gov-1a', 'machine': 'x86_64',
           'public_ssh_keys': ['ssh-ed25519 AAAAC3Nza-not-for-the-ledger ops@jump']},
    'ds': {'meta_data': {'instance-type': 's6.2xlarge.2'}},
}
# cloud-a: cloud-init's instance data, and a 16 MiB /data filled to about 90 %.
SETUP_A = '''set -e
mkdir -p /run/cloud-init && cat > /run/cloud-init/instance-data.json <<'JSON'
%s
JSON
dd if=/dev/zero of=/data/fill bs=1M count=14 status=none
''' % json.dumps(INSTANCE_DATA)
# cloud-b: only the instance-id file cloud-init leaves, with an id the platform does not list.
SETUP_B = 'mkdir -p /var/lib/cloud/data && echo %s > /var/lib/cloud/data/instance-id' % ROGUE_ID
DAYS_AGO = (40, 3, 2, 1)   # one run outside the 30-day window, three inside


@pytest.fixture(scope='module')
def cloud_inventory(labctl, tmp_path_factory):
    groups = [(['cloud-a'], {'tmpfs': ['/data:16m']}), (['cloud-b'], {})]
    with lab_hosts(labctl, tmp_path_factory, groups, setup={'cloud-a': SETUP_A, 'cloud-b': SETUP_B}) as inventory:
        yield inventory


def test_hosts_report_themselves_and_the_ledger_reconciles_and_right_sizes(cli, cloud_inventory, tmp_path):
    for days in DAYS_AGO:
        cli('run', 'daily_inspection.yml', '-i', cloud_inventory)
        store = cli.store()
        backdate(store, store.list_runs()[0]['id'], days)

    # What the hosts said about themselves.
    items = dict((i['key'], i) for i in store.ledger('cloud'))
    assert sorted(items) == sorted(['self:vm:' + ROGUE_ID, 'self:vm:' + WEB01_ID])
    web01 = items['self:vm:' + WEB01_ID]['attrs']
    assert (web01['name'], web01['source'], web01['platform'], web01['region']) == ('cloud-a', 'cloud-init', 'openstack', 'RegionOne')
    assert web01['instance_type'] == 's6.2xlarge.2' and web01['cpu_count'] >= 1 and web01['memory_bytes'] > 0
    assert web01['addresses'] and all(not a.startswith('127.') for a in web01['addresses'])
    assert 'public_ssh_keys' not in json.dumps(web01)
    assert items['self:vm:' + ROGUE_ID]['attrs']['source'] == 'cloud-init instance-id'

    # The platform's export, then the records of what was asked for.
    cli('cloud', 'import', os.path.join(FIXTURES, 'ecs-export.csv'), '--mapping', os.path.join(FIXTURES, 'ecs-mapping.yml'))
    cli('cloud', 'request', 'vm:web01', '--ticket', 'REQ-2026-031', '--reason', '政务门户上线', '--set', 'cpu_count=8')
    cli('cloud', 'reclaim', 'vm:old-report', '--ticket', 'RC-2026-007', '--reason', '项目结束')
    done = cli('cloud', 'reconcile', '--format', 'json', '--lang', 'en', check=False)
    assert done.returncode == 10   # a reclaimed resource still on the platform is critical
    problems = set((p['key'], p['problem']) for p in json.loads(done.stdout))
    assert ('vm:' + WEB01_ID, 'not_inspected') not in problems          # cloud-a is inspected
    assert ('vm:0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a02', 'not_inspected') in problems
    assert ('vm:' + ROGUE_ID, 'unknown_to_platform') in problems
    assert ('vm:0b5e3c1a-7d2f-4e6b-9a11-2c3d4e5f6a03', 'reclaimed_present') in problems

    # The resource list joins all three; the history shows both sources and the record.
    listed = json.loads(cli('cloud', 'list', '--format', 'json', '--lang', 'en').stdout)
    row = next(r for r in listed if r['key'] == 'vm:' + WEB01_ID)
    assert (row['lifecycle'], row['in_export'], row['last_ticket']) == ('in_use', True, 'REQ-2026-031')
    assert row['self_reported_at']
    history = json.loads(cli('cloud', 'history', 'vm:web01', '--format', 'json', '--lang', 'en').stdout)
    assert [h['event'] for h in history] == ['first_seen', 'first_seen', 'request']
    assert history[0]['detail'].startswith('host report')       # 40 days ago, by the host itself
    assert history[1]['detail'].startswith('platform export')   # today, by the import
    assert history[2]['ticket'] == 'REQ-2026-031'

    # Right-sizing over the last 30 days: three inspections count, the one 40 days ago does not.
    out = tmp_path / 'optimize.xlsx'
    cli('cloud', 'optimize', '--days', '30', '--min-samples', '3', '--format', 'xlsx', '--out', out)
    from openpyxl import load_workbook
    sheet = load_workbook(out)['资源配置优化建议']
    header = [c.value for c in sheet[1]]
    rows = dict((r[header.index('主机')], dict(zip(header, r))) for r in sheet.iter_rows(min_row=2, values_only=True))
    a = rows['cloud-a']
    assert a['采样次数'] == 3 and a['云资源'] == 'vm:%s' % WEB01_ID
    assert '扩容磁盘' in a['优化建议'] and '/data 最高使用率' in a['依据']
    assert a['磁盘最高使用率(%)'] >= 85
    # The figures are the store's own observations, recomputed here.
    from bjeic_ops.cloud import p95
    from bjeic_ops.store import now
    seen = [i for i in store.observations('os', now() - timedelta(days=30), now()) if i['host'] == 'cloud-a']
    assert len(seen) == 3
    loads = [round(i['attrs']['state']['load']['5m'] / i['attrs']['cpu']['count'], 3) for i in seen]
    assert a['每CPU负载p95'] == p95(loads)
    # Idle resources come from the export: the stopped VM and the unattached disk.
    assert '闲置' in rows['old-report']['优化建议'] and '闲置' in rows['spare-disk']['优化建议']

    # The cloud ledger itself, as the team hands it over.
    csv_out = tmp_path / 'cloud.csv'
    cli('ledger', 'cloud', '--format', 'csv', '--out', csv_out)
    text = csv_out.read_text(encoding='utf-8-sig')
    assert text.splitlines()[0].startswith('配置项标识,主机,资源类型,资源ID,资源名称,来源')
    assert 'self:vm:%s' % WEB01_ID in text and 'disk:vol-7c1d2e3f4a5b6c7d8e01' in text


def test_a_host_without_cloud_identity_says_so(cli, labctl, tmp_path_factory):
    with lab_hosts(labctl, tmp_path_factory, [(['cloud-none'], {})]) as inventory:
        cli('run', 'daily_inspection.yml', '-i', inventory)
        store = cli.store()
        [unavailable] = [f for f in store.findings() if f['check_id'] == 'cloud.unavailable']
        assert unavailable['severity'] == 'info'
        assert 'no cloud instance identity' in unavailable['message'] and 'cloud_identity=false' in unavailable['message']
        assert store.ledger('cloud') == []
        cli('run', 'daily_inspection.yml', '-i', inventory, '-e', 'inspect_cloud_identity=false')
        assert [f for f in store.findings() if f['check_id'] == 'cloud.unavailable'] == []

