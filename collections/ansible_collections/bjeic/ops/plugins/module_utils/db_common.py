# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the three database ledger modules share: options, running queries, findings, the ledger item.

Each engine (db_mysql, db_oracle, db_mssql) turns its own views' rows into one engine-neutral
`facts` dict:

    engine, name, instance, server, version, edition, os, cpu_count, memory_bytes,
    archive {mode on/off, kind, detail},  databases [{name, ...}],
    datafiles [{name, space, size_bytes, autoextend, max_bytes}],
    spaces [{name, size_bytes, used_bytes, free_pct}], temp {size_bytes, files},
    errors [{time, level, text}], perf {sessions, ..., top_waits},
    backups [{scope, type full/incremental/log, last, age_hours}],
    unavailable [{what, why}]

and everything after that (findings, the ledger item) is done once, here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import errno
import socket
import time

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.bjeic.ops.plugins.module_utils import contract, db_advice
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings, finding, grade
from ansible_collections.bjeic.ops.plugins.module_utils.findings import merge_thresholds, public_thresholds, stale_severity

DEFAULT_THRESHOLDS = {
    # free % of a tablespace / filegroup / data file system, counting what autoextend can still add
    'db.tablespace_free': {'warning': 15.0, 'critical': 5.0, '_direction': 'below'},
    # error entries in the alert / error log within log_window_hours
    'db.log_errors': {'warning': 1.0, 'critical': 20.0},
}

# Hours after which the newest backup of each kind is stale (0 switches that check off).
# `incremental` is judged on the newest full OR incremental/differential backup: both are restore points.
DEFAULT_BACKUP_MAX_AGE_HOURS = {'full': 192.0, 'incremental': 26.0, 'log': 0.0}

# Facts that change every run: kept under the ledger item's `state`, so they are not drift.
STATE_FACTS = ('errors', 'perf', 'backups', 'spaces', 'temp', 'uptime_seconds', 'unavailable', 'collected_seconds',
               'log_usage', 'backup_failures', 'startup_time')
STATE_FILE_FIELDS = ('size_bytes', 'used_bytes', 'free_pct')


class CollectError(Exception):
    """The server answered but the basic facts could not be read (privileges); the message says which query."""


def connection_spec(default_port):
    """The options every ledger module has (names as community.mysql's), with the engine's port."""
    return dict(
        name=dict(type='str'),
        login_host=dict(type='str', default='localhost'),
        login_port=dict(type='int', default=default_port),
        login_user=dict(type='str'),
        login_password=dict(type='str', no_log=True),
        connect_timeout=dict(type='int', default=10),
        log_window_hours=dict(type='float', default=24),
        thresholds=dict(type='dict', default={}),
        backup_max_age_hours=dict(type='dict', default={}),
        releases=dict(type='dict', default={}),
    )


def backup_limits(overrides):
    """DEFAULT_BACKUP_MAX_AGE_HOURS updated from the user's dict; ValueError names a bad key or value."""
    limits = dict(DEFAULT_BACKUP_MAX_AGE_HOURS)
    for key, value in (overrides or {}).items():
        if key not in limits:
            raise ValueError('backup_max_age_hours: unknown key %r; known keys: %s' % (key, ', '.join(sorted(limits))))
        try:
            limits[key] = float(value)
        except (TypeError, ValueError):
            raise ValueError('backup_max_age_hours.%s must be a number of hours, got %r' % (key, value))
    return limits


def settings(params):
    """(thresholds, backup limits) from module params; ValueError (ThresholdError is one) says what is wrong."""
    return merge_thresholds(DEFAULT_THRESHOLDS, params['thresholds']), backup_limits(params['backup_max_age_hours'])


def rows_of(cursor):
    """All rows of an executed DB-API cursor as dicts keyed by lower-case column name."""
    names = [column[0].lower() for column in cursor.description or []]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def run_queries(connection, queries):
    """{name: rows} for each (name, sql); a query that fails gives its error text instead of rows,
    so one missing privilege or view costs one fact, not the whole ledger."""
    results = {}
    for name, sql in queries:
        cursor = connection.cursor()
        try:
            cursor.execute(sql)
            results[name] = rows_of(cursor)
        except Exception as exc:  # driver-specific error classes; the message is what matters
            results[name] = error_text(exc)
            rollback_quietly(connection)
        finally:
            cursor.close()
    return results


def rollback_quietly(connection):
    try:
        connection.rollback()
    except Exception:
        pass


def error_text(exc):
    """One line of a driver error, without the driver's class path."""
    text = ' '.join(str(exc).split())
    return text[:300] or type(exc).__name__


def failed(value):
    return isinstance(value, str)


def first(rows):
    """The first row of a query's result, {} when it failed or returned nothing."""
    return rows[0] if rows and not failed(rows) else {}


