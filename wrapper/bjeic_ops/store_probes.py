"""The availability arithmetic in SQL (part of the store: store.py calls these with a connection).

A probe covers the time until the next probe of its instance, at most `gap` seconds. Over a window [start, stop) the
covered seconds are summed per instance, split into up and down, from the neighbouring probes (LEAD over the
instance's probes, ordered by time) - so a year of 2.4 million probes is never read into Python. Whole UTC days that
are over are kept summed in `probe_days` (made by the nightly compaction, remade when a late probe arrives for such a
day); a window then adds those days to the raw sums of its partial days at either end. Sums over adjacent windows
add up exactly, because every probe's coverage is clipped to the window it is counted in.
"""
from sqlalchemy import and_, case, delete, func, insert, literal, select

from .store_schema import probe_days, probe_targets, probes, store_info

DAY = 86400
TOTALS = ('up_s', 'down_s', 'probes', 'failed', 'latency_sum', 'latency_n')
AGGREGATED_UNTIL, AGGREGATED_GAP = 'probes_aggregated_until', 'probes_aggregated_gap'


def following(start, stop, gap):
    """Probes that can cover [start, stop) (from `gap` before it), each with its instance's next probe's time and
    outcome."""
    after = dict(partition_by=probes.c.target_id, order_by=probes.c.t)
    return select(probes.c.target_id, probes.c.run_id, probes.c.t, probes.c.up, probes.c.latency_ms,
                  probes.c.error_class, probes.c.error, func.lead(probes.c.t).over(**after).label('next_t'),
                  func.lead(probes.c.up).over(**after).label('next_up')).where(
        probes.c.target_id.in_(select(probe_targets.c.id).scalar_subquery()), probes.c.t >= start - gap,
        probes.c.t < stop).subquery()


def raw_totals(conn, start, stop, gap):
    """{target_id: totals} of [start, stop) from the probes themselves."""
    p = following(start, stop, gap)
    covered_to = case((p.c.next_t.is_(None), p.c.t + gap), (p.c.next_t - p.c.t > gap, p.c.t + gap), else_=p.c.next_t)
    end = case((covered_to > stop, literal(stop)), else_=covered_to)
    begin = case((p.c.t < start, literal(start)), else_=p.c.t)
    seconds = case((end > begin, end - begin), else_=0)
    inside = p.c.t >= start
    query = select(p.c.target_id,
                   func.sum(case((p.c.up, seconds), else_=0)).label('up_s'),
                   func.sum(case((p.c.up, 0), else_=seconds)).label('down_s'),
                   func.sum(case((inside, 1), else_=0)).label('probes'),
                   func.sum(case((and_(inside, ~p.c.up), 1), else_=0)).label('failed'),
                   func.sum(case((and_(inside, p.c.up, p.c.latency_ms.is_not(None)), p.c.latency_ms), else_=0))
                   .label('latency_sum'),
                   func.sum(case((and_(inside, p.c.up, p.c.latency_ms.is_not(None)), 1), else_=0)).label('latency_n'),
                   func.max(case((inside, p.c.latency_ms))).label('latency_max'),
                   func.min(case((inside, p.c.run_id))).label('first_run'),
                   func.max(case((inside, p.c.run_id))).label('last_run')).group_by(p.c.target_id)
    return dict((row['target_id'], dict((name, row[name]) for name in TOTALS + ('latency_max', 'first_run', 'last_run')))
                for row in conn.execute(query).mappings())


def day_rows(conn, first_day, stop, gap):
    """probe_days rows of the UTC days in [first_day, stop), each day's coverage clipped to it."""
    rows = []
    for day in range(first_day, stop, DAY):
        rows.extend(dict(values, target_id=target, day=day) for target, values in
                    raw_totals(conn, day, day + DAY, gap).items()
                    if values['up_s'] or values['down_s'] or values['probes'])
    return rows


