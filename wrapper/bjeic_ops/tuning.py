"""Database health analysis (数据库运行状况分析): tuning hints from the performance figures the db ledgers already
collect, each with its evidence and the parameter or action it points at - for the monthly report's database section.

    buffer cache hit ratio low over the window         -> the cache size (DB_CACHE_SIZE, innodb_buffer_pool_size, ...)
    one wait event takes most of the top waits' time    -> what that event means (I/O, commits, locks, parallelism)
    sessions near the configured maximum (MySQL)        -> max_connections, or a connection pool
    the recovery area / binary logs filling             -> its size and what deletes old logs

A hint needs the figure over several readings (MIN_READINGS), not one bad minute.
"""
from .i18n import Phrase
from .store_schema import instance_of

MIN_READINGS = 3
BUFFER_HIT_MIN = {'oracle': 95.0, 'mssql': 95.0, 'mysql': 99.0}   # % below which the median reading is low
WAIT_SHARE = 0.6                # one event's share of the top waits' time that dominates them
SESSIONS_NEAR = 0.8             # of max_connections
LOG_SPACE_USED = 80.0           # % of the recovery area used
CACHE_PARAMETERS = {'oracle': 'DB_CACHE_SIZE / SGA_TARGET', 'mysql': 'innodb_buffer_pool_size',
                    'mssql': 'max server memory (MB)'}
# Well-known wait events -> the label key of what they point at (the rest: 'wait_other').
WAITS = (
    ('db file sequential read', 'wait_single_block_io'), ('db file scattered read', 'wait_full_scans'),
    ('direct path read', 'wait_full_scans'), ('log file sync', 'wait_commit'), ('log file parallel write', 'wait_commit'),
    ('enq: tx - row lock contention', 'wait_row_locks'), ('latch: cache buffers chains', 'wait_hot_blocks'),
    ('wait/io/file/innodb/innodb_data_file', 'wait_single_block_io'), ('wait/io/file/innodb/innodb_log_file', 'wait_commit'),
    ('wait/lock/', 'wait_row_locks'), ('wait/synch/', 'wait_hot_blocks'),
    ('pageiolatch', 'wait_single_block_io'), ('writelog', 'wait_commit'), ('lck_m_', 'wait_row_locks'),
    ('cxpacket', 'wait_parallelism'), ('cxconsumer', 'wait_parallelism'), ('sos_scheduler_yield', 'wait_cpu'),
    ('resource_semaphore', 'wait_memory_grants'),
)


def engine_of(attrs):
    return attrs.get('engine') if attrs.get('engine') in BUFFER_HIT_MIN else None


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2.0


def hints(store, since, until):
    """Rows {instance, host, hint, evidence, points_at} of the db ledger readings in [since, until), per instance."""
    by_key = {}
    for item in store.observations('db', since, until, daily=True):
        if not item.get('check_mode') and (item['attrs'].get('state') or {}).get('perf') is not None:
            by_key.setdefault((item['key'], item['host']), []).append(item)
    rows = []
    for (key, host), items in sorted(by_key.items()):
        latest = items[-1]['attrs']
        engine = engine_of(latest)
        if engine is None or len(items) < MIN_READINGS:
            continue
        for hint, evidence, points_at in instance_hints(engine, items):
            rows.append({'instance': instance_of(key), 'host': host, 'hint': hint, 'evidence': evidence,
                         'points_at': points_at})
    return rows


def instance_hints(engine, items):
    perfs = [(i['attrs'].get('state') or {}).get('perf') or {} for i in items]
    latest = items[-1]['attrs']
    found = []
    hits = [p['buffer_hit_pct'] for p in perfs if isinstance(p.get('buffer_hit_pct'), (int, float))]
    if len(hits) >= MIN_READINGS and median(hits) < BUFFER_HIT_MIN[engine]:
        found.append(('hint_buffer_hit', Phrase('ev_buffer_hit', round(median(hits), 2), len(hits), min(hits),
                                                BUFFER_HIT_MIN[engine]), CACHE_PARAMETERS[engine]))
    waits = [w for w in perfs[-1].get('top_waits') or [] if isinstance(w.get('seconds'), (int, float))]
    total = sum(w['seconds'] for w in waits)
    if waits and total > 0:
        top = max(waits, key=lambda w: w['seconds'])
        if top['seconds'] / total >= WAIT_SHARE:
            meaning = next((label for words, label in WAITS if words in str(top['event']).lower()), 'wait_other')
            found.append(('hint_top_wait', Phrase('ev_top_wait', top['event'], int(round(100 * top['seconds'] / total)),
                                                  len(waits)), Phrase(meaning)))
    maximum = (latest.get('settings') or {}).get('max_connections')
    sessions = [p['sessions'] for p in perfs if isinstance(p.get('sessions'), (int, float))]
    if engine == 'mysql' and sessions and str(maximum or '').isdigit() and int(maximum) > 0 \
            and max(sessions) >= SESSIONS_NEAR * int(maximum):
        found.append(('hint_sessions', Phrase('ev_sessions', max(sessions), int(maximum)), 'max_connections'))
    recovery = [s for s in ((items[-1]['attrs'].get('state') or {}).get('spaces') or [])
                if str(s.get('name', '')).startswith('recovery area') and s.get('free_pct') is not None]
    for area in recovery:
        if 100 - area['free_pct'] >= LOG_SPACE_USED:
            found.append(('hint_recovery_area', Phrase('ev_recovery_area', round(100 - area['free_pct'], 1)),
                          'DB_RECOVERY_FILE_DEST_SIZE; RMAN DELETE OBSOLETE'))
    binlogs = [((i['attrs'].get('state') or {}).get('log_usage') or {}).get('binlog_bytes') for i in items]
    binlogs = [b for b in binlogs if isinstance(b, (int, float))]
    expire = (latest.get('archive') or {}).get('expire_seconds')
    if engine == 'mysql' and len(binlogs) >= MIN_READINGS and binlogs[-1] > binlogs[0] and not expire:
        found.append(('hint_binlog_growth', Phrase('ev_binlog_growth', binlogs[0], binlogs[-1], len(binlogs)),
                      'binlog_expire_logs_seconds'))
    return found