def clock_offset(row):
    """The server's local time minus UTC, from a row with `local_now` and `utc_now`, rounded to 15 minutes:
    Oracle DATE columns, msdb and the SQL Server error log keep the server's local time."""
    local, utc = row.get('local_now'), row.get('utc_now')
    if not isinstance(local, datetime.datetime) or not isinstance(utc, datetime.datetime):
        return datetime.timedelta(0)
    return datetime.timedelta(minutes=15 * round((local - utc.replace(tzinfo=None)).total_seconds() / 900.0))


def as_utc(value):
    """A driver's datetime (naive means UTC here) as an aware UTC datetime, or None."""
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def local_to_utc(value, offset):
    """A naive server-local datetime moved to UTC by the server's clock offset; None for anything else."""
    return value - offset if isinstance(value, datetime.datetime) else None


def iso(value):
    value = as_utc(value)
    return value.strftime('%Y-%m-%dT%H:%M:%SZ') if value else None


def age_hours(value, now):
    value = as_utc(value)
    return round((now - value).total_seconds() / 3600.0, 2) if value else None


def number(value):
    """int or float from a driver value (Decimal, str, None)."""
    if value is None:
        return None
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return None
    return int(as_float) if as_float.is_integer() else round(as_float, 2)


def free_pct(size, used, max_size=None):
    """Free % of a space of `size` bytes with `used` bytes, out of max_size when it can still grow to it."""
    ceiling = max(size or 0, max_size or 0)
    if not ceiling or used is None:
        return None
    return round(100.0 * (ceiling - used) / ceiling, 2)


def newest_backups(rows, now, scope_key, type_key, time_key, kinds):
    """[{scope, type, last, age_hours}] from rows of (scope, vendor type, finish time); `kinds` maps the
    vendor's type code to full / incremental / log; the newest per scope and type is kept."""
    newest = {}
    for row in rows:
        kind = kinds.get(row.get(type_key))
        finished = as_utc(row.get(time_key))
        if not kind or not finished:
            continue
        key = (row.get(scope_key) or 'instance', kind)
        if key not in newest or finished > newest[key]:
            newest[key] = finished
    return [{'scope': scope, 'type': kind, 'last': iso(finished), 'age_hours': age_hours(finished, now)}
            for (scope, kind), finished in sorted(newest.items())]


def missing(facts, what, why):
    facts.setdefault('unavailable', []).append({'what': what, 'why': why})


class Evaluation:
    """Findings for one instance's facts, under its subject (the ledger key)."""

    def __init__(self, facts, thresholds, limits):
        self.facts, self.thresholds, self.limits = facts, thresholds, limits
        self.subject = ledger_key(facts)
        self.found = Findings(self.subject)
        self.add = self.found.add

    def run(self):
        self.spaces()
        self.archive()
        self.errors()
        self.backups()
        for gap in self.facts.get('unavailable') or []:
            self.found.unavailable('db.unavailable', '%s: %s could not be read: %s'
                                   % (self.subject, gap['what'], gap['why']))
        return self.found.items

    def spaces(self):
        for space in self.facts.get('spaces') or []:
            severity, threshold = grade(space.get('free_pct'), self.thresholds['db.tablespace_free'])
            if severity:
                self.add('db.tablespace_free', severity, '%s: %s has %.1f%% free (%s used of %s), threshold %s%%' % (
                    self.subject, space['name'], space['free_pct'], human(space.get('used_bytes')),
                    human(space.get('max_bytes') or space.get('size_bytes')), threshold),
                    value=space['free_pct'], threshold=threshold)

    def archive(self):
        archive = self.facts.get('archive') or {}
        for scope in archive.get('off') or []:
            self.add('db.archive_off', 'warning', '%s: %s is off for %s: only the last full backup can be restored, '
                     'not a point in time' % (self.subject, archive.get('kind'), scope), value=archive.get('kind'))

    def errors(self):
        errors = self.facts.get('errors')
        if errors is None:
            return
        severity, threshold = grade(len(errors), self.thresholds['db.log_errors'])
        if severity:
            self.add('db.log_errors', severity, '%s: %d error(s) in the %s in the last %s h; newest: %s' % (
                self.subject, len(errors), self.facts.get('error_log', 'error log'), self.facts.get('log_window_hours'),
                errors[-1]['text'][:200]), value=len(errors), threshold=threshold)

    def backups(self):
        if 'backups' not in self.facts:
            return   # not observable for this engine/setup; said in `unavailable`
        by_scope = {}
        for backup in self.facts['backups']:
            by_scope.setdefault(backup['scope'], {})[backup['type']] = backup
        for scope in self.facts.get('backup_scopes') or sorted(by_scope):
            self.backup_scope(scope, by_scope.get(scope, {}))

    def backup_scope(self, scope, kinds):
        if not kinds:
            self.add('db.backup_stale', 'critical', '%s: no backup of %s is recorded' % (self.subject, scope))
            return
        restore_points = [kinds[k] for k in ('full', 'incremental') if k in kinds]
        checks = (('full', [kinds['full']] if 'full' in kinds else []),
                  ('incremental', restore_points),
                  ('log', [kinds['log']] if 'log' in kinds else []))
        log_scopes = self.facts.get('log_backup_scopes')
        for kind, candidates in checks:
            limit = self.limits[kind]
            if not limit or (kind == 'log' and log_scopes is not None and scope not in log_scopes):
                continue   # switched off, or a scope without log backups (no archive log / SIMPLE recovery)
            if not candidates:
                self.add('db.backup_stale', 'critical', '%s: no %s backup of %s is recorded (allowed age %s h)'
                         % (self.subject, kind, scope, limit), threshold=limit)
                continue
            newest = min(candidates, key=lambda b: b['age_hours'])
            severity = stale_severity(newest['age_hours'], limit)
            if severity:
                self.add('db.backup_stale', severity, '%s: newest %s backup of %s finished %s, %.1f h ago; allowed %s h' % (
                    self.subject, kind, scope, newest['last'], newest['age_hours'], limit),
                    value=newest['age_hours'], threshold=limit)


