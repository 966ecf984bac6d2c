"""The acceptance report on a store filled by real runs (daily inspections of this machine, database ledgers and
availability probes of the tests' MariaDB - up, and with a wrong password -, a recorded file change with and without a
ticket, a monthly report written) moved back to their days, and incidents recorded with --at in the past. Availability
is time, so the two real probes are laid every 5 minutes over each period (October all up; September with a 50-minute
outage of the wrong-password probe). Two periods: October, where
each of these obligations is met, and September, where each is not; the verdicts and their evidence ids are
asserted. Then the operation report of an incident, and the delivery set with its manifest and ISO image."""
import json
import os
import shutil
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, select, update

from bjeic_ops import acceptance
from bjeic_ops.store import changes, epoch, findings, host_results, ledger_items, probes, runs
from mariadb_server import serve

PASSWORD = 'Acc#ept;pw'
OCT1 = datetime(2026, 10, 1, 3, 0, tzinfo=timezone.utc)
SEP1 = datetime(2026, 9, 1, 3, 0, tzinfo=timezone.utc)


@pytest.fixture(scope='module')
def mariadb():
    for server in serve("""
            CREATE DATABASE shop;
            CREATE USER bjeic_monitor@'127.0.0.1' IDENTIFIED BY '%s';
            GRANT SELECT, PROCESS, BINLOG MONITOR ON *.* TO bjeic_monitor@'127.0.0.1';
        """ % PASSWORD):
        yield server


def inventory(path, port, password):
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    path.write_text(json.dumps({'all': {'children': {
        'linux': {'hosts': {'ctl': local}},
        'databases': {'hosts': {'dbhost': dict(local, db_ledger_instances=[
            {'engine': 'mysql', 'name': 'shop', 'login_host': '127.0.0.1', 'login_port': port,
             'login_user': 'bjeic_monitor', 'login_password': password}])}}}}}))
    return path


def move_run(store, run_id, when):
    """A real run, dated back to `when` (as the cloud test does): the run and every row it wrote."""
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(started_at=when, finished_at=when + timedelta(minutes=1)))
        for table, column in ((host_results, 'at'), (findings, 'at'), (ledger_items, 'seen_at'), (changes, 'at')):
            conn.execute(update(table).where(table.c.run_id == run_id).values({column: when + timedelta(seconds=30)}))
        conn.execute(update(probes).where(probes.c.run_id == run_id).values(t=epoch(when + timedelta(seconds=30))))


def real_probe(store, run_id):
    with store.engine.begin() as conn:
        row = dict(conn.execute(select(probes).where(probes.c.run_id == run_id)).mappings().one())
    row.pop('id')
    return row


def lay_probes(store, good, bad, since, until, down=()):
    """The real probe `good` (or `bad` where the time is in [down[0], down[1])) every 5 minutes over [since, until): a
    period's worth of probing from two real probes."""
    rows, at = [], since
    while at < until:
        rows.append(dict(bad if down and down[0] <= at < down[1] else good, t=epoch(at)))
        at += timedelta(minutes=5)
    with store.engine.begin() as conn:
        conn.execute(insert(probes), rows)


def last_run(store):
    return store.list_runs(1)[0]['id']


def row(report, obligation, requirement_has=''):
    table = next(s for s in report.sections if s.ident == 'obligations')
    found = [r for r in table.rows if r['obligation'] == obligation and requirement_has in r['requirement'].text('en')]
    assert len(found) == 1, (obligation, table.rows)
    return found[0]


