"""The cloud resource ledger (云资源台账): platform exports, lifecycle records, reconciliation and right-sizing.

Two sources feed ledger items of kind `cloud`:
- hosts report themselves (`bjeic.ops.linux_inspect`, `bjeic.ops.win_inspect`, key `self:vm:ID`);
- a cloud platform's export (CSV, XLSX, JSON) or any Ansible inventory (`ansible-inventory --list`),
  read through a mapping file and stored as one complete run `cloud-import:SOURCE` (keys `TYPE:ID`).
The newest import of each source is that platform's current export. Requests, changes and reclaims are
recorded in the store (`cloud_events`) with ticket, reason, operator and time.
"""
import csv
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import timedelta

from . import BjeicOpsError
from .i18n import label
from .inventory import inventory_list
from .ledger import GIB, diff
from .times import as_utc, day, now

TYPES = ('vm', 'disk', 'secgroup', 'backup')
ACTIONS = ('request', 'change', 'reclaim')
SELF_PREFIX = 'self:'
NUMERIC = {'cpu_count': int, 'memory_gib': float, 'size_gib': float}
LIST_ATTRS = ('addresses', 'secgroups')
STOPPED = ('stopped', 'shutoff', 'shutdown')     # platform states of a VM that is not running
UNATTACHED = ('available', 'unattached', 'detached')
MAX_ERRORS_SHOWN = 20
# How many of a unit make one GiB (cloud consoles mix binary and decimal units).
UNITS_PER_GIB = {'B': GIB, 'KiB': 1024 ** 2, 'MiB': 1024, 'GiB': 1, 'TiB': 1 / 1024.0,
                 'MB': GIB / 1000.0 ** 2, 'GB': GIB / 1000.0 ** 3, 'TB': GIB / 1000.0 ** 4}


class CloudError(BjeicOpsError):
    pass


# ---------------------------------------------------------------- mapping

@dataclass
class Mapping:
    """How one platform's export becomes ledger items; read from a YAML file (see docs/cloud.md)."""
    source: str
    fields: dict                                     # ledger attribute -> column name or dotted path
    type: str = None                                 # every record is this type ...
    type_field: str = None                           # ... or this column names it,
    type_values: dict = field(default_factory=dict)  # through this map (platform word -> type)
    values: dict = field(default_factory=dict)       # attribute -> {platform word: ledger word}
    units: dict = field(default_factory=dict)        # *_gib attribute -> unit the export gives it in (MiB ...)
    sheet: str = None                                # xlsx: the sheet (default: the first)
    records: str = None                              # json: dotted path to the list of records


def load_mapping(path):
    from . import yamlfile
    data = yamlfile.read(path, 'cannot read mapping %s' % path, CloudError)
    if not isinstance(data, dict):
        raise CloudError('mapping %s must be a YAML mapping with source and fields' % path)
    known = set(f.name for f in fields(Mapping))
    unknown = sorted(set(data) - known)
    if unknown:
        raise CloudError('mapping %s: unknown key(s) %s; known: %s' % (path, ', '.join(map(str, unknown)),
                                                                      ', '.join(sorted(known))))
    missing = [name for name in ('source', 'fields') if name not in data]
    if missing:
        raise CloudError('mapping %s: %s missing (see docs/cloud.md)' % (path, ' and '.join(missing) + ' is'
                                                                       if len(missing) == 1 else ' and '.join(missing) + ' are'))
    mapping = Mapping(**data)
    problems = []
    if not mapping.source or not isinstance(mapping.source, str):
        problems.append('source (the platform name, e.g. ctyun-gov) is missing')
    if not isinstance(mapping.fields, dict) or 'id' not in mapping.fields:
        problems.append('fields must map at least id to the column holding the resource id')
    if bool(mapping.type) == bool(mapping.type_field):
        problems.append('give either type (one of %s) or type_field with type_values' % ', '.join(TYPES))
    if mapping.type and mapping.type not in TYPES:
        problems.append('type %r is not one of %s' % (mapping.type, ', '.join(TYPES)))
    for attr, unit in (mapping.units or {}).items():
        if not attr.endswith('_gib') or unit not in UNITS_PER_GIB:
            problems.append('units: %s: %s must be a *_gib attribute given in one of %s'
                            % (attr, unit, ', '.join(UNITS_PER_GIB)))
    bad = sorted(v for v in (mapping.type_values or {}).values() if v not in TYPES)
    if bad:
        problems.append('type_values map to %s; allowed: %s' % (', '.join(map(str, bad)), ', '.join(TYPES)))
    if problems:
        raise CloudError('mapping %s: %s' % (path, '; '.join(problems)))
    return mapping


