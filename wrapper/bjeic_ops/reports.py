"""The contract's documents, built from the store: daily inspection, monthly report, fault report, duty record.

Each builder returns a `Report` (data only: label keys, rows, chart series); `render.py` turns it into
self-contained HTML or XLSX in either language. Times are shown in the controller's local time zone.
"""
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import BjeicOpsError, alerts, availability as db_availability, backup_record, forecast, ledger, tuning
from .incidents import clocks, sla_state
from .inventory import inventory_list
from .duty import DUTY_PLAYBOOK
from .times import as_utc, day, local, month_bounds, now
from .vocab import COMPLETE, SEVERITIES

DAILY_PLAYBOOK = 'daily_inspection.yml'
AVAILABILITY_TARGET = db_availability.TARGET
DUTY_ROUND_MINUTES = 65     # hourly rounds, with five minutes' grace: a longer gap is marked
BACKUP_MODULES = ('bjeic.ops.backup_create', 'bjeic.ops.db_backup')   # their change records are the backup record
PATCH_KEYS = ('patch:', 'patch@')    # patch:HOST; stores written before 0.2 hold patch@HOST
# Change actions of linux_patch state=committed: it accepts a transaction (releases its snapshot), installs nothing.
PATCH_BOOKKEEPING = ('committed', 'released')
LINK_WINDOW = timedelta(hours=24)   # a fault report links changes and findings from this long before it opened


@dataclass
class Section:
    title: str                                   # label key
    kpis: list = field(default_factory=list)     # [(label key, value, tone)]; tone: ok, warn, bad or None
    columns: list = field(default_factory=list)  # label keys
    rows: list = field(default_factory=list)     # dicts keyed by column
    tones: list = field(default_factory=list)    # per row: None, 'warn' or 'bad' (highlighted)
    chart: dict = None                           # {'type': 'stacked'|'hbar', ...} drawn by render
    note: str = None                             # label key of a sentence under the section
    ident: str = ''                              # stable id for the HTML anchor and tests


@dataclass
class Report:
    kind: str                                    # daily, monthly, fault, duty
    title: str                                   # label key
    subtitle: str
    meta: list                                   # [(label key, value)]
    sections: list
    generated_at: datetime = field(default_factory=now)


def severity_counts(rows):
    counts = Counter(r['severity'] for r in rows)
    return dict((s, counts.get(s, 0)) for s in SEVERITIES)


def tone_of_counts(counts):
    return 'bad' if counts.get('critical') else ('warn' if counts.get('warning') else None)


def host_statuses(results):
    """host -> (worst status, message of the worst result): unreachable > failed > ok. Only hosts the run
    worked on count: one that ran a bjeic.ops module or could not (the controller's summary play does not)."""
    rank = {'unreachable': 3, 'failed': 2, 'ok': 1, 'skipped': 0}
    worked_on = set(r['host'] for r in results
                    if (r['module'] or '').startswith('bjeic.ops.') or r['status'] in ('failed', 'unreachable'))
    worst = {}
    for result in results:
        if result['host'] not in worked_on:
            continue
        current = worst.get(result['host'])
        if current is None or rank.get(result['status'], 0) > rank.get(current[0], 0):
            worst[result['host']] = (result['status'], result['msg'])
    return worst


# ---------------------------------------------------------------- daily

def records_report(sheet, rows):
    """A listing (ledger, change records, drill or backup records) as a document of one table, for PDF."""
    from . import export
    columns = export.columns_of(rows)
    return Report('records', sheet, '', [('generated_rows', len(rows))],
                  [Section(sheet, ident='records', columns=columns, rows=rows)])