def human(size):
    if not isinstance(size, (int, float)):
        return '?'
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(size) < 1024 or unit == 'TiB':
            return '%.1f %s' % (size, unit) if unit != 'B' else '%d B' % size
        size /= 1024.0


def ledger_key(facts):
    return contract.key('db', facts.get('name') or facts.get('instance') or facts['engine'], facts.get('server') or 'unknown')


def ledger_item(facts):
    """The db ledger item: configuration in attrs, this run's measurements under attrs.state."""
    attrs, state = {}, {}
    for key, value in facts.items():
        (state if key in STATE_FACTS else attrs)[key] = value
    if attrs.get('datafiles'):   # file names and limits are configuration; their current size is not
        attrs['datafiles'] = [dict((k, v) for k, v in f.items() if k not in STATE_FILE_FIELDS) for f in facts['datafiles']]
        state['datafiles'] = [dict((k, f.get(k)) for k in ('name',) + STATE_FILE_FIELDS if k in f) for f in facts['datafiles']]
    attrs['state'] = state
    return contract.ledger_item('db', ledger_key(facts), attrs)


# errno of an OSError in the exception chain -> class
ERRNO_CLASSES = {errno.ECONNREFUSED: 'refused', errno.ETIMEDOUT: 'timeout', errno.EHOSTUNREACH: 'network',
                 errno.ENETUNREACH: 'network', errno.ECONNRESET: 'network', errno.ECONNABORTED: 'network',
                 errno.EPIPE: 'network'}
# Words of a driver's message -> class, tried in this order (PyMySQL, python-oracledb and python-tds word the same
# causes differently; the vendor codes are the documented ones).
MESSAGE_CLASSES = (
    ('access denied', 'auth'), ('login failed', 'auth'), ('ora-01017', 'auth'), ('ora-28000', 'auth'),
    ('ora-01005', 'auth'), ('authentication', 'auth'),
    ('timed out', 'timeout'), ('timeout', 'timeout'), ('ora-12170', 'timeout'),
    ('connection refused', 'refused'), ('ora-12541', 'refused'), ('ora-12514', 'refused'), ('ora-12505', 'refused'),
    ('ora-12528', 'refused'), ('ora-01033', 'refused'), ('ora-01034', 'refused'),
    ('name or service not known', 'dns'), ('temporary failure in name resolution', 'dns'), ('getaddrinfo', 'dns'),
    ('nodename nor servname', 'dns'), ('ora-12545', 'dns'),
    ('no route to host', 'network'), ('network is unreachable', 'network'), ('lost connection', 'network'),
    ('connection reset', 'network'), ('broken pipe', 'network'),
    ('certificate', 'tls'), ('ssl', 'tls'), ('tls', 'tls'),
)
MYSQL_AUTH_CODES = (1044, 1045, 1698, 1251)   # access denied to a database / for a user, plugin refused


FAILURE_PRIORITY = ('auth', 'dns', 'tls', 'refused', 'network', 'timeout')   # most telling first


