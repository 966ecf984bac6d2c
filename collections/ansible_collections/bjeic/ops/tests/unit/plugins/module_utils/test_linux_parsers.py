"""Parsers against output captured from real tools on Debian 12 lab hosts (fixtures/)."""
import os
from datetime import datetime

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import linux_parsers as p

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def fixture(name, mode='r'):
    with open(os.path.join(FIXTURES, name), mode) as handle:
        return handle.read()


def test_mounts_of_a_container_keep_root_and_tmpfs_but_not_masks():
    mounts = p.parse_mounts(fixture('mounts.container.txt'))
    data = [m['mountpoint'] for m in mounts if p.is_data_mount(m)]
    assert '/' in data
    assert not any(path.startswith(('/proc', '/sys')) for path in data)
    root = next(m for m in mounts if m['mountpoint'] == '/')
    assert root['fstype'] == 'overlay' and 'rw' in root['options']


def test_mounts_of_a_vm_leave_out_pseudo_file_systems():
    mounts = p.parse_mounts(fixture('mounts.vm.txt'))
    data = [m for m in mounts if p.is_data_mount(m)]
    assert any(m['mountpoint'] == '/' for m in data)
    assert not any(m['fstype'] in ('proc', 'sysfs', 'cgroup2', 'devpts') for m in data)


def test_mount_escapes_are_undone():
    mounts = p.parse_mounts('/dev/sdb1 /srv/my\\040data ext4 rw,relatime 0 0\n')
    assert mounts[0]['mountpoint'] == '/srv/my data'


def test_fstab_skips_swap_comments_and_none():
    text = ('# /etc/fstab\nUUID=abc / ext4 errors=remount-ro 0 1\nUUID=def none swap sw 0 0\n'
            '/dev/vg/lv /srv/data xfs defaults,noauto 0 0\ntmpfs /mnt/x tmpfs defaults 0 0\n\n')
    entries = p.parse_fstab(text)
    assert [e['mountpoint'] for e in entries] == ['/', '/srv/data', '/mnt/x']
    assert 'noauto' in entries[1]['options']


def test_meminfo_is_in_bytes():
    info = p.parse_meminfo(fixture('meminfo.txt'))
    assert info['MemTotal'] > info['MemAvailable'] > 0
    assert info['MemTotal'] % 1024 == 0
    assert 'HugePages_Total' in info and info['HugePages_Total'] < 10 ** 9  # a count, not kB


def test_loadavg():
    load1, load5, load15 = p.parse_loadavg(fixture('loadavg.txt'))
    assert all(isinstance(v, float) and v >= 0 for v in (load1, load5, load15))


def test_cpuinfo_counts_logical_processors():
    cpu = p.parse_cpuinfo(fixture('cpuinfo.txt'))
    assert cpu['count'] == fixture('cpuinfo.txt').count('\nprocessor') + fixture('cpuinfo.txt').startswith('processor')
    assert cpu['model']


def test_os_release():
    data = p.parse_os_release(fixture('os-release.debian12.txt'))
    assert data['ID'] == 'debian' and data['VERSION_ID'] == '12'


def test_zombie_stat_lines():
    lines = fixture('proc-stat-zombie.txt').splitlines()
    stats = [p.parse_proc_stat(line) for line in lines]
    assert {s['state'] for s in stats} == {'Z'}
    assert len({s['ppid'] for s in stats}) == 1
    assert stats[0]['comm'] == 'python3'


def test_comm_with_spaces_and_parentheses():
    stat = p.parse_proc_stat('42 (my (odd) prog) Z 7 1 1 0 -1')
    assert stat == {'pid': 42, 'comm': 'my (odd) prog', 'state': 'Z', 'ppid': 7}


def test_vgs_report_sizes_are_ints():
    rows = p.parse_lvm_report(fixture('vgs.txt'), ('vg_name', 'vg_size', 'vg_free', 'pv_count', 'lv_count'))
    assert rows == [{'vg_name': 'vgdata', 'vg_size': 205520896, 'vg_free': 205520896, 'pv_count': 1, 'lv_count': 0}]


def test_lvs_report_without_volumes_is_empty():
    assert p.parse_lvm_report(fixture('lvs.txt'), ('vg_name', 'lv_name')) == []


def test_systemctl_failed_units():
    units = p.parse_systemctl_failed(fixture('systemctl-failed.txt'))
    assert units == [{'unit': 'broken.service', 'load': 'loaded', 'active': 'failed', 'sub': 'failed',
                      'description': 'broken.service'}]


def test_btmp_records_from_real_sshd_failures():
    records = p.parse_utmp(fixture('btmp.bin', 'rb'))
    assert len(records) == 12
    assert {r['user'] for r in records} == {'baduser0', 'baduser1'}
    assert {r['line'] for r in records} == {'ssh:notty'}
    assert all(r['time'] > 1.7e9 for r in records)


def test_wtmp_has_boot_and_a_user_login():
    records = p.parse_utmp(fixture('wtmp.bin', 'rb'))
    types = [r['type'] for r in records]
    assert p.UTMP_BOOT_TIME in types
    logins = [r for r in records if r['type'] == p.UTMP_USER_PROCESS]
    assert logins and logins[0]['user'] == 'lab' and logins[0]['line'].startswith('pts/')