@pytest.fixture(scope='module')
def filled(mariadb, module_cli, tmp_path_factory):
    base = tmp_path_factory.mktemp('acceptance')
    cli = module_cli
    good = inventory(base / 'good.json', mariadb.port, PASSWORD)
    wrong = inventory(base / 'wrong.json', mariadb.port, 'not-the-password')
    playbook = base / 'change.yml'
    playbook.write_text('- hosts: linux\n  gather_facts: false\n  tasks:\n    - name: Write a setting\n'
                        '      ansible.builtin.copy: {dest: "{{ setting_file }}", content: "{{ setting }}\\n", mode: "0644"}\n')
    store = cli.store()

    def run(when, *args):
        cli('run', *args)
        move_run(store, last_run(store), when)
        return last_run(store)
    made = {'daily': [run(OCT1 + timedelta(days=d), 'daily_inspection.yml', '-i', good) for d in (0, 1)]}
    made['daily_sep'] = run(SEP1, 'daily_inspection.yml', '-i', good)
    made['db_up'] = run(OCT1 + timedelta(hours=1), 'db_ledger.yml', '-i', good)
    made['db_up_sep'] = run(SEP1 + timedelta(hours=1), 'db_ledger.yml', '-i', good)
    done = cli('run', 'db_ledger.yml', '-i', wrong)       # down: a critical db.unreachable finding
    assert '1 critical' in done.stdout
    move_run(store, last_run(store), SEP1 + timedelta(days=1, hours=1))
    made['db_down'] = last_run(store)
    made['probe_up'] = run(OCT1 - timedelta(days=2), 'db_probe.yml', '-i', good)
    done = cli('run', 'db_probe.yml', '-i', wrong)
    assert '1 critical' in done.stdout
    move_run(store, last_run(store), OCT1 - timedelta(days=2))
    made['probe_down'] = last_run(store)
    [down] = store.failed_probes(OCT1 - timedelta(days=3), OCT1 - timedelta(days=1), 900)
    assert (down['instance'], down['host'], down['error_class']) == ('shop', 'dbhost', 'auth')
    up, down = real_probe(store, made['probe_up']), real_probe(store, made['probe_down'])
    lay_probes(store, up, down, datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 10, 3, tzinfo=timezone.utc))
    lay_probes(store, up, down, datetime(2026, 9, 1, tzinfo=timezone.utc),
               datetime(2026, 9, 3, tzinfo=timezone.utc), down=(datetime(2026, 9, 2, 10, tzinfo=timezone.utc),
                                                                datetime(2026, 9, 2, 10, 50, tzinfo=timezone.utc)))
    target = base / 'app.conf'
    made['change_oct'] = run(OCT1 + timedelta(hours=2), str(playbook), '-i', good, '--ticket', 'CHG-2026-101',
                             '-e', 'setting_file=%s' % target, '-e', 'setting=a')
    made['change_sep'] = run(SEP1 + timedelta(hours=2), str(playbook), '-i', good,
                             '-e', 'setting_file=%s' % target, '-e', 'setting=b')
    # Incidents with --at in the past: October's level 2 in time, September's level 1 answered late.
    cli('incident', 'open', '--level', '2', '--host', 'ctl', '--summary', '磁盘写满', '--at', '2026-10-01T10:00+00:00')
    cli('incident', 'ack', '1', '--at', '2026-10-01T10:03+00:00')
    cli('incident', 'resolve', '1', '--resolution', '清理日志', '--at', '2026-10-01T12:00+00:00')
    cli('incident', 'open', '--level', '1', '--host', 'dbhost', '--summary', '数据库不可用', '--at', '2026-09-02T04:00+00:00')
    cli('incident', 'ack', '2', '--at', '2026-09-02T04:20+00:00')
    cli('incident', 'resolve', '2', '--resolution', '修正口令', '--at', '2026-09-02T05:00+00:00')
    cli('report', 'monthly', '--month', '2026-10', '--out', base / 'monthly-2026-10.html')
    return cli, store, good, made, base


def test_each_obligation_met_in_october_with_its_evidence(filled):
    _cli, store, good, made, _base = filled
    since, until = acceptance.period('2026-10-01T00:00+00:00', '2026-10-02T23:59:59+00:00')
    report = acceptance.acceptance(store, since, until, inventory=str(good))
    days = row(report, 'ob_inspection_days')
    assert days['verdict'] == 'met' and days['observed'].text('en') == '2 of 2 days'
    assert all('run#%d' % n in days['evidence'] for n in made['daily'])
    hosts = row(report, 'ob_inspection_hosts')
    assert hosts['verdict'] == 'not_met' and 'dbhost' in hosts['observed'].text('en')   # dbhost is never inspected
    db = row(report, 'ob_db_availability', 'shop@dbhost')
    assert db['verdict'] == 'met' and 'run#%d' % made['probe_up'] in db['evidence']
    assert db['observed'].text('en').startswith('100 % (down 0 min, unmeasured 0 min')
    tickets = row(report, 'ob_change_tickets')
    [change] = store.changes(run_id=made['change_oct'])
    assert tickets['verdict'] == 'met' and 'change#%d' % change['id'] in tickets['evidence']
    level2 = row(report, 'ob_incidents', 'level 2')
    assert level2['verdict'] == 'met' and level2['evidence'] == 'incident#1'
    assert row(report, 'ob_incidents', 'level 1')['verdict'] == 'no_occasion'
    monthly = row(report, 'ob_monthly_report')
    [document] = store.documents('monthly')
    assert monthly['verdict'] == 'met' and monthly['evidence'].startswith('document#%d' % document['id'])
    assert document['sha256'] in [d['sha256'] for d in store.documents()]
    # What the store cannot show is said so, never "met": no baseline, no patch, no backup in October.
    for obligation in ('ob_hardening', 'ob_patches', 'ob_backups'):
        assert row(report, obligation)['verdict'] == 'not_measurable', obligation
    assert row(report, 'ob_watches')['verdict'] == 'not_met' and row(report, 'ob_drills')['verdict'] == 'not_met'


