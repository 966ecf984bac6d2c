"""The store's schema: its tables, indexes and the migrations from every earlier version.

Part of the store (store.py is the only other file that knows SQL). Version 8 splits the ledger into what changes
rarely and what changes every run: `ledger_configs` holds each distinct configuration of a key once, `ledger_items`
is one row per observation - the run that saw the key, the configuration it saw, and the run-to-run `state` - and
`probes` holds the availability probes as compact rows (see docs/architecture.md, "The store over a year").
"""
import hashlib
import json

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, MetaData, String,
                        Table, Text, UniqueConstraint, insert, inspect, select)

SCHEMA_VERSION = 8
IMPORT_PREFIX = 'cloud-import:'   # the `playbook` of a run that records a cloud platform's export
ANALYSIS_PREFIX = 'analysis:'     # ... and of one recording what bjeic-ops concluded from the store (capacity)

metadata = MetaData()

schema_version = Table('schema_version', metadata, Column('version', Integer, nullable=False))

runs = Table(
    'runs', metadata,
    Column('id', Integer, primary_key=True),
    Column('playbook', String(500), nullable=False),
    Column('inventory', String(1000)),
    Column('limit', String(1000)),
    Column('check_mode', Boolean, nullable=False, default=False),
    Column('operator', String(200)),
    Column('ticket', String(200)),
    Column('extra_vars', JSON),                     # redacted
    Column('controller', String(255), nullable=False),
    Column('pid', Integer),
    Column('state', String(20), nullable=False),    # running, complete, incomplete
    Column('status', String(20)),                   # ansible-runner status
    Column('rc', Integer),
    Column('started_at', DateTime(timezone=True), nullable=False),
    Column('finished_at', DateTime(timezone=True)),
    Column('reason', Text),                         # why a run failed or stopped, in words (schema 5)
    Column('uuid', String(36), unique=True),        # the recorder's id of the run: a spool is replayed once (5)
    Column('origin', JSON),                         # how it was started: {via, awx: {...}, spool} (schema 5)
    Index('ix_runs_state', 'state'),                # the stale runs a store open reaps (schema 8)
    Index('ix_runs_started_at', 'started_at'),      # the runs of a window (schema 8)
)

# One row per fact about the store itself; `store_id` (a UUID made with the store) keeps the run artifacts of
# two stores on one controller apart (schema 5).
store_info = Table(
    'store_info', metadata,
    Column('key', String(50), primary_key=True),
    Column('value', String(500), nullable=False),
)

host_results = Table(
    'host_results', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('task', String(500)),
    Column('module', String(200)),
    Column('status', String(20), nullable=False),   # ok, failed, unreachable, skipped
    Column('changed', Boolean, nullable=False, default=False),
    Column('msg', Text),
    Column('duration', Integer),                     # milliseconds
    Column('at', DateTime(timezone=True), nullable=False),
    Column('args', JSON),                            # the module's arguments, secrets masked (schema 7)
)

findings = Table(
    'findings', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('check_id', String(100), nullable=False),
    Column('severity', String(10), nullable=False),
    Column('subject', String(1000)),
    Column('value', JSON),
    Column('threshold', JSON),
    Column('message', Text),
    Column('at', DateTime(timezone=True), nullable=False),
    Index('ix_findings_at', 'at'),                  # findings of a window (schema 8)
)

# Retention of the ledger's run-to-run state (`bjeic-ops store compact`, nightly): observations older than this keep
# their row (the run saw the key, with this configuration: drift stays exact), but only the last one of each key and
# day keeps a `state`, cut down to what the reports, right-sizing and forecasts read. A key's newest observation is
# never thinned (it is the current ledger), nor are backup observations (each one is a restore test counted).
RETENTION_DAYS = 90
THINNED_KINDS = ('os', 'db', 'network', 'cloud')
KEPT_STATE = ('load', 'cpu_pct', 'memory_available_bytes', 'swap_used_bytes', 'uptime_seconds', 'filesystems',
              'volume_groups', 'logical_volumes', 'spaces', 'temp', 'datafiles', 'log_usage', 'perf', 'pending',
              'pending_security', 'unfinished_transactions')

