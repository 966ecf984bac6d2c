"""Lifecycle records (申请、变更、回收): a request, a change or a reclaim of a resource, by ticket."""

from ..times import day
from .common import ACTIONS, CloudError, TYPES
from .view import gather


# ---------------------------------------------------------------- lifecycle records

def resolve(resource, estate):
    """TYPE:ID, or TYPE:NAME of exactly one known resource of that type."""
    kind, sep, ident = resource.partition(':')
    if not sep or kind not in TYPES or not ident:
        raise CloudError('resource %r must be TYPE:ID with TYPE one of %s (e.g. vm:9f3c2a1e-...)' % (resource, ', '.join(TYPES)))
    known = set(estate.platform) | set(estate.reports) | set(estate.events)
    if resource in known:
        return resource
    named = sorted(key for key, item in list(estate.platform.items()) + list(estate.reports.items())
                   if key.startswith(kind + ':') and item['attrs'].get('name') == ident)
    if len(set(named)) > 1:
        raise CloudError('%d %s resources are named %r (%s): give the id' % (len(set(named)), kind, ident, ', '.join(sorted(set(named)))))
    return named[0] if named else resource


def record(store, action, resource, ticket, reason, details=None, operator=None, at=None):
    """Record a request, change or reclaim; refuses what would make the history wrong. Returns (key, event id)."""
    if action not in ACTIONS:
        raise CloudError('action must be one of %s' % ', '.join(ACTIONS))
    if not (ticket or '').strip() or not (reason or '').strip():
        raise CloudError('a %s needs --ticket and --reason' % action)
    estate = gather(store)
    key = resolve(resource, estate)
    events = estate.events.get(key) or []
    known = key in estate.platform or key in estate.reports
    if events and events[-1]['action'] == 'reclaim':
        raise CloudError('%s was reclaimed on %s (ticket %s); a reclaimed resource takes no more %ss'
                         % (key, day(events[-1]['at']), events[-1]['ticket'], action))
    if action == 'request' and any(e['action'] == 'request' for e in events):
        raise CloudError('%s was already requested (ticket %s); record a change instead' % (key, events[0]['ticket']))
    if action in ('change', 'reclaim') and not (events or known):
        raise CloudError('%s is unknown: no request recorded and not in any export or host report; '
                         'check the id, or record its request first' % key)
    return key, store.record_cloud_event(key, action, ticket.strip(), reason.strip(), details, operator, at)
