"""Capacity forecasts (容量预测) from the ledger history: for each file system, volume group, tablespace and filegroup,
the growth trend over its recent daily readings and the date it will reach the warning and the critical threshold.

The trend is a Theil-Sen fit (the median of the slopes between every two readings, robust to a day's spike) and is
trusted only when the readings rise steadily (Kendall's tau at least MIN_TAU over at least MIN_POINTS days): flat or
noisy usage gives no forecast, never a false alarm. One reading per object and day (the day's last), as right-sizing
takes them, so an extra inspection on a busy day does not weigh twice. Everything is "% used" rising towards a
threshold: a file system's use, a volume group's allocation (100 - free %), a tablespace's use (100 - free %).
"""
from dataclasses import dataclass, field
from datetime import timedelta

from . import project
from .i18n import Phrase
from .store_schema import ANALYSIS_PREFIX
from .times import as_utc, now

MIN_POINTS = 7          # daily readings needed for a trend
MIN_TAU = 0.5           # Kendall's tau: how steadily the readings rise
MIN_SLOPE = 0.01        # % a day: slower is flat
HORIZON_DAYS = 30       # capacity.forecast when a threshold is reached within this many days
WINDOW_DAYS = 30        # the readings the trend is fitted to
ANALYSIS_PLAYBOOK = ANALYSIS_PREFIX + 'capacity'   # the `playbook` of a run recording the forecast's findings


@dataclass
class Trend:
    kind: str                      # fs, vg, tablespace
    host: str
    key: str                       # the ledger key the readings come from
    subject: str                   # mount point, volume group, tablespace or filegroup
    points: list = field(default_factory=list)     # [(days since the first, % used)]
    last_at: object = None
    slope: float = None            # % a day
    tau: float = None
    now_pct: float = None          # the fitted value at the last reading
    warning: float = None
    critical: float = None
    warning_at: object = None      # when the fit reaches the threshold (the last reading if already past)
    critical_at: object = None

    @property
    def trusted(self):
        return self.slope is not None and len(self.points) >= MIN_POINTS and self.tau >= MIN_TAU and \
            self.slope >= MIN_SLOPE


def thresholds():
    """{kind: (warning, critical)} as % used, from the modules' own defaults (the collection is the source)."""
    inspect_core = project.collection_module_utils('inspect_core')
    db_common = project.collection_module_utils('db_common')
    fs = inspect_core.DEFAULT_THRESHOLDS['fs.usage']
    vg = inspect_core.DEFAULT_THRESHOLDS['lvm.vg_free']
    space = db_common.DEFAULT_THRESHOLDS['db.tablespace_free']
    return {'fs': (fs['warning'], fs['critical']), 'vg': (100 - vg['warning'], 100 - vg['critical']),
            'tablespace': (100 - space['warning'], 100 - space['critical'])}


def theil_sen(points):
    """(slope, intercept, tau) of [(x, y)]: the median pairwise slope, the median intercept, Kendall's tau."""
    slopes, concordant, discordant = [], 0, 0
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            dx, dy = points[j][0] - points[i][0], points[j][1] - points[i][1]
            if dx <= 0:
                continue
            slopes.append(dy / dx)
            concordant += dy > 0
            discordant += dy < 0
    if not slopes:
        return None, None, None
    slope = median(slopes)
    intercept = median([y - slope * x for x, y in points])
    return slope, intercept, (concordant - discordant) / float(len(slopes))


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def readings(store, since, until):
    """{(kind, host, key, subject): {day: (at, % used)}} - each object's last reading of each day."""
    series = {}

    def add(kind, item, subject, pct):
        if pct is None:
            return
        at = as_utc(item['seen_at'])
        series.setdefault((kind, item['host'], item['key'], subject), {})[at.date()] = (at, float(pct))
    for item in store.observations('os', since, until, prefix=('host:',), daily=True):
        if item.get('check_mode'):
            continue
        attrs, state = item['attrs'], item['attrs'].get('state') or {}
        readonly = set(f['mountpoint'] for f in attrs.get('filesystems') or [] if f.get('readonly'))
        for fs in state.get('filesystems') or []:
            if fs.get('mountpoint') not in readonly:
                add('fs', item, fs.get('mountpoint'), fs.get('used_pct'))
        sizes = dict((vg.get('vg_name'), vg.get('vg_size')) for vg in attrs.get('volume_groups') or [])
        for vg in state.get('volume_groups') or []:
            size = sizes.get(vg.get('vg_name'))
            if size and vg.get('vg_free') is not None:
                add('vg', item, vg['vg_name'], round(100.0 * (size - vg['vg_free']) / size, 2))
    for item in store.observations('db', since, until, daily=True):
        if item.get('check_mode'):
            continue
        for space in (item['attrs'].get('state') or {}).get('spaces') or []:
            if space.get('free_pct') is not None:
                add('tablespace', item, space.get('name'), round(100.0 - space['free_pct'], 2))
    return series


