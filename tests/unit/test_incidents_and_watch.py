"""Service-level clocks of incidents, and linux_watch's comparison with a baseline."""
from datetime import datetime, timedelta, timezone

import pytest

from bjeic_ops import BjeicOpsError, incidents
from bjeic_ops.store import Store
from ansible_collections.bjeic.ops.plugins.modules import linux_watch

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize('level,hours', [(1, 2), (2, 4), (3, 8), (4, 16)])
def test_resolution_clock_by_level(tmp_path, level, hours):
    store = Store('sqlite:///%s' % (tmp_path / 's.sqlite'))
    incident_id = store.open_incident(level, 'h', 's', at=T0)
    due = T0 + timedelta(hours=hours)
    states = [c['state'] for c in incidents.clocks(store.get_incident(incident_id), at=due)]
    assert states == ['overdue', 'running']         # first line silent for 5 min already; resolution due now
    assert incidents.sla_state(store.get_incident(incident_id), at=due + timedelta(seconds=1)) == 'overdue'
    incidents.resolve(store, incident_id, 'op', 'fixed', at=due)
    assert [c['state'] for c in incidents.clocks(store.get_incident(incident_id))] == ['breached', 'met']


def test_first_and_second_line_clocks(tmp_path):
    store = Store('sqlite:///%s' % (tmp_path / 's.sqlite'))
    incident_id = store.open_incident(2, 'db01', 'listener down', at=T0)
    with pytest.raises(BjeicOpsError, match='is not escalated'):
        incidents.acknowledge(store, incident_id, 'second', 'op', at=T0)
    incidents.acknowledge(store, incident_id, 'first', 'op', at=T0 + timedelta(minutes=5))   # on the minute: met
    with pytest.raises(BjeicOpsError, match='already acknowledged by the first line'):
        incidents.acknowledge(store, incident_id, 'first', 'op')
    incidents.escalate(store, incident_id, 'op', at=T0 + timedelta(minutes=20))
    incidents.acknowledge(store, incident_id, 'second', 'dba', at=T0 + timedelta(minutes=51))  # 31 min after
    clocks = dict((c['clock'], c) for c in incidents.clocks(store.get_incident(incident_id), at=T0 + timedelta(hours=1)))
    assert clocks['clock_first_response']['state'] == 'met'
    assert clocks['clock_second_response']['state'] == 'breached'
    assert clocks['clock_resolution']['state'] == 'running' and clocks['clock_resolution']['minutes_left'] == 180
    incidents.resolve(store, incident_id, 'dba', 'restarted', at=T0 + timedelta(hours=2))
    incidents.note(store, incident_id, 'op', 'root cause found')   # notes may follow the resolution
    with pytest.raises(BjeicOpsError, match='it was resolved at'):
        incidents.resolve(store, incident_id, 'op', 'again')
    assert [e['action'] for e in store.incident_events(incident_id)] == ['open', 'ack', 'escalate', 'ack', 'resolve', 'note']
    with pytest.raises(BjeicOpsError, match='level must be 1'):
        incidents.check_level(5)


def test_one_watch_at_a_time(tmp_path):
    store = Store('sqlite:///%s' % (tmp_path / 's.sqlite'))
    store.start_watch('a')
    with pytest.raises(BjeicOpsError, match='watch 1 is still on'):
        store.start_watch('b')
    store.stop_watch(1)
    assert store.start_watch('b') == 2


BASE = {'listening': ['tcp/0.0.0.0:22'], 'processes': {'tcp/0.0.0.0:22': 'sshd'},
        'accounts': {'root': {'uid': 0, 'gid': 0, 'home': '/root', 'shell': '/bin/bash'},
                     'app': {'uid': 1000, 'gid': 1000, 'home': '/srv/app', 'shell': '/bin/sh'}},
        'privileged_groups': {'sudo': ['ops']},
        'setuid': {'/usr/bin/passwd': {'mode': '4755', 'uid': 0, 'gid': 0, 'sha256': 'aa'}},
        'firewall': {'nftables': ['table inet filter {', 'tcp dport 22 accept']}}


def test_watch_compare_reports_each_kind_of_change():
    now = {'listening': ['tcp/0.0.0.0:22', 'tcp/0.0.0.0:4444'], 'processes': {'tcp/0.0.0.0:4444': 'nc'},
           'accounts': dict(BASE['accounts'], toor={'uid': 0, 'gid': 0, 'home': '/', 'shell': '/bin/sh'},
                            app={'uid': 0, 'gid': 1000, 'home': '/srv/app', 'shell': '/bin/sh'}),
           'privileged_groups': {'sudo': ['ops', 'app']},
           'setuid': {'/usr/bin/passwd': {'mode': '4755', 'uid': 0, 'gid': 0, 'sha256': 'bb'},
                      '/tmp/.x': {'mode': '4755', 'uid': 0, 'gid': 0, 'sha256': 'cc'}},
           'firewall': {'nftables': ['table inet filter {', 'tcp dport 22 accept', 'tcp dport 4444 accept']}}
    found = dict(((f['check'], f['subject']), f['severity']) for f in linux_watch.compare(BASE, now, set(linux_watch.CHECKS)))
    assert found == {
        ('sec.listening_new', 'tcp/0.0.0.0:4444'): 'warning',
        ('sec.account_new', 'toor'): 'critical',            # a second user id 0
        ('sec.account_new', 'app'): 'critical',             # became user id 0
        ('sec.account_new', 'group:sudo'): 'critical',
        ('sec.setuid_changed', '/tmp/.x'): 'critical',
        ('sec.setuid_changed', '/usr/bin/passwd'): 'critical',   # content changed
        ('sec.firewall_drift', 'nftables'): 'warning',
    }
    assert linux_watch.compare(BASE, BASE, set(linux_watch.CHECKS)) == []
    assert linux_watch.compare(BASE, now, {'sec.firewall_drift'})[0]['value'] == {'added': ['tcp dport 4444 accept'],
                                                                                   'removed': []}


def test_setuid_search_finds_bits_and_stays_on_its_file_system(tmp_path):
    plain, suid = tmp_path / 'plain', tmp_path / 'suid'
    plain.write_text('x')
    suid.write_text('y')
    suid.chmod(0o4755)
    found, truncated = linux_watch.setuid_files([str(tmp_path)])
    assert list(found) == [str(suid)] and found[str(suid)]['mode'] == '4755' and not truncated
