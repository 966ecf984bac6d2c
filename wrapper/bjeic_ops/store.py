"""The store: the one place that knows SQL (SQLAlchemy Core; SQLite by default, PostgreSQL by URL).

Runs, host results, findings, ledger items, changes and drill records. A run is `running` until it ends;
only `complete` runs feed the current ledger, so an interrupted run never becomes current.
Writes come in batches, one transaction each, so what is stored is always consistent.
"""
import json
import os
import socket
import sqlite3
import time
from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table,
                        Text, create_engine, event, func, insert, select, update)
from sqlalchemy.exc import SQLAlchemyError

from . import BjeicOpsError

SCHEMA_VERSION = 4
RUNNING, COMPLETE, INCOMPLETE = 'running', 'complete', 'incomplete'
IMPORT_PREFIX = 'cloud-import:'   # the `playbook` of a run that records a cloud platform's export

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
)

ledger_items = Table(
    'ledger_items', metadata,
    Column('id', Integer, primary_key=True),
    Column('run_id', Integer, ForeignKey('runs.id'), nullable=False, index=True),
    Column('host', String(255), nullable=False),
    Column('kind', String(20), nullable=False),
    Column('key', String(500), nullable=False),
    Column('attrs', JSON, nullable=False),
    Column('seen_at', DateTime(timezone=True), nullable=False),
    Index('ix_ledger_kind_key', 'kind', 'key'),
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

# Migrations: version -> function(connection). Version 1 is the tables above but drills; add new
# versions here (never edit an old one) and bump SCHEMA_VERSION.
MIGRATIONS = {
    2: lambda conn: metadata.create_all(conn, tables=[drills]),
    3: lambda conn: metadata.create_all(conn, tables=[incidents, incident_events, duty_watches]),
    4: lambda conn: metadata.create_all(conn, tables=[cloud_events]),
}


SCHEMA_LOCK_KEY = 0x626a6569   # 'bjei': the PostgreSQL advisory lock held while the schema is made


class StoreError(BjeicOpsError):
    pass


def now():
    return datetime.now(timezone.utc)


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA busy_timeout=30000')     # two runs at once wait, not fail
    _set_wal(cursor)                                # readers do not block the writer
    cursor.execute('PRAGMA synchronous=NORMAL')
    cursor.execute('PRAGMA foreign_keys=ON')
    cursor.close()


def _set_wal(cursor, patience=30.0):
    """Switch to WAL. SQLite answers a journal-mode change "database is locked" at once, without its busy
    timeout, while another process is setting up the same new file: retry until `patience` runs out."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute('PRAGMA journal_mode=WAL')
            return
        except sqlite3.OperationalError as exc:
            if 'locked' not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Store:
    def __init__(self, url):
        self.url = url
        try:
            if url.startswith('sqlite'):
                self.engine = create_engine(url, connect_args={'timeout': 30})
                event.listen(self.engine, 'connect', _sqlite_pragmas)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
            self._migrate()
        except SQLAlchemyError as exc:
            raise StoreError('cannot open the store at %s: %s' % (_safe_url(url), exc.__class__.__name__ + ': ' + str(exc).splitlines()[0]))
        self.reap_stale_runs()

    # ------------------------------------------------------------ schema
    def _migrate(self):
        with self.engine.begin() as conn:
            self._lock_schema(conn)
            metadata.create_all(conn, tables=[schema_version])
            current = conn.execute(select(func.max(schema_version.c.version))).scalar()
            if current is None:
                metadata.create_all(conn)
                conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
                return
            if current > SCHEMA_VERSION:
                raise StoreError('the store has schema version %d, newer than this bjeic-ops knows (%d): upgrade bjeic-ops'
                                 % (current, SCHEMA_VERSION))
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
                conn.execute(insert(schema_version).values(version=version))

    def _lock_schema(self, conn):
        """Hold the store's write lock while the schema is checked and made: two bjeic-ops started at once on a
        new store would otherwise both find no tables and both create them (one then fails), and on SQLite a
        reader upgrading to writer is refused at once instead of waiting."""
        if self.engine.dialect.name == 'sqlite':
            conn.exec_driver_sql('BEGIN IMMEDIATE')   # waits up to busy_timeout for other writers
        elif self.engine.dialect.name == 'postgresql':
            conn.exec_driver_sql('SELECT pg_advisory_xact_lock(%d)' % SCHEMA_LOCK_KEY)

    def version(self):
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(schema_version.c.version))).scalar()

    # ------------------------------------------------------------ runs
    def begin_run(self, playbook, inventory=None, limit=None, check_mode=False, operator=None, ticket=None,
                  extra_vars=None):
        with self.engine.begin() as conn:
            return conn.execute(insert(runs).values(
                playbook=playbook, inventory=inventory, limit=limit, check_mode=check_mode, operator=operator,
                ticket=ticket, extra_vars=extra_vars or {}, controller=socket.gethostname(), pid=os.getpid(),
                state=RUNNING, started_at=now())).inserted_primary_key[0]

    def finish_run(self, run_id, state, status=None, rc=None):
        with self.engine.begin() as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                state=state, status=status, rc=rc, finished_at=now()))

    def reap_stale_runs(self):
        """Runs left `running` by a controller process on this machine that is gone (kill -9, crash)."""
        host = socket.gethostname()
        with self.engine.begin() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.pid).where(
                runs.c.state == RUNNING, runs.c.controller == host)).all()
            dead = [row.id for row in rows if not row.pid or not _pid_alive(row.pid)]
            if dead:
                conn.execute(update(runs).where(runs.c.id.in_(dead)).values(
                    state=INCOMPLETE, status='killed', finished_at=now()))
        return dead

    def write_batch(self, rows):
        """Insert rows {table name: [dict, ...]} in one transaction."""
        tables = {'host_results': host_results, 'findings': findings, 'ledger_items': ledger_items,
                  'changes': changes, 'drills': drills}
        with self.engine.begin() as conn:
            for name, items in rows.items():
                if items:
                    conn.execute(insert(tables[name]), items)

    def get_run(self, run_id):
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).mappings().first()
        if row is None:
            raise StoreError('no run %s in the store; `bjeic-ops runs` lists them' % run_id)
        return dict(row)

    def list_runs(self, limit=50):
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings()]

    def host_results(self, run_id):
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(
                select(host_results).where(host_results.c.run_id == run_id).order_by(host_results.c.id)).mappings()]

    # ------------------------------------------------------------ findings
    def findings(self, run_id=None, severity=None, host=None):
        query = select(findings).order_by(findings.c.id)
        if run_id is None:
            latest = self.latest_complete_run()
            if latest is None:
                return []
            run_id = latest
        query = query.where(findings.c.run_id == run_id)
        if severity:
            query = query.where(findings.c.severity.in_(severity))
        if host:
            query = query.where(findings.c.host == host)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def latest_complete_run(self):
        with self.engine.connect() as conn:
            return conn.execute(select(func.max(runs.c.id)).where(
                runs.c.state == COMPLETE, runs.c.playbook.notlike(IMPORT_PREFIX + '%'))).scalar()   # imports have no findings

    # ------------------------------------------------------------ ledger
    def ledger(self, kind, run_id=None, before=None):
        """Latest observation of each key of `kind` from complete runs.

        `run_id`: as observed by that run only. `before`: as it stood at that time.
        """
        with self.engine.connect() as conn:
            if run_id is not None:
                run = self.get_run(run_id)
                if run['state'] != COMPLETE:
                    raise StoreError('run %s is %s; only complete runs have a ledger' % (run_id, run['state']))
                query = select(ledger_items).where(ledger_items.c.kind == kind, ledger_items.c.run_id == run_id)
            else:
                newest = select(func.max(ledger_items.c.id)).join(runs, runs.c.id == ledger_items.c.run_id).where(
                    runs.c.state == COMPLETE, ledger_items.c.kind == kind)
                if before is not None:
                    newest = newest.where(ledger_items.c.seen_at < before)
                newest = newest.group_by(ledger_items.c.key)
                query = select(ledger_items).where(ledger_items.c.id.in_(newest))
            rows = conn.execute(query.order_by(ledger_items.c.key)).mappings()
            return [dict(row) for row in rows]

    # ------------------------------------------------------------ changes
    def changes(self, since=None, host=None, run_id=None):
        query = select(changes, runs.c.check_mode).join(runs, runs.c.id == changes.c.run_id).order_by(changes.c.id)
        if since is not None:
            query = query.where(changes.c.at >= since)
        if host:
            query = query.where(changes.c.host == host)
        if run_id is not None:
            query = query.where(changes.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # ------------------------------------------------------------ drills
    def drills(self, since=None, run_id=None):
        query = select(drills).order_by(drills.c.id)
        if since is not None:
            query = query.where(drills.c.at >= since)
        if run_id is not None:
            query = query.where(drills.c.run_id == run_id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # ------------------------------------------------------------ time windows (reports)
    def runs_between(self, since, until, playbook=None):
        """Runs started in [since, until), oldest first; `playbook` matches the file name (daily_inspection.yml)."""
        query = select(runs).where(runs.c.started_at >= since, runs.c.started_at < until).order_by(runs.c.id)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return [r for r in rows if playbook is None or os.path.basename(r['playbook']) == playbook]

    def latest_run(self, playbook, before_id=None):
        """The newest complete, non-check run of `playbook` (by file name), older than run `before_id` if given."""
        query = select(runs).where(runs.c.state == COMPLETE, runs.c.check_mode.is_(False),
                                   runs.c.playbook.like('%' + playbook)).order_by(runs.c.id.desc())
        if before_id is not None:
            query = query.where(runs.c.id < before_id)
        with self.engine.connect() as conn:
            for row in conn.execute(query).mappings():   # LIKE is a pre-filter; the file name must match exactly
                if os.path.basename(row['playbook']) == playbook:
                    return dict(row)
        return None

    def findings_between(self, since, until, host=None):
        """Findings of complete, non-check runs in [since, until), with the run's start time as `run_at`."""
        query = select(findings, runs.c.started_at.label('run_at'), runs.c.playbook).join(
            runs, runs.c.id == findings.c.run_id).where(
            runs.c.state == COMPLETE, runs.c.check_mode.is_(False),
            findings.c.at >= since, findings.c.at < until).order_by(findings.c.id)
        if host:
            query = query.where(findings.c.host == host)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def observations(self, kind, since, until):
        """Every ledger item of `kind` seen by a complete run in [since, until), oldest first (not only the newest)."""
        query = select(ledger_items, runs.c.check_mode).join(runs, runs.c.id == ledger_items.c.run_id).where(
            runs.c.state == COMPLETE, ledger_items.c.kind == kind,
            ledger_items.c.seen_at >= since, ledger_items.c.seen_at < until).order_by(ledger_items.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # ------------------------------------------------------------ incidents
    def open_incident(self, level, host, summary, operator=None, ticket=None, at=None):
        at = at or now()
        with self.engine.begin() as conn:
            incident_id = conn.execute(insert(incidents).values(
                level=level, host=host, summary=summary, status='open', opened_at=at, opened_by=operator,
                ticket=ticket)).inserted_primary_key[0]
            conn.execute(insert(incident_events).values(incident_id=incident_id, at=at, action='open',
                                                        operator=operator, text=summary))
        return incident_id

    def record_incident_event(self, incident_id, action, values, operator=None, line=None, text=None, at=None):
        """One step of an incident's life: the event and the incident's new fields, in one transaction."""
        with self.engine.begin() as conn:
            if values:
                conn.execute(update(incidents).where(incidents.c.id == incident_id).values(**values))
            conn.execute(insert(incident_events).values(incident_id=incident_id, at=at or now(), action=action,
                                                        line=line, operator=operator, text=text))

    def get_incident(self, incident_id):
        with self.engine.connect() as conn:
            row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        if row is None:
            raise StoreError('no incident %s in the store; `bjeic-ops incident list` lists them' % incident_id)
        return dict(row)

    def incidents(self, since=None, until=None, open_only=False):
        """Incidents opened in [since, until), plus (with a window) those opened before it and still open in it."""
        query = select(incidents).order_by(incidents.c.id)
        if until is not None:
            query = query.where(incidents.c.opened_at < until)
        if since is not None:
            query = query.where((incidents.c.opened_at >= since) | incidents.c.resolved_at.is_(None)
                                | (incidents.c.resolved_at >= since))
        if open_only:
            query = query.where(incidents.c.resolved_at.is_(None))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def incident_events(self, incident_id):
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(incident_events).where(
                incident_events.c.incident_id == incident_id).order_by(incident_events.c.at, incident_events.c.id)).mappings()]

    # ------------------------------------------------------------ special-period watches
    def start_watch(self, name, operator=None, notes=None, at=None):
        with self.engine.begin() as conn:
            self._lock_schema(conn)   # the store's write lock: two `duty start` at once make one watch
            running = conn.execute(select(duty_watches.c.id).where(duty_watches.c.stopped_at.is_(None))).scalar()
            if running is not None:
                raise StoreError('watch %d is still on; `bjeic-ops duty stop` it first' % running)
            return conn.execute(insert(duty_watches).values(name=name, started_at=at or now(), started_by=operator,
                                                            notes=notes)).inserted_primary_key[0]

    def stop_watch(self, watch_id, operator=None, at=None):
        with self.engine.begin() as conn:
            conn.execute(update(duty_watches).where(duty_watches.c.id == watch_id).values(
                stopped_at=at or now(), stopped_by=operator))

    def watches(self):
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(duty_watches).order_by(duty_watches.c.id)).mappings()]

    def get_watch(self, watch_id):
        with self.engine.connect() as conn:
            row = conn.execute(select(duty_watches).where(duty_watches.c.id == watch_id)).mappings().first()
        if row is None:
            raise StoreError('no watch %s in the store; `bjeic-ops duty list` lists them' % watch_id)
        return dict(row)

    # ------------------------------------------------------------ cloud resources
    def import_ledger(self, source, path, items, operator=None):
        """Record a platform export as one complete run of `cloud-import:SOURCE` holding `items` (ledger rows
        {host, kind, key, attrs}). The items go in one transaction with the run's completion, so a failed import
        leaves an incomplete run that never becomes the ledger."""
        run_id = self.begin_run(IMPORT_PREFIX + source, inventory=path, operator=operator)
        try:
            at = now()
            with self.engine.begin() as conn:
                if items:
                    conn.execute(insert(ledger_items), [dict(item, run_id=run_id, seen_at=at) for item in items])
                conn.execute(update(runs).where(runs.c.id == run_id).values(
                    state=COMPLETE, status='successful', rc=0, finished_at=now()))
        except BaseException:
            self.finish_run(run_id, INCOMPLETE, status='failed')
            raise
        return run_id

    def latest_imports(self):
        """{source: run} for the newest complete import of each platform source."""
        query = select(runs).where(runs.c.state == COMPLETE, runs.c.playbook.like(IMPORT_PREFIX + '%')).order_by(runs.c.id)
        with self.engine.connect() as conn:
            return dict((row['playbook'][len(IMPORT_PREFIX):], dict(row)) for row in conn.execute(query).mappings())

    def record_cloud_event(self, resource, action, ticket, reason, details=None, operator=None, at=None):
        with self.engine.begin() as conn:
            return conn.execute(insert(cloud_events).values(
                resource=resource, action=action, ticket=ticket, reason=reason, details=details or {},
                operator=operator, at=at or now())).inserted_primary_key[0]

    def cloud_events(self, resource=None):
        query = select(cloud_events).order_by(cloud_events.c.at, cloud_events.c.id)
        if resource is not None:
            query = query.where(cloud_events.c.resource == resource)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def history(self, kind, key):
        """Every observation of one ledger key by complete runs, oldest first, with the run's playbook."""
        query = select(ledger_items, runs.c.playbook).join(runs, runs.c.id == ledger_items.c.run_id).where(
            runs.c.state == COMPLETE, ledger_items.c.kind == kind, ledger_items.c.key == key).order_by(ledger_items.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def get_change(self, change_id):
        with self.engine.connect() as conn:
            row = conn.execute(select(changes).where(changes.c.id == change_id)).mappings().first()
        if row is None:
            raise StoreError('no change %s in the store; `bjeic-ops changes` lists them' % change_id)
        return dict(row)

    def count(self, table_name, run_id):
        table = metadata.tables[table_name]
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(table.c.run_id == run_id)).scalar()


def _safe_url(url):
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as the scheme only
        return url.split(':', 1)[0] + ':...'


def dumps(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
