"""Database availability (数据库可用性) as time, from the probes (bjeic.ops.db_probe every few minutes, and every
connection a db ledger module makes).

Each probe covers the time until the next probe of its instance, but at most `max_gap` (15 minutes by default): a
failed probe starts downtime and the next good one ends it, and time that no probe covers is unmeasured - never
counted as up. Over a window an instance's availability is up / (up + down), and the contract's target is judged on
what the record can prove:

    met             even with every unmeasured minute counted as down, it reaches the target (worst case)
    not met         even with every unmeasured minute counted as up, it does not (best case)
    not measurable  in between: the probing has gaps too long to tell
"""
from dataclasses import dataclass
from datetime import timedelta

from .times import as_utc, now

TARGET = 99.9                            # % of the time, per instance (the contract)
MAX_GAP = timedelta(minutes=15)          # a probe says nothing about the time after this
MET, NOT_MET, UNKNOWN = 'yes', 'no', 'unknown'


@dataclass
class InstanceAvailability:
    instance: str
    host: str
    engine: str
    window_s: int
    up_s: int
    down_s: int
    probes: int
    failed: int
    latency_avg_ms: float
    latency_max_ms: int
    first_run: int
    last_run: int

    @property
    def unmeasured_s(self):
        return max(0, self.window_s - self.up_s - self.down_s)

    @property
    def pct(self):
        """Availability over the measured time (None when nothing was measured)."""
        measured = self.up_s + self.down_s
        return round(100.0 * self.up_s / measured, 3) if measured else None

    @property
    def worst_pct(self):
        return round(100.0 * self.up_s / self.window_s, 3) if self.window_s else None

    @property
    def best_pct(self):
        return round(100.0 * (self.up_s + self.unmeasured_s) / self.window_s, 3) if self.window_s else None

    @property
    def meets_target(self):
        if self.worst_pct is not None and self.worst_pct >= TARGET:
            return MET
        if self.best_pct is not None and self.best_pct < TARGET:
            return NOT_MET
        return UNKNOWN

    def row(self):
        return {'instance': self.instance, 'host': self.host, 'engine': self.engine, 'probes': self.probes,
                'failed': self.failed, 'down_minutes': minutes(self.down_s),
                'unmeasured_minutes': minutes(self.unmeasured_s), 'availability_pct': self.pct,
                'latency_avg_ms': round(self.latency_avg_ms) if self.latency_avg_ms is not None else None,
                'latency_max_ms': self.latency_max_ms, 'meets_target': self.meets_target}


def minutes(seconds):
    return round(seconds / 60.0, 1)


def measured_until(until, at=None):
    """A window ends now at the latest: the future is not unmeasured, it has not happened."""
    return min(as_utc(until), as_utc(at) if at else now())


def per_instance(store, since, until, max_gap=MAX_GAP, at=None):
    """[InstanceAvailability] of every instance probed in [since, until), by instance and host."""
    until = measured_until(until, at)
    if until <= since:
        return []
    window = int((until - since).total_seconds())
    rows = store.probe_coverage(since, until, int(max_gap.total_seconds()))
    return [InstanceAvailability(r['instance'], r['host'], r['engine'], window, int(r['up_s'] or 0),
                                 int(r['down_s'] or 0), int(r['probes'] or 0), int(r['failed'] or 0), r['latency_avg'],
                                 r['latency_max'], r['first_run'], r['last_run'])
            for r in sorted(rows, key=lambda r: (r['instance'], r['host']))]


def outages(store, since, until, max_gap=MAX_GAP, at=None):
    """Periods an instance was down in [since, until): consecutive failed probes make one outage, from the first
    failed probe to the next good one (or to where the probing stops covering it), with the failure classes seen."""
    until = measured_until(until, at)
    gap = int(max_gap.total_seconds())
    spans = []
    for row in store.failed_probes(since, until, gap):
        followed = row['next_t'] is not None and row['next_t'] - row['t'] <= gap
        end = row['next_t'] if followed else row['t'] + gap
        seen = bool(followed and row['next_up'])      # a good probe ended it, not the end of the coverage
        last = spans[-1] if spans else None
        if last and last['target_id'] == row['target_id'] and last['end_t'] == row['t']:
            last['end_t'] = end
            last['ended_by'] = seen
            last['classes'].append(row['error_class'])
            continue
        spans.append({'target_id': row['target_id'], 'instance': row['instance'], 'host': row['host'],
                      'start_t': row['t'], 'end_t': end, 'classes': [row['error_class']], 'error': row['error'],
                      'ended_by': seen, 'run_id': row['run_id']})
    start, stop = epoch_of(since), epoch_of(until)
    out = []
    for span in spans:
        begin, end = max(span['start_t'], start), min(span['end_t'], stop)
        if end <= begin:
            continue
        classes = sorted(set(c for c in span['classes'] if c))
        out.append({'instance': span['instance'], 'host': span['host'], 'started': from_epoch(begin),
                    'ended': from_epoch(end), 'minutes': minutes(end - begin), 'error_class': ', '.join(classes),
                    'error': span['error'], 'run_id': span['run_id'],
                    'end_seen': span['ended_by']})   # False: probing stopped covering it (unmeasured after)
    return out


def epoch_of(when):
    from .store_schema import epoch
    return epoch(as_utc(when))


def from_epoch(seconds):
    from datetime import datetime, timezone
    return datetime.fromtimestamp(seconds, timezone.utc)
