"""Alerts (告警): the rules that turn what the store shows into notifications, and their delivery with retries.

`bjeic-ops alerts run` (every minute from a schedule, or after runs) evaluates the rules against the store:
- findings: a new finding at or above the rule's severity (default critical) of a host's newest complete run of a
  playbook fires once per check + host + subject, and once cleared (that playbook's newer run on the host no longer
  has it) sends a "cleared" message;
- hosts: a host failed or unreachable in a finished run;
- jobs: a scheduled job failed, was skipped for an overlap, or missed its time (schedule.py);
- drills: an emergency drill recorded as failed (failed backups arrive as critical backup.* findings);
- sla: an incident clock at a share of its time (default 80 %) and at breach;
and, when `incidents_from_findings` maps a check id to a level, a firing finding opens an incident at that level so
its clocks start without a human (a cleared one is noted on the incident; a human resolves it).

Every notification is a row of `notifications` (sent, failed with the reason, held in quiet hours); a failed
delivery is retried with exponential backoff on the next runs until `retry.attempts` is used up.
"""
from datetime import datetime, timedelta

from . import BjeicOpsError, incidents, yamlfile
from .alert_channels import TYPES, DeliveryError, deliver
from .times import as_utc, minute, now

SEVERITY_RANK = {'info': 0, 'warning': 1, 'critical': 2}
RULES = ('findings', 'hosts', 'jobs', 'drills', 'sla')
DEFAULT_RETRY = {'attempts': 5, 'backoff_seconds': 60}
FIRST_LOOKBACK = timedelta(days=1)    # the first evaluation of a store looks at runs of the last day only
WATERMARK = 'alerts.run_watermark'


class AlertError(BjeicOpsError):
    pass


# ---------------------------------------------------------------- settings

def load(path):
    data = yamlfile.read(path, 'alert settings %s' % path, AlertError) or {}
    if not isinstance(data, dict) or not isinstance(data.get('channels'), dict) or not data['channels']:
        raise AlertError('alert settings %s: give `channels:` (a mapping of names to channels)' % path)
    channels = []
    for name, channel in data['channels'].items():
        if not isinstance(channel, dict) or channel.get('type') not in TYPES:
            raise AlertError('alert settings %s: channel %s needs a type, one of %s' % (path, name, ', '.join(TYPES)))
        for field in ('password', 'secret', 'token', 'url'):
            if field in channel and field != 'url':
                raise AlertError('alert settings %s: channel %s gives %s in the file; name an environment variable '
                                 'with %s_env instead (secrets are not kept in files)' % (path, name, field, field))
        if channel['type'] == 'smtp':
            missing = [f for f in ('host', 'from', 'to') if not channel.get(f)]
            if missing:
                raise AlertError('alert settings %s: channel %s (smtp) lacks %s' % (path, name, ', '.join(missing)))
            if isinstance(channel['to'], str):
                channel['to'] = [channel['to']]
        elif not channel.get('url') and not channel.get('url_env'):
            raise AlertError('alert settings %s: channel %s needs url or url_env' % (path, name))
        severities = channel.get('severities', ['critical'])
        if not set(severities) <= set(SEVERITY_RANK):
            raise AlertError('alert settings %s: channel %s severities must be among critical, warning, info' % (path, name))
        quiet = channel.get('quiet_hours')
        if quiet is not None:
            _parse_quiet(quiet, path, name)
        channels.append(dict(channel, name=str(name), severities=list(severities)))
    rules = data.get('rules') or {'findings': {'severity': 'critical'}, 'hosts': True, 'jobs': True, 'drills': True,
                                  'sla': {'warn_at_pct': 80}}
    unknown = set(rules) - set(RULES)
    if unknown:
        raise AlertError('alert settings %s: unknown rules %s (known: %s)' % (path, ', '.join(sorted(unknown)), ', '.join(RULES)))
    mapping = data.get('incidents_from_findings') or {}
    for check, level in mapping.items():
        if level not in incidents.RESOLUTION_HOURS:
            raise AlertError('alert settings %s: incidents_from_findings.%s must be a level 1-4, got %r' % (path, check, level))
    retry = dict(DEFAULT_RETRY, **(data.get('retry') or {}))
    return {'channels': channels, 'rules': rules, 'incidents_from_findings': mapping, 'retry': retry,
            'schedule': data.get('schedule')}


def _parse_quiet(text, path='', name=''):
    try:
        start, end = (datetime.strptime(part.strip(), '%H:%M').time() for part in str(text).split('-'))
    except ValueError:
        raise AlertError('alert settings %s: channel %s quiet_hours must be HH:MM-HH:MM, got %r' % (path, name, text))
    return start, end


def in_quiet_hours(channel, at):
    if not channel.get('quiet_hours'):
        return False
    start, end = _parse_quiet(channel['quiet_hours'])
    clock = as_utc(at).astimezone().time()
    return start <= clock < end if start <= end else (clock >= start or clock < end)