def trends(store, days=WINDOW_DAYS, at=None):
    """[Trend] of every object read in the last `days` days, fitted, with the dates its thresholds are reached."""
    until = at or now()
    since = until - timedelta(days=days)
    levels = thresholds()
    out = []
    for (kind, host, key, subject), by_day in sorted(readings(store, since, until).items(), key=lambda kv: kv[0]):
        daily = [by_day[d] for d in sorted(by_day)]
        first = daily[0][0]
        trend = Trend(kind, host, key, subject, last_at=daily[-1][0],
                      points=[((at_ - first).total_seconds() / 86400.0, pct) for at_, pct in daily])
        trend.warning, trend.critical = levels[kind]
        if len(trend.points) >= 2:
            trend.slope, intercept, trend.tau = theil_sen(trend.points)
            if trend.slope is not None:
                trend.now_pct = trend.slope * trend.points[-1][0] + intercept
                if trend.trusted:
                    trend.warning_at = reaching(trend, trend.warning)
                    trend.critical_at = reaching(trend, trend.critical)
        out.append(trend)
    return out


def reaching(trend, threshold):
    """When the fitted line reaches `threshold` (the last reading's time when it already has)."""
    days = (threshold - trend.now_pct) / trend.slope
    return trend.last_at + timedelta(days=max(0.0, days))


def findings(trend_list, horizon_days=HORIZON_DAYS, at=None):
    """capacity.forecast findings: critical when the critical threshold is reached within the horizon, warning when
    only the warning one is; as finding dicts of the result contract."""
    limit = (at or now()) + timedelta(days=horizon_days)
    out = []
    for trend in trend_list:
        if not trend.trusted:
            continue
        if trend.critical_at <= limit:
            severity, threshold, when = 'critical', trend.critical, trend.critical_at
        elif trend.warning_at <= limit:
            severity, threshold, when = 'warning', trend.warning, trend.warning_at
        else:
            continue
        what = {'fs': 'file system', 'vg': 'volume group', 'tablespace': 'tablespace'}[trend.kind]
        out.append({'check': 'capacity.forecast', 'severity': severity, 'subject': '%s %s' % (trend.key, trend.subject),
                    'host': trend.host,
                    'value': {'kind': trend.kind, 'slope_pct_per_day': round(trend.slope, 3),
                              'now_pct': round(trend.now_pct, 1), 'reaches_at': when.strftime('%Y-%m-%d'),
                              'readings': len(trend.points), 'tau': round(trend.tau, 2)},
                    'threshold': threshold,
                    'message': '%s %s on %s grows %.2f %% a day (%d daily readings, now %.1f %%): it reaches %s %% about '
                               '%s' % (what, trend.subject, trend.host, trend.slope, len(trend.points), trend.now_pct,
                                       threshold, when.strftime('%Y-%m-%d'))})
    return out


def rows(trend_list, horizon_days=HORIZON_DAYS, at=None, everything=False):
    """Table rows, the soonest first: the trusted trends (all of them with `everything`, else those reaching a
    threshold within the horizon)."""
    limit = (at or now()) + timedelta(days=horizon_days)
    chosen = [t for t in trend_list if t.trusted and (everything or t.warning_at <= limit)]
    chosen.sort(key=lambda t: (t.critical_at, t.warning_at))
    return [{'host': t.host, 'capacity_kind': t.kind, 'capacity_object': t.subject, 'now_pct': round(t.now_pct, 1),
             'growth_pct_per_day': round(t.slope, 3), 'readings': len(t.points),
             'reaches_warning': t.warning_at.strftime('%Y-%m-%d'), 'reaches_critical': t.critical_at.strftime('%Y-%m-%d'),
             'trend_note': Phrase('trend_past') if t.critical_at <= t.last_at else None}
            for t in chosen]
