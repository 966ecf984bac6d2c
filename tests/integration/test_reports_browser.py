"""Monthly and fault reports from a store holding a month of operations, checked as rendered pages in Chromium.

The store is real (SQLite through the wrapper's own writers); the rows are what the modules return."""
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from bjeic_ops import incidents, render, reports
from bjeic_ops.store import COMPLETE, Store, runs
from browser import chromium

UTC = timezone.utc
DAY = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)       # 10:00 Beijing time; tests run with TZ=UTC or local


def add_run(store, playbook, at, rows):
    run_id = store.begin_run(playbook)
    for table, items in rows.items():
        for row in items:
            row.update(run_id=run_id)
            row.setdefault('seen_at' if table == 'ledger_items' else 'at', at)
    store.write_batch(rows)
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(started_at=at, finished_at=at + timedelta(minutes=2)))
    return run_id


def result(host, module='bjeic.ops.linux_inspect', status='ok'):
    return {'host': host, 'task': 'Inspect the host in one call', 'module': module, 'status': status, 'changed': False}


def probe(instance, host, at, up, error_class=None):
    return {'instance': instance, 'host': host, 'engine': 'oracle', 'target': '%s:1521' % host, 'at': at, 'up': up,
            'latency_ms': 20, 'error_class': None if up else error_class, 'error': None if up else 'ORA-12170',
            'version': '19.0.0.0.0'}


def finding(host, check, severity, subject='/'):
    return {'host': host, 'check_id': check, 'severity': severity, 'subject': subject, 'message': '%s on %s' % (check, host)}