# The ledger (schema 8): a key's configuration is stored once per distinct value (`ledger_configs`, keyed by the
# sha1 of its canonical JSON), and every observation is a small row naming the run, the configuration it saw and the
# run-to-run values (`state`: usage, load, ages). Retention thins `state` to a day's last observation after
# RETENTION_DAYS; the rows themselves stay, so drift between any two runs is still exact.
ledger_configs = Table(
    'ledger_configs', metadata,
    Column('id', Integer, primary_key=True),
    Column('kind', String(20), nullable=False),
    Column('key', String(500), nullable=False),
    Column('digest', String(40), nullable=False),
    Column('attrs', JSON, nullable=False),           # the item's attrs without `state`
    Column('first_seen_at', DateTime(timezone=True), nullable=False),
    UniqueConstraint('digest', 'kind', 'key', name='uq_ledger_configs_digest_kind_key'),
)

ledger_items = Table(
    'ledger_items', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('kind', String(20), nullable=False),
    Column('key', String(500), nullable=False),
    Column('config_id', Integer, ForeignKey('ledger_configs.id'), nullable=False),
    Column('state', JSON(none_as_null=True)),        # null: the item had none, or retention thinned it
    Column('seen_at', DateTime(timezone=True), nullable=False),
    Index('ix_ledger_items_kind_key_id', 'kind', 'key', 'id'),     # the newest observation of each key
    Index('ix_ledger_items_kind_seen_at', 'kind', 'seen_at'),      # the observations of a window
)

changes = Table(
    'changes', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('task', String(500)),
    Column('module', String(200)),
    Column('object', String(1000)),
    Column('action', String(200)),
    Column('before', JSON),
    Column('after', JSON),
    Column('diff', Text),
    Column('rollback', JSON),
    Column('operator', String(200)),
    Column('ticket', String(200)),
    Column('at', DateTime(timezone=True), nullable=False),
    Index('ix_changes_at', 'at'),                   # change records of a window (schema 8)
)

# Emergency drills (应急演练): one row per drill record a run returned (the `drill` result key).
drills = Table(
    'drills', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('name', String(500), nullable=False),
    Column('kind', String(50), nullable=False),
    Column('outcome', String(20), nullable=False),   # passed, failed
    Column('started', DateTime(timezone=True)),
    Column('finished', DateTime(timezone=True)),
    Column('timings', JSON),
    Column('objectives', JSON),
    Column('steps', JSON),
    Column('operator', String(200)),
    Column('at', DateTime(timezone=True), nullable=False),
)

# Incidents (故障事件) with their service-level clocks; the timeline is incident_events.
incidents = Table(
    'incidents', metadata,
    Column('id', Integer, primary_key=True),
    Column('level', Integer, nullable=False),           # 1 (most severe) .. 4
    Column('host', String(255), nullable=False),
    Column('summary', Text, nullable=False),
    Column('status', String(20), nullable=False),       # open, acknowledged, escalated, resolved
    Column('opened_at', DateTime(timezone=True), nullable=False),
    Column('opened_by', String(200)),
    Column('first_response_at', DateTime(timezone=True)),
    Column('escalated_at', DateTime(timezone=True)),
    Column('second_response_at', DateTime(timezone=True)),
    Column('resolved_at', DateTime(timezone=True)),
    Column('resolution', Text),
    Column('ticket', String(200)),
)

incident_events = Table(
    'incident_events', metadata,
    Column('id', Integer, primary_key=True),
    Column('incident_id', Integer, ForeignKey('incidents.id'), nullable=False, index=True),
    Column('at', DateTime(timezone=True), nullable=False),
    Column('action', String(20), nullable=False),       # open, ack, escalate, note, resolve
    Column('line', String(10)),                         # first, second
    Column('operator', String(200)),
    Column('text', Text),
)

# Special-period security watches (特殊时期安全值守): one row per watch, open until stopped.
duty_watches = Table(
    'duty_watches', metadata,
    Column('id', Integer, primary_key=True),
    Column('name', String(500), nullable=False),
    Column('started_at', DateTime(timezone=True), nullable=False),
    Column('started_by', String(200)),
    Column('stopped_at', DateTime(timezone=True)),
    Column('stopped_by', String(200)),
    Column('notes', Text),
)