def test_each_obligation_not_met_in_september_and_a_stage_report_says_not_yet(filled):
    _cli, store, good, made, _base = filled
    since, until = acceptance.period('2026-09-01T00:00+00:00', '2026-09-02T23:59:59+00:00')
    report = acceptance.acceptance(store, since, until, inventory=str(good))
    days = row(report, 'ob_inspection_days')
    assert days['verdict'] == 'not_met' and '1 of 2 days' in days['observed'].text('en')
    assert '2026-09-02' in days['observed'].text('en') and 'run#%d' % made['daily_sep'] in days['evidence']
    db = row(report, 'ob_db_availability', 'shop@dbhost')
    # 50 minutes of the laid wrong-password probe, and 4.5 of the real ledger read with it moved to 04:00:30
    assert db['verdict'] == 'not_met' and 'down 54.5 min, unmeasured 0 min' in db['observed'].text('en')
    tickets = row(report, 'ob_change_tickets')
    [change] = store.changes(run_id=made['change_sep'])
    assert tickets['verdict'] == 'not_met' and tickets['evidence'] == 'without ticket: change#%d' % change['id']
    untracked = next(s for s in report.sections if s.ident == 'untracked-changes')
    assert [r['id'] for r in untracked.rows] == [change['id']]
    level1 = row(report, 'ob_incidents', 'level 1')
    assert level1['verdict'] == 'not_met' and level1['evidence'] == 'incident#2'
    assert row(report, 'ob_monthly_report')['verdict'] == 'not_met'           # no September report was written
    assert row(report, 'ob_watches')['verdict'] == 'not_met'
    stage = acceptance.acceptance(store, since, until, stage=True, inventory=str(good))
    assert row(stage, 'ob_watches')['verdict'] == 'not_yet'                   # the year is not over
    assert row(stage, 'ob_change_tickets')['verdict'] == 'not_met'            # a change without ticket stays one


def test_the_operation_report_of_an_incident_lists_what_was_sent_with_secrets_masked(filled):
    cli, store, _good, made, base = filled
    out = base / 'ops.html'
    cli('report', 'operations', '--run', made['db_down'], '--out', out)
    text = out.read_text()
    assert 'bjeic.ops.db_ledger' in text and 'dbhost' in text
    assert 'not-the-password' not in text and PASSWORD not in text
    args = [r['args'] for r in store.operations([made['db_down']]) if r['module'] == 'bjeic.ops.db_ledger']
    [sent] = args[0]['instances']                          # one call on the controller for every instance: one here
    assert sent['login_port'] and sent['login_password'] in ('********', 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER')
    out = base / 'ops-incident.html'
    cli('report', 'operations', '--incident', '2', '--out', out)     # dbhost, 2026-09-02 04:00-05:00 UTC
    assert '#%d' % made['db_down'] in out.read_text()


def test_the_delivery_set_with_manifest_and_iso(filled):
    if not (shutil.which('xorriso') and shutil.which('pdftotext') and os.path.exists('/usr/bin/chromedriver')):
        pytest.skip('needs xorriso, chromium-driver and poppler-utils (scripts/bootstrap --test installs them)')
    cli, store, good, _made, base = filled
    out, iso = base / 'delivery', base / 'delivery.iso'
    done = cli('deliver', '--from', '2026-09-01', '--to', '2026-10-31', '--out', out, '--iso', iso, '-i', good)
    assert 'SHA256SUMS verifies them' in done.stdout
    subprocess.run(['sha256sum', '--quiet', '-c', 'SHA256SUMS'], cwd=out, check=True)
    names = set(os.path.relpath(os.path.join(d, f), out) for d, _s, files in os.walk(out) for f in files)
    for expected in ('交付文档目录.html', '交付文档目录.pdf', '02 运维服务月报/运维服务月报 2026-09.pdf',
                     '02 运维服务月报/运维服务月报 2026-10.pdf', '03 故障报告与操作记录/故障报告单 #2 dbhost.pdf',
                     '03 故障报告与操作记录/远程操作记录 #2 dbhost.pdf', '07 台账/台账 %s.xlsx' % date.today().isoformat()):
        assert expected in names, sorted(names)
    # The change and backup records come a month each (a year of them in one document was 115 MB of HTML).
    for record in ('变更记录单', '数据备份记录'):
        assert sorted(os.path.basename(n) for n in names if os.path.basename(n).startswith(record)) == [
            '%s 2026-09.pdf' % record, '%s 2026-10.pdf' % record], sorted(names)
    index = ''.join(subprocess.run(['pdftotext', str(out / '交付文档目录.pdf'), '-'], capture_output=True, text=True,
                                   check=True).stdout.split())
    assert '交付文档目录' in index and '故障报告单' in index and '远程操作记录' in index and 'SHA256SUMS' in index
    listing = subprocess.run(['xorriso', '-indev', str(iso), '-find', '/', '-type', 'f'], capture_output=True,
                             text=True, check=True).stdout
    for name in names:
        assert "'/%s'" % name in listing, (name, listing)
    again = cli('deliver', '--from', '2026-09-01', '--to', '2026-10-31', '--out', out, check=False)
    assert again.returncode == 1 and 'already exists and is not empty' in again.stderr
    # The monthly reports the set carries are on the record now: September is met.
    since, until = acceptance.period('2026-09-01', '2026-09-30')
    assert row(acceptance.acceptance(store, since, until), 'ob_monthly_report')['verdict'] == 'met'