# ---------------------------------------------------------------- reading exports

def read_records(path, mapping):
    """[(where, record dict)] from a CSV, XLSX or JSON export; `where` names the row for messages."""
    if not os.path.isfile(path):
        raise CloudError('no such export file: %s' % path)
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix == '.csv':
            with open(path, encoding='utf-8-sig', newline='') as handle:
                return [('row %d' % (n + 2), row) for n, row in enumerate(csv.DictReader(handle))]
        if suffix in ('.xlsx', '.xlsm'):
            return _xlsx_records(path, mapping.sheet)
        if suffix == '.json':
            with open(path, encoding='utf-8') as handle:
                data = json.load(handle)
            records = lookup(data, mapping.records) if mapping.records else data
            if not isinstance(records, list):
                raise CloudError('%s: %s is not a list of records' % (path, mapping.records or 'the top level'))
            return [('record %d' % (n + 1), r) for n, r in enumerate(records)]
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise CloudError('cannot read %s: %s' % (path, exc))
    raise CloudError('%s: unknown export format %r; give a .csv, .xlsx or .json file' % (path, suffix))


def _xlsx_records(path, sheet):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError) as exc:
        raise CloudError('%s is not a readable XLSX workbook: %s' % (path, exc))
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise CloudError('%s has no sheet %r; sheets: %s' % (path, sheet, ', '.join(workbook.sheetnames)))
        rows = workbook[sheet] if sheet else workbook.worksheets[0]
        values = list(rows.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not values:
        return []
    header = [str(h).strip() if h is not None else '' for h in values[0]]
    return [('row %d' % (n + 2), dict(zip(header, row))) for n, row in enumerate(values[1:])
            if any(cell not in (None, '') for cell in row)]


def inventory_records(inventory):
    """[(where, hostvars + inventory_hostname)] from any Ansible inventory, dynamic ones included."""
    hostvars = (inventory_list(inventory).get('_meta') or {}).get('hostvars') or {}
    if not hostvars:   # ansible-inventory only warns about a source it cannot parse
        raise CloudError('inventory %s lists no hosts: check the path and run ansible-inventory -i %s --list'
                         % (inventory, inventory))
    return [('host %s' % name, dict(hostvars[name], inventory_hostname=name)) for name in sorted(hostvars)]


def lookup(record, path):
    """A column by its exact name, else a dotted path into nested data (openstack.flavor.name)."""
    if isinstance(record, dict) and path in record:
        return record[path]
    value = record
    for part in str(path).split('.'):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _convert(attr, value, mapping):
    if isinstance(value, str):
        value = value.strip()
    if value in (None, ''):
        return None
    if attr in mapping.values:
        value = mapping.values[attr].get(value, value)
    if attr in NUMERIC:
        try:
            number = float(str(value).replace(',', ''))
        except ValueError:
            raise ValueError('%s %r is not a number' % (attr, value))
        if attr in mapping.units:
            number = round(number / UNITS_PER_GIB[mapping.units[attr]], 2)
        return NUMERIC[attr](number) if NUMERIC[attr] is float or number.is_integer() else number
    if attr in LIST_ATTRS:
        items = value if isinstance(value, list) else str(value).replace(';', ',').replace(' ', ',').split(',')
        return sorted(str(item).strip() for item in items if str(item).strip())
    if hasattr(value, 'isoformat'):
        return value.isoformat()
    return value if isinstance(value, (int, float, bool, list, dict)) else str(value)


def build_items(records, mapping):
    """Ledger items {host, kind, key, attrs} for one import; every problem is collected, then raised at once
    so a half-good file is never half imported."""
    problems, items, seen = [], [], {}
    if records:
        columns = set(records[0][1]) if isinstance(records[0][1], dict) else set()
        flat = all(isinstance(v, (str, int, float, type(None))) or hasattr(v, 'isoformat')
                   for _w, r in records[:1] for v in r.values())
        missing = [c for c in list(mapping.fields.values()) + ([mapping.type_field] if mapping.type_field else [])
                   if flat and c not in columns]
        if missing:
            raise CloudError('the export has no column %s; its columns are: %s'
                             % (', '.join(repr(c) for c in missing), ', '.join(sorted(map(str, columns)))))
    for where, record in records:
        try:
            attrs = {}
            for attr, column in mapping.fields.items():
                value = _convert(attr, lookup(record, column), mapping)
                if value is not None:
                    attrs[attr] = value
            kind = mapping.type or mapping.type_values.get(str(lookup(record, mapping.type_field) or '').strip())
            if kind not in TYPES:
                raise ValueError('%s %r is not in type_values' % (mapping.type_field, lookup(record, mapping.type_field)))
            if not attrs.get('id'):
                raise ValueError('no id (column %r is empty)' % mapping.fields['id'])
        except ValueError as exc:
            problems.append('%s: %s' % (where, exc))
            continue
        attrs['id'], attrs['type'], attrs['source'] = str(attrs['id']), kind, mapping.source
        key = '%s:%s' % (kind, attrs['id'])
        if key in seen:
            problems.append('%s: %s is listed twice (first at %s)' % (where, key, seen[key]))
            continue
        seen[key] = where
        items.append({'host': str(attrs.get('name') or attrs['id']), 'kind': 'cloud', 'key': key, 'attrs': attrs})
    if problems:
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        raise CloudError('nothing imported; %d problem(s) in the export:\n  %s%s' % (
            len(problems), '\n  '.join(shown), '\n  ... and %d more' % more if more else ''))
    return items


def import_export(store, mapping, records, path, operator=None):
    """Validate all of an export, then store it as one run; returns (run id, item count)."""
    items = build_items(records, mapping)
    if not items:
        raise CloudError('%s holds no resources; nothing imported (an empty export would mark every resource absent)'
                         % path)
    return store.import_ledger(mapping.source, path, items, operator), len(items)


# ---------------------------------------------------------------- the resource view

@dataclass
class Estate:
    """Everything known about cloud resources, gathered from the store once."""
    platform: dict      # key -> newest platform item (any import, present or not)
    present: dict       # key -> item in the newest import of its source
    reports: dict       # key (vm:ID) -> newest host self-report item
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
    return Estate(platform=dict((i['key'], i) for i in items if not i['key'].startswith(SELF_PREFIX)),
                  present=present,
                  reports=dict((i['key'][len(SELF_PREFIX):], i) for i in items if i['key'].startswith(SELF_PREFIX)),
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
            'last_action': last['action'] if last else None,
            'last_ticket': last['ticket'] if last else None,
            'last_action_at': last['at'] if last else None,
        })
    return rows


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