def daily(store, run_id=None):
    run = store.get_run(run_id) if run_id else store.latest_run(DAILY_PLAYBOOK)
    if run is None:
        raise BjeicOpsError('no complete %s run in the store: run it with `bjeic-ops run %s -i INVENTORY`, '
                            'or name a run with --run' % (DAILY_PLAYBOOK, DAILY_PLAYBOOK))
    if run['state'] != COMPLETE:
        raise BjeicOpsError('run %d is %s: a daily report needs a complete run' % (run['id'], run['state']))
    statuses = host_statuses(store.host_results(run['id']))
    found = store.findings(run['id'])
    by_host = defaultdict(list)
    for item in found:
        by_host[item['host']].append(item)
    counts = severity_counts(found)
    unreachable = sorted(h for h, (status, _m) in statuses.items() if status == 'unreachable')
    host_rows, host_tones = [], []
    for host in sorted(statuses):
        host_counts = severity_counts(by_host[host])
        host_rows.append(dict(host=host, status=statuses[host][0], **host_counts))
        host_tones.append('bad' if statuses[host][0] != 'ok' else tone_of_counts(host_counts))
    ordered = sorted(found, key=lambda f: (SEVERITIES.index(f['severity']), f['host'], f['check_id']))
    previous = store.latest_run(os.path.basename(run['playbook']), before_id=run['id'])
    sections = [
        Section('sec_summary', ident='summary', kpis=[
            ('hosts_inspected', len(statuses), None),
            ('hosts_unreachable', len(unreachable), 'bad' if unreachable else 'ok'),
            ('critical', counts['critical'], 'bad' if counts['critical'] else 'ok'),
            ('warning', counts['warning'], 'warn' if counts['warning'] else 'ok'),
            ('info', counts['info'], None)]),
        Section('sec_hosts', ident='hosts', columns=['host', 'status', 'critical', 'warning', 'info'],
                rows=host_rows, tones=host_tones),
        Section('sec_findings', ident='findings', columns=['severity', 'host', 'check', 'subject', 'message'],
                rows=[finding_row(f) for f in ordered], tones=[severity_tone(f['severity']) for f in ordered]),
    ]
    sections += since_previous(store, run, previous, statuses)
    sections.append(Section('sec_unreachable', ident='unreachable', columns=['host', 'message'],
                            rows=[{'host': h, 'message': statuses[h][1]} for h in unreachable],
                            tones=['bad'] * len(unreachable)))
    meta = [('run_id', run['id']), ('started', local(run['started_at'])), ('finished', local(run['finished_at'])),
            ('operator', run['operator']), ('previous_run', previous['id'] if previous else None)]
    return Report('daily', 'title_daily', local(run['started_at']).strftime('%Y-%m-%d'), meta, sections)


def finding_row(item):
    return {'severity': item['severity'], 'host': item['host'], 'check': item['check_id'], 'subject': item['subject'],
            'message': item['message']}


def severity_tone(severity):
    return {'critical': 'bad', 'warning': 'warn'}.get(severity)


def since_previous(store, run, previous, statuses):
    """New and cleared findings, and configuration drift (os, network) since the previous run of the playbook."""
    if previous is None:
        return [Section('sec_since_previous', ident='since-previous', note='note_no_previous')]
    reached = set(h for h, (status, _m) in statuses.items() if status == 'ok')

    def identities(run_id):
        return dict(((f['host'], f['check_id'], f['subject']), f) for f in store.findings(run_id)
                    if f['severity'] != 'info')
    old, new = identities(previous['id']), identities(run['id'])
    rows, tones = [], []
    for ident in sorted(set(new) - set(old)):
        rows.append(dict(change='new_finding', **finding_row(new[ident])))
        tones.append(severity_tone(new[ident]['severity']))
    for ident in sorted(set(old) - set(new)):
        if ident[0] in reached:   # an unreachable host's findings are unknown, not cleared
            rows.append(dict(change='cleared_finding', **finding_row(old[ident])))
            tones.append('ok')
    drift = []
    for kind in ('os', 'network'):
        for row in ledger.diff(store.ledger(kind, run_id=previous['id']), store.ledger(kind, run_id=run['id'])):
            host = row['key'].split(':', 1)[-1].split('@')[-1]
            if row['change'] == 'removed' and host not in reached:
                continue          # not seen because not reached: not a change
            drift.append(row)
    return [Section('sec_since_previous', ident='since-previous',
                    columns=['change', 'severity', 'host', 'check', 'subject', 'message'], rows=rows, tones=tones),
            Section('sec_drift', ident='drift', columns=['key', 'change', 'path', 'before', 'after'], rows=drift)]


