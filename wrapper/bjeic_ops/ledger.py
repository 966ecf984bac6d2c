"""Configuration ledgers (台账): rows per kind for tables and exports, and drift between runs."""
import json

from .store import dumps
from .vocab import LEDGER_KINDS

KINDS = LEDGER_KINDS   # the kinds a ledger can be shown for

GIB = 1024 ** 3


def _gib(value):
    return round(value / GIB, 1) if isinstance(value, (int, float)) else None


def _os_row(attrs):
    os_info = attrs.get('os') or {}
    cpu = attrs.get('cpu') or {}
    sync = attrs.get('time_sync') or {}
    return {
        'hostname': attrs.get('hostname'), 'fqdn': attrs.get('fqdn'),
        'addresses': ', '.join(a['address'] for a in attrs.get('addresses') or [] if a.get('family') == 'inet'),
        'os': os_info.get('pretty_name') or ' '.join(filter(None, (os_info.get('name'), os_info.get('version')))),
        'kernel': attrs.get('kernel'), 'arch': attrs.get('arch'),
        'cpu_count': cpu.get('count'), 'cpu_model': cpu.get('model'),
        'memory_gib': _gib(attrs.get('memory_bytes')), 'swap_gib': _gib(attrs.get('swap_bytes')),
        'disks': ', '.join('%s %sG' % (d['name'], _gib(d.get('size_bytes'))) for d in attrs.get('disks') or []),
        'filesystems': ', '.join('%s %s %sG' % (f['mountpoint'], f['fstype'], _gib(f.get('size_bytes')))
                                 for f in attrs.get('filesystems') or []),
        'volume_groups': ', '.join('%s %sG' % (v['vg_name'], _gib(v.get('vg_size'))) for v in attrs.get('volume_groups') or []),
        'time_sync': sync.get('source'),
        'boot_time': attrs.get('boot_time'),
    }


def _network_row(attrs):
    firewall = attrs.get('firewall') or {}
    rules = sum(len(v) for v in firewall.values() if isinstance(v, list))
    return {
        'hostname': attrs.get('hostname'),
        'listening': ', '.join('%s/%s %s' % (s['port'], s['proto'], s.get('process', '?'))
                               for s in attrs.get('listening') or []),
        'firewall_backends': ', '.join(sorted(k for k, v in firewall.items() if v)),
        'firewall_rules': rules,
    }


def _backup_row(attrs):
    state = attrs.get('state') or {}
    restore = state.get('restore') or {}
    return {
        'set': attrs.get('set'), 'backup_path': attrs.get('path'), 'max_age_hours': attrs.get('max_age_hours'),
        'newest': state.get('newest'), 'backup_time': state.get('mtime'), 'age_hours': state.get('age_hours'),
        'size_bytes': state.get('size'), 'count': state.get('count'), 'verified': state.get('verified'),
        'restore_ok': restore.get('ok'),
        'restore_seconds': restore.get('restore_seconds'),
    }


def _db_row(attrs):
    """数据库台账: the contract's per-database columns; this run's figures come from attrs.state."""
    state = attrs.get('state') or {}
    archive = attrs.get('archive') or {}
    spaces = [sp for sp in state.get('spaces') or [] if sp.get('free_pct') is not None]
    tightest = min(spaces, key=lambda sp: sp['free_pct']) if spaces else None
    backups = state.get('backups') or []
    perf = state.get('perf') or {}
    return {
        'db_engine': ' '.join(filter(None, (attrs.get('product') or attrs.get('engine'), attrs.get('edition')))),
        'db_version': attrs.get('version'), 'db_instance': attrs.get('instance'), 'db_server': attrs.get('server'),
        'os': attrs.get('os'), 'cpu_count': attrs.get('cpu_count'), 'memory_gib': _gib(attrs.get('memory_bytes')),
        'datafiles_gib': _gib(sum(f.get('size_bytes') or 0 for f in state.get('datafiles') or [])),
        'temp_gib': _gib((state.get('temp') or {}).get('size_bytes')),
        'archive_mode': archive.get('mode') if not isinstance(archive.get('mode'), dict) else
        ', '.join('%s %s' % item for item in sorted(archive['mode'].items())),
        'lowest_free': '%s %s%%' % (tightest['name'], tightest['free_pct']) if tightest else None,
        'log_errors': len(state['errors']) if 'errors' in state else None,
        'last_backup': max((b['last'] for b in backups if b.get('last')), default=None),
        'sessions': perf.get('sessions'), 'buffer_hit_pct': perf.get('buffer_hit_pct'),
    }