# ---------------------------------------------------------------- reconcile

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


# ---------------------------------------------------------------- right-sizing (资源配置优化)

CPU_SIZES = (1, 2, 4, 8, 16, 32, 64, 96, 128)
MEMORY_SIZES_GIB = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@dataclass
class SizingPolicy:
    cpu_high: float = 0.8     # p95 of the 5-minute load per CPU at or above this: add CPUs
    cpu_low: float = 0.2      # at or below this: fewer CPUs would do
    mem_high: float = 85.0    # p95 % of memory used at or above this: add memory
    mem_low: float = 30.0     # at or below this: less memory would do
    disk_high: float = 85.0   # the fullest file system's max % used at or above this: expand it
    idle_load: float = 0.05   # the max per-CPU load never above this in the window: idle
    target_cpu: float = 0.6   # a new size is chosen to run at this per-CPU load ...
    target_mem: float = 70.0  # ... and this % of memory used
    min_samples: int = 7      # fewer inspections than this: no recommendation


def p95(values):
    """Nearest-rank 95th percentile: a value that was really observed."""
    ordered = sorted(values)
    return ordered[max(0, int(math.ceil(0.95 * len(ordered))) - 1)]


def _next_size(needed, sizes):
    return next((s for s in sizes if s >= needed), sizes[-1])