# ---------------------------------------------------------------- monthly

def month_window(month):
    try:
        return month_bounds(month)
    except ValueError as exc:
        raise BjeicOpsError(str(exc))


def monthly(store, month, inventory=None):
    since, until = month_window(month)
    days = [(since.astimezone() + timedelta(days=i)).strftime('%m-%d')
            for i in range(int((until - since).total_seconds() // 86400 + 0.5))]
    inspections = [r for r in store.runs_between(since, until, DAILY_PLAYBOOK) if r['state'] == COMPLETE]
    findings = store.findings_between(since, until, playbook=DAILY_PLAYBOOK)
    per_day = defaultdict(Counter)
    for item in findings:
        per_day[local(item['run_at']).strftime('%m-%d')][item['severity']] += 1
    trend = {'type': 'stacked', 'categories': days,
             'series': [(s, [per_day[d][s] for d in days]) for s in SEVERITIES]}
    groups = inventory_groups(inventory) if inventory else {}
    compliance = hardening_by_group(store.observations('os', since, until, prefix='baseline:', newest=True), groups)
    backups = backup_verification(store, since, until)
    instances = db_availability.per_instance(store, since, until)
    availability = [i.row() for i in instances]
    outages = db_availability.outages(store, since, until)
    incident_rows, incident_tones = incident_table(store.incidents(since, until))
    met = sum(1 for r in incident_rows if r['sla'] == 'ok')
    changes = changes_between(store, since, until, backups=False)
    drills = drills_between(store, since, until)
    inspected_days = Counter(local(r['started_at']).strftime('%m-%d') for r in inspections)
    past_days = [d for i, d in enumerate(days) if since + timedelta(days=i) < now()]
    uninspected = [d for d in past_days if not inspected_days[d]]
    notes = alerts.monthly_counts(store, since, until)
    taken = backup_record.per_set(store, since, until)
    total_tests = sum(r['tests'] for r in backups)
    passed = sum(r['passed'] for r in backups)
    lowest = min((i.worst_pct for i in instances), default=None)
    measured = min(until, now())        # the trend of the month's last 30 days, the horizon 30 days after its end
    capacity = forecast.rows(forecast.trends(store, at=measured), at=measured)
    horizon = (measured + timedelta(days=forecast.HORIZON_DAYS)).strftime('%Y-%m-%d')
    kpis = [
        ('inspections_run', len(inspections), None),
        ('findings_total', len(findings), None),
        ('hardening_compliance', _pct(sum(g['passed'] for g in compliance), sum(g['controls'] for g in compliance)), None),
        ('backup_success_rate', _pct(passed, total_tests), 'ok' if total_tests and passed == total_tests else
         ('bad' if total_tests else None)),
        ('db_availability_lowest', lowest, None if lowest is None else ('ok' if lowest >= AVAILABILITY_TARGET else 'bad')),
        ('incidents', len(incident_rows), None),
        ('sla_compliance', _pct(met, len(incident_rows)), None if not incident_rows else
         ('ok' if met == len(incident_rows) else 'bad')),
        ('changes', len(changes), None),
        ('days_without_inspection', len(uninspected), 'bad' if uninspected else 'ok'),
        ('backups_taken', sum(t['taken'] for t in taken), None),
        ('backups_failed', sum(t['failed_count'] for t in taken), 'bad' if any(t['failed_count'] for t in taken) else None),
        ('notifications_sent', sum(n['n_sent'] for n in notes), None),
        ('notifications_failed', sum(n['n_failed'] for n in notes), 'bad' if any(n['n_failed'] for n in notes) else None),
    ]
    sections = [
        Section('sec_summary', ident='summary', kpis=kpis),
        Section('sec_findings_trend', ident='findings-trend', chart=trend,
                columns=['day'] + list(SEVERITIES),
                rows=[dict(day=d, **dict((s, per_day[d][s]) for s in SEVERITIES)) for d in days if per_day[d]]),
        Section('sec_inspection_days', ident='inspection-days', columns=['day', 'complete_inspections', 'covered'],
                rows=[{'day': d, 'complete_inspections': inspected_days[d], 'covered': 'yes' if inspected_days[d] else 'no'}
                      for d in past_days], tones=[None if inspected_days[d] else 'bad' for d in past_days]),
        Section('sec_hardening', ident='hardening', columns=['group', 'hosts', 'controls', 'passed', 'compliance_pct'],
                rows=compliance, chart={'type': 'hbar', 'items': [(g['group'], g['compliance_pct']) for g in compliance],
                                        'target': None},
                note='note_groups' if not inventory else None),
        Section('sec_patch', ident='patch', columns=['host', 'backend', 'pending', 'pending_security', 'unfinished',
                                                     'last_transaction', 'patch_changes'],
                rows=patch_status(store.observations('os', since, until, prefix=PATCH_KEYS, newest=True), changes)),
        Section('sec_backup', ident='backup', columns=['key', 'host', 'tests', 'passed', 'success_pct', 'last_failure'],
                rows=backups, tones=['bad' if r['passed'] < r['tests'] else None for r in backups]),
        Section('sec_backups_taken', ident='backups-taken',
                columns=['set_name', 'host', 'taken', 'verified_count', 'failed_count', 'last'], rows=taken,
                tones=['bad' if t['failed_count'] else None for t in taken]),
        Section('sec_availability', ident='availability', columns=AVAILABILITY_COLUMNS, rows=availability,
                tones=[availability_tone(r) for r in availability], note='note_availability'),
        Section('sec_outages', ident='outages', columns=OUTAGE_COLUMNS, rows=[outage_row(o) for o in outages],
                tones=['bad'] * len(outages)),
        Section('sec_capacity', ident='capacity', columns=CAPACITY_COLUMNS, rows=capacity, note='note_capacity',
                tones=['bad' if r['reaches_critical'] <= horizon else 'warn' for r in capacity]),
        Section('sec_db_health', ident='db-health', columns=['instance', 'host', 'hint', 'evidence', 'points_at'],
                rows=tuning.hints(store, since, until), note='note_db_health'),
        Section('sec_changes', ident='changes', columns=['id', 'at', 'host', 'module', 'object', 'action', 'operator',
                                                         'ticket', 'rollback'],
                rows=[change_row(c) for c in changes], note='note_changes_no_backups'),
        Section('sec_incidents', ident='incidents', columns=INCIDENT_COLUMNS, rows=incident_rows, tones=incident_tones),
        Section('sec_notifications', ident='notifications', columns=['channel', 'n_sent', 'n_failed', 'n_pending', 'n_held'],
                rows=notes, tones=['bad' if n['n_failed'] else None for n in notes]),
        Section('sec_drills', ident='drills', columns=['drill', 'drill_kind', 'host', 'outcome', 'started',
                                                       'recovery_seconds'],
                rows=[{'drill': d['name'], 'drill_kind': d['kind'], 'host': d['host'], 'outcome': d['outcome'],
                       'started': local(d['started']), 'recovery_seconds': (d['timings'] or {}).get('recovery_seconds')}
                      for d in drills], tones=['bad' if d['outcome'] != 'passed' else None for d in drills]),
    ]
    meta = [('month', month), ('window', '%s – %s' % (day(since), day(until - timedelta(seconds=1))))]
    return Report('monthly', 'title_monthly', month, meta, sections)


def changes_between(store, since, until, backups=True):
    """Change records of real (not check-mode) runs made in [since, until); `backups=False` leaves out the records of
    backups taken (every nightly backup is one: the backup record lists them)."""
    return store.changes(since, until=until, real=True, not_modules=None if backups else BACKUP_MODULES)


def drills_between(store, since, until):
    return [d for d in store.drills(since) if as_utc(d['at']) < until]


def _pct(part, whole):
    return round(100.0 * part / whole, 2) if whole else None


def inventory_groups(inventory):
    """host -> [groups] from `ansible-inventory --list` (the inventory's own groups, not all/ungrouped)."""
    data = inventory_list(inventory)
    groups = defaultdict(list)

    def walk(group, seen):
        node = data.get(group) or {}
        for host in node.get('hosts', []):
            if group not in ('all', 'ungrouped'):
                groups[host].append(group)
        for child in node.get('children', []):
            if child not in seen:
                walk(child, seen | {child})
    walk('all', {'all'})
    return dict((host, sorted(set(names))) for host, names in groups.items())


def _latest_by_key(items):
    newest = {}
    for item in items:          # observations come oldest first
        newest[item['key']] = item
    return newest


def hardening_by_group(items, groups):
    """Compliance per host group from each host's newest baseline result of the month (controls pass / checked)."""
    per_group = defaultdict(lambda: {'hosts': set(), 'controls': 0, 'passed': 0})
    for key, item in _latest_by_key(i for i in items if i['key'].startswith('baseline:')).items():
        controls = item['attrs'].get('controls') or {}
        checked = [v for v in controls.values() if v in ('pass', 'fail', 'error')]
        for group in groups.get(item['host'], ['all']):
            entry = per_group[group]
            entry['hosts'].add(item['host'])
            entry['controls'] += len(checked)
            entry['passed'] += checked.count('pass')
    return [{'group': g, 'hosts': len(e['hosts']), 'controls': e['controls'], 'passed': e['passed'],
             'compliance_pct': _pct(e['passed'], e['controls'])} for g, e in sorted(per_group.items())]


def patch_status(items, changes):
    patched = Counter(c['host'] for c in changes if (c['module'] or '').endswith(('linux_patch', 'win_patch'))
                      and c['action'] not in PATCH_BOOKKEEPING)
    rows = []
    for key, item in sorted(_latest_by_key(i for i in items if i['key'].startswith(PATCH_KEYS)).items()):
        attrs, state = item['attrs'], item['attrs'].get('state') or {}
        rows.append({'host': item['host'], 'backend': attrs.get('backend'), 'pending': state.get('pending'),
                     'pending_security': state.get('pending_security'), 'unfinished': state.get('unfinished_transactions'),
                     'last_transaction': attrs.get('last_transaction'), 'patch_changes': patched.get(item['host'], 0)})
    return rows


def backup_verification(store, since, until):
    """Per backup set: restore tests run in [since, until) (check-mode runs and skipped tests do not count) and passed,
    counted by the store."""
    rows = []
    for row in store.backup_tests(since, until):
        rows.append({'key': row['key'], 'host': row['host'], 'tests': row['tests'], 'passed': row['passed'],
                     'last_failure': local(row['last_failure']), 'success_pct': _pct(row['passed'], row['tests'])})
    return rows


CAPACITY_COLUMNS = ['host', 'capacity_kind', 'capacity_object', 'now_pct', 'growth_pct_per_day', 'readings',
                    'reaches_warning', 'reaches_critical', 'trend_note']
AVAILABILITY_COLUMNS = ['instance', 'host', 'engine', 'probes', 'failed', 'down_minutes', 'unmeasured_minutes',
                        'availability_pct', 'latency_avg_ms', 'latency_max_ms', 'meets_target']
OUTAGE_COLUMNS = ['instance', 'host', 'started', 'ended', 'outage_minutes', 'error_class', 'error']


def availability_tone(row):
    return {'yes': None, 'no': 'bad'}.get(row['meets_target'], 'warn')


def outage_row(outage):
    return {'instance': outage['instance'], 'host': outage['host'], 'started': local(outage['started']),
            'ended': local(outage['ended']) if outage['end_seen'] else None, 'outage_minutes': outage['minutes'],
            'error_class': outage['error_class'], 'error': outage['error']}


def change_row(change):
    return {'id': change['id'], 'at': local(change['at']), 'host': change['host'], 'module': change['module'],
            'object': change['object'], 'action': change['action'], 'operator': change['operator'],
            'ticket': change['ticket'], 'rollback': (change['rollback'] or {}).get('id')}


INCIDENT_COLUMNS = ['id', 'level', 'host', 'summary', 'incident_status', 'opened', 'first_response', 'resolved_at',
                    'due', 'sla']


def incident_table(incidents, at=None):
    rows, tones = [], []
    for incident in incidents:
        resolution = [c for c in clocks(incident, at) if c['clock'] == 'clock_resolution'][0]
        state = sla_state(incident, at)
        rows.append({'id': incident['id'], 'level': incident['level'], 'host': incident['host'],
                     'summary': incident['summary'], 'incident_status': incident['status'],
                     'opened': local(incident['opened_at']), 'first_response': local(incident['first_response_at']),
                     'resolved_at': local(incident['resolved_at']), 'due': local(resolution['due']), 'sla': state})
        tones.append({'overdue': 'bad', 'breached': 'warn'}.get(state))
    return rows, tones


# ---------------------------------------------------------------- fault report

def fault(store, incident_id):
    incident = store.get_incident(incident_id)
    opened = as_utc(incident['opened_at'])
    end = as_utc(incident['resolved_at']) or now()
    since = opened - LINK_WINDOW
    clock_rows = [{'clock': c['clock'], 'started': local(c['started']), 'due': local(c['due']),
                   'stopped': local(c['stopped']), 'state': c['state']} for c in clocks(incident)]
    events = [{'at': local(e['at']), 'action': e['action'], 'line': e['line'], 'operator': e['operator'],
               'text': e['text']} for e in store.incident_events(incident_id)]
    changes = [c for c in store.changes(since, host=incident['host']) if as_utc(c['at']) <= end and not c['check_mode']]
    found = [f for f in store.findings_between(since, end + timedelta(seconds=1), host=incident['host'])
             if f['severity'] != 'info']
    duration = round((end - opened).total_seconds() / 60, 1)
    meta = [('id', incident['id']), ('level', incident['level']), ('host', incident['host']),
            ('summary', incident['summary']), ('incident_status', incident['status']),
            ('opened', local(opened)), ('opened_by', incident['opened_by']),
            ('resolved_at', local(incident['resolved_at'])), ('duration_minutes', duration),
            ('resolution', incident['resolution']), ('ticket', incident['ticket'])]
    sections = [
        Section('sec_clocks', ident='clocks', columns=['clock', 'started', 'due', 'stopped', 'state'], rows=clock_rows,
                tones=[{'overdue': 'bad', 'breached': 'warn'}.get(r['state']) for r in clock_rows]),
        Section('sec_timeline', ident='timeline', columns=['at', 'action', 'line', 'operator', 'text'], rows=events),
        Section('sec_linked_changes', ident='linked-changes', note='note_link_window',
                columns=['id', 'at', 'host', 'module', 'object', 'action', 'operator', 'ticket', 'rollback'],
                rows=[change_row(c) for c in changes]),
        Section('sec_linked_findings', ident='linked-findings', note='note_link_window',
                columns=['at', 'severity', 'check', 'subject', 'message'],
                rows=[dict(at=local(f['at']), **dict((k, v) for k, v in finding_row(f).items() if k != 'host'))
                      for f in found], tones=[severity_tone(f['severity']) for f in found]),
    ]
    return Report('fault', 'title_fault', '#%d %s' % (incident['id'], incident['host']), meta, sections)


# ---------------------------------------------------------------- special-period duty

WATCH_MODULES = {'bjeic.ops.linux_watch': 'linux', 'bjeic.ops.win_watch': 'windows'}


def watch_families(results):
    """{linux: hosts, windows: hosts} whose security watch ran in a round (the module says the family)."""
    families = {'linux': set(), 'windows': set()}
    for result in results:
        family = WATCH_MODULES.get(result['module'])
        if family and result['status'] == 'ok':
            families[family].add(result['host'])
    return families


def duty(store, watch_id=None):
    watches = store.watches()
    if watch_id is None:
        if not watches:
            raise BjeicOpsError('no watch in the store: `bjeic-ops duty start --name ...` begins one')
        watch = watches[-1]
    else:
        watch = store.get_watch(watch_id)
    start = as_utc(watch['started_at'])
    end = as_utc(watch['stopped_at']) or now()
    rounds = store.runs_between(start, end, DUTY_PLAYBOOK)
    round_rows, round_tones, hosts, last = [], [], set(), start
    families = {'linux': set(), 'windows': set()}
    gaps = []
    for run in rounds:
        results = store.host_results(run['id'])
        statuses = host_statuses(results)
        watched = watch_families(results)
        counts = severity_counts(store.findings(run['id'])) if run['state'] == COMPLETE else {}
        hosts.update(statuses)
        for family, names in watched.items():
            families[family] |= names
        gap = round((as_utc(run['started_at']) - last).total_seconds() / 60, 1)
        gaps.append(gap)
        last = as_utc(run['started_at'])
        round_rows.append({'run_id': run['id'], 'started': local(run['started_at']), 'run_state': run['state'],
                           'hosts': len(statuses), 'linux_hosts': len(watched['linux']),
                           'windows_hosts': len(watched['windows']),
                           'unreachable': sum(1 for s, _m in statuses.values() if s == 'unreachable'),
                           'critical': counts.get('critical'), 'warning': counts.get('warning'), 'gap_minutes': gap})
        round_tones.append('bad' if run['state'] != COMPLETE or gap > DUTY_ROUND_MINUTES else tone_of_counts(counts))
    gaps.append(round((end - last).total_seconds() / 60, 1))
    found = [f for f in store.findings_between(start, end + timedelta(seconds=1), playbook=DUTY_PLAYBOOK)
             if f['severity'] != 'info']
    security = [f for f in found if f['check_id'].startswith('sec.')]
    other = [f for f in found if not f['check_id'].startswith('sec.')]
    incident_rows, incident_tones = incident_table(store.incidents(start, end))
    missed = sum(1 for g in gaps if g > DUTY_ROUND_MINUTES)
    hours = round((end - start).total_seconds() / 3600, 1)
    sections = [
        Section('sec_summary', ident='summary', kpis=[
            ('duty_hours', hours, None),
            ('duty_rounds', len(rounds), None),
            ('hosts_watched', len(hosts), None),
            ('hosts_watched_linux', len(families['linux']), None),
            ('hosts_watched_windows', len(families['windows']), None),
            ('missed_rounds', missed, 'bad' if missed else 'ok'),
            ('security_findings', len(security), 'bad' if security else 'ok'),
            ('incidents', len(incident_rows), 'bad' if incident_rows else 'ok')]),
        Section('sec_rounds', ident='rounds', columns=['run_id', 'started', 'run_state', 'hosts', 'linux_hosts',
                                                       'windows_hosts', 'unreachable', 'critical', 'warning',
                                                       'gap_minutes'],
                rows=round_rows, tones=round_tones, note='note_rounds'),
        Section('sec_security', ident='security', columns=['at', 'severity', 'host', 'check', 'subject', 'message'],
                rows=[dict(at=local(f['at']), **finding_row(f)) for f in security],
                tones=[severity_tone(f['severity']) for f in security]),
        Section('sec_duty_findings', ident='duty-findings', columns=['at', 'severity', 'host', 'check', 'subject', 'message'],
                rows=[dict(at=local(f['at']), **finding_row(f)) for f in other],
                tones=[severity_tone(f['severity']) for f in other]),
        Section('sec_incidents', ident='incidents', columns=INCIDENT_COLUMNS, rows=incident_rows, tones=incident_tones),
        Section('sec_signoff', ident='signoff', columns=['role', 'name', 'signature'],
                rows=[{'role': 'duty_officer', 'name': watch['started_by'], 'signature': ''},
                      {'role': 'duty_handover', 'name': watch['stopped_by'], 'signature': ''},
                      {'role': 'duty_reviewer', 'name': '', 'signature': ''}]),
    ]
    meta = [('watch', watch['name']), ('watch_id', watch['id']), ('started', local(start)),
            ('finished', local(watch['stopped_at'])), ('started_by', watch['started_by']),
            ('stopped_by', watch['stopped_by']), ('notes', watch['notes'])]
    return Report('duty', 'title_duty', watch['name'], meta, sections)