# Cloud resource lifecycle (云资源申请、变更、回收记录): one row per recorded action on a resource key (vm:ID).
cloud_events = Table(
    'cloud_events', metadata,
    Column('id', Integer, primary_key=True),
    Column('resource', String(500), nullable=False, index=True),
    Column('action', String(20), nullable=False),       # request, change, reclaim
    Column('ticket', String(200), nullable=False),
    Column('reason', Text, nullable=False),
    Column('details', JSON),                            # {attribute: requested value}
    Column('operator', String(200)),
    Column('at', DateTime(timezone=True), nullable=False),
)

# The operating loop (schema 6): what the alert rules have seen (one row per alert identity, open until cleared),
# every notification sent or tried, and what scheduled jobs did (started, finished, skipped for an overlap, failed).
alert_state = Table(
    'alert_state', metadata,
    Column('key', String(500), primary_key=True),        # rule:identity, e.g. finding:fs.readonly|web01|/data
    Column('rule', String(50), nullable=False),
    Column('state', String(20), nullable=False),         # open, cleared
    Column('severity', String(20)),
    Column('host', String(255)),
    Column('title', Text),
    Column('first_at', DateTime(timezone=True), nullable=False),
    Column('last_at', DateTime(timezone=True), nullable=False),
    Column('incident_id', Integer),                      # the incident the alert opened, if a mapping said so
)

notifications = Table(
    'notifications', metadata,
    Column('id', Integer, primary_key=True),
    Column('created_at', DateTime(timezone=True), nullable=False, index=True),
    Column('channel', String(100), nullable=False),
    Column('rule', String(50), nullable=False),
    Column('key', String(500), nullable=False),
    Column('host', String(255)),
    Column('event', String(20), nullable=False),         # firing, cleared
    Column('severity', String(20), nullable=False),
    Column('title', Text, nullable=False),
    Column('body', Text, nullable=False),
    Column('state', String(20), nullable=False),         # pending, sent, failed (gave up), held (quiet hours)
    Column('attempts', Integer, nullable=False, default=0),
    Column('next_try_at', DateTime(timezone=True)),
    Column('sent_at', DateTime(timezone=True)),
    Column('error', Text),                               # the last failure, in words (never a secret)
)

schedule_events = Table(
    'schedule_events', metadata,
    Column('id', Integer, primary_key=True),
    Column('job', String(200), nullable=False, index=True),
    Column('event', String(20), nullable=False),         # installed, started, finished, skipped, failed
    Column('at', DateTime(timezone=True), nullable=False),
    Column('run_id', Integer),
    Column('detail', Text),
)

# The backup record (数据备份记录, schema 6): one row per backup a bjeic.ops module took (or failed to take).
backups = Table(
    'backups', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('set_name', String(200), nullable=False),
    Column('kind', String(20), nullable=False),          # file, mysql, oracle, mssql
    Column('method', String(50)),                        # tar, mariadb-dump, mariabackup, rman, backup database
    Column('path', Text),
    Column('started', DateTime(timezone=True)),
    Column('finished', DateTime(timezone=True)),
    Column('seconds', Float),
    Column('size', BigInteger),
    Column('items', Integer),                            # files, or tables
    Column('sha256', String(64)),
    Column('verified', Boolean),
    Column('pruned', JSON),                              # what retention removed after it verified
    Column('state', String(20), nullable=False),         # taken, failed
    Column('error', Text),
    Column('operator', String(200)),
    Column('ticket', String(200)),
    Column('at', DateTime(timezone=True), nullable=False),
    Index('ix_backups_at', 'at'),                   # the backup record of a window (schema 8)
)