def _cloud_row(attrs):
    """云资源台账: one observation of a resource, from a platform export or from the host itself."""
    memory = attrs.get('memory_gib')
    if memory is None and attrs.get('memory_bytes'):
        memory = _gib(attrs['memory_bytes'])
    return {
        'resource_type': attrs.get('type'), 'resource_id': attrs.get('id'), 'resource_name': attrs.get('name'),
        'source': attrs.get('source'), 'platform_status': attrs.get('status'),
        'cpu_count': attrs.get('cpu_count'), 'memory_gib': memory, 'size_gib': attrs.get('size_gib'),
        'instance_type': attrs.get('flavor') or attrs.get('instance_type'),
        'attached_to': attrs.get('attached_to'), 'zone': attrs.get('zone') or attrs.get('availability_zone'),
        'addresses': ', '.join(attrs.get('addresses') or []), 'owner': attrs.get('owner'),
    }


def _generic_row(attrs):
    return {'attrs': dumps({k: v for k, v in attrs.items() if k != 'state'})}


ROW_BUILDERS = {'os': _os_row, 'network': _network_row, 'backup': _backup_row, 'db': _db_row, 'cloud': _cloud_row}


def rows(items, kind):
    """Flat rows (dicts in column order) for ledger items of one kind."""
    build = ROW_BUILDERS.get(kind, _generic_row)
    out = []
    for item in items:
        row = {'key': item['key'], 'host': item['host']}
        row.update(build(item['attrs']))
        row['seen_at'] = item['seen_at'].strftime('%Y-%m-%d %H:%M:%S') if hasattr(item['seen_at'], 'strftime') else item['seen_at']
        row['run_id'] = item['run_id']
        out.append(row)
    return out


# ---------------------------------------------------------------- drift

IDENTITY_KEYS = ('mountpoint', 'name', 'vg_name', 'lv_name', 'key', 'id', 'unit')


def flatten(value, prefix=''):
    """{dotted path: scalar or list of scalars}. Lists of dicts are keyed by an identity field
    (mountpoint, name, ...) so reordering is not drift; `state` holds run-to-run values and is left out."""
    flat = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if key == 'state' and not prefix:
                continue
            flat.update(flatten(item, '%s.%s' % (prefix, key) if prefix else str(key)))
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        for index, item in enumerate(value):
            ident = next((str(item[k]) for k in IDENTITY_KEYS if k in item), None)
            if ident is None and {'proto', 'port'} <= set(item):
                ident = '%s/%s/%s' % (item['proto'], item.get('address', ''), item['port'])
            flat.update(flatten(item, '%s[%s]' % (prefix, ident if ident is not None else index)))
    elif isinstance(value, list):
        flat[prefix] = sorted(json.dumps(item, sort_keys=True) if not isinstance(item, str) else item for item in value)
    else:
        flat[prefix] = value
    return flat


def diff(old_items, new_items):
    """Drift between two ledgers of one kind: [{key, change, path, before, after}].

    change is added / removed for whole items and changed for attributes; for list attributes
    (firewall rule lines) `before` / `after` hold only the elements removed / added.
    """
    old = {item['key']: item for item in old_items}
    new = {item['key']: item for item in new_items}
    drift = []
    for key in sorted(set(old) | set(new)):
        if key not in old:
            drift.append({'key': key, 'change': 'added', 'path': '', 'before': None, 'after': None})
            continue
        if key not in new:
            drift.append({'key': key, 'change': 'removed', 'path': '', 'before': None, 'after': None})
            continue
        before, after = flatten(old[key]['attrs']), flatten(new[key]['attrs'])
        for path in sorted(set(before) | set(after)):
            a, b = before.get(path), after.get(path)
            if a == b:
                continue
            if isinstance(a, list) and isinstance(b, list):
                a, b = [x for x in a if x not in b], [x for x in b if x not in a]
            drift.append({'key': key, 'change': 'changed', 'path': path, 'before': a, 'after': b})
    return drift
