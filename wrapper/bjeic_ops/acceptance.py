"""The acceptance reports (项目验收报告, 阶段性验收报告): every obligation of the contract as a row - what it requires,
what the store shows, the verdict and the evidence (run, record and document ids).

The rule is the contract's own: nothing is `met` without evidence in the store. A figure the store cannot support is
`not_measurable` and says what is missing; an obligation whose occasion never came (no level-1 incident) is
`no_occasion`; in a stage report a count still short of its target is `not_yet` (the year is not over).
"""
from collections import Counter, defaultdict
from datetime import timedelta

from . import BjeicOpsError, availability as db_availability, reports
from .i18n import Phrase
from .incidents import RESOLUTION_HOURS, clocks
from .reports import DAILY_PLAYBOOK, Report, Section
from .times import as_utc, day, local, month_bounds, months_of, now, parse_local
from .vocab import COMPLETE

MIN_WATCHES = 5          # 第六条: the acceptance counts at least five special-period watches
MAX_DRILLS = 4           # the service plan adds at most four drills
PATCH_MODULES = ('bjeic.ops.linux_patch', 'bjeic.ops.win_patch')
VERDICT_TONE = {'met': 'ok', 'not_met': 'bad', 'not_measurable': 'warn', 'not_yet': 'warn', 'no_occasion': None}
COLUMNS = ['obligation', 'requirement', 'observed', 'verdict', 'evidence']


def period(start_text, end_text):
    """[since, until) in UTC from the operator's --from / --to (local dates or times; a date-only --to counts whole)."""
    since = as_utc(parse_local(start_text, '--from %s' % start_text))
    until = as_utc(parse_local(end_text, '--to %s' % end_text))
    if len(end_text) <= 10:
        until += timedelta(days=1)
    if until <= since:
        raise BjeicOpsError('--to %s is not after --from %s' % (end_text, start_text))
    return since, until


class Obligations:
    """The rows of the obligations table, with their tones."""

    def __init__(self, stage):
        self.stage = stage
        self.rows, self.tones = [], []

    def add(self, obligation, requirement, observed, verdict, evidence=(), count=False):
        """`requirement` and `observed` are Phrases; `evidence` record tags (run#12); `count`: a total that a stage
        report may still be short of."""
        if verdict == 'met' and not evidence:
            verdict = 'not_measurable'   # the rule of this report: no evidence, no "met"
        if verdict == 'not_met' and self.stage and count:
            verdict = 'not_yet'
        self.rows.append({'obligation': obligation, 'requirement': requirement, 'observed': observed,
                          'verdict': verdict, 'evidence': '; '.join(evidence)})
        self.tones.append(VERDICT_TONE[verdict])

    def observed_more(self, items):
        """Name what is missing after the last row's figure (days without inspection, hosts never reached)."""
        if items:
            self.rows[-1]['observed'] = Phrase('obs_missing', self.rows[-1]['observed'],
                                               ', '.join(items[:10]) + (' …' if len(items) > 10 else ''))


def figure(value):
    """99.95 -> '99.95', 100.0 -> '100'; None stays None (shown as a dash)."""
    return None if value is None else ('%.3f' % value).rstrip('0').rstrip('.')


def ids(tag, values, limit=12):
    """Record tags, as the listings number them: run#12, change#9 (the report's note says what each tag is)."""
    values = list(values)
    shown = ', '.join('%s#%s' % (tag, v) for v in values[:limit])
    return shown + (' … (+%d)' % (len(values) - limit) if len(values) > limit else '')