# The documents handed to the customer (schema 7): one row per document written by `report` or `deliver`, with
# its sha256, so the acceptance report can show that each month's report was produced, and when.
documents = Table(
    'documents', metadata,
    Column('id', Integer, primary_key=True),
    Column('kind', String(50), nullable=False),          # daily, monthly, fault, duty, acceptance, ...
    Column('subject', String(500)),                      # the month, the incident, the watch, the period
    Column('format', String(10), nullable=False),        # html, xlsx, pdf
    Column('path', Text, nullable=False),
    Column('sha256', String(64), nullable=False),
    Column('size', BigInteger, nullable=False),
    Column('operator', String(200)),
    Column('at', DateTime(timezone=True), nullable=False),
)


# Database availability (schema 8): one compact row per probe (bjeic.ops.db_probe, and every connection a db ledger
# module makes). `t` is epoch seconds (UTC): a year of 5-minute probes of 23 instances is 2.4 million rows, and
# availability over a window is arithmetic on neighbouring probes in SQL (reports.availability).
probe_targets = Table(
    'probe_targets', metadata,
    Column('id', Integer, primary_key=True),
    Column('instance', String(200), nullable=False),  # the instance's label (db:LABEL@SERVER in the ledger)
    Column('host', String(255), nullable=False),      # the inventory host it belongs to
    Column('engine', String(20)),
    Column('target', String(500)),                    # where the probe connects, host:port
    Column('version', String(200)),                   # the newest version a probe read
    UniqueConstraint('instance', 'host', name='uq_probe_targets_instance_host'),
)

probes = Table(
    'probes', metadata,
    Column('id', Integer, primary_key=True),
    Column('target_id', Integer, ForeignKey('probe_targets.id'), nullable=False),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False),
    Column('t', BigInteger, nullable=False),
    Column('up', Boolean, nullable=False),
    Column('latency_ms', Integer),
    Column('error_class', String(20)),                # why it was down (refused, timeout, auth, ...)
    Column('error', Text),                            # the driver's words, for a down probe only
    Index('ix_probes_target_t', 'target_id', 't'),
)

# Whole UTC days of probes, summed (store_probes.py): a cache the nightly compaction makes, so a year of availability
# is read from 23 x 365 rows; the probes themselves are all kept.
probe_days = Table(
    'probe_days', metadata,
    Column('target_id', Integer, ForeignKey('probe_targets.id'), primary_key=True),
    Column('day', BigInteger, primary_key=True),      # epoch seconds of the UTC midnight
    Column('up_s', BigInteger, nullable=False),
    Column('down_s', BigInteger, nullable=False),
    Column('probes', Integer, nullable=False),
    Column('failed', Integer, nullable=False),
    Column('latency_sum', BigInteger, nullable=False),
    Column('latency_n', Integer, nullable=False),
    Column('latency_max', Integer),
    Column('first_run', Integer),
    Column('last_run', Integer),
)

# Migrations: version -> function(connection). Version 1 is the tables above but drills; add new
# versions here (never edit an old one) and bump SCHEMA_VERSION.
MIGRATIONS = {
    2: lambda conn: metadata.create_all(conn, tables=[drills]),
    3: lambda conn: metadata.create_all(conn, tables=[incidents, incident_events, duty_watches]),
    4: lambda conn: metadata.create_all(conn, tables=[cloud_events]),
    5: lambda conn: _migrate_5(conn),
    6: lambda conn: metadata.create_all(conn, tables=[alert_state, notifications, schedule_events, backups]),
    7: lambda conn: _migrate_7(conn),
    8: lambda conn: _migrate_8(conn),
}


def _migrate_5(conn):
    have = {column['name'] for column in inspect(conn).get_columns('runs')}
    json_type = 'JSONB' if conn.dialect.name == 'postgresql' else 'JSON'
    for name, sql_type in (('reason', 'TEXT'), ('uuid', 'VARCHAR(36)'), ('origin', json_type)):
        if name not in have:
            conn.exec_driver_sql('ALTER TABLE runs ADD COLUMN %s %s' % (name, sql_type))
    conn.exec_driver_sql('CREATE UNIQUE INDEX IF NOT EXISTS ix_runs_uuid ON runs (uuid)')
    metadata.create_all(conn, tables=[store_info])