def host_series(observations):
    """host key -> {samples: [{at, cpu, mem, disk, mount}], cpu_count, memory_bytes} from os ledger items."""
    series = {}
    for item in observations:
        if item.get('check_mode'):
            continue
        attrs, state = item['attrs'], item['attrs'].get('state') or {}
        cpus = (attrs.get('cpu') or {}).get('count') or 1
        load = (state.get('load') or {}).get('5m')
        if load is None and state.get('cpu_pct') is not None:
            load = state['cpu_pct'] / 100.0 * cpus   # Windows has no load average: CPU busy, as load per CPU
        total, available = attrs.get('memory_bytes'), state.get('memory_available_bytes')
        readonly = set(f['mountpoint'] for f in attrs.get('filesystems') or [] if f.get('readonly'))
        usage = [f for f in state.get('filesystems') or [] if f.get('used_pct') is not None
                 and f['mountpoint'] not in readonly]
        fullest = max(usage, key=lambda f: f['used_pct']) if usage else None
        entry = series.setdefault(item['key'], {'host': item['host'], 'samples': []})
        entry.update(cpu_count=cpus, memory_bytes=total)   # the newest size wins
        entry['samples'].append({
            'at': as_utc(item['seen_at']),
            'cpu': round(load / cpus, 3) if load is not None else None,
            'mem': round(100.0 * (total - available) / total, 1) if total and available is not None else None,
            'mem_used': total - available if total and available is not None else None,
            'disk': fullest['used_pct'] if fullest else None, 'mount': fullest['mountpoint'] if fullest else None})
    return series


def recommend(entry, policy):
    """(actions, suggestion, figures) for one host's samples; actions are label keys (upsize_cpu ...)."""
    samples = entry['samples']
    cpu = [s['cpu'] for s in samples if s['cpu'] is not None]
    mem = [s['mem'] for s in samples if s['mem'] is not None]
    disk = [s for s in samples if s['disk'] is not None]
    figures = {'samples': len(samples), 'days': len(set(s['at'].date() for s in samples)),
               'cpu_p95': p95(cpu) if cpu else None, 'cpu_max': max(cpu) if cpu else None,
               'mem_p95': p95(mem) if mem else None, 'mem_max': max(mem) if mem else None,
               'disk_max': None, 'disk_mount': None}
    if disk:
        fullest = max(disk, key=lambda s: s['disk'])
        figures.update(disk_max=fullest['disk'], disk_mount=fullest['mount'])
    if len(samples) < policy.min_samples:
        return ['insufficient_data'], {}, figures
    actions, suggestion = [], {}
    cpus, memory = entry['cpu_count'], entry.get('memory_bytes')

    def resize(what, attr, p95_value, high, low, current, needed):
        if p95_value >= high and needed > current:
            actions.append('upsize_' + what)
        elif p95_value <= low and needed < current:
            actions.append('downsize_' + what)
        else:
            return
        suggestion[attr] = (current, needed)

    if cpu:
        if figures['cpu_max'] <= policy.idle_load:
            actions.append('idle')
        resize('cpu', 'cpu_count', figures['cpu_p95'], policy.cpu_high, policy.cpu_low, cpus,
               _next_size(figures['cpu_p95'] * cpus / policy.target_cpu, CPU_SIZES))
    if mem and memory:
        used = p95([s['mem_used'] for s in samples if s['mem_used'] is not None])
        resize('memory', 'memory_gib', figures['mem_p95'], policy.mem_high, policy.mem_low, round(memory / GIB),
               _next_size(used / GIB / (policy.target_mem / 100.0), MEMORY_SIZES_GIB))
    if figures['disk_max'] is not None and figures['disk_max'] >= policy.disk_high:
        actions.append('expand_disk')
    return actions or ['keep'], suggestion, figures