def acceptance(store, since, until, stage=False, inventory=None):
    at = min(until, now())
    book = Obligations(stage)
    sections = []
    for part in (watches, drills, availability, incidents, inspections, hardening, patches, backups, changes,
                 monthly_documents):
        section = part(store, since, until, at, book, inventory)
        if section is not None:
            sections.append(section)
    counts = Counter(r['verdict'] for r in book.rows)
    summary = Section('sec_summary', ident='summary', kpis=[
        ('obligations', len(book.rows), None),
        ('met', counts['met'], 'ok'),
        ('not_met', counts['not_met'], 'bad' if counts['not_met'] else 'ok'),
        ('not_yet', counts['not_yet'], 'warn' if counts['not_yet'] else None),
        ('not_measurable', counts['not_measurable'], 'warn' if counts['not_measurable'] else None),
        ('no_occasion', counts['no_occasion'], None)])
    table = Section('sec_obligations', ident='obligations', columns=COLUMNS, rows=book.rows, tones=book.tones,
                    note='note_obligations')
    signoff = Section('sec_signoff', ident='signoff', columns=['role', 'name', 'signature', 'date'],
                      rows=[{'role': role, 'name': '', 'signature': '', 'date': ''}
                            for role in ('party_a', 'party_b', 'supervisor')])
    shown_until = until - timedelta(seconds=1)
    meta = [('period', '%s – %s' % (day(since), day(shown_until))), ('measured_until', local(at)),
            ('report_kind', 'stage_acceptance' if stage else 'project_acceptance')]
    return Report('acceptance', 'title_stage_acceptance' if stage else 'title_acceptance',
                  '%s – %s' % (day(since), day(shown_until)), meta, [summary, table] + sections + [signoff])


# ---------------------------------------------------------------- one function per obligation

def watches(store, since, until, at, book, _inventory):
    rows, counted = [], []
    for watch in store.watches():
        start = as_utc(watch['started_at'])
        if not since <= start < until:
            continue
        end = as_utc(watch['stopped_at'])
        rounds = [r for r in store.runs_between(start, end or at, reports.DUTY_PLAYBOOK) if r['state'] == COMPLETE]
        held = end is not None and bool(rounds)
        if held:
            counted.append(watch['id'])
        rows.append({'watch_id': watch['id'], 'watch': watch['name'], 'started': local(start), 'finished': local(end),
                     'duty_rounds': len(rounds), 'runs': ids('run', [r['id'] for r in rounds], 6),
                     'counted': 'yes' if held else 'no'})
    book.add('ob_watches', Phrase('req_watches', MIN_WATCHES), Phrase('obs_count', len(counted)),
             'met' if len(counted) >= MIN_WATCHES else 'not_met', [ids('watch', counted)] if counted else (), count=True)
    return Section('sec_watches', ident='watches', columns=['watch_id', 'watch', 'started', 'finished', 'duty_rounds',
                                                           'runs', 'counted'],
                   rows=rows, tones=[None if r['counted'] == 'yes' else 'warn' for r in rows], note='note_watch_counted')


def drills(store, since, until, _at, book, _inventory):
    held = reports.drills_between(store, since, until)
    runs = sorted(set(d['run_id'] for d in held))
    outcomes = Counter(d['outcome'] for d in held)
    observed = Phrase('obs_drills', len(runs), outcomes.get('passed', 0), len(held) - outcomes.get('passed', 0))
    verdict = 'met' if 1 <= len(runs) <= MAX_DRILLS else 'not_met'
    book.add('ob_drills', Phrase('req_drills', MAX_DRILLS), observed, verdict,
             [ids('drill', [d['id'] for d in held]) + ' (%s)' % ids('run', runs)] if held else (), count=not runs)
    rows = [{'id': d['id'], 'drill': d['name'], 'drill_kind': d['kind'], 'host': d['host'], 'outcome': d['outcome'],
             'started': local(d['started']), 'run_id': d['run_id']} for d in held]
    return Section('sec_drills', ident='drills', columns=['id', 'drill', 'drill_kind', 'host', 'outcome', 'started',
                                                         'run_id'],
                   rows=rows, tones=['bad' if r['outcome'] != 'passed' else None for r in rows])


def availability(store, since, until, at, book, _inventory):
    instances = db_availability.per_instance(store, since, until, at=at)
    if not instances:
        book.add('ob_db_availability', Phrase('req_availability', '', db_availability.TARGET),
                 Phrase('obs_no_probes'), 'not_measurable')
    for item in instances:
        verdict = {db_availability.MET: 'met', db_availability.NOT_MET: 'not_met'}.get(item.meets_target,
                                                                                     'not_measurable')
        book.add('ob_db_availability', Phrase('req_availability', '%s@%s ' % (item.instance, item.host),
                                              db_availability.TARGET),
                 Phrase('obs_availability_time', figure(item.pct), figure(db_availability.minutes(item.down_s)),
                        figure(db_availability.minutes(item.unmeasured_s)), item.probes),
                 verdict, ['run#%s … run#%s (%d probes)' % (item.first_run, item.last_run, item.probes)])
    rows = [i.row() for i in instances]
    return Section('sec_availability', ident='availability', columns=reports.AVAILABILITY_COLUMNS, rows=rows,
                   tones=[reports.availability_tone(r) for r in rows], note='note_availability')