def _migrate_7(conn):
    if 'args' not in {column['name'] for column in inspect(conn).get_columns('host_results')}:
        conn.exec_driver_sql('ALTER TABLE host_results ADD COLUMN args JSON')   # as create_all makes it
    metadata.create_all(conn, tables=[documents])




def _migrate_8(conn):
    """Indexes for windows over a year, the split ledger, and the probes - made from what a version-7 store holds:
    every db ledger observation was a probe that found the instance up, every db.unreachable finding one that found
    it down."""
    for table in (runs, findings, changes, backups):
        for index in table.indexes:
            index.create(conn, checkfirst=True)
    metadata.create_all(conn, tables=[ledger_configs, probe_targets, probes, probe_days])
    if 'attrs' in {column['name'] for column in inspect(conn).get_columns('ledger_items')}:
        _split_ledger(conn)
        _probes_from_history(conn)


# The version-7 ledger, read once by the migration.
_V7 = MetaData()
_ledger_v7 = Table('ledger_items_v7', _V7, Column('id', Integer, primary_key=True), Column('run_id', Integer),
                   Column('host', String(255)), Column('kind', String(20)), Column('key', String(500)),
                   Column('attrs', JSON), Column('seen_at', DateTime(timezone=True)))
MIGRATION_BATCH = 5000


def _split_ledger(conn):
    for index in inspect(conn).get_indexes('ledger_items'):
        conn.exec_driver_sql('DROP INDEX %s' % index['name'])
    conn.exec_driver_sql('ALTER TABLE ledger_items RENAME TO ledger_items_v7')
    ledger_items.create(conn)
    configs = ConfigIds()
    last = 0
    while True:
        batch = conn.execute(select(_ledger_v7).where(_ledger_v7.c.id > last).order_by(_ledger_v7.c.id)
                             .limit(MIGRATION_BATCH)).mappings().all()
        if not batch:
            break
        rows = observation_rows(conn, configs, batch)
        for row, old in zip(rows, batch):
            row['id'] = old['id']   # the same ids: newest is still highest
        conn.execute(insert(ledger_items), rows)
        configs.committed()
        last = batch[-1]['id']
    conn.exec_driver_sql('DROP TABLE ledger_items_v7')
    if conn.dialect.name == 'postgresql':   # ids were given: move the sequence past them
        conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('ledger_items', 'id'), "
                             "COALESCE((SELECT max(id) FROM ledger_items), 0) + 1, false)")


def _probes_from_history(conn):
    """Probes from a version-7 store's db ledger observations (up) and db.unreachable findings (down)."""
    targets = TargetIds()
    made = []
    observed = select(ledger_items.c.run_id, ledger_items.c.host, ledger_items.c.key, ledger_items.c.seen_at).where(
        ledger_items.c.kind == 'db')
    for row in conn.execute(observed).mappings():
        made.append(dict(instance=instance_of(row['key']), host=row['host'], engine=None, target=None,
                         run_id=row['run_id'], at=row['seen_at'], up=True, latency_ms=None, error_class=None,
                         error=None, version=None))
    unreachable = select(findings.c.run_id, findings.c.host, findings.c.subject, findings.c.value, findings.c.at).where(
        findings.c.check_id == 'db.unreachable')
    for row in conn.execute(unreachable).mappings():
        made.append(dict(instance=instance_of(row['subject'] or '?'), host=row['host'], engine=None, target=None,
                         run_id=row['run_id'], at=row['at'], up=False, latency_ms=None, error_class='error',
                         error=str(row['value'] or '')[:500] or None, version=None))
    for start in range(0, len(made), MIGRATION_BATCH):
        conn.execute(insert(probes), probe_rows(conn, targets, made[start:start + MIGRATION_BATCH]))
        targets.committed()


def instance_of(key):
    """'db:orcl@db01' -> 'orcl' (the label; the server part differs between an up and a down read)."""
    return key.split(':', 1)[-1].rsplit('@', 1)[0]


# ---------------------------------------------------------------- rows of the split ledger and of the probes

def split_attrs(attrs):
    """(configuration, state) of a ledger item's attrs: `state` holds what changes from run to run."""
    config = dict(attrs or {})
    return config, config.pop('state', None)


