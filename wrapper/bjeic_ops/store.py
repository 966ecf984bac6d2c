"""The store: the one place that knows SQL (SQLAlchemy Core; SQLite by default, PostgreSQL by URL), with its schema
in store_schema.py.

Runs, host results, findings, ledger items, changes, drill and backup records, availability probes. A run is
`running` until it ends; only `complete` runs feed the current ledger, so an interrupted run never becomes current.
Writes come in batches, one transaction each, so what is stored is always consistent.
"""
import errno
import functools
import json
import os
import shutil
import socket
import sqlite3
import sys
import time
import uuid

from sqlalchemy import and_, case, create_engine, event, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import BjeicOpsError, sqlite_file, store_probes
from .availability import MAX_GAP
from .store_schema import (  # noqa: F401  (the tables are the store's public vocabulary: tests and benches use them)
    ANALYSIS_PREFIX, IMPORT_PREFIX, KEPT_STATE, MIGRATIONS, RETENTION_DAYS, SCHEMA_VERSION, THINNED_KINDS, ConfigIds, TargetIds, alert_state, backups, changes, cloud_events,
    documents, drills, duty_watches, epoch, findings, host_results, incident_events, incidents, ledger_configs,
    ledger_items, metadata, notifications, observation_rows, probe_rows, probe_targets, probes, runs, schedule_events,
    schema_version, store_info)
from .times import now
from .vocab import COMPLETE, INCOMPLETE, RUNNING

# Tables a run's rows go to (write_batch, replace_run): ledger_items and probes are given in the ingestor's shape
# and stored through store_schema.observation_rows / probe_rows.
RUN_TABLES = {'host_results': host_results, 'findings': findings, 'ledger_items': ledger_items, 'changes': changes,
              'drills': drills, 'backups': backups, 'probes': probes}

UPGRADE_ROOM = 1.1            # free disk an SQLite store's 7-to-8 upgrade needs, times the store's size
SCHEMA_LOCK_KEY = 0x626a6569   # 'bjei': the PostgreSQL advisory lock held while the schema is made


class StoreError(BjeicOpsError):
    """The store cannot do what was asked; `kind` says why in one word (full, readonly, locked, corrupt,
    foreign, unreachable, schema, error) so callers can decide, the message says it to an operator."""

    def __init__(self, message, kind='error'):
        super().__init__(message)
        self.kind = kind


# SQLite and driver messages -> (kind, what to tell the operator)
_ERROR_KINDS = (
    ('database or disk is full', 'full', 'the disk holding it is full: free space there'),
    ('no space left on device', 'full', 'the disk holding it is full: free space there'),
    ('readonly database', 'readonly', 'it is read-only here (file mode or a read-only file system)'),
    ('read-only file system', 'readonly', 'it is on a read-only file system'),
    ('database is locked', 'locked', 'another process holds its lock: try again when that run has finished'),
    ('malformed', 'corrupt', 'the file is damaged: restore it from its backup (`sqlite3 FILE .recover` may save '
                             'its content)'),
    ('file is not a database', 'corrupt', 'the file is not an SQLite database'),
    ('unable to open database file', 'unopenable', 'the file cannot be opened: check that its directory exists '
                                                   'and is writable'),
    ('connection refused', 'unreachable', 'the database server does not answer'),
    ('could not connect', 'unreachable', 'the database server does not answer'),
    ('could not translate host name', 'unreachable', 'the database server\'s name does not resolve'),
    ('password authentication failed', 'unreachable', 'the server refused the login'),
)


def store_error(exc, url, doing, path=None):
    """One operator sentence for a failed store operation."""
    text = str(getattr(exc, 'orig', None) or exc)
    first = text.strip().splitlines()[0] if text.strip() else exc.__class__.__name__
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        first = 'no space left on device'
    if path and 'unable to open' in first and sqlite_file.read_only_media(path):
        first = 'read-only file system'
    for needle, kind, advice in _ERROR_KINDS:
        if needle in first.lower():
            return StoreError('cannot %s the store at %s: %s (%s)' % (doing, _safe_url(url), advice, first), kind)
    return StoreError('cannot %s the store at %s: %s' % (doing, _safe_url(url), first))


def _translating(doing):
    """Turn database errors of a Store method into one StoreError sentence: no driver traceback reaches a user."""
    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except StoreError:
                raise
            except (SQLAlchemyError, sqlite3.Error, OverflowError) as exc:
                raise store_error(exc, self.url, doing, self.path)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                raise store_error(exc, self.url, doing, self.path)
        return wrapper
    return decorate


def _translate_store_errors(cls):
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith('_'):
            doing = 'read' if name in _READERS else 'write to'
            setattr(cls, name, _translating(doing)(member))
    return cls