def incidents(store, since, until, at, book, _inventory):
    happened = store.incidents(since, until)
    for level in sorted(RESOLUTION_HOURS):
        of_level = [i for i in happened if i['level'] == level]
        requirement = Phrase('req_incidents', level, RESOLUTION_HOURS[level])
        if not of_level:
            book.add('ob_incidents', requirement, Phrase('obs_count', 0), 'no_occasion')
            continue
        states = dict((i['id'], [c['state'] for c in clocks(i, at)]) for i in of_level)
        late = [n for n, s in states.items() if 'breached' in s or 'overdue' in s]
        open_ = [n for n, s in states.items() if 'running' in s]
        if late:
            verdict = 'not_met'
        elif open_:
            verdict = 'not_measurable'
        else:
            verdict = 'met'
        observed = Phrase('obs_incidents', len(of_level), len(late), len(open_))
        book.add('ob_incidents', requirement, observed, verdict, [ids('incident', sorted(states))])
    rows, tones = reports.incident_table(happened, at)
    return Section('sec_incidents', ident='incidents', columns=reports.INCIDENT_COLUMNS, rows=rows, tones=tones)


def inspections(store, since, until, at, book, inventory):
    runs = [r for r in store.runs_between(since, until, DAILY_PLAYBOOK) if r['state'] == COMPLETE and not r['check_mode']]
    by_day = defaultdict(list)
    for run in runs:
        by_day[day(run['started_at'])].append(run['id'])
    days, cursor = [], since
    while cursor < at:
        days.append(day(cursor))
        cursor += timedelta(days=1)
    missing = [d for d in days if d not in by_day]
    book.add('ob_inspection_days', Phrase('req_inspection_days'), Phrase('obs_days', len(days) - len(missing), len(days)),
             'met' if days and not missing else ('not_met' if days else 'not_measurable'),
             [ids('run', [r['id'] for r in runs], 6) + ' (%d)' % len(runs)] if runs else ())
    book.observed_more(missing)
    reached = set()
    for statuses in store.hosts_reached([r['id'] for r in runs]).values():
        reached |= set(host for host, status in statuses.items() if status == 'ok')
    if inventory is None:
        book.add('ob_inspection_hosts', Phrase('req_inspection_hosts', '?'), Phrase('obs_no_inventory', len(reached)),
                 'not_measurable')
    else:
        expected = set(reports.inventory_groups(inventory))
        never = sorted(expected - reached)
        book.add('ob_inspection_hosts', Phrase('req_inspection_hosts', len(expected)),
                 Phrase('obs_hosts', len(expected & reached), len(expected)),
                 'met' if expected and not never else 'not_met',
                 [ids('run', [r['id'] for r in runs], 6)] if expected & reached else ())
        book.observed_more(never)
    return Section('sec_inspection_days', ident='inspection-days', columns=['day', 'complete_inspections', 'covered'],
                   rows=[{'day': d, 'complete_inspections': len(by_day.get(d, [])),
                          'covered': 'yes' if d in by_day else 'no'} for d in days],
                   tones=[None if d in by_day else 'bad' for d in days])


def hardening(store, since, until, _at, book, _inventory):
    results = [i for i in store.observations('os', since, until, prefix='baseline:') if not i['check_mode']]
    if not results:
        book.add('ob_hardening', Phrase('req_hardening'), Phrase('obs_no_baseline'), 'not_measurable')
        return None
    first, last = {}, {}
    for item in results:
        first.setdefault(item['key'], item)
        last[item['key']] = item
    start, end = _compliance(first.values()), _compliance(last.values())
    runs = sorted(set(i['run_id'] for i in first.values()) | set(i['run_id'] for i in last.values()))
    book.add('ob_hardening', Phrase('req_hardening'), Phrase('obs_hardening', figure(start), figure(end), len(last)),
             'met' if end is not None and (start is None or end >= start) else 'not_met', [ids('run', runs)])
    return None


def _compliance(items):
    checked = passed = 0
    for item in items:
        for value in (item['attrs'].get('controls') or {}).values():
            if value in ('pass', 'fail', 'error'):
                checked += 1
                passed += value == 'pass'
    return round(100.0 * passed / checked, 1) if checked else None


