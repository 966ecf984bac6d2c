"""The operation report (远程操作记录, contract 7.3): every task sent to every host in one or more runs - time,
operator, ticket, host, module, the arguments as the module received them (secrets masked), the outcome, and the
change records it produced. For an incident: every run that touched its host between opening and resolution."""
from collections import Counter, defaultdict
from datetime import timedelta

from . import BjeicOpsError
from .i18n import Phrase
from .ingest import NO_LOG
from .reports import Report, Section
from .times import as_utc, local, now


def for_incident(store, incident_id):
    incident = store.get_incident(incident_id)
    opened = as_utc(incident['opened_at'])
    end = as_utc(incident['resolved_at']) or now()
    runs = store.runs_touching(incident['host'], opened, end + timedelta(seconds=1))
    report = build(store, runs, host=incident['host'])
    report.subtitle = '#%d %s' % (incident['id'], incident['host'])
    report.meta = [('id', incident['id']), ('host', incident['host']), ('summary', incident['summary']),
                   ('opened', local(opened)), ('resolved_at', local(incident['resolved_at']))] + report.meta
    return report


def for_runs(store, run_ids):
    runs = [store.get_run(run_id) for run_id in sorted(set(run_ids))]
    report = build(store, runs)
    report.subtitle = ', '.join('#%d' % r['id'] for r in runs)
    return report


def arguments(value):
    if value == NO_LOG:
        return Phrase('args_no_log')
    if value is None:
        return Phrase('args_not_reported')
    return value


def build(store, runs, host=None):
    if not runs and host is None:
        raise BjeicOpsError('no run to report: name runs with --run N (`bjeic-ops runs` lists them)')
    run_ids = [r['id'] for r in runs]
    made = defaultdict(list)
    for run_id in run_ids:
        for change in store.changes(host=host, run_id=run_id):
            made[(run_id, change['host'], change['task'], as_utc(change['at']))].append(change['id'])
    rows, tones = [], []
    for result in store.operations(run_ids, host) if run_ids else []:
        if result['status'] == 'skipped':
            continue        # a skipped task sent nothing to the host
        change_ids = made.get((result['run_id'], result['host'], result['task'], as_utc(result['at'])), [])
        rows.append({'at': local(result['at']), 'run_id': result['run_id'], 'operator': result['operator'],
                     'ticket': result['ticket'], 'host': result['host'], 'module': result['module'],
                     'task': result['task'], 'args': arguments(result['args']), 'task_status': result['status'],
                     'changed': 'yes' if result['changed'] else 'no',
                     'change_ids': ', '.join('change#%d' % c for c in change_ids),
                     'check_mode': 'yes' if result['check_mode'] else 'no'})
        tones.append('bad' if result['status'] in ('failed', 'unreachable') else ('warn' if result['changed'] else None))
    statuses = Counter(r['task_status'] for r in rows)
    summary = Section('sec_summary', ident='summary', kpis=[
        ('runs', len(runs), None), ('tasks_sent', len(rows), None),
        ('hosts', len(set(r['host'] for r in rows)), None),
        ('changed_tasks', sum(1 for r in rows if r['changed'] == 'yes'), None),
        ('failed_tasks', statuses['failed'] + statuses['unreachable'],
         'bad' if statuses['failed'] + statuses['unreachable'] else 'ok')])
    run_rows = [{'run_id': r['id'], 'playbook': r['playbook'], 'started': local(r['started_at']),
                 'finished': local(r['finished_at']), 'operator': r['operator'], 'ticket': r['ticket'],
                 'check_mode': 'yes' if r['check_mode'] else 'no', 'run_state': r['state']} for r in runs]
    sections = [summary,
                Section('sec_runs', ident='runs', columns=['run_id', 'playbook', 'started', 'finished', 'operator',
                                                          'ticket', 'check_mode', 'run_state'], rows=run_rows),
                Section('sec_operations', ident='operations', note='note_operations',
                        columns=['at', 'run_id', 'operator', 'ticket', 'host', 'module', 'task', 'args', 'task_status',
                                 'changed', 'change_ids'], rows=rows, tones=tones)]
    meta = [('generated_rows', len(rows))]
    return Report('operations', 'title_operations', '', meta, sections)
