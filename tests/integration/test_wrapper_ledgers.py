"""Ledgers from real runs: exports (CSV, JSON, XLSX opened with openpyxl) and drift between runs."""
import csv
import json
import subprocess

import openpyxl


def lab_exec(labctl, name, *command):
    subprocess.run(['podman', 'exec', labctl.PREFIX + name] + list(command), check=True, capture_output=True,
                   env=dict(__import__('os').environ, CONTAINERS_CONF=labctl.os.path.join(labctl.LAB_DIR, 'containers.conf')))


def test_exports_and_drift(cli, lab_inventory, labctl, tmp_path):
    cli('run', 'daily_inspection.yml', '-i', lab_inventory)
    # Change the network policy of one host: a firewall rule and a new listening port.
    lab_exec(labctl, 'pytest-plain', 'nft', 'add table inet bjeic_test')
    lab_exec(labctl, 'pytest-plain', 'nft', 'add chain inet bjeic_test input { type filter hook input priority 0; }')
    lab_exec(labctl, 'pytest-plain', 'nft', 'add rule inet bjeic_test input tcp dport 8443 accept')
    lab_exec(labctl, 'pytest-plain', 'sh', '-c', 'setsid python3 -m http.server 8443 >/dev/null 2>&1 &')
    lab_exec(labctl, 'pytest-plain', 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do grep -q ":20FB " /proc/net/tcp* && exit 0; sleep 0.3; done; exit 1')
    cli('run', 'daily_inspection.yml', '-i', lab_inventory)

    # Drift, network: the rule and the port are added on pytest-plain only.
    drift = json.loads(cli('ledger', 'diff', 'network', '--from', 1, '--to', 2, '--format', 'json').stdout)
    assert {d['key'] for d in drift} == {'netpolicy:pytest-plain'}
    rules = [d for d in drift if d['path'] == 'firewall.nftables']
    assert rules and any('tcp dport 8443 accept' in line for line in rules[0]['after']) and rules[0]['before'] == []
    ports = [d for d in drift if d['path'].startswith('listening[tcp/') and '/8443]' in d['path']]
    assert ports and ports[0]['before'] is None
    # Drift, os: nothing but run-to-run state changed, and state is not drift.
    assert json.loads(cli('ledger', 'diff', 'os', '--from', 1, '--format', 'json').stdout) == []

    # CSV with Chinese headers (utf-8 with BOM for Excel).
    cli('ledger', 'os', '--format', 'csv', '--out', tmp_path / 'os.csv')
    with open(tmp_path / 'os.csv', encoding='utf-8-sig') as handle:
        table = list(csv.DictReader(handle))
    assert [row['配置项标识'] for row in table] == ['host:pytest-plain', 'host:pytest-sd']
    assert all(row['操作系统'].startswith('Debian GNU/Linux 12') and row['运行编号'] == '2' for row in table)
    # English on request.
    cli('ledger', 'network', '--format', 'csv', '--out', tmp_path / 'net.csv', '--lang', 'en')
    with open(tmp_path / 'net.csv', encoding='utf-8-sig') as handle:
        assert next(csv.reader(handle))[:4] == ['Key', 'Host', 'Hostname', 'Listening ports']
    # JSON.
    cli('ledger', 'os', '--format', 'json', '--out', tmp_path / 'os.json')
    assert [row['hostname'] for row in json.loads((tmp_path / 'os.json').read_text())] == ['pytest-plain', 'pytest-sd']
    # XLSX: every kind, one sheet each, frozen header, widths set.
    cli('ledger', 'all', '--format', 'xlsx', '--out', tmp_path / 'ledger.xlsx')
    book = openpyxl.load_workbook(tmp_path / 'ledger.xlsx')
    assert book.sheetnames == ['操作系统台账', '数据库台账', '网络策略台账', '云资源台账', '备份台账']
    sheet = book['操作系统台账']
    assert sheet.freeze_panes == 'A2'
    assert sheet['A1'].value == '配置项标识' and sheet['A1'].font.bold
    assert [sheet.cell(row=r, column=1).value for r in (2, 3)] == ['host:pytest-plain', 'host:pytest-sd']
    assert sheet.column_dimensions['A'].width >= 10
    network = book['网络策略台账']
    listening = [c.value for c in network[1]].index('监听端口') + 1
    assert '8443/tcp' in network.cell(row=2, column=listening).value


def test_the_ledger_of_a_run_and_as_of_a_date(cli, lab_inventory):
    cli('run', 'daily_inspection.yml', '-i', lab_inventory, '--limit', 'pytest-sd')
    only_sd = json.loads(cli('ledger', 'os', '--run', 1, '--format', 'json').stdout)
    assert [row['hostname'] for row in only_sd] == ['pytest-sd']
    cli('run', 'daily_inspection.yml', '-i', lab_inventory, '--limit', 'pytest-plain')
    current = json.loads(cli('ledger', 'os', '--format', 'json').stdout)
    assert [row['hostname'] for row in current] == ['pytest-plain', 'pytest-sd']   # latest of each key
    drift = json.loads(cli('ledger', 'diff', 'os', '--since', '2000-01-01', '--format', 'json').stdout)
    assert [(d['key'], d['change']) for d in drift] == [('host:pytest-plain', 'added'), ('host:pytest-sd', 'added')]
    done = cli('ledger', 'os', '--run', 99, check=False)
    assert done.returncode == 1 and 'no run 99 in the store' in done.stderr