_READERS = {'version', 'store_id', 'get_run', 'run_by_uuid', 'list_runs', 'host_results', 'findings', 'latest_complete_run',
            'ledger', 'changes', 'drills', 'runs_between', 'latest_run', 'findings_between', 'observations',
            'get_incident', 'incidents', 'incident_events', 'watches', 'get_watch', 'latest_imports', 'cloud_events',
            'history', 'get_change', 'count', 'backups', 'notifications', 'schedule_events', 'alert_states', 'info',
            'finished_runs_after', 'latest_findings_by_playbook_host', 'probe_coverage', 'failed_probes', 'operations',
            'runs_touching', 'documents', 'hosts_reached', 'change_count', 'table_sizes', 'probe_rows', 'backup_tests',
            'backup_test_runs', 'backup_summary'}


def busy_timeout():
    """Seconds to wait for another writer (BJEIC_OPS_STORE_TIMEOUT, default 30)."""
    value = os.environ.get('BJEIC_OPS_STORE_TIMEOUT', '30')
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not 0 < seconds <= 3600:
        raise StoreError('BJEIC_OPS_STORE_TIMEOUT must be a number of seconds between 0 and 3600, got %r' % value)
    return seconds


def _sqlite_pragmas(dbapi_connection, _record):
    cursor = dbapi_connection.cursor()
    cursor.execute('PRAGMA busy_timeout=%d' % (busy_timeout() * 1000))   # two runs at once wait, not fail
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


