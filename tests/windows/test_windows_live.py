"""Opt-in live tests of win_inspect, win_harden, win_patch, win_expand and win_watch on a real Windows Server of yours.

No Windows can run on the test machine, so these run only when given a host:
  BJEIC_WINRM_HOST=win-test01.example       the host (WinRM over HTTPS)
  BJEIC_WINRM_USER=Administrator            an administrator
  BJEIC_WINRM_PASSWORD=...                  its password (written only to a 0600 inventory in a temporary folder)
  BJEIC_WINRM_PORT=5986                     optional; BJEIC_WINRM_TRANSPORT=ntlm (default) or kerberos
  BJEIC_WINRM_CA=/path/ca.pem               optional CA bundle for the listener's certificate (it is always checked)
  BJEIC_WINRM_ALLOW_CHANGES=1               also enforce two controls and roll them back (use a test host)
The sequence is the one ansible.windows tests use: check mode, an independent read of the state, the real run,
the same run again, then the cleanup.
"""
import os

import pytest

from bjeic_ops.contract import validate
from labrun import run_module

HOST = 'win-live'


@pytest.fixture(scope='module')
def windows_inventory(tmp_path_factory):
    if not os.environ.get('BJEIC_WINRM_HOST'):
        pytest.skip('BJEIC_WINRM_HOST is not set: no Windows host to test against (see this file\'s docstring)')
    for name in ('BJEIC_WINRM_USER', 'BJEIC_WINRM_PASSWORD'):
        if not os.environ.get(name):
            pytest.skip('%s is not set' % name)
    path = tmp_path_factory.mktemp('inventory') / 'hosts.yml'
    hostvars = {
        'ansible_host': os.environ['BJEIC_WINRM_HOST'], 'ansible_connection': 'winrm',
        'ansible_port': int(os.environ.get('BJEIC_WINRM_PORT', '5986')), 'ansible_winrm_scheme': 'https',
        'ansible_winrm_transport': os.environ.get('BJEIC_WINRM_TRANSPORT', 'ntlm'),
        'ansible_winrm_message_encryption': 'always', 'ansible_winrm_server_cert_validation': 'validate',
        'ansible_user': os.environ['BJEIC_WINRM_USER'], 'ansible_password': os.environ['BJEIC_WINRM_PASSWORD'],
    }
    if os.environ.get('BJEIC_WINRM_CA'):
        hostvars['ansible_winrm_ca_trust_path'] = os.environ['BJEIC_WINRM_CA']
    import yaml
    path.write_text(yaml.safe_dump({'windows': {'hosts': {HOST: hostvars}}}))
    os.chmod(path, 0o600)
    return path


def shell(inventory, workdir, script):
    return run_module(inventory, HOST, 'ansible.windows.win_powershell', {'script': script}, workdir)['output']


def test_inspection_keeps_the_contract_and_agrees_with_the_host(windows_inventory, tmp_path):
    result = run_module(windows_inventory, HOST, 'bjeic.ops.win_inspect', {}, tmp_path, check_mode=True)
    assert result['changed'] is False and validate(result) == []
    attrs = result['ledger'][0]['attrs']
    [system] = shell(windows_inventory, tmp_path, '(Get-CimInstance Win32_OperatingSystem).Caption')
    assert attrs['os']['name'] == system
    c_drive = next(f for f in attrs['filesystems'] if f['mountpoint'] == 'C:')
    [size] = shell(windows_inventory, tmp_path, "(Get-CimInstance Win32_LogicalDisk -Filter \"DeviceID='C:'\").Size")
    assert c_drive['size_bytes'] == int(size)
    assert result['ledger'][1]['key'].startswith('netpolicy:')


def test_a_missing_service_is_critical(windows_inventory, tmp_path):
    result = run_module(windows_inventory, HOST, 'bjeic.ops.win_inspect',
                        {'services': ['bjeic-no-such-service'], 'checks': ['svc.down']}, tmp_path)
    [down] = [f for f in result['findings'] if f['check'] == 'svc.down']
    assert down['severity'] == 'critical' and 'not installed' in down['message']


def test_bad_thresholds_are_refused(windows_inventory, tmp_path):
    result = run_module(windows_inventory, HOST, 'bjeic.ops.win_inspect', {'thresholds': {'disk.usage': {'warning': 1}}},
                        tmp_path, expect_failure=True)
    assert result['msg'].startswith("thresholds: unknown check id 'disk.usage'")


def test_audit_changes_nothing(windows_inventory, tmp_path):
    before = shell(windows_inventory, tmp_path, 'auditpol /get /category:* /r | Out-String')
    result = run_module(windows_inventory, HOST, 'bjeic.ops.win_harden', {}, tmp_path)
    assert result['changed'] is False and validate(result) == []
    assert len(result['controls']) == 20
    assert shell(windows_inventory, tmp_path, 'auditpol /get /category:* /r | Out-String') == before


def test_plan_lists_the_installed_set(windows_inventory, tmp_path):
    result = run_module(windows_inventory, HOST, 'bjeic.ops.win_patch', {'search': False}, tmp_path)
    hotfixes = shell(windows_inventory, tmp_path, 'Get-HotFix | ForEach-Object { $_.HotFixID }')
    assert sorted(result['installed']['hotfixes']) == sorted(h.upper() for h in hotfixes)
    assert result['ledger'][0]['key'].startswith('patch:')