def digest(config):
    text = json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(',', ':'), default=str)
    return hashlib.sha1(text.encode('utf-8')).hexdigest()


def _insert_ignoring_duplicates(conn, table, rows, unique):
    """INSERT ... ON CONFLICT DO NOTHING on the unique columns: two writers may store the same row at once."""
    if conn.dialect.name == 'postgresql':
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    conn.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=list(unique)), rows)


class _Ids:
    """Ids of rows looked up by a unique key, remembered across batches once their transaction has committed
    (an id from a transaction that rolled back would point at nothing)."""
    table = None
    unique = ()

    def __init__(self):
        self.known = {}
        self.pending = {}

    def get(self, conn, wanted):
        """{unique key: id} for `wanted` ({unique key: row values}), inserting the rows that are new."""
        found = dict((k, self.known[k]) for k in wanted if k in self.known)
        missing = [k for k in wanted if k not in found]
        if missing:
            self._read(conn, missing, found)
            new = [k for k in missing if k not in found]
            if new:
                _insert_ignoring_duplicates(conn, self.table, [wanted[k] for k in new], self.unique)
                self._read(conn, new, found)
            self.pending.update((k, found[k]) for k in missing)
        return found

    def _read(self, conn, keys, found):
        columns = [self.table.c[name] for name in self.unique]
        for start in range(0, len(keys), 500):   # the unique index's first column narrows; the rest is matched here
            part = keys[start:start + 500]
            query = select(self.table.c.id, *columns).where(columns[0].in_(set(k[0] for k in part)))
            wanted = set(part)
            for row in conn.execute(query):
                key = tuple(row[1:])
                if key in wanted:
                    found[key] = row[0]

    def committed(self):
        self.known.update(self.pending)
        self.pending = {}

    def forget(self):
        self.pending = {}


class ConfigIds(_Ids):
    table = ledger_configs
    unique = ('digest', 'kind', 'key')


class TargetIds(_Ids):
    table = probe_targets
    unique = ('instance', 'host')


def observation_rows(conn, configs, items):
    """ledger_items rows for items given as {run_id, host, kind, key, attrs, seen_at} (the ingestor's shape): each
    distinct configuration is stored once, in ledger_configs."""
    split, wanted = [], {}
    for item in items:
        config, state = split_attrs(item['attrs'])
        ident = (digest(config), item['kind'], item['key'])
        wanted.setdefault(ident, dict(digest=ident[0], kind=ident[1], key=ident[2], attrs=config,
                                      first_seen_at=item['seen_at']))
        split.append((item, ident, state))
    ids = configs.get(conn, wanted)
    return [dict(run_id=item['run_id'], host=item['host'], kind=item['kind'], key=item['key'], config_id=ids[ident],
                 state=state, seen_at=item['seen_at']) for item, ident, state in split]


def probe_rows(conn, targets, items):
    """probes rows for probes given as {run_id, instance, host, engine, target, at, up, latency_ms, error_class,
    error, version}; the instance's target row is made when new and keeps the newest version read."""
    wanted = {}
    for item in items:
        wanted.setdefault((item['instance'], item['host']), dict(
            instance=item['instance'], host=item['host'], engine=item['engine'], target=item['target'],
            version=item['version']))
    ids = targets.get(conn, wanted)
    versions = dict(((i['instance'], i['host']), i['version']) for i in items if i.get('version'))
    for ident, version in versions.items():
        conn.execute(probe_targets.update().where(probe_targets.c.id == ids[ident],
                                                  (probe_targets.c.version.is_(None)) | (probe_targets.c.version != version))
                     .values(version=version))
    return [dict(target_id=ids[(i['instance'], i['host'])], run_id=i['run_id'], t=epoch(i['at']), up=bool(i['up']),
                 latency_ms=i['latency_ms'], error_class=i['error_class'], error=None if i['up'] else i['error'])
            for i in items]


def epoch(when):
    """Epoch seconds of a stored time (naive means UTC, as SQLite gives them back)."""
    from calendar import timegm
    return timegm(when.utctimetuple()) if when.tzinfo else timegm(when.timetuple())