def optimize(store, days=30, policy=None, at=None):
    """Rows of recommendations: hosts from inspection history, and idle resources the platform export shows."""
    policy = policy or SizingPolicy()
    if days <= 0:
        raise CloudError('--days must be a positive number of days, got %s' % days)
    until = at or now()
    since = until - timedelta(days=days)
    estate = gather(store)
    resource_of_host = dict((item['attrs'].get('name'), key) for key, item in estate.reports.items())
    rows = []
    for key, entry in sorted(host_series(store.observations('os', since, until)).items()):
        actions, suggestion, figures = recommend(entry, policy)
        rows.append(dict(figures, host=entry['host'], resource=resource_of_host.get(entry['host']),
                         cpu_count=entry['cpu_count'],
                         memory_gib=round(entry['memory_bytes'] / GIB, 1) if entry.get('memory_bytes') else None,
                         actions=actions, suggestion=suggestion))
    for key, item in sorted(estate.present.items()):
        attrs = item['attrs']
        status = str(attrs.get('status') or '').lower()
        if attrs['type'] == 'vm' and status in STOPPED:
            evidence = 'stopped'
        elif attrs['type'] == 'disk' and (status in UNATTACHED or (not attrs.get('attached_to') and 'attached_to' in attrs)):
            evidence = 'unattached'
        else:
            continue
        rows.append({'host': attrs.get('name') or attrs['id'], 'resource': key, 'actions': ['idle'],
                     'suggestion': {}, 'platform_evidence': evidence, 'platform_status': attrs.get('status'),
                     'export': '%s run %d' % (attrs['source'], item['run_id'])})
    return rows


def optimize_table(rows, days, lang='zh'):
    """The rows as a customer-facing table: numbers, the recommendation and the evidence in words."""
    table = []
    for row in rows:
        words = '、' if lang == 'zh' else ', '
        suggestion = words.join(label('suggest_' + name, lang) % before_after
                                for name, before_after in sorted(row['suggestion'].items()))
        if 'platform_evidence' in row:
            evidence = label('ev_' + row['platform_evidence'], lang) % (row['platform_status'], row['export'])
        else:
            parts = [label('ev_samples', lang) % (row['samples'], row['days'], days)]
            if row['cpu_p95'] is not None:
                parts.append(label('ev_cpu', lang) % (row['cpu_p95'], row['cpu_max']))
            if row['mem_p95'] is not None:
                parts.append(label('ev_mem', lang) % (row['mem_p95'], row['mem_max']))
            if row['disk_max'] is not None:
                parts.append(label('ev_disk', lang) % (row['disk_mount'], row['disk_max']))
            evidence = words.join(parts)
        table.append({'host': row['host'], 'resource': row.get('resource'), 'cpu_count': row.get('cpu_count'),
                      'memory_gib': row.get('memory_gib'), 'samples': row.get('samples'),
                      'cpu_p95': row.get('cpu_p95'), 'mem_p95': row.get('mem_p95'), 'disk_max': row.get('disk_max'),
                      'recommendation': words.join(label(a, lang) for a in row['actions']),
                      'suggestion': suggestion, 'evidence': evidence})
    return table


# Columns whose values are our own words (codes), shown in the document's language.
WORD_COLUMNS = {'lifecycle': 'lc_', 'event': 'act_', 'problem': 'rc_', 'severity': '', 'resource_type': 'rt_',
                'last_action': 'act_'}


def localize(rows, lang='zh'):
    out = []
    for row in rows:
        row = dict(row)
        for column, prefix in WORD_COLUMNS.items():
            if row.get(column):
                row[column] = label(prefix + row[column], lang)
        if isinstance(row.get('in_export'), bool):
            row['in_export'] = label('yes' if row['in_export'] else 'no', lang)
        out.append(row)
    return out