def test_expansion_plans_c_drive_against_what_windows_reports(windows_inventory, tmp_path):
    # Check mode only: growing a partition cannot be undone.
    result = run_module(windows_inventory, HOST, 'bjeic.ops.win_expand', {'targets': [{'drive': 'C', 'size': 'fill'}]},
                        tmp_path, check_mode=True)
    assert validate(result) == []
    [target] = result['targets']
    [size, maximum] = shell(windows_inventory, tmp_path, "(Get-Partition -DriveLetter C).Size; "
                                                         "(Get-PartitionSupportedSize -DriveLetter C).SizeMax")
    assert (target['before'], target['maximum']) == (int(size), int(maximum))
    assert result['changed'] is (int(maximum) - int(size) >= 64 * 1024 ** 2)
    refused = run_module(windows_inventory, HOST, 'bjeic.ops.win_expand', {'targets': [{'drive': 'C', 'size': '+64T'}]},
                         tmp_path, check_mode=True, expect_failure=True)
    assert 'enlarge the disk on the cloud platform first' in refused['msg']


@pytest.mark.skipif(os.environ.get('BJEIC_WINRM_ALLOW_CHANGES') != '1',
                    reason='BJEIC_WINRM_ALLOW_CHANGES is not 1: enforce and rollback change the host')
def test_enforce_is_idempotent_and_rollback_restores(windows_inventory, tmp_path):
    read = ("$l = Get-ItemProperty HKLM:\\SYSTEM\\CurrentControlSet\\Control\\Lsa; "
            "secedit /export /cfg $env:TEMP\\b.inf /areas SECURITYPOLICY /quiet | Out-Null; "
            "(Select-String -Path $env:TEMP\\b.inf -Pattern '^PasswordHistorySize').Line; \"$($l.LmCompatibilityLevel)\"")
    original = shell(windows_inventory, tmp_path, read)
    args = {'mode': 'enforce', 'controls': ['pwd.history', 'ntlm.v2_only']}
    checked = run_module(windows_inventory, HOST, 'bjeic.ops.win_harden', args, tmp_path, check_mode=True)
    assert shell(windows_inventory, tmp_path, read) == original          # check mode changed nothing
    enforced = run_module(windows_inventory, HOST, 'bjeic.ops.win_harden', args, tmp_path)
    assert all(c['status'] in ('pass', 'fixed') for c in enforced['controls'])
    again = run_module(windows_inventory, HOST, 'bjeic.ops.win_harden', args, tmp_path)
    assert again['changed'] is False and again['backup_id'] is None
    if enforced['changed']:
        assert checked['changed'] is True
        rollback = run_module(windows_inventory, HOST, 'bjeic.ops.win_harden', enforced['rollback']['how']['args'], tmp_path)
        assert rollback['changed'] is True
        assert shell(windows_inventory, tmp_path, read) == original    # exactly as before


def test_a_watch_records_its_baseline_and_then_sees_a_new_autostart_entry(windows_inventory, tmp_path):
    """win_watch: check mode writes no baseline; the first run records it (Administrators and SYSTEM only), a second
    run finds nothing; an autostart entry added in between is a finding; the entry and the baseline are removed."""
    watch = 'bjeic-live-test'
    baseline = r'C:\ProgramData\bjeic-ops\watch\%s.json' % watch
    shell(windows_inventory, tmp_path, "Remove-Item -LiteralPath '%s' -ErrorAction SilentlyContinue" % baseline)
    checked = run_module(windows_inventory, HOST, 'bjeic.ops.win_watch', {'watch': watch}, tmp_path, check_mode=True)
    assert checked['baseline']['captured_now'] is False and validate(checked) == []
    assert shell(windows_inventory, tmp_path, "Test-Path -LiteralPath '%s'" % baseline) == [False]
    first = run_module(windows_inventory, HOST, 'bjeic.ops.win_watch', {'watch': watch}, tmp_path)
    assert [f['check'] for f in first['findings'] if f['severity'] != 'info'] == []
    assert first['baseline']['captured_now'] is True
    owners = shell(windows_inventory, tmp_path, "(Get-Acl -LiteralPath (Split-Path '%s')).Access | "
                                                "ForEach-Object { $_.IdentityReference.Translate("
                                                "[Security.Principal.SecurityIdentifier]).Value }" % baseline)
    assert sorted(set(owners)) == ['S-1-5-18', 'S-1-5-32-544']
    again = run_module(windows_inventory, HOST, 'bjeic.ops.win_watch', {'watch': watch}, tmp_path)
    assert [f for f in again['findings'] if f['severity'] != 'info'] == []
    key = r'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Run'
    shell(windows_inventory, tmp_path, "New-ItemProperty -Path '%s' -Name bjeicLiveTest -Value 'C:\\x.exe' -Force | "
                                       "Out-Null" % key)
    try:
        seen = run_module(windows_inventory, HOST, 'bjeic.ops.win_watch', {'watch': watch}, tmp_path)
        [entry] = [f for f in seen['findings'] if f['check'] == 'sec.autostart_new']
        assert entry['severity'] == 'warning' and entry['subject'].endswith('\\Run\\bjeicLiveTest')
    finally:
        shell(windows_inventory, tmp_path, "Remove-ItemProperty -Path '%s' -Name bjeicLiveTest -ErrorAction "
                                           "SilentlyContinue; Remove-Item -LiteralPath '%s'" % (key, baseline))