def test_utmp_ignores_a_partial_trailing_record():
    data = fixture('btmp.bin', 'rb')
    assert len(p.parse_utmp(data + data[:100])) == 12


def test_journal_json_errors():
    entries = p.parse_journal_json(fixture('journal-err.json'))
    assert entries and all(e['priority'] <= 3 for e in entries)
    messages = [e['message'] for e in entries]
    assert 'disk controller timeout on sdb' in messages
    assert any(e['unit'] == 'broken.service' or 'broken.service' in e['message'] for e in entries)


def test_journal_message_as_byte_array():
    line = '{"MESSAGE":[104,105,255],"PRIORITY":"3","__REALTIME_TIMESTAMP":"1700000000000000"}'
    entry = p.parse_journal_json(line)[0]
    assert entry['message'].startswith('hi') and entry['time'] == 1700000000


def test_syslog_rfc3339_errors_in_window():
    text = fixture('syslog.rfc3339.txt')
    first = p.syslog_line_time(text.splitlines()[0], datetime.now())
    errors = p.parse_syslog_errors(text, first, datetime.now())
    messages = ' '.join(e['message'] for e in errors)
    assert 'EXT4-fs error' in messages and 'backup job failed' in messages
    assert 'routine message' not in messages
    assert p.parse_syslog_errors(text, first + 10 ** 7, datetime.now()) == []


def test_syslog_rfc3164_year_rollover():
    # Legacy format (RHEL 7 /var/log/messages); no year, so January's 'now' puts December last year.
    now = datetime(2026, 1, 2, 10, 0, 0)
    stamp = p.syslog_line_time('Dec 31 23:59:59 db01 kernel: sd 2:0:0:0: I/O error', now)
    assert datetime.fromtimestamp(stamp).year == 2025
    assert p.syslog_line_time('no timestamp here', now) is None


def test_syslog_rfc3339_offsets_are_honoured():
    utc = p.syslog_line_time('2026-11-24T22:00:00+00:00 h x: y', datetime.now())
    beijing = p.syslog_line_time('2026-11-25T06:00:00+08:00 h x: y', datetime.now())
    assert utc == beijing


def test_ip_addr_leaves_out_loopback():
    addresses = p.parse_ip_addr(fixture('ip-addr.txt'))
    assert [a['address'] for a in addresses if a['family'] == 'inet'] == ['10.88.0.10']
    assert all(a['interface'] != 'lo' for a in addresses)


def test_timedatectl_show():
    data = p.parse_timedatectl_show(fixture('timedatectl-show.txt'))
    assert data['NTPSynchronized'] == 'no' and data['Timezone'] == 'Etc/UTC'


@pytest.mark.parametrize('header, expected', [
    (b'\x7fELF\x02\x01\x01' + bytes(9) + b'\x04\x00', True),   # ET_CORE little-endian
    (b'\x7fELF\x02\x02\x01' + bytes(9) + b'\x00\x04', True),   # ET_CORE big-endian
    (b'\x7fELF\x02\x01\x01' + bytes(9) + b'\x02\x00', False),  # ET_EXEC
    (b'core dump? no, a text file', False),
    (b'\x7fELF', False),
])
def test_core_file_detection(header, expected):
    assert p.is_core_file(header) is expected


def test_proc_net_listening_sockets():
    tcp = p.parse_proc_net(fixture('proc-net-tcp.txt'), 'tcp')
    tcp6 = p.parse_proc_net(fixture('proc-net-tcp6.txt'), 'tcp6')
    udp = p.parse_proc_net(fixture('proc-net-udp.txt'), 'udp')
    assert [(s['address'], s['port']) for s in tcp] == [('0.0.0.0', 22)]
    assert [(s['address'], s['port']) for s in tcp6] == [('::', 22), ('::1', 2020)]
    assert [(s['address'], s['port']) for s in udp] == [('127.0.0.1', 5353)]
    assert all(isinstance(s['inode'], int) and s['inode'] > 0 for s in tcp + tcp6 + udp)


def test_rulesets_lose_counters_and_comments_but_keep_rules():
    nft = p.normalize_ruleset(fixture('nft-ruleset.txt'))
    assert 'tcp dport 22 counter accept' in nft
    assert 'ip saddr 10.0.0.0/8 tcp dport 8443 counter drop comment "block app"' in nft
    assert not any('packets' in line for line in nft)
    saved = p.normalize_ruleset(fixture('iptables-save.txt'))
    assert not any(line.startswith('#') for line in saved)
    assert p.normalize_ruleset('*filter\n:INPUT ACCEPT [12:3456]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n') == [
        '*filter', ':INPUT ACCEPT', '-A INPUT -p tcp --dport 22 -j ACCEPT', 'COMMIT']


def test_systemctl_show_gives_one_block_per_unit_in_order():
    text = ('Id=cron.service\nLoadState=loaded\nActiveState=active\nSubState=running\n\n'
            'Id=nosuch.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\n')
    units = p.parse_systemctl_show(text)
    assert [u['Id'] for u in units] == ['cron.service', 'nosuch.service']
    assert units[1] == {'Id': 'nosuch.service', 'LoadState': 'not-found', 'ActiveState': 'inactive', 'SubState': 'dead'}