@_translate_store_errors
class Store:
    """The store at `url`. `readonly=True` opens it for reading only (no schema change, no reaping, nothing
    written): for listings and documents on a full disk or read-only media."""

    def __init__(self, url, readonly=False):
        self.url = url
        self.readonly = readonly
        self.path = None
        self.reaped = []
        self._configs, self._targets = ConfigIds(), TargetIds()   # ids of stored configurations and probe targets
        if not isinstance(url, str) or '://' not in url:
            raise StoreError('the store URL %r is not a URL (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB)'
                             % (url,))
        try:
            if url.startswith('sqlite'):
                self.path = sqlite_file.path_of(url)
                if self.path:
                    sqlite_file.prepare(self.path, create=not readonly)
                if readonly and self.path:
                    path, timeout = self.path, busy_timeout()
                    self.engine = create_engine('sqlite://', creator=lambda: sqlite_file.connect_readonly(path, timeout))
                else:
                    self.engine = create_engine(url, connect_args={'timeout': busy_timeout()})
                    event.listen(self.engine, 'connect', _sqlite_pragmas)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        except sqlite_file.StoreFileError as exc:
            raise StoreError(str(exc), 'foreign' if 'not a bjeic-ops store' in str(exc) else 'corrupt')
        except (SQLAlchemyError, ImportError, ValueError) as exc:
            raise StoreError('cannot open the store at %s: %s' % (_safe_url(url), str(exc).splitlines()[0]))
        try:
            if readonly:
                self._check_readable()
            else:
                self._migrate()
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise store_error(exc, url, 'open', self.path)
        if not readonly:
            if self.path:
                sqlite_file.keep_reserve(self.path)
            try:
                self.reaped = self.reap_stale_runs()
            except StoreError as exc:
                if exc.kind not in ('full', 'readonly', 'locked'):
                    raise
                # Reading must still work on a full disk; the stale runs are marked the next time it can write.

    # ------------------------------------------------------------ schema
    def _check_readable(self):
        with self.engine.connect() as conn:
            from sqlalchemy import inspect
            tables = set(inspect(conn).get_table_names())
            if 'schema_version' not in tables:
                raise StoreError('the store at %s is empty or not a bjeic-ops store' % _safe_url(self.url), 'schema')
            current = conn.execute(select(func.max(schema_version.c.version))).scalar()
        if current != SCHEMA_VERSION:
            raise StoreError('the store at %s has schema version %s and this bjeic-ops reads %d: it can only be '
                             'upgraded where it is writable' % (_safe_url(self.url), current, SCHEMA_VERSION), 'schema')

    def _migrate(self):
        from sqlalchemy import inspect
        with self.engine.begin() as conn:
            self._lock_schema(conn)
            tables = set(inspect(conn).get_table_names())
            if tables and not sqlite_file.OUR_TABLES <= tables:
                raise StoreError('%s is not a bjeic-ops store: it holds tables of another application (%s); nothing '
                                 'was changed' % (_safe_url(self.url), ', '.join(sorted(tables)[:8])), 'foreign')
            current = conn.execute(select(func.max(schema_version.c.version))).scalar() if tables else None
            if current is None:
                metadata.create_all(conn)
                conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
            elif current > SCHEMA_VERSION:
                raise StoreError('the store has schema version %d, newer than this bjeic-ops knows (%d): upgrade bjeic-ops'
                                 % (current, SCHEMA_VERSION), 'schema')
            else:
                if current < SCHEMA_VERSION:
                    self._announce_upgrade(current)
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[version](conn)
                    conn.execute(insert(schema_version).values(version=version))
            if conn.execute(select(store_info.c.value).where(store_info.c.key == 'store_id')).scalar() is None:
                conn.execute(insert(store_info).values(key='store_id', value=uuid.uuid4().hex))

    def _announce_upgrade(self, current):
        """Before an upgrade that rewrites the ledger (7 to 8): refuse it when the disk cannot hold the rewrite (SQLite
        keeps it in the -wal file until it commits, about the store's size), and say that it takes a while."""
        if current >= 8:
            return
        if self.path and os.path.exists(self.path):
            size = os.path.getsize(self.path)
            free = shutil.disk_usage(os.path.dirname(os.path.abspath(self.path))).free
            if free < size * UPGRADE_ROOM:
                raise StoreError('upgrading the store %s to schema %d rewrites its ledger and needs about %.1f GB free '
                                 'beside it; %.1f GB is free: free space there or move the store, then run again '
                                 '(nothing was changed)' % (self.path, SCHEMA_VERSION, size * UPGRADE_ROOM / 1e9,
                                                            free / 1e9), 'full')
            if size < 100 * 1024 * 1024:
                return
        sys.stderr.write('bjeic-ops: upgrading the store to schema %d (the ledger is rewritten once: minutes '
                         'for a large store); stopping it leaves the store as it was\n'
                         % SCHEMA_VERSION)
        sys.stderr.flush()

    def store_id(self):
        """This store's own id: stable for its life, different for every store ever made."""
        with self.engine.connect() as conn:
            return conn.execute(select(store_info.c.value).where(store_info.c.key == 'store_id')).scalar()

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
                  extra_vars=None, uuid=None, origin=None, pid=None, started_at=None):
        """A new `running` run. `pid`: the process whose death means the run was killed (default this one)."""
        with self.engine.begin() as conn:
            return conn.execute(insert(runs).values(self._run_values(
                playbook, inventory, limit, check_mode, operator, ticket, extra_vars, uuid, origin,
                pid or os.getpid(), started_at))).inserted_primary_key[0]

    @staticmethod
    def _run_values(playbook, inventory, limit, check_mode, operator, ticket, extra_vars, uuid, origin, pid,
                    started_at):
        return dict(playbook=playbook, inventory=inventory, limit=limit, check_mode=bool(check_mode),
                    operator=operator, ticket=ticket, extra_vars=extra_vars or {}, controller=socket.gethostname(),
                    pid=pid, state=RUNNING, started_at=started_at or now(), uuid=uuid, origin=origin or {})

    def run_by_uuid(self, run_uuid):
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.uuid == run_uuid)).mappings().first()
        return dict(row) if row else None

    def replace_run(self, run, rows, end):
        """Put a whole run in one transaction: the run row (`run`: begin_run's fields), its `rows` ({table:
        [dict]}, their run_id filled in here) and how it ended (`end`: state, status, rc, reason, finished_at).
        A run with the same uuid (one recorded only in part while the store failed) is replaced."""
        try:
            with self.engine.begin() as conn:
                self._lock_schema(conn)   # the write lock: two replays of one spool do not both insert it
                old = conn.execute(select(runs.c.id).where(runs.c.uuid == run['uuid'])).scalar()
                if old is not None:
                    for table in RUN_TABLES.values():
                        conn.execute(table.delete().where(table.c.run_id == old))
                    conn.execute(runs.delete().where(runs.c.id == old))
                values = self._run_values(**run)
                values.update(end)
                run_id = conn.execute(insert(runs).values(values)).inserted_primary_key[0]
                self._insert_rows(conn, dict((name, [dict(item, run_id=run_id) for item in items])
                                             for name, items in rows.items()))
        except BaseException:
            self._forget_ids()
            raise
        self._remember_ids()
        return run_id

    def finish_run(self, run_id, state, status=None, rc=None, reason=None, finished_at=None):
        """Record how a run ended. On a full disk the reserve kept beside an SQLite store is given back first,
        so that even then the run is recorded with its reason instead of being left `running`."""
        values = dict(state=state, status=status, rc=rc, finished_at=finished_at or now(), reason=reason)
        try:
            with self.engine.begin() as conn:
                conn.execute(update(runs).where(runs.c.id == run_id).values(**values))
        except SQLAlchemyError as exc:
            if store_error(exc, self.url, 'write to').kind != 'full' or not (
                    self.path and sqlite_file.release_reserve(self.path)):
                raise
            with self.engine.begin() as conn:
                conn.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def reap_stale_runs(self):
        """Runs left `running` by a controller process on this machine that is gone (kill -9, crash).
        Returns their ids; on a store that cannot be written now (full, locked) they are left for later."""
        host = socket.gethostname()
        with self.engine.begin() as conn:
            rows = conn.execute(select(runs.c.id, runs.c.pid).where(
                runs.c.state == RUNNING, runs.c.controller == host)).all()
            dead = [row.id for row in rows if not row.pid or not _pid_alive(row.pid)]
            if dead:
                conn.execute(update(runs).where(runs.c.id.in_(dead)).values(
                    state=INCOMPLETE, status='killed', finished_at=now(),
                    reason='the controller process ended without finishing the run (killed or crashed)'))
        return dead

    def write_batch(self, rows):
        """Insert rows {table name: [dict, ...]} in one transaction (ledger_items and probes in the ingestor's
        shape: see RUN_TABLES)."""
        try:
            with self.engine.begin() as conn:
                self._insert_rows(conn, rows)
        except BaseException:
            self._forget_ids()
            raise
        self._remember_ids()

    def _insert_rows(self, conn, rows):
        for name, items in rows.items():
            if not items:
                continue
            if name == 'ledger_items':
                items = observation_rows(conn, self._configs, items)
            elif name == 'probes':
                items = probe_rows(conn, self._targets, items)
            conn.execute(insert(RUN_TABLES[name]), items)
            if name == 'probes':     # a probe late for a day already summed (a spool replayed): sum it again
                store_probes.late_probes(conn, min(i['t'] for i in items), max(i['t'] for i in items))

    def _remember_ids(self):
        self._configs.committed()
        self._targets.committed()

    def _forget_ids(self):
        self._configs.forget()
        self._targets.forget()

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

    def operations(self, run_ids, host=None):
        """Every task result of these runs (one host's only, if given), with the run's operator and ticket, in the
        order they happened - the body of the operation report."""
        query = select(host_results, runs.c.operator, runs.c.ticket, runs.c.playbook, runs.c.check_mode).join(
            runs, runs.c.id == host_results.c.run_id).where(host_results.c.run_id.in_(list(run_ids))).order_by(
            host_results.c.at, host_results.c.id)
        if host:
            query = query.where(host_results.c.host == host)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def runs_touching(self, host, since, until):
        """Runs with a task result on `host` in [since, until), oldest first."""
        inner = select(host_results.c.run_id).where(host_results.c.host == host, host_results.c.at >= since,
                                                     host_results.c.at < until)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(runs).where(runs.c.id.in_(inner)).order_by(runs.c.id)).mappings()]

    # ------------------------------------------------------------ documents handed over
    def add_document(self, kind, subject, fmt, path, sha256, size, operator=None, at=None):
        with self.engine.begin() as conn:
            return conn.execute(insert(documents).values(kind=kind, subject=subject, format=fmt, path=path,
                                                         sha256=sha256, size=size, operator=operator,
                                                         at=at or now())).inserted_primary_key[0]

    def documents(self, kind=None):
        query = select(documents).order_by(documents.c.id)
        if kind:
            query = query.where(documents.c.kind == kind)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

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
            return conn.execute(select(func.max(runs.c.id)).where(   # imports and analyses are records, not playbooks
                runs.c.state == COMPLETE, runs.c.playbook.notlike(IMPORT_PREFIX + '%'),
                runs.c.playbook.notlike(ANALYSIS_PREFIX + '%'))).scalar()

    # ------------------------------------------------------------ ledger
    def ledger(self, kind, run_id=None, before=None):
        """Latest observation of each key of `kind` from complete runs, as {run_id, host, kind, key, attrs, seen_at}.

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
            return self._with_configs(conn, conn.execute(query.order_by(ledger_items.c.key)).mappings())

    def _with_configs(self, conn, rows, extra=()):
        """Observation rows as ledger items: `attrs` is the stored configuration with this observation's `state`
        (each configuration read and decoded once, however many observations share it)."""
        rows = [dict(row) for row in rows]
        wanted = set(row['config_id'] for row in rows)
        configs = {}
        ids = sorted(wanted)
        for start in range(0, len(ids), 500):
            query = select(ledger_configs.c.id, ledger_configs.c.attrs).where(
                ledger_configs.c.id.in_(ids[start:start + 500]))
            configs.update((row.id, row.attrs) for row in conn.execute(query))
        items = []
        for row in rows:
            attrs = dict(configs[row.pop('config_id')])
            state = row.pop('state')
            if state is not None:
                attrs['state'] = state
            row['attrs'] = attrs
            items.append(row)
        return items

    # ------------------------------------------------------------ changes
    def changes(self, since=None, host=None, run_id=None, until=None, real=False, without_ticket=False, limit=None,
                modules=None, not_modules=None):
        """Change records, oldest first. `real`: of non-check runs only; `without_ticket`: only those without one;
        `limit`: the first so many; `modules` / `not_modules`: made by (not by) these modules."""
        query = select(changes, runs.c.check_mode).join(runs, runs.c.id == changes.c.run_id).order_by(changes.c.id)
        if modules is not None:
            query = query.where(changes.c.module.in_(modules))
        if not_modules:
            query = query.where(changes.c.module.not_in(not_modules) | changes.c.module.is_(None))
        if since is not None:
            query = query.where(changes.c.at >= since)
        if until is not None:
            query = query.where(changes.c.at < until)
        if host:
            query = query.where(changes.c.host == host)
        if run_id is not None:
            query = query.where(changes.c.run_id == run_id)
        if real:
            query = query.where(runs.c.check_mode.is_(False))
        if without_ticket:
            query = query.where((changes.c.ticket.is_(None)) | (changes.c.ticket == ''))
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def change_count(self, since, until, without_ticket=False):
        """How many real (non-check) change records were made in [since, until) (only those without a ticket)."""
        query = select(func.count()).select_from(changes.join(runs, runs.c.id == changes.c.run_id)).where(
            changes.c.at >= since, changes.c.at < until, runs.c.check_mode.is_(False))
        if without_ticket:
            query = query.where((changes.c.ticket.is_(None)) | (changes.c.ticket == ''))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

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
        if playbook is not None:   # LIKE narrows (a year holds 100,000 probe runs); the file name must match exactly
            query = query.where(runs.c.playbook.like('%' + _like_literal(playbook), escape='\\'))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return [r for r in rows if playbook is None or os.path.basename(r['playbook']) == playbook]

    def hosts_reached(self, run_ids):
        """{run id: {host: worst status}} of these runs, counting only the hosts a run worked on - those that ran a
        bjeic.ops module or could not (reports.host_statuses over many runs, without reading every result)."""
        rank = case((host_results.c.status == 'unreachable', 3), (host_results.c.status == 'failed', 2),
                    (host_results.c.status == 'ok', 1), else_=0)
        worked = (host_results.c.module.like('bjeic.ops.%')) | host_results.c.status.in_(('failed', 'unreachable'))
        out = {}
        ids = sorted(set(run_ids))
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                query = select(host_results.c.run_id, host_results.c.host, func.max(rank).label('rank')).where(
                    host_results.c.run_id.in_(ids[start:start + 500])).group_by(host_results.c.run_id, host_results.c.host)
                worked_on = select(host_results.c.run_id, host_results.c.host).where(
                    host_results.c.run_id.in_(ids[start:start + 500]), worked).distinct()
                keep = set((row.run_id, row.host) for row in conn.execute(worked_on))
                for row in conn.execute(query):
                    if (row.run_id, row.host) in keep:
                        out.setdefault(row.run_id, {})[row.host] = {3: 'unreachable', 2: 'failed', 1: 'ok'}.get(
                            row.rank, 'skipped')
        return out

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

    def findings_between(self, since, until, host=None, playbook=None):
        """Findings of complete, non-check runs in [since, until), with the run's start time as `run_at`; `playbook`:
        of that playbook's runs only (by file name)."""
        query = select(findings, runs.c.started_at.label('run_at'), runs.c.playbook).join(
            runs, runs.c.id == findings.c.run_id).where(
            runs.c.state == COMPLETE, runs.c.check_mode.is_(False),
            findings.c.at >= since, findings.c.at < until).order_by(findings.c.id)
        if host:
            query = query.where(findings.c.host == host)
        if playbook:
            query = query.where(runs.c.playbook.like('%' + _like_literal(playbook), escape='\\'))
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query).mappings()]
        return [r for r in rows if playbook is None or os.path.basename(r['playbook']) == playbook]

    def observations(self, kind, since, until, prefix=None, newest=False, state_only=False, daily=False):
        """Ledger items of `kind` seen by complete runs in [since, until), oldest first, with the run's check_mode.
        `prefix`: keys that start with it, or with one of a tuple of them (baseline:, patch:). `newest`: only each key's newest observation in the
        window. `daily`: only each key's last observation of each UTC day, check runs left out (a store from before
        the probes holds a db ledger read every few minutes; trends want one reading a day). `state_only`: attrs hold only `state` (the
        configurations are not read: counting restore tests of a year needs no configuration)."""
        where = [runs.c.state == COMPLETE, ledger_items.c.kind == kind, ledger_items.c.seen_at >= since,
                 ledger_items.c.seen_at < until]
        if prefix:
            prefixes = (prefix,) if isinstance(prefix, str) else prefix
            where.append(or_(*[ledger_items.c.key.like(_like_literal(p) + '%', escape='\\') for p in prefixes]))
        joined = ledger_items.join(runs, runs.c.id == ledger_items.c.run_id)
        if daily:
            where.append(runs.c.check_mode.is_(False))   # a check run's reading is not the day's
        if newest or daily:
            groups = [ledger_items.c.key] + ([self._utc_date(ledger_items.c.seen_at)] if daily and not newest else [])
            last = select(func.max(ledger_items.c.id)).select_from(joined).where(*where).group_by(*groups)
            query = select(ledger_items, runs.c.check_mode).select_from(joined).where(ledger_items.c.id.in_(last))
        else:
            query = select(ledger_items, runs.c.check_mode).select_from(joined).where(*where)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(ledger_items.c.id)).mappings()
            if not state_only:
                return self._with_configs(conn, rows)
            items = []
            for row in rows:
                item = dict(row)
                del item['config_id']
                item['attrs'] = {'state': item.pop('state')} if item['state'] is not None else {}
                items.append(item)
            return items

    def _utc_date(self, column):
        """The UTC day of a stored time, in SQL (the compaction's days are UTC days too)."""
        if self.engine.dialect.name == 'postgresql':
            return func.date(func.timezone('UTC', column))
        return func.date(column)   # SQLite keeps UTC times as text

    def _backup_tests_where(self, since, until):
        ok = ledger_items.c.state[('restore', 'ok')].as_boolean()
        return ok, ledger_items.join(runs, runs.c.id == ledger_items.c.run_id), [
            ledger_items.c.kind == 'backup', ledger_items.c.seen_at >= since, ledger_items.c.seen_at < until,
            runs.c.state == COMPLETE, runs.c.check_mode.is_(False), ok.is_not(None)]

    def backup_tests(self, since, until):
        """Per backup key: the restore tests of complete, non-check runs in [since, until) (observations whose
        state.restore.ok is true or false), how many passed, and the newest failure - counted in SQL."""
        ok, joined, where = self._backup_tests_where(since, until)
        query = select(ledger_items.c.key, ledger_items.c.host, func.count().label('tests'),
                       func.sum(case((ok, 1), else_=0)).label('passed'),
                       func.max(case((ok, None), else_=ledger_items.c.seen_at), type_=ledger_items.c.seen_at.type)
                       .label('last_failure')).select_from(joined).where(*where).group_by(
            ledger_items.c.key, ledger_items.c.host).order_by(ledger_items.c.key)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def backup_test_runs(self, since, until, limit):
        """(the first `limit` run ids that restore-tested a backup in [since, until), how many runs did)."""
        ok, joined, where = self._backup_tests_where(since, until)
        runs_query = select(ledger_items.c.run_id).select_from(joined).where(*where).distinct()
        with self.engine.connect() as conn:
            first = [row[0] for row in conn.execute(runs_query.order_by(ledger_items.c.run_id).limit(limit))]
            count = conn.execute(select(func.count()).select_from(runs_query.subquery())).scalar()
        return first, count

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
                    self._insert_rows(conn, {'ledger_items': [dict(item, run_id=run_id, seen_at=at) for item in items]})
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
            return self._with_configs(conn, conn.execute(query).mappings())

    def get_change(self, change_id):
        with self.engine.connect() as conn:
            row = conn.execute(select(changes).where(changes.c.id == change_id)).mappings().first()
        if row is None:
            raise StoreError('no change %s in the store; `bjeic-ops changes` lists them' % change_id)
        return dict(row)

    def backups(self, since=None, until=None, host=None, set_name=None):
        query = select(backups, runs.c.check_mode).select_from(backups.join(runs, runs.c.id == backups.c.run_id)) \
            .order_by(backups.c.id)
        for column, value in ((backups.c.host, host), (backups.c.set_name, set_name)):
            if value:
                query = query.where(column == value)
        if since is not None:
            query = query.where(backups.c.at >= since)
        if until is not None:
            query = query.where(backups.c.at < until)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # ------------------------------------------------------------ retention
    def compact(self, at=None, keep_days=RETENTION_DAYS):
        """Thin the ledger's run-to-run state older than `keep_days` (store_schema.RETENTION_DAYS says what is
        kept), a day at a time from where the last compaction stopped, each day in one transaction; and sum the
        probes of the UTC days that are over into probe_days. Returns {days, thinned, slimmed, until,
        probe_days}."""
        from datetime import timedelta
        at = at or now()
        cutoff = (at - timedelta(days=keep_days)).replace(hour=0, minute=0, second=0, microsecond=0)
        done = {'days': 0, 'thinned': 0, 'slimmed': 0, 'until': cutoff,
                'probe_days': self._sum_probe_days(epoch(at) // store_probes.DAY * store_probes.DAY)}
        with self.engine.connect() as conn:
            marked = self.info('ledger_compacted_until')
            start = parse_stored(marked) if marked else conn.execute(
                select(func.min(ledger_items.c.seen_at)).where(ledger_items.c.kind.in_(THINNED_KINDS))).scalar()
            if start is None:
                return done
            newest = set(row[0] for row in conn.execute(select(func.max(ledger_items.c.id)).where(
                ledger_items.c.kind.in_(THINNED_KINDS)).group_by(ledger_items.c.kind, ledger_items.c.key)))
        day = as_utc_day(start)
        while day < cutoff:
            following = day + timedelta(days=1)
            thinned, slimmed = self._compact_day(day, following, newest)
            done['days'] += 1
            done['thinned'] += thinned
            done['slimmed'] += slimmed
            day = following
        self.set_info('ledger_compacted_until', cutoff.isoformat())
        return done

    def _sum_probe_days(self, until, gap=int(MAX_GAP.total_seconds())):
        """Sum every whole UTC day of probes before `until` not summed yet (all again if the gap changed)."""
        with self.engine.begin() as conn:
            summed_until, summed_gap = store_probes.aggregated(conn)
            if summed_until is None or summed_gap != gap:
                first = conn.execute(select(func.min(probes.c.t))).scalar()
                if first is None:
                    return 0
                summed_until = first // store_probes.DAY * store_probes.DAY
            store_probes.aggregate(conn, summed_until, max(until, summed_until), gap)
            return max(0, (until - summed_until) // store_probes.DAY)

    def _compact_day(self, day, following, newest):
        with self.engine.begin() as conn:
            rows = conn.execute(select(ledger_items.c.id, ledger_items.c.kind, ledger_items.c.key,
                                       ledger_items.c.state).where(
                ledger_items.c.kind.in_(THINNED_KINDS), ledger_items.c.seen_at >= day, ledger_items.c.seen_at < following,
                ledger_items.c.state.is_not(None)).order_by(ledger_items.c.id)).all()
            last = {}
            for row in rows:
                last[(row.kind, row.key)] = row
            kept = set(row.id for row in last.values()) | newest
            drop = [row.id for row in rows if row.id not in kept]
            for start in range(0, len(drop), 500):
                conn.execute(update(ledger_items).where(ledger_items.c.id.in_(drop[start:start + 500])).values(state=None))
            slimmed = 0
            for row in last.values():
                if row.id in newest or not isinstance(row.state, dict):
                    continue
                slim = dict((k, v) for k, v in row.state.items() if k in KEPT_STATE)
                if slim != row.state:
                    conn.execute(update(ledger_items).where(ledger_items.c.id == row.id).values(state=slim))
                    slimmed += 1
        return len(drop), slimmed

    def vacuum(self):
        """Give the space that compaction freed back to the file system (SQLite VACUUM; PostgreSQL VACUUM)."""
        with self.engine.connect().execution_options(isolation_level='AUTOCOMMIT') as conn:
            conn.exec_driver_sql('VACUUM')

    def table_sizes(self):
        """{table: rows} of every table, for `bjeic-ops store info`."""
        with self.engine.connect() as conn:
            return dict((name, conn.execute(select(func.count()).select_from(table)).scalar())
                        for name, table in sorted(metadata.tables.items()))

    # ------------------------------------------------------------ availability probes
    def probe_rows(self, run_id):
        """The probes a run recorded, with their instance's label, host, engine and target."""
        query = select(probes, probe_targets.c.instance, probe_targets.c.host, probe_targets.c.engine,
                       probe_targets.c.target).join(probe_targets, probe_targets.c.id == probes.c.target_id).where(
            probes.c.run_id == run_id).order_by(probes.c.id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def probe_coverage(self, since, until, gap):
        """Per probed instance: seconds of [since, until) covered up and down (a probe covers the time to the next
        one, at most `gap` seconds), probes and failed probes in the window, latency, first and last run
        (store_probes: whole summed days and the probes of the partial ones)."""
        with self.engine.connect() as conn:
            sums = store_probes.totals(conn, epoch(since), epoch(until), gap)
            targets = dict((row.id, row) for row in conn.execute(select(probe_targets)))
        out = []
        for target_id, values in sorted(sums.items()):
            if values['up_s'] or values['down_s']:
                target = targets[target_id]
                out.append(dict(values, target_id=target_id, instance=target.instance, host=target.host,
                                engine=target.engine,
                                latency_avg=values['latency_sum'] / values['latency_n'] if values['latency_n'] else None))
        return out

    def failed_probes(self, since, until, gap):
        """The failed probes that cover part of [since, until), with their next probe's time and outcome."""
        with self.engine.connect() as conn:
            return store_probes.failed(conn, epoch(since), epoch(until), gap)

    def backup_summary(self, since, until, shown=6):
        """The backups of non-check runs in [since, until) counted in SQL: {taken, good, first: [ids], bad: [rows]} -
        good is taken and verified; bad rows are the others (failed, or taken but not verified)."""
        joined = backups.join(runs, runs.c.id == backups.c.run_id)
        where = [backups.c.at >= since, backups.c.at < until, runs.c.check_mode.is_(False)]
        good = and_(backups.c.state == 'taken', backups.c.verified.is_(True))
        with self.engine.connect() as conn:
            total, ok = conn.execute(select(func.count(), func.sum(case((good, 1), else_=0))).select_from(joined)
                                     .where(*where)).one()
            first = [row[0] for row in conn.execute(select(backups.c.id).select_from(joined).where(*where)
                                                    .order_by(backups.c.id).limit(shown))]
            bad = [dict(row) for row in conn.execute(select(backups).select_from(joined).where(*where, ~good)
                                                     .order_by(backups.c.id)).mappings()]
        return {'taken': total, 'good': int(ok or 0), 'first': first, 'bad': bad}

    # ------------------------------------------------------------ the operating loop: alerts and schedules
    def info(self, key, default=None):
        with self.engine.connect() as conn:
            value = conn.execute(select(store_info.c.value).where(store_info.c.key == key)).scalar()
        return default if value is None else value

    def set_info(self, key, value):
        with self.engine.begin() as conn:
            if conn.execute(update(store_info).where(store_info.c.key == key).values(value=str(value))).rowcount == 0:
                conn.execute(insert(store_info).values(key=key, value=str(value)))

    def finished_runs_after(self, run_id, since=None):
        """Runs with an id above `run_id` that have ended (complete or incomplete), oldest first."""
        query = select(runs).where(runs.c.id > run_id, runs.c.state != RUNNING, runs.c.check_mode.is_(False),
                                   runs.c.playbook.notlike(IMPORT_PREFIX + '%')).order_by(runs.c.id)
        if since is not None:
            query = query.where(runs.c.finished_at >= since)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def latest_findings_by_playbook_host(self, severities):
        """{(playbook, host): (run_id, [finding])}: each host's newest complete real run of each playbook, and its
        findings of `severities` - what is wrong now, as far as that playbook looks."""
        newest = (select(runs.c.playbook, host_results.c.host, func.max(runs.c.id).label('run_id'))
                  .select_from(host_results.join(runs, runs.c.id == host_results.c.run_id))
                  .where(runs.c.state == COMPLETE, runs.c.check_mode.is_(False),
                         runs.c.playbook.notlike(IMPORT_PREFIX + '%'))
                  .group_by(runs.c.playbook, host_results.c.host)).subquery()
        with self.engine.connect() as conn:
            latest = {(r.playbook, r.host): r.run_id for r in conn.execute(select(newest))}
            rows = conn.execute(select(findings).where(
                findings.c.run_id.in_(set(latest.values()) or {-1}), findings.c.severity.in_(severities))).mappings()
            by_run_host = {}
            for row in rows:
                by_run_host.setdefault((row['run_id'], row['host']), []).append(dict(row))
        return dict((key, (run_id, by_run_host.get((run_id, key[1]), []))) for key, run_id in latest.items())

    def alert_states(self, state=None):
        query = select(alert_state).order_by(alert_state.c.first_at)
        if state:
            query = query.where(alert_state.c.state == state)
        with self.engine.connect() as conn:
            return dict((r['key'], dict(r)) for r in conn.execute(query).mappings())

    def put_alert_state(self, key, **values):
        with self.engine.begin() as conn:
            if conn.execute(update(alert_state).where(alert_state.c.key == key).values(**values)).rowcount == 0:
                conn.execute(insert(alert_state).values(key=key, **values))

    def add_notification(self, **values):
        with self.engine.begin() as conn:
            return conn.execute(insert(notifications).values(**values)).inserted_primary_key[0]

    def update_notification(self, notification_id, **values):
        with self.engine.begin() as conn:
            conn.execute(update(notifications).where(notifications.c.id == notification_id).values(**values))

    def notifications(self, since=None, until=None, states=None):
        query = select(notifications).order_by(notifications.c.id)
        if since is not None:
            query = query.where(notifications.c.created_at >= since)
        if until is not None:
            query = query.where(notifications.c.created_at < until)
        if states:
            query = query.where(notifications.c.state.in_(states))
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def record_schedule_event(self, job, event, run_id=None, detail=None, at=None):
        with self.engine.begin() as conn:
            return conn.execute(insert(schedule_events).values(job=job, event=event, run_id=run_id, detail=detail,
                                                               at=at or now())).inserted_primary_key[0]

    def schedule_events(self, job=None, since=None, until=None):
        query = select(schedule_events).order_by(schedule_events.c.at, schedule_events.c.id)
        if job:
            query = query.where(schedule_events.c.job == job)
        if since is not None:
            query = query.where(schedule_events.c.at >= since)
        if until is not None:
            query = query.where(schedule_events.c.at < until)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def count(self, table_name, run_id):
        table = metadata.tables[table_name]
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(table.c.run_id == run_id)).scalar()


def parse_stored(text):
    from datetime import datetime
    return as_utc_day(datetime.fromisoformat(text))


def as_utc_day(value):
    """The UTC midnight at or before `value` (naive means UTC)."""
    from datetime import timezone
    value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def _like_literal(text):
    """`text` for a LIKE pattern with escape character backslash: its own %, _ and backslash taken literally."""
    return text.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')


def _safe_url(url):
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as the scheme only
        return url.split(':', 1)[0] + ':...'


def dumps(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