# ---------------------------------------------------------------- rules

def _alert(rule, key, severity, title, body, host=None, event='firing'):
    return {'rule': rule, 'key': key, 'severity': severity, 'title': title, 'body': body, 'host': host, 'event': event}


def evaluate(store, settings, at=None, jobs_overdue=None):
    """The alerts due now: [{rule, key, severity, title, body, host, event}], and the alert state brought up to date."""
    at = at or now()
    rules = settings['rules']
    states = store.alert_states()
    due = []
    if rules.get('findings'):
        due += _findings(store, rules['findings'], states, settings['incidents_from_findings'], at)
    watermark = int(store.info(WATERMARK, 0))
    finished = store.finished_runs_after(watermark, since=None if watermark else at - FIRST_LOOKBACK)
    if rules.get('hosts'):
        for run in finished:
            bad = sorted(set((r['host'], r['status']) for r in store.host_results(run['id'])
                             if r['status'] in ('failed', 'unreachable')))
            for host, status in bad:
                due.append(_alert('hosts', 'host:%d:%s' % (run['id'], host), 'critical',
                                  '[%s] %s %s in run %d (%s)' % (host, host, status, run['id'], run['playbook']),
                                  'host %s was %s in run %d of %s started by %s at %s'
                                  % (host, status, run['id'], run['playbook'], run['operator'], minute(run['started_at'])),
                                  host=host))
    if rules.get('drills'):
        for drill in store.drills(since=at - FIRST_LOOKBACK if not watermark else None):
            if drill['outcome'] == 'failed' and drill['run_id'] > watermark:
                due.append(_alert('drills', 'drill:%d' % drill['id'], 'critical',
                                  '[%s] drill failed: %s' % (drill['host'], drill['name']),
                                  'emergency drill %s (%s) on %s failed, run %d'
                                  % (drill['name'], drill['kind'], drill['host'], drill['run_id']), host=drill['host']))
    if rules.get('jobs') and jobs_overdue:
        for job in jobs_overdue:
            key = 'job:%s:%s:%s' % (job['job'], job['event'], job['at'])
            if key not in states:
                alert = _alert('jobs', key, 'critical', 'scheduled job %s %s' % (job['job'], job['event']), job['detail'])
                store.put_alert_state(key, rule='jobs', state='open', severity='critical', host=None,
                                      title=alert['title'], first_at=at, last_at=at)
                due.append(alert)
    if rules.get('sla'):
        due += _sla(store, rules['sla'], states, at)
    if finished:
        store.set_info(WATERMARK, finished[-1]['id'])
    return due


def _findings(store, rule, states, mapping, at):
    floor = SEVERITY_RANK[(rule if isinstance(rule, dict) else {}).get('severity', 'critical')]
    wanted = [s for s, rank in SEVERITY_RANK.items() if rank >= floor]
    current = {}
    looked = set()
    for (playbook, host), (run_id, found) in store.latest_findings_by_playbook_host(wanted).items():
        looked.add((playbook, host))
        for item in found:
            key = 'finding:%s|%s|%s' % (item['check_id'], host, item['subject'] or '')
            current[key] = (playbook, run_id, item)
    due = []
    for key, (playbook, run_id, item) in sorted(current.items()):
        state = states.get(key)
        if state and state['state'] == 'open':
            store.put_alert_state(key, last_at=at)
            continue
        incident_id = None
        level = mapping.get(item['check_id'])
        if level:
            incident_id = store.open_incident(level, item['host'], 'alert %s: %s' % (item['check_id'], item['message']),
                                              operator='alerts', at=at)
        store.put_alert_state(key, rule='findings', state='open', severity=item['severity'], host=item['host'],
                              title=item['message'], first_at=at, last_at=at, incident_id=incident_id)
        body = '%s (%s, %s) on %s: %s\nrun %d of %s' % (item['check_id'], item['severity'], item['subject'] or '-',
                                                      item['host'], item['message'], run_id, playbook)
        if incident_id:
            body += '\nincident %d opened at level %d: its clocks are running' % (incident_id, level)
        due.append(_alert('findings', key, item['severity'], '[%s] %s' % (item['host'], item['message'][:120]), body,
                          host=item['host']))
    for key, state in states.items():
        if state['rule'] != 'findings' or state['state'] != 'open' or key in current:
            continue
        check, host, subject = key[len('finding:'):].split('|', 2)
        # Cleared only when a playbook that looks at this host has run again without it.
        if not any(h == host for (_p, h) in looked):
            continue
        store.put_alert_state(key, state='cleared', last_at=at)
        body = '%s on %s (%s) is no longer found, first seen %s' % (check, host, subject or '-', minute(state['first_at']))
        if state['incident_id']:
            body += '\nincident %d may be resolved: a human resolves it (bjeic-ops incident resolve %d)' % (
                state['incident_id'], state['incident_id'])
            incidents.note(store, state['incident_id'], 'alerts', 'the finding that opened it has cleared', at=at)
        due.append(_alert('findings', key, state['severity'] or 'critical', '[%s] cleared: %s' % (host, state['title'][:100]),
                          body, host=host, event='cleared'))
    return due