def aggregated(conn):
    """(aggregated until, gap) - whole UTC days before it are in probe_days, summed with that gap - or (None, None)."""
    values = dict(conn.execute(select(store_info.c.key, store_info.c.value).where(
        store_info.c.key.in_((AGGREGATED_UNTIL, AGGREGATED_GAP)))).all())
    if AGGREGATED_UNTIL not in values:
        return None, None
    return int(values[AGGREGATED_UNTIL]), int(values[AGGREGATED_GAP])


def totals(conn, start, stop, gap):
    """{target_id: totals} of [start, stop): whole aggregated days from probe_days, the rest from the probes."""
    until, summed_gap = aggregated(conn)
    first_day = -(-start // DAY) * DAY                 # the first midnight at or after start
    last_day = min(stop // DAY * DAY, until or 0)      # the last aggregated midnight at or before stop
    if until is None or summed_gap != gap or last_day <= first_day:
        return raw_totals(conn, start, stop, gap)
    parts = [raw_totals(conn, start, first_day, gap) if start < first_day else {},
             _days(conn, first_day, last_day),
             raw_totals(conn, last_day, stop, gap) if last_day < stop else {}]
    merged = {}
    for part in parts:
        for target, values in part.items():
            merged[target] = add(merged.get(target), values)
    return merged


def _days(conn, first_day, last_day):
    query = select(probe_days.c.target_id, *[func.sum(probe_days.c[n]).label(n) for n in TOTALS],
                   func.max(probe_days.c.latency_max).label('latency_max'),
                   func.min(probe_days.c.first_run).label('first_run'),
                   func.max(probe_days.c.last_run).label('last_run')).where(
        probe_days.c.day >= first_day, probe_days.c.day < last_day).group_by(probe_days.c.target_id)
    return dict((row['target_id'], dict(row)) for row in conn.execute(query).mappings())


def add(total, values):
    if total is None:
        return dict((k, values.get(k)) for k in TOTALS + ('latency_max', 'first_run', 'last_run'))
    for name in TOTALS:
        total[name] = (total[name] or 0) + (values[name] or 0)
    for name, pick in (('latency_max', max), ('first_run', min), ('last_run', max)):
        present = [v for v in (total[name], values[name]) if v is not None]
        total[name] = pick(present) if present else None
    return total


def aggregate(conn, first_day, until, gap):
    """Sum the whole UTC days [first_day, until) into probe_days (replacing what was there) and remember until where."""
    if first_day < until:
        _replace_days(conn, first_day, until, gap)
    for key, value in ((AGGREGATED_UNTIL, until), (AGGREGATED_GAP, gap)):
        if conn.execute(store_info.update().where(store_info.c.key == key).values(value=str(value))).rowcount == 0:
            conn.execute(insert(store_info).values(key=key, value=str(value)))


def _replace_days(conn, first_day, stop, gap):
    conn.execute(delete(probe_days).where(probe_days.c.day >= first_day, probe_days.c.day < stop))
    rows = day_rows(conn, first_day, stop, gap)
    for start in range(0, len(rows), 1000):
        conn.execute(insert(probe_days), rows[start:start + 1000])


def late_probes(conn, first_t, last_t):
    """Probes just stored reach back into the aggregated days: sum those days again (a probe changes the coverage of
    its own day and of the next, and the previous probe's coverage ends at it)."""
    until, gap = aggregated(conn)
    if until is not None and first_t < until:
        _replace_days(conn, first_t // DAY * DAY - DAY, min(until, (last_t // DAY + 2) * DAY), gap)


def failed(conn, start, stop, gap):
    """The failed probes that cover part of [start, stop), with their next probe's time and outcome, per instance in
    time order."""
    p = following(start, stop, gap)
    query = select(p, probe_targets.c.instance, probe_targets.c.host).join(
        probe_targets, probe_targets.c.id == p.c.target_id).where(~p.c.up).order_by(p.c.target_id, p.c.t)
    return [dict(row) for row in conn.execute(query).mappings()]
