"""Capacity forecasts from real inspections: a lab host with three small file systems - /grow filled by 1.5 MiB a
day, /flat left alone, /noisy filled up and down - inspected ten times through `bjeic-ops run`, each run moved back
to its day. The forecast of /grow is checked against the slope of the real readings and the date that slope gives;
/flat and /noisy get none. The forecast reaches `bjeic-ops capacity` (and its recorded findings), the monthly report
and the right-sizing view."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from bjeic_ops import reports
from labrun import backdate, lab_hosts

DAYS = 10
NOISY_MIB = (10, 6, 13, 7, 12, 8, 11, 6, 12, 9)     # up and down: no trend
MOUNTS = ('/grow', '/flat', '/noisy')


@pytest.fixture(scope='module')
def filled(labctl, tmp_path_factory, module_cli):
    groups = [(['fc-a'], {'tmpfs': ['%s:32m' % mount for mount in MOUNTS]})]
    setup = {'fc-a': 'dd if=/dev/zero of=/flat/fill bs=1M count=8 status=none'}
    with lab_hosts(labctl, tmp_path_factory, groups, setup=setup) as inventory:
        cli = module_cli
        for day in range(DAYS):
            labctl.sh('fc-a', 'dd if=/dev/zero of=/grow/day%d bs=512K count=3 status=none && '
                              'rm -f /noisy/fill && dd if=/dev/zero of=/noisy/fill bs=1M count=%d status=none'
                      % (day, NOISY_MIB[day]))
            cli('run', 'daily_inspection.yml', '-i', inventory)
            store = cli.store()
            backdate(store, store.list_runs()[0]['id'], DAYS - day)
        yield cli, inventory


def readings(store, mount):
    """The real readings of a mount point, as (days, % used), from the store."""
    now = datetime.now(timezone.utc)
    points = []
    for item in store.observations('os', now - timedelta(days=DAYS + 2), now, prefix='host:'):
        for fs in item['attrs']['state']['filesystems']:
            if fs['mountpoint'] == mount:
                points.append((item['seen_at'].replace(tzinfo=timezone.utc), fs['used_pct']))
    first = points[0][0]
    return [((at - first).total_seconds() / 86400.0, pct) for at, pct in points], points[-1][0]


def least_squares(points):
    n = len(points)
    mean_x, mean_y = sum(x for x, _y in points) / n, sum(y for _x, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _y in points)
    return slope, mean_y + slope * (points[-1][0] - mean_x)


def test_a_steadily_filled_file_system_gets_the_date_its_real_slope_gives(filled):
    cli, _inventory = filled
    rows = json.loads(cli('capacity', '--all', '--format', 'json', '--lang', 'en').stdout)
    by_object = dict((r['capacity_object'], r) for r in rows if r['host'] == 'fc-a')
    # /flat and /noisy give no forecast. The host's / is the machine's own disk, which other work may be filling
    # at the time: only the file systems this test fills are judged.
    assert set(by_object) & set(MOUNTS) == {'/grow'}, rows
    grow = by_object['/grow']
    points, last = readings(cli.store(), '/grow')
    assert len(points) == DAYS and grow['readings'] == DAYS
    slope, now_pct = least_squares(points)
    assert slope == pytest.approx(1.5 / 32 * 100, rel=0.1)    # 1.5 MiB a day of a 32 MiB file system
    assert grow['growth_pct_per_day'] == pytest.approx(slope, rel=0.05)
    for column, threshold in (('reaches_warning', 80), ('reaches_critical', 90)):
        expected = last + timedelta(days=(threshold - now_pct) / slope)
        got = datetime.strptime(grow[column], '%Y-%m-%d').replace(tzinfo=timezone.utc)
        assert abs((got - expected.replace(hour=0, minute=0, second=0, microsecond=0)).days) <= 1, (column, got, expected)


def test_the_forecast_is_recorded_and_reaches_the_reports(filled):
    cli, _inventory = filled
    done = cli('capacity', '--record')
    assert 'capacity.forecast finding(s) recorded' in done.stdout
    store = cli.store()
    analysis = store.list_runs(1)[0]
    assert analysis['playbook'] == 'analysis:capacity' and analysis['state'] == 'complete'
    [found] = [f for f in store.findings(analysis['id']) if f['subject'].endswith('/grow')]
    assert found['check_id'] == 'capacity.forecast' and found['severity'] in ('warning', 'critical')
    assert found['host'] == 'fc-a' and found['value']['readings'] == DAYS
    assert store.latest_complete_run() != analysis['id']      # `findings` still shows the inspection
    month = reports.monthly(store, datetime.now().astimezone().strftime('%Y-%m'))
    capacity = next(s for s in month.sections if s.ident == 'capacity')
    assert [r['capacity_object'] for r in capacity.rows if r['host'] == 'fc-a' and r['capacity_object'] in MOUNTS] \
        == ['/grow']
    sized = json.loads(cli('cloud', 'optimize', '--days', '30', '--format', 'json', '--lang', 'en').stdout)
    [host] = [r for r in sized if r['host'] == 'fc-a']
    forecasts = [r for r in json.loads(cli('capacity', '--format', 'json').stdout) if r['host'] == 'fc-a']
    assert host['disk_full_on'] == min(r['reaches_critical'] for r in forecasts)   # the first file system to fill
    assert 'expand disk' in host['recommendation'] and '/grow' in host['evidence'] and '/grow' in host['how']