def chain(exc):
    """The exception and what caused it, outermost first (a driver wraps the socket error it met)."""
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _class_of_one(exc):
    if isinstance(exc, socket.gaierror):
        return 'dns'
    if isinstance(exc, socket.timeout):
        return 'timeout'
    if exc.__class__.__name__ == 'SSLError':
        return 'tls'
    if isinstance(exc, OSError) and ERRNO_CLASSES.get(exc.errno):
        return ERRNO_CLASSES[exc.errno]
    args = getattr(exc, 'args', ())
    if args and isinstance(args[0], int) and args[0] in MYSQL_AUTH_CODES:
        return 'auth'
    text = str(exc).lower()
    for words, error_class in MESSAGE_CLASSES:
        if words in text:
            return error_class
    return None


def failure_class(exc):
    """Why a connection failed, in one word (contract.PROBE_ERRORS), from every link of the exception chain: the
    most telling wins (python-tds retries a refused port until its timeout and raises TimeoutError from it)."""
    found = set(filter(None, (_class_of_one(link) for link in chain(exc))))
    return next((name for name in FAILURE_PRIORITY if name in found), 'error')


def failure_text(exc):
    """The driver's message, with the innermost cause when the outer one says little (a bare TimeoutError)."""
    links = chain(exc)
    text = error_text(links[0])
    if len(links) > 1 and (not str(links[0]).strip() or len(str(links[0])) < 20):
        text = '%s (%s: %s)' % (text, type(links[-1]).__name__, error_text(links[-1]))
    return text[:300]


def unreachable_finding(subject, error):
    return finding('db.unreachable', 'critical', subject, '%s: cannot connect: %s' % (subject, error), value=error)


def sample_interval(seconds):
    """Sleep between two counter samples (rates need two); returns the measured interval."""
    started = time.time()
    time.sleep(max(seconds, 0.1))
    return time.time() - started


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def run_module(module, engine):
    """The whole of a ledger module: read the instance (read_instance) and exit with its result."""
    result = read_instance(module.params, engine)
    if result.get('failed'):
        module.fail_json(**dict((k, v) for k, v in result.items() if k != 'failed'))
    module.exit_json(**result)


def read_instance(params, engine):
    """Connect with `engine` (db_mysql / db_oracle / db_mssql), collect, judge: the module result of one instance,
    with failed=True and msg when it cannot be read at all (no driver, a bad option, missing privileges).

    An unreachable server is a finding (db.unreachable), not a failure: the play goes on to the next
    instance, and the ledger keeps the last item it saw instead of an empty one."""
    if not engine.HAS_DRIVER:
        return dict(failed=True, msg=missing_required_lib(engine.DRIVER) + ' (on the host that runs the module; with '
                    'delegate_to that is the delegate)')
    try:
        thresholds, limits = settings(params)
        if params['releases']:
            db_advice.check_data(params['releases'])
    except ValueError as exc:
        return dict(failed=True, msg=str(exc))
    started = time.time()
    target = '%s:%s' % (params.get('login_unix_socket') or params['login_host'], params['login_port'])
    label = params['name'] or engine.default_name(params)

    def probe(up, **details):
        """This connection counts for availability too: the same probe db_probe makes."""
        return contract.probe(label, engine.ENGINE, target, up, (time.time() - started) * 1000, iso(
            datetime.datetime.fromtimestamp(started, datetime.timezone.utc)), **details)
    try:
        connection = engine.connect(params)
    except Exception as exc:  # every driver has its own error classes; none carries the password
        subject = 'db:%s@%s' % (label, params['login_host'])
        error = failure_text(exc)
        return dict(changed=False, available=False, ledger=[], database=None,
                    findings=[unreachable_finding(subject, '%s (%s)' % (error, target))],
                    probes=[probe(False, error_class=failure_class(exc), error=error)],
                    thresholds=public_thresholds(thresholds),
                    msg='%s: cannot connect to %s: %s' % (subject, target, error))
    connected = probe(True)
    try:
        facts = engine.collect(connection, params, utc_now())
    except CollectError as exc:
        return dict(failed=True, msg='%s %s: %s. Grant the monitoring user the privileges the module documents.'
                    % (engine.ENGINE, target, exc))
    finally:
        connection.close()
    facts['collected_seconds'] = round(time.time() - started, 3)
    connected.update(version=facts.get('version'), server=facts.get('server'))
    findings = Evaluation(facts, thresholds, limits).run()
    item = ledger_item(facts)
    if params['releases']:
        advice_findings, advice = db_advice.advise(facts, params['releases'], item['key'], utc_now().date())
        findings.extend(advice_findings)
        item['attrs']['state']['advice'] = advice   # follows the release data, not the server's configuration
    summary = '%s: %s %s, %d finding(s)' % (item['key'], facts.get('product') or engine.ENGINE, facts.get('version'),
                                            len(findings))
    return dict(changed=False, available=True, database=facts, ledger=[item], findings=findings,
                probes=[connected], thresholds=public_thresholds(thresholds), msg=summary)
