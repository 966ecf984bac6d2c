"""Incidents (故障事件) and the contract's service-level clocks.

Levels 1 (most severe) to 4 must be resolved within 2 / 4 / 8 / 16 hours of opening. The first line must
respond (acknowledge) within 5 minutes of opening; once escalated, the second line must respond within
30 minutes of the escalation. A clock is `met` or `breached` once stopped, `running` or `overdue` while not.
"""
from datetime import timedelta

from . import BjeicOpsError
from .times import as_utc, minute, now

RESOLUTION_HOURS = {1: 2, 2: 4, 3: 8, 4: 16}
FIRST_RESPONSE = timedelta(minutes=5)
SECOND_RESPONSE = timedelta(minutes=30)
LINES = ('first', 'second')


def clocks(incident, at=None):
    """The incident's clocks: [{clock, started, due, stopped, state, minutes_left}] at time `at` (default now)."""
    at = as_utc(at or now())
    opened = as_utc(incident['opened_at'])
    out = [_clock('clock_first_response', opened, opened + FIRST_RESPONSE, incident['first_response_at'], at)]
    if incident['escalated_at'] is not None:
        escalated = as_utc(incident['escalated_at'])
        out.append(_clock('clock_second_response', escalated, escalated + SECOND_RESPONSE,
                          incident['second_response_at'], at))
    out.append(_clock('clock_resolution', opened, opened + timedelta(hours=RESOLUTION_HOURS[incident['level']]),
                      incident['resolved_at'], at))
    return out


def _clock(name, started, due, stopped, at):
    stopped = as_utc(stopped)
    if stopped is not None:
        state = 'met' if stopped <= due else 'breached'
    else:
        state = 'running' if at <= due else 'overdue'
    return {'clock': name, 'started': started, 'due': due, 'stopped': stopped, 'state': state,
            'minutes_left': None if stopped else round((due - at).total_seconds() / 60, 1)}


def sla_state(incident, at=None):
    """One word for a listing: overdue (a running clock is late), breached (a stopped one was), else ok."""
    states = [c['state'] for c in clocks(incident, at)]
    if 'overdue' in states:
        return 'overdue'
    if 'breached' in states:
        return 'breached'
    return 'ok'


SLA_URGENCY = {'overdue': 0, 'breached': 1, 'ok': 2}


def most_urgent_first(rows):
    """Incident rows (reports.incident_table) overdue first, then breached, then by level and id."""
    return sorted(rows, key=lambda r: (SLA_URGENCY[r['sla']], r['level'], r['id']))


def check_level(level):
    if level not in RESOLUTION_HOURS:
        raise BjeicOpsError('incident level must be 1 (most severe) to 4, got %s' % level)


def acknowledge(store, incident_id, line, operator, text=None, at=None):
    """A line's response. The second line responds only to an escalated incident."""
    incident = store.get_incident(incident_id)
    _refuse_if_resolved(incident, 'acknowledge')
    at = _not_before(incident, at or now(), 'escalated_at' if line == 'second' else 'opened_at')
    if line == 'first':
        if incident['first_response_at'] is not None:
            raise BjeicOpsError('incident %d was already acknowledged by the first line at %s'
                                % (incident_id, minute(incident['first_response_at'])))
        values = {'first_response_at': at, 'status': 'acknowledged' if incident['escalated_at'] is None else 'escalated'}
    elif line == 'second':
        if incident['escalated_at'] is None:
            raise BjeicOpsError('incident %d is not escalated; `bjeic-ops incident escalate %d` first'
                                % (incident_id, incident_id))
        if incident['second_response_at'] is not None:
            raise BjeicOpsError('incident %d was already acknowledged by the second line at %s'
                                % (incident_id, minute(incident['second_response_at'])))
        values = {'second_response_at': at}
        if incident['first_response_at'] is None:   # the second line answering also answers the first clock
            values['first_response_at'] = at
    else:
        raise BjeicOpsError('line must be one of %s, got %r' % (', '.join(LINES), line))
    store.record_incident_event(incident_id, 'ack', values, operator=operator, line=line, text=text, at=at)


def escalate(store, incident_id, operator, text=None, at=None):
    incident = store.get_incident(incident_id)
    _refuse_if_resolved(incident, 'escalate')
    if incident['escalated_at'] is not None:
        raise BjeicOpsError('incident %d was already escalated at %s' % (incident_id, minute(incident['escalated_at'])))
    at = _not_before(incident, at or now(), 'opened_at')
    store.record_incident_event(incident_id, 'escalate', {'escalated_at': at, 'status': 'escalated'},
                                operator=operator, line='second', text=text, at=at)


def resolve(store, incident_id, operator, resolution, at=None):
    incident = store.get_incident(incident_id)
    _refuse_if_resolved(incident, 'resolve')
    if not resolution or not resolution.strip():
        raise BjeicOpsError('say how incident %d was resolved: --resolution "..."' % incident_id)
    at = _not_before(incident, at or now(), 'escalated_at', 'first_response_at', 'opened_at')
    values = {'resolved_at': at, 'resolution': resolution, 'status': 'resolved'}
    if incident['first_response_at'] is None:   # resolving it is the response
        values['first_response_at'] = at
    if incident['escalated_at'] is not None and incident['second_response_at'] is None:
        values['second_response_at'] = at
    store.record_incident_event(incident_id, 'resolve', values, operator=operator, text=resolution, at=at)


def note(store, incident_id, operator, text, at=None):
    incident = store.get_incident(incident_id)
    at = _not_before(incident, at or now(), 'opened_at')
    store.record_incident_event(incident_id, 'note', {}, operator=operator, text=text, at=at)


WHEN = {'opened_at': 'the incident was opened', 'escalated_at': 'it was escalated',
        'first_response_at': 'the first line responded'}


def _not_before(incident, at, *fields):
    """A step of an incident cannot come before the steps it follows: its clocks would run backwards."""
    for name in fields:
        earlier = as_utc(incident.get(name))
        if earlier is not None and as_utc(at) < earlier:
            raise BjeicOpsError('%s is before %s (%s): give the time it happened'
                                % (minute(at), WHEN[name], minute(earlier)))
    return at


def _refuse_if_resolved(incident, verb):
    if incident['resolved_at'] is not None:
        raise BjeicOpsError('cannot %s incident %d: it was resolved at %s' % (verb, incident['id'],
                                                                             minute(incident['resolved_at'])))
