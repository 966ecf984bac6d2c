"""Right-sizing (资源配置优化) from the OS ledger's run-to-run state: p95 and max of load, memory and disk,
and a recommendation with its evidence."""
import math
from dataclasses import dataclass
from datetime import timedelta

from .. import forecast
from ..i18n import label
from ..ledger import GIB
from ..times import as_utc, now
from .common import CloudError, STOPPED, UNATTACHED
from .view import gather


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
    """host key -> {samples: [{at, cpu, mem, disk, mount}], cpu_count, memory_bytes} from os ledger items: one sample
    per host and day, the day's last (an extra run on a busy day does not weigh twice, and the store's retention,
    which keeps a day's last state, gives the same answer)."""
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
        entry = series.setdefault(item['key'], {'host': item['host'], 'days': {}})
        entry.update(cpu_count=cpus, memory_bytes=total)   # the newest size wins
        at = as_utc(item['seen_at'])
        entry['days'][at.date()] = {
            'at': at,
            'cpu': round(load / cpus, 3) if load is not None else None,
            'mem': round(100.0 * (total - available) / total, 1) if total and available is not None else None,
            'mem_used': total - available if total and available is not None else None,
            'disk': fullest['used_pct'] if fullest else None, 'mount': fullest['mountpoint'] if fullest else None}
    for entry in series.values():
        days = entry.pop('days')
        entry['samples'] = [days[day] for day in sorted(days)]
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
    filling = soonest_full(store, until, days)
    rows = []
    for key, entry in sorted(host_series(store.observations('os', since, until, daily=True)).items()):
        actions, suggestion, figures = recommend(entry, policy)
        full = filling.get(entry['host'])
        if full:
            figures.update(disk_full_on=full[0].strftime('%Y-%m-%d'), disk_full_mount=full[1])
            if full[0] <= until + timedelta(days=forecast.HORIZON_DAYS) and 'expand_disk' not in actions:
                actions = [a for a in actions if a != 'keep'] + ['expand_disk']
                figures.update(disk_mount=full[1])
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


def soonest_full(store, until, days):
    """{host: (when, mount point)} of the file system each host fills first, from the capacity forecast."""
    soonest = {}
    for trend in forecast.trends(store, days=max(days, forecast.MIN_POINTS), at=until):
        if trend.kind == 'fs' and trend.trusted and (trend.host not in soonest or trend.critical_at < soonest[trend.host][0]):
            soonest[trend.host] = (trend.critical_at, trend.subject)
    return soonest


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
            if row.get('disk_full_on'):
                parts.append(label('ev_disk_full', lang) % (row['disk_full_mount'], row['disk_full_on']))
            evidence = words.join(parts)
        table.append({'host': row['host'], 'resource': row.get('resource'), 'cpu_count': row.get('cpu_count'),
                      'memory_gib': row.get('memory_gib'), 'samples': row.get('samples'),
                      'cpu_p95': row.get('cpu_p95'), 'mem_p95': row.get('mem_p95'), 'disk_max': row.get('disk_max'),
                      'disk_full_on': row.get('disk_full_on'),
                      'recommendation': words.join(label(a, lang) for a in row['actions']),
                      'suggestion': suggestion, 'evidence': evidence, 'how': expand_call(row)})
    return table


def expand_call(row):
    """The playbook call that grows the fullest file system once the disk under it is enlarged on the platform."""
    if 'expand_disk' not in row['actions'] or not row.get('disk_mount'):
        return None
    return ('ansible-playbook playbooks/expand.yml -l %s -e \'{"expand_targets": [{"mount": "%s", "size": "fill"}]}\''
            % (row['host'], row['disk_mount']))


# Columns whose values are our own words (codes), shown in the document's language.