@pytest.fixture(scope='module')
def month(tmp_path_factory):
    path = tmp_path_factory.mktemp('month')
    store = Store('sqlite:///%s' % (path / 'store.sqlite'))
    for day in range(5):      # five daily inspections, findings growing: 1, 2, 3, 4, 5 warnings; one critical on day 4
        at = DAY + timedelta(days=day)
        found = [finding('web01', 'fs.usage', 'warning', '/data%d' % i) for i in range(day + 1)]
        if day == 3:
            found.append(finding('db01', 'svc.down', 'critical', 'oracle'))
        add_run(store, 'playbooks/daily_inspection.yml', at, {
            'host_results': [result('web01'), result('db01')], 'findings': found})
    controls = {'web01': {'a': 'pass', 'b': 'pass', 'c': 'fail', 'd': 'skipped'}, 'db01': {'a': 'pass', 'b': 'pass'}}
    add_run(store, 'playbooks/harden.yml', DAY, {'ledger_items': [
        {'host': h, 'kind': 'os', 'key': 'baseline:mlps3@' + h, 'attrs': {'controls': c}} for h, c in controls.items()]})
    add_run(store, 'playbooks/patch.yml', DAY, {'ledger_items': [
        {'host': 'web01', 'kind': 'os', 'key': 'patch@web01', 'attrs': {
            'backend': 'apt', 'last_transaction': 'tx-7', 'state': {'pending': 3, 'pending_security': 1,
                                                                     'unfinished_transactions': 0}}}]})
    for day, ok in enumerate((True, True, False, True)):
        add_run(store, 'playbooks/backup_verify.yml', DAY + timedelta(days=day), {'ledger_items': [
            {'host': 'db01', 'kind': 'backup', 'key': 'dbbackup:orders@db01',
             'attrs': {'state': {'restore': {'ok': ok}}}}]})
    # Probes every 5 minutes of the month: orcl down 40 minutes (99.91 %, on target), hr down 3 hours (not), shop
    # probed only for its first 10 days (the rest unmeasured: the record cannot tell).
    since, until = reports.month_window('2026-10')
    probes = []
    for n in range(int((until - since).total_seconds() // 300)):
        at = since + timedelta(minutes=5 * n)
        probes.append(probe('orcl', 'db01', at, not 600 <= n < 608, 'timeout'))
        probes.append(probe('hr', 'db01', at, not 1000 <= n < 1036, 'auth'))
        if at < since + timedelta(days=10):
            probes.append(probe('shop', 'db02', at, True))
    add_run(store, 'playbooks/db_probe.yml', DAY, {'probes': probes})
    add_run(store, 'playbooks/harden.yml', DAY + timedelta(days=1), {'changes': [
        {'host': 'web01', 'task': 'Enforce', 'module': 'bjeic.ops.linux_harden', 'object': '/etc/ssh/sshd_config',
         'action': 'edit', 'rollback': {'id': 'bk-1'}}]})
    opened = DAY + timedelta(days=2)
    met = store.open_incident(3, 'web01', 'nginx 502', 'li.na', at=opened)
    incidents.acknowledge(store, met, 'first', 'wang.fang', at=opened + timedelta(minutes=3))
    incidents.resolve(store, met, 'wang.fang', 'restarted php-fpm', at=opened + timedelta(hours=1))
    late = store.open_incident(1, 'db01', 'orders database down', 'li.na', at=opened + timedelta(hours=2))
    incidents.acknowledge(store, late, 'first', 'wang.fang', at=opened + timedelta(hours=2, minutes=4))
    incidents.escalate(store, late, 'wang.fang', 'needs the DBA', at=opened + timedelta(hours=2, minutes=10))
    return store, path, met, late


def test_monthly_report_renders_its_figures_and_charts(month):
    store, path, _met, late = month
    groups_inventory = path / 'hosts.ini'
    groups_inventory.write_text('[web]\nweb01\n[database]\ndb01\n')
    report = reports.monthly(store, '2026-10', str(groups_inventory))
    render.write_html(path / 'monthly-zh.html', report, 'zh')
    render.write_html(path / 'monthly-en.html', report, 'en')
    render.write_xlsx(path / 'monthly.xlsx', report, 'zh')
    with chromium() as page:
        page.open(path / 'monthly-zh.html', screenshot='monthly-report-zh')
        assert page.layout_problems() == []
        assert page.kpi('inspections_run')['text'] == '5'
        assert page.kpi('findings_total')['text'] == '16'
        assert page.kpi('backup_success_rate')['text'] == '75'
        assert page.kpi('hardening_compliance')['text'] == '80'          # 4 of 5 checked controls pass
        assert page.kpi('sla_compliance')['tone'] == 'kpi tone-bad'      # the level-1 incident is overdue
        assert page.kpi('sla_compliance')['colour'] == 'rgb(192, 57, 43)'
        # The trend chart: one bar per (day, severity) with findings, stacked heights in proportion.
        bars = page.js('''return Array.from(document.querySelectorAll('#sec-findings-trend svg rect.bar')).map(
            r => ({cls: r.getAttribute('class'), h: r.getBoundingClientRect().height, w: r.getBoundingClientRect().width}))''')
        assert len(bars) == 6 and sum(1 for b in bars if b['cls'] == 'bar bar-critical') == 1
        warnings = [b['h'] for b in bars if b['cls'] == 'bar bar-warning']
        assert warnings == sorted(warnings) and warnings[4] == pytest.approx(5 * warnings[0], rel=0.02)
        assert all(b['w'] > 5 for b in bars)
        svg = page.js("return document.querySelector('#sec-findings-trend svg').getBoundingClientRect()")
        assert svg['width'] > 800 and svg['height'] > 150
        hardening = page.rows('hardening')
        assert [r['cells'][:5] for r in hardening] == [['database', '1', '2', '2', '100'], ['web', '1', '3', '2', '66.67']]
        availability = dict((r['cells'][0], r) for r in page.rows('availability'))
        # instance, host, engine, probes, failed, down, unmeasured, availability, mean and max latency, meets
        assert availability['orcl']['cells'][3:8] == ['8928', '8', '40', '0', '99.91']
        assert availability['orcl']['cells'][-1] == '是' and availability['orcl']['tone'] == ''
        assert availability['hr']['cells'][4:8] == ['36', '180', '0', '99.6']
        assert availability['hr']['cells'][-1] == '否' and availability['hr']['tone'] == 'tone-bad'
        assert availability['shop']['cells'][5:8] == ['0', '30230', '100']
        assert availability['shop']['cells'][-1] == '无法判定' and availability['shop']['tone'] == 'tone-warn'
        outages = [r['cells'] for r in page.rows('outages')]
        assert [(o[0], o[4], o[5]) for o in outages] == [('orcl', '40', 'timeout'), ('hr', '180', 'auth')]
        incident_rows = dict((r['cells'][0], r) for r in page.rows('incidents'))
        assert incident_rows[str(late)]['cells'][-1] == '已超时'
        assert incident_rows[str(late)]['background'] == 'rgb(251, 227, 224)'
        assert page.rows('patch')[0]['cells'][:5] == ['web01', 'apt', '3', '1', '0']
        assert page.texts('#sec-drills .empty') == ['无。']
        page.open(path / 'monthly-en.html', screenshot='monthly-report-en')
        assert page.texts('h1') == ['Monthly operations report'] and page.layout_problems() == []
    book = load_workbook(path / 'monthly.xlsx')
    trend = book['问题趋势(按日、按级别)']
    assert [c.value for c in trend[1]] == ['日期', '严重', '警告', '提示'] and len(trend._charts) == 1
    assert book['概要']['A1'].value == '运维服务月报'


def test_fault_report_has_the_timeline_clocks_and_related_records(month):
    store, path, met, late = month
    render.write_html(path / 'fault.html', reports.fault(store, late), 'zh')
    with chromium() as page:
        page.open(path / 'fault.html', screenshot='fault-report-zh')
        assert page.layout_problems() == []
        clocks = dict((r['cells'][0], r) for r in page.rows('clocks'))
        assert clocks['一线响应(5分钟)']['cells'][-1] == '达标'
        assert clocks['二线响应(30分钟)']['cells'][-1] == '已超时'   # escalated, nobody from the second line yet
        assert clocks['解决时限(按级别2/4/8/16小时)']['tone'] == 'tone-bad'
        assert [r['cells'][1] for r in page.rows('timeline')] == ['待响应', '响应', '升级']
        # Related: the critical finding on db01 the day before; web01's change is another host's.
        assert [r['cells'][2] for r in page.rows('linked-findings')] == ['svc.down']
        assert page.rows('linked-changes') == []
    with pytest.raises(Exception, match='no incident 99'):
        reports.fault(store, 99)
