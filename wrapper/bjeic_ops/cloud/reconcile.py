"""Reconcile the platform with the records and the hosts: what is unrecorded, reclaimed but present,
silent, or missing."""

from ..i18n import label
from ..times import day
from .common import CloudError, STOPPED
from .view import _reported_since, gather


# ---------------------------------------------------------------- reconcile

def has_critical(rows):
    """Whether a reconciliation found something critical (a reclaimed resource still in the platform)."""
    return any(row['severity'] == 'critical' for row in rows)


def reconcile(store, stale_days=7, at=None, lang='zh'):
    """What the platform export, the lifecycle records and the hosts' own reports disagree on."""
    estate = gather(store)
    if not estate.imports:
        raise CloudError('no platform export has been imported: bjeic-ops cloud import FILE --mapping MAPPING')
    problems = []

    def add(key, problem, severity, *values):
        item = estate.present.get(key) or estate.platform.get(key) or estate.reports.get(key)
        problems.append({'key': key, 'resource_name': item['attrs'].get('name') if item else None, 'problem': problem,
                         'severity': severity, 'detail': label('rd_' + problem, lang) % values})

    for key, item in sorted(estate.present.items()):
        events = estate.events.get(key) or []
        attrs = item['attrs']
        if not events:
            add(key, 'unrecorded', 'warning', attrs['source'])
        elif events[-1]['action'] == 'reclaim':
            add(key, 'reclaimed_present', 'critical', day(events[-1]['at']), events[-1]['ticket'], attrs['source'])
        if attrs['type'] == 'vm' and str(attrs.get('status', '')).lower() not in STOPPED \
                and not _reported_since(estate.reports.get(key), stale_days, at):
            seen = estate.reports.get(key)
            add(key, 'not_inspected', 'warning', stale_days, day(seen['seen_at']) if seen else label('never', lang))
    for key, events in sorted(estate.events.items()):
        if key not in estate.present and events[-1]['action'] != 'reclaim':
            add(key, 'not_in_platform', 'warning', label('act_' + events[-1]['action'], lang), events[-1]['ticket'])
    for key, report in sorted(estate.reports.items()):
        if key not in estate.present and _reported_since(report, stale_days, at):
            add(key, 'unknown_to_platform', 'warning', report['host'])
    order = {'critical': 0, 'warning': 1, 'info': 2}
    problems.sort(key=lambda p: (order[p['severity']], p['problem'], p['key']))
    return problems