def _sla(store, rule, states, at):
    share = (rule if isinstance(rule, dict) else {}).get('warn_at_pct', 80) / 100.0
    due = []
    for incident in store.incidents(open_only=True):
        for clock in incidents.clocks(incident, at):
            if clock['stopped'] is not None:
                continue
            total = (clock['due'] - clock['started']).total_seconds()
            used = (as_utc(at) - clock['started']).total_seconds() / total if total else 1
            for mark, severity, word in ((1.0, 'critical', 'breached'), (share, 'warning', '%d%% used' % (share * 100))):
                key = 'sla:%d:%s:%s' % (incident['id'], clock['clock'], 'breach' if mark == 1.0 else 'warn')
                if used >= mark and key not in states:
                    store.put_alert_state(key, rule='sla', state='open', severity=severity, host=incident['host'],
                                          title=word, first_at=at, last_at=at)
                    due.append(_alert('sla', key, severity, '[%s] incident %d level %d: %s %s' % (
                        incident['host'], incident['id'], incident['level'], clock['clock'].replace('clock_', ''), word),
                        'incident %d (%s), level %d, opened %s: %s due %s' % (
                            incident['id'], incident['summary'], incident['level'], minute(incident['opened_at']),
                            clock['clock'].replace('clock_', '').replace('_', ' '), minute(clock['due'])),
                        host=incident['host']))
                    break
                if used >= mark:
                    break
    return due


# ---------------------------------------------------------------- delivery

def dispatch(store, settings, alerts, at=None, sender=deliver):
    """Queue each alert for every channel that takes its severity, then deliver what is due (new and retries).
    Returns {sent, failed, pending, held}."""
    at = at or now()
    for alert in alerts:
        for channel in settings['channels']:
            if alert['severity'] not in channel['severities']:
                continue
            held = in_quiet_hours(channel, at) and alert['severity'] != 'critical'
            store.add_notification(created_at=at, channel=channel['name'], rule=alert['rule'], key=alert['key'],
                                   host=alert['host'],
                                   event=alert['event'], severity=alert['severity'], title=alert['title'],
                                   body=alert['body'], state='held' if held else 'pending', attempts=0, next_try_at=at)
    channels = dict((c['name'], c) for c in settings['channels'])
    retry = settings['retry']
    counts = {'sent': 0, 'failed': 0, 'pending': 0, 'held': 0}
    for note in store.notifications(states=['pending', 'held']):
        channel = channels.get(note['channel'])
        if note['state'] == 'held':
            if channel is not None and in_quiet_hours(channel, at):
                counts['held'] += 1
                continue
        if channel is None or as_utc(note['next_try_at']) > as_utc(at):
            counts['pending'] += 1
            continue
        note = dict(note, at=minute(note['created_at']))
        attempts = note['attempts'] + 1
        try:
            sender(channel, note)
        except DeliveryError as exc:
            gave_up = attempts >= retry['attempts']
            store.update_notification(note['id'], attempts=attempts, error=str(exc),
                                      state='failed' if gave_up else 'pending',
                                      next_try_at=at + timedelta(seconds=retry['backoff_seconds'] * 2 ** (attempts - 1)))
            counts['failed' if gave_up else 'pending'] += 1
            continue
        store.update_notification(note['id'], attempts=attempts, state='sent', sent_at=now(), error=None)
        counts['sent'] += 1
    return counts


def run(store, settings, at=None, jobs_overdue=None, sender=deliver):
    alerts = evaluate(store, settings, at, jobs_overdue)
    counts = dispatch(store, settings, alerts, at, sender)
    counts['alerts'] = len(alerts)
    return counts


def notification_rows(store, since=None, until=None):
    return [{'id': n['id'], 'created_at': n['created_at'], 'channel': n['channel'], 'rule': n['rule'],
             'event': n['event'], 'severity': n['severity'], 'title': n['title'], 'state': n['state'],
             'attempts': n['attempts'], 'sent_at': n['sent_at'], 'error': n['error']}
            for n in store.notifications(since, until)]


def monthly_counts(store, since, until):
    """Notifications of a period by channel and state, for the monthly report."""
    counts = {}
    for note in store.notifications(since, until):
        row = counts.setdefault(note['channel'], {'channel': note['channel'], 'n_sent': 0, 'n_failed': 0,
                                                  'n_pending': 0, 'n_held': 0})
        row['n_' + note['state']] += 1
    return sorted(counts.values(), key=lambda r: r['channel'])
