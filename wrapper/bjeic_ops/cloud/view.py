"""The resource view: each resource as the platform lists it, as its host reports it, and as the lifecycle
records have it; and its history."""
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from ..i18n import label
from ..ledger import GIB, diff
from ..times import as_utc, now
from .common import CloudError, SELF_PREFIX


# ---------------------------------------------------------------- the resource view

@dataclass
class Estate:
    """Everything known about cloud resources, gathered from the store once."""
    platform: dict      # key -> newest platform item (any import, present or not)
    present: dict       # key -> item in the newest import of its source
    reports: dict       # key (vm:ID) -> newest host self-report item
    disk_reports: dict  # key (disk:SERIAL) -> newest report of a disk by its host (linux_expand)
    events: dict        # key -> [events], oldest first
    imports: dict       # source -> run


def gather(store):
    items = store.ledger('cloud')
    imports = store.latest_imports()
    present = {}
    for run in imports.values():
        present.update((i['key'], i) for i in store.ledger('cloud', run_id=run['id']))
    events = defaultdict(list)
    for event in store.cloud_events():
        events[event['resource']].append(event)
    own = [(i['key'][len(SELF_PREFIX):], i) for i in items if i['key'].startswith(SELF_PREFIX)]
    return Estate(platform=dict((i['key'], i) for i in items if not i['key'].startswith(SELF_PREFIX)),
                  present=present,
                  reports=dict((k, i) for k, i in own if i['attrs'].get('type') != 'disk'),
                  disk_reports=dict((k, i) for k, i in own if i['attrs'].get('type') == 'disk'),
                  events=dict(events), imports=imports)


def lifecycle_state(key, estate, stale_days=7, at=None):
    """在用 in_use, 已申请 requested, 已回收 reclaimed, 未见 absent (was seen, is no longer)."""
    events = estate.events.get(key) or []
    if events and events[-1]['action'] == 'reclaim':
        return 'reclaimed'
    if key in estate.present or _reported_since(estate.reports.get(key), stale_days, at):
        return 'in_use'
    if key in estate.platform or key in estate.reports:
        return 'absent'
    return 'requested' if events else 'absent'


def _reported_since(item, days, at=None):
    return item is not None and as_utc(item['seen_at']) >= (at or now()) - timedelta(days=days)


def resource_rows(estate, stale_days=7):
    """One row per resource: what the platform says, what the host says, and its lifecycle."""
    rows = []
    disk_sizes = disk_sizes_by_resource(estate)
    for key in sorted(set(estate.platform) | set(estate.reports) | set(estate.events)):
        item = estate.platform.get(key) or estate.reports.get(key)
        attrs = dict(item['attrs']) if item else {}
        report = estate.reports.get(key)
        events = estate.events.get(key) or []
        kind, _sep, ident = key.partition(':')
        last = events[-1] if events else None
        rows.append({
            'key': key, 'resource_type': kind, 'resource_id': ident, 'resource_name': attrs.get('name'),
            'lifecycle': lifecycle_state(key, estate, stale_days),
            'platform_status': attrs.get('status') if key in estate.platform else None,
            'in_export': key in estate.present,
            'spec': spec_of(attrs, report),
            'attached_to': attrs.get('attached_to'),
            'addresses': ', '.join(attrs.get('addresses') or (report['attrs'].get('addresses') if report else []) or []),
            'zone': attrs.get('zone') or attrs.get('availability_zone'),
            'owner': attrs.get('owner'),
            'self_reported_at': report['seen_at'] if report else None,
            'host_size_gib': disk_sizes.get(key),
            'last_action': last['action'] if last else None,
            'last_ticket': last['ticket'] if last else None,
            'last_action_at': last['at'] if last else None,
        })
    return rows


def host_disk_sizes(estate):
    """{serial: (size_bytes, seen_at)}: the newest size each host reported of its disks - from the daily inspection
    (a VM's `disks`) and from linux_expand (`self:disk:SERIAL`)."""
    sizes = {}
    for item in list(estate.reports.values()) + list(estate.disk_reports.values()):
        attrs = item['attrs']
        disks = [attrs] if attrs.get('type') == 'disk' else attrs.get('disks') or []
        for disk in disks:
            serial = disk.get('id') if attrs.get('type') == 'disk' else disk.get('serial')
            if serial and disk.get('size_bytes') is not None:
                known = sizes.get(serial)
                if known is None or as_utc(item['seen_at']) > as_utc(known[1]):
                    sizes[serial] = (disk['size_bytes'], item['seen_at'])
    return sizes


def _normal(ident):
    return str(ident).lower().replace('-', '')


def disk_sizes_by_resource(estate):
    """{disk:ID: GiB} from the hosts' reports. A virtio disk's serial is its volume id, cut (OpenStack keeps the
    first 20 characters): a serial names a platform disk when it is that disk's id or the start of exactly one."""
    disks = [key for key in estate.platform if key.startswith('disk:')]
    sized = {}
    for serial, (size, _seen) in host_disk_sizes(estate).items():
        cut = _normal(serial)
        exact = [key for key in disks if _normal(key[5:]) == cut]
        matches = exact or [key for key in disks if len(cut) >= 8 and _normal(key[5:]).startswith(cut)]
        if len(matches) == 1:
            sized[matches[0]] = round(size / GIB, 1)
    return sized


def spec_of(attrs, report=None):
    if attrs.get('type') == 'vm' or report:
        cpu = attrs.get('cpu_count') or (report and report['attrs'].get('cpu_count'))
        memory = attrs.get('memory_gib')
        if memory is None and report and report['attrs'].get('memory_bytes'):
            memory = round(report['attrs']['memory_bytes'] / GIB, 1)
        text = ' '.join(filter(None, (attrs.get('flavor'), '%svCPU' % cpu if cpu else None,
                                      '%sGiB' % memory if memory is not None else None)))
        return text or None
    if attrs.get('size_gib') is not None:
        return '%sGiB' % attrs['size_gib']
    return None


def history_rows(store, key, lang='zh'):
    """A resource's life: its lifecycle records and every change the platform or the host showed."""
    rows = [{'at': e['at'], 'event': e['action'], 'ticket': e['ticket'], 'operator': e['operator'],
             'detail': e['reason'] + (' ' + json.dumps(e['details'], ensure_ascii=False, sort_keys=True)
                                      if e['details'] else '')}
            for e in store.cloud_events(key)]
    for observed in (key, SELF_PREFIX + key):
        previous = None
        for item in store.history('cloud', observed):
            source = label('src_host' if observed.startswith(SELF_PREFIX) else 'src_platform', lang)
            if previous is None:
                rows.append({'at': item['seen_at'], 'event': 'first_seen', 'ticket': None, 'operator': None,
                             'detail': '%s (%s %d)' % (source, label('run_id', lang), item['run_id'])})
            else:
                for change in diff([previous], [item]):
                    rows.append({'at': item['seen_at'], 'event': 'observed_change', 'ticket': None, 'operator': None,
                                 'detail': '%s %s: %s -> %s' % (source, change['path'], change['before'], change['after'])})
            previous = item
    if not rows:
        raise CloudError('nothing is known of %s: no record and no observation (`bjeic-ops cloud list` lists resources)'
                         % key)
    rows.sort(key=lambda r: as_utc(r['at']))
    return rows