def patches(store, since, until, _at, book, _inventory):
    patch = [c for c in store.changes(since, until=until, real=True, modules=PATCH_MODULES)
             if c['action'] not in reports.PATCH_BOOKKEEPING]
    rolled = [c for c in patch if c['action'] == 'rollback']
    applied = [c for c in patch if c['action'] != 'rollback']
    planned = store.observations('os', since, until, prefix=reports.PATCH_KEYS, newest=True, state_only=True)
    observed = Phrase('obs_patches', len(applied), len(set(c['host'] for c in applied)), len(rolled))
    if applied:
        verdict = 'met'
    else:
        verdict = 'not_met' if planned else 'not_measurable'
    book.add('ob_patches', Phrase('req_patches'), observed, verdict,
             [ids('change', [c['id'] for c in patch])] if patch else ())
    return None


def backups(store, since, until, _at, book, _inventory):
    summary = store.backup_summary(since, until)      # a year holds a hundred thousand: counted, not read
    bad = summary['bad']
    tests = reports.backup_verification(store, since, until)
    passed, total = sum(t['passed'] for t in tests), sum(t['tests'] for t in tests)
    observed = Phrase('obs_backups', summary['taken'], summary['good'], len(bad), passed, total)
    if not summary['taken'] and not total:
        verdict = 'not_measurable'
    else:
        verdict = 'not_met' if bad or passed < total else 'met'
    evidence = []
    if summary['taken']:
        evidence.append(ids('backup', summary['first'], 6) +
                        (' … (+%d)' % (summary['taken'] - 6) if summary['taken'] > 6 else ''))
    if bad:
        evidence.append('failed: ' + ids('backup', [b['id'] for b in bad], 6))
    if tests:
        runs, count = store.backup_test_runs(since, until, 6)
        evidence.append(ids('check', runs, 6) + (' … (+%d)' % (count - 6) if count > 6 else ''))
    book.add('ob_backups', Phrase('req_backups'), observed, verdict, evidence)
    return None


UNTRACKED_SHOWN = 200     # changes without a ticket listed in the report; the rest are counted (bjeic-ops changes)


def changes(store, since, until, _at, book, _inventory):
    total = store.change_count(since, until)     # a year holds a hundred thousand (every backup taken is one)
    without_count = store.change_count(since, until, without_ticket=True)
    if not total:
        book.add('ob_change_tickets', Phrase('req_change_tickets'), Phrase('obs_count', 0), 'no_occasion')
        return None
    without = store.changes(since, until=until, real=True, without_ticket=True, limit=UNTRACKED_SHOWN)
    book.add('ob_change_tickets', Phrase('req_change_tickets'), Phrase('obs_tickets', total - without_count, total),
             'not_met' if without else 'met',
             ['without ticket: ' + ids('change', [c['id'] for c in without]) +
              (' … (+%d)' % (without_count - 12) if without_count > len(without) else '')] if without
             else [ids('change', [c['id'] for c in store.changes(since, until=until, real=True, limit=6)], 6)
                   + (' … (+%d)' % (total - 6) if total > 6 else '')])
    if not without:
        return None
    return Section('sec_untracked_changes', ident='untracked-changes', columns=['id', 'at', 'host', 'module', 'object',
                                                                                'action', 'operator', 'ticket'],
                   rows=[reports.change_row(c) for c in without], tones=['bad'] * len(without),
                   note='note_untracked_more' if without_count > len(without) else None)


def monthly_documents(store, since, until, _at, book, _inventory):
    # A month the period touches owes its report once the month is over.
    months = [month for month in months_of(since, until) if month_bounds(month)[1] <= now()]
    documents = store.documents('monthly')
    rows = []
    for month in months:
        made = [d for d in documents if d['subject'] == month]
        book.add('ob_monthly_report', Phrase('req_monthly_report', month), Phrase('obs_count', len(made)),
                 'met' if made else 'not_met',
                 ['document#%d %s sha256 %s' % (d['id'], day(d['at']), d['sha256'][:12]) for d in made[-1:]])
        rows.extend({'id': d['id'], 'month': month, 'format': d['format'], 'at': local(d['at']),
                     'sha256': d['sha256'], 'file': d['path']} for d in made)
    return Section('sec_documents', ident='documents', columns=['id', 'month', 'format', 'at', 'sha256', 'file'],
                   rows=rows)
