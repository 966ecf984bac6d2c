"""Special-period duty and the daily report end to end on a real lab host: bjeic-ops duty start, hourly
special_duty.yml runs with a real intrusion in between, duty stop, the record rendered in Chromium."""
import json
import stat

import pytest

from browser import chromium
from labrun import lab_hosts

HOST = 'pytest-duty'
# What an intruder leaves: an account, a listener, a setuid copy of a shell tool, a firewall hole.
INTRUSION = '''set -e
useradd -m -s /bin/bash intruder
cp /usr/bin/env /usr/local/bin/env-suid && chmod 4755 /usr/local/bin/env-suid
nohup python3 -m http.server 4444 >/dev/null 2>&1 &
nft add table inet backdoor && nft add chain inet backdoor input '{ type filter hook input priority 0; }' \
  && nft add rule inet backdoor input tcp dport 4444 accept
sleep 1
'''


@pytest.fixture(scope='module')
def duty_inventory(labctl, tmp_path_factory):
    with lab_hosts(labctl, tmp_path_factory, [([HOST], {'systemd': True})]) as inventory:
        yield inventory


def findings_of(store, run_id, prefix='sec.'):
    return [f for f in store.findings(run_id) if f['check_id'].startswith(prefix)]


def test_a_watch_records_the_baseline_then_reports_the_intrusion(cli, labctl, duty_inventory, tmp_path):
    cli('duty', 'start', '--name', '国庆安保值守 2026')
    cli('run', 'special_duty.yml', '-i', duty_inventory)
    store = cli.store()
    first = store.list_runs()[0]
    assert first['extra_vars']['special_duty_watch'] == str(store.watches()[0]['id'])
    [captured] = findings_of(store, first['id'])
    assert captured['check_id'] == 'sec.baseline_captured' and captured['severity'] == 'info'
    # The baseline is on the host, private, and the host is otherwise as it was.
    mode = labctl.sh(HOST, 'stat -c %a /var/lib/bjeic-ops/watch/1.json').strip()
    assert mode == '600'
    cli('run', 'special_duty.yml', '-i', duty_inventory, check=False)   # nothing happened: nothing to say
    assert [f for f in findings_of(store, store.list_runs()[0]['id']) if f['severity'] != 'info'] == []

    labctl.sh(HOST, INTRUSION)
    done = cli('run', 'special_duty.yml', '-i', duty_inventory, '--fail-on', 'critical', check=False)
    assert done.returncode == 10, done.stdout[-2000:]     # a critical finding fails the hourly job
    third = store.list_runs()[0]
    found = dict(((f['check_id'], f['subject']), f) for f in findings_of(store, third['id']))
    assert found[('sec.account_new', 'intruder')]['severity'] == 'warning'
    assert found[('sec.setuid_changed', '/usr/local/bin/env-suid')]['severity'] == 'critical'
    assert any(check == 'sec.listening_new' and subject.endswith(':4444') for check, subject in found)
    drift = found[('sec.firewall_drift', 'nftables')]
    assert any('dport 4444 accept' in line for line in drift['value']['added'])
    # The inspection half ran with the duty thresholds and a one-hour window.
    inspect = [r for r in store.host_results(third['id']) if r['task'] == 'Inspect the host in one call']
    assert inspect and inspect[0]['status'] == 'ok'

    cli('duty', 'stop')
    with pytest.raises(AssertionError, match='no watch is on'):
        cli('duty', 'stop')
    cli('duty', 'report', '--out', tmp_path / 'duty.html')
    cli('duty', 'report', '1', '--out', tmp_path / 'duty.xlsx', '--format', 'xlsx', '--lang', 'en')
    with chromium() as page:
        page.open(tmp_path / 'duty.html', screenshot='duty-record-zh')
        assert page.driver.title.startswith('特殊时期安全值守巡检记录')
        assert page.layout_problems() == []
        rounds = page.rows('rounds')
        assert len(rounds) == 3 and rounds[2]['tone'] == 'tone-bad'   # the round that found the setuid file
        security = page.rows('security')
        assert any('intruder' in ' '.join(r['cells']) for r in security)
        setuid = [r for r in security if '/usr/local/bin/env-suid' in r['cells']]
        assert setuid and setuid[0]['cells'][1] == '严重' and setuid[0]['background'] == 'rgb(251, 227, 224)'
        assert page.kpi('security_findings')['tone'] == 'kpi tone-bad'
        assert page.kpi('duty_rounds')['text'] == '3'
        signoff = page.texts('#sec-signoff td')
        assert '值守人员' in signoff and 'zhang.wei' in signoff
    from openpyxl import load_workbook
    book = load_workbook(tmp_path / 'duty.xlsx')
    assert 'Security findings' in book.sheetnames
    rows = list(book['Security findings'].values)
    assert rows[0][:3] == ('Time', 'Severity', 'Host') and any('intruder' in row for row in rows)


def test_daily_report_shows_what_changed_since_the_previous_run(cli, labctl, duty_inventory, tmp_path):
    cli('run', 'daily_inspection.yml', '-i', duty_inventory)
    labctl.sh(HOST, 'nohup python3 -m http.server 4555 >/dev/null 2>&1 & sleep 1')
    cli('run', 'daily_inspection.yml', '-i', duty_inventory, '-e', json.dumps(
        {'inspect_thresholds': {'fs.usage': {'warning': 0}}}))
    store = cli.store()
    second = store.list_runs()[0]['id']
    for lang in ('zh', 'en'):
        cli('report', 'daily', '--out', tmp_path / ('daily-%s.html' % lang), '--lang', lang)
    cli('report', 'daily', '--run', second, '--out', tmp_path / 'daily.xlsx', '--format', 'xlsx')
    with chromium() as page:
        page.open(tmp_path / 'daily-zh.html', screenshot='daily-report-zh')
        assert page.layout_problems() == []
        assert page.js('return document.documentElement.lang') == 'zh-CN'
        assert page.kpi('hosts_inspected')['text'] == '1' and page.kpi('hosts_unreachable')['text'] == '0'
        new = [r for r in page.rows('since-previous') if r['cells'][0] == '新增问题']
        assert any(r['cells'][3] == 'fs.usage' and r['cells'][4] == '/' for r in new), new
        drift = page.rows('drift')
        assert any('netpolicy:%s' % HOST == r['cells'][0] and '4555' in r['cells'][2] for r in drift), drift
        page.open(tmp_path / 'daily-en.html', screenshot='daily-report-en')
        assert page.texts('h1') == ['Daily inspection report']
        assert 'Changes since the previous inspection' in page.texts('h2')
    bad = cli('report', 'daily', '--run', 999, '--out', tmp_path / 'x.html', check=False)
    assert bad.returncode == 1 and 'no run 999 in the store' in bad.stderr
    assert not (tmp_path / 'x.html').exists()
    assert stat.S_IMODE((tmp_path / 'daily.xlsx').stat().st_mode) == 0o640
