"""Service-level clocks of incidents, and one watch at a time."""
from datetime import datetime, timedelta, timezone

import pytest

from bjeic_ops import BjeicOpsError, incidents
from bjeic_ops.store import Store

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
