# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""MySQL / MariaDB ledger: every SQL statement the mysql_ledger module runs, and rows -> facts.

Reads: SHOW GLOBAL VARIABLES, SHOW GLOBAL STATUS (twice, for rates), information_schema.SCHEMATA
and TABLES (schema sizes), SHOW BINARY LOGS, performance_schema.error_log (MySQL 8.0.22+; MariaDB
has no such table, so its error log file is read when the module runs on the database host) and
performance_schema.events_waits_summary_global_by_event_name (top waits, when performance_schema is on).
MySQL keeps no backup history of its own: backups are the dump files named by backup_path.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import os
import re
import socket

from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common

try:
    import pymysql
    HAS_DRIVER = True
except ImportError:
    HAS_DRIVER = False

ENGINE = 'mysql'
DRIVER = 'PyMySQL'
SYSTEM_SCHEMAS = "('mysql', 'information_schema', 'performance_schema', 'sys')"


def argument_spec():
    """mysql_ledger's options (and those of a MySQL entry of bjeic.ops.db_ledger)."""
    spec = common.connection_spec(3306)
    spec.update(
        login_unix_socket=dict(type='str'),
        ca_cert=dict(type='path', aliases=['ssl_ca']),
        client_cert=dict(type='path', aliases=['ssl_cert']),
        client_key=dict(type='path', aliases=['ssl_key'], no_log=False),
        check_hostname=dict(type='bool', default=True),
        backup_path=dict(type='str'),
        sample_seconds=dict(type='float', default=1),
    )
    return spec


ARGUMENT_RULES = dict(required_together=[('client_cert', 'client_key')])

VARIABLES = ('hostname', 'port', 'version', 'version_comment', 'version_compile_os', 'version_compile_machine',
             'datadir', 'log_bin', 'binlog_format', 'expire_logs_days', 'binlog_expire_logs_seconds', 'log_error',
             'innodb_data_file_path', 'innodb_temp_data_file_path', 'innodb_buffer_pool_size', 'max_connections',
             'server_id', 'gtid_mode', 'sync_binlog', 'innodb_flush_log_at_trx_commit', 'performance_schema',
             'character_set_server', 'tmpdir')
STATUS = ('Uptime', 'Threads_connected', 'Threads_running', 'Questions', 'Com_commit', 'Com_rollback',
          'Innodb_buffer_pool_reads', 'Innodb_buffer_pool_read_requests', 'Aborted_connects', 'Slow_queries')


def in_list(names):
    return '(%s)' % ', '.join("'%s'" % name for name in names)


QUERY_STATUS = 'SHOW GLOBAL STATUS WHERE Variable_name IN %s' % in_list(STATUS)


def queries(window_hours):
    """(name, sql) in the order they run."""
    return [
        ('variables', 'SHOW GLOBAL VARIABLES WHERE Variable_name IN %s' % in_list(VARIABLES)),
        ('status', QUERY_STATUS),
        # information_schema.SCHEMATA + TABLES: size per schema, schemas without tables included
        ('schemas', 'SELECT s.schema_name AS name, s.default_character_set_name AS charset, '
                    'COUNT(t.table_name) AS tables, COALESCE(SUM(t.data_length), 0) AS data_bytes, '
                    'COALESCE(SUM(t.index_length), 0) AS index_bytes, COALESCE(SUM(t.data_free), 0) AS free_bytes '
                    'FROM information_schema.SCHEMATA s LEFT JOIN information_schema.TABLES t '
                    'ON t.table_schema = s.schema_name WHERE s.schema_name NOT IN %s '
                    'GROUP BY s.schema_name, s.default_character_set_name ORDER BY s.schema_name' % SYSTEM_SCHEMAS),
        ('binary_logs', 'SHOW BINARY LOGS'),
        # performance_schema.error_log: MySQL 8.0.22+ only
        ('error_log', "SELECT logged, prio, error_code, subsystem, data FROM performance_schema.error_log "
                      "WHERE prio = 'Error' AND logged > NOW() - INTERVAL %d MINUTE ORDER BY logged"
                      % int(window_hours * 60)),
        # picoseconds; 'idle' is time spent waiting for clients, not a wait of the server
        ('waits', "SELECT event_name, count_star, sum_timer_wait FROM "
                  "performance_schema.events_waits_summary_global_by_event_name "
                  "WHERE event_name <> 'idle' AND count_star > 0 ORDER BY sum_timer_wait DESC LIMIT 5"),
    ]


# The availability probe's one trivial query: the server's own name and version.
PROBE_SQL = 'SELECT @@hostname AS server, VERSION() AS version'


def default_name(params):
    """The ledger label when `name` is not given and the server cannot tell (it is unreachable)."""
    return 'mysql-%s' % params['login_port']


def connect(params):
    ssl = {}
    if params.get('ca_cert'):
        ssl = dict(ssl_ca=params['ca_cert'], ssl_verify_cert=True, ssl_verify_identity=params['check_hostname'])
    if params.get('client_cert'):
        ssl.update(ssl_cert=params['client_cert'], ssl_key=params.get('client_key'))
    return pymysql.connect(
        host=params['login_host'], port=params['login_port'], user=params['login_user'],
        password=params['login_password'] or '', unix_socket=params.get('login_unix_socket'),
        connect_timeout=params['connect_timeout'], read_timeout=params.get('read_timeout') or 300, charset='utf8mb4', autocommit=True, **ssl)


def key_values(rows):
    """SHOW VARIABLES / STATUS rows -> {lower-case name: value}; {} when the query failed."""
    if common.failed(rows):
        return {}
    return dict((row['variable_name'].lower(), row['value']) for row in rows)


SIZE_UNITS = {'K': 1024, 'M': 1024 ** 2, 'G': 1024 ** 3, 'T': 1024 ** 4}


def size_of(text):
    match = re.match(r'^(\d+)([KMGT]?)$', text or '', re.I)
    return int(match.group(1)) * SIZE_UNITS.get(match.group(2).upper(), 1) if match else None


def parse_data_file_path(text, space):
    """innodb_data_file_path 'ibdata1:12M:autoextend:max:2G;ibdata2:...' -> datafiles."""
    files = []
    for part in (text or '').split(';'):
        fields = part.split(':')
        if len(fields) < 2:
            continue
        entry = {'name': fields[0], 'space': space, 'size_bytes': size_of(fields[1]),
                 'autoextend': 'autoextend' in fields, 'max_bytes': None}
        if 'max' in fields and fields.index('max') + 1 < len(fields):
            entry['max_bytes'] = size_of(fields[fields.index('max') + 1])
        files.append(entry)
    return files


ERROR_LINE = re.compile(r'^(\d{4}-\d{2}-\d{2})[ T]+(\d{1,2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?\s+\d+\s+'
                        r'\[(\w+)\]\s*(.*)$')


def parse_error_log(lines, since, levels=('ERROR',)):
    """Entries of the given levels logged after `since` (aware UTC), from MariaDB's or MySQL's error log lines.
    A time without a zone is the server's local time (MariaDB's default); 'Z' is UTC (MySQL's default)."""
    entries = []
    for line in lines:
        match = ERROR_LINE.match(line.rstrip('\n'))
        if not match or match.group(4).upper() not in levels:
            continue
        stamp = datetime.datetime.strptime('%s %s' % (match.group(1), match.group(2)), '%Y-%m-%d %H:%M:%S')
        zone = match.group(3)
        if zone == 'Z':
            stamp = stamp.replace(tzinfo=datetime.timezone.utc)
        elif zone:
            stamp = datetime.datetime.strptime('%s %s%s' % (match.group(1), match.group(2), zone.replace(':', '')),
                                               '%Y-%m-%d %H:%M:%S%z')
        else:
            stamp = stamp.astimezone()   # naive: local time of this host, which is the server's host
        if stamp.astimezone(datetime.timezone.utc) >= since:
            entries.append({'time': common.iso(stamp), 'level': match.group(4).upper(), 'text': match.group(5).strip()})
    return entries


def tail_lines(path, limit=8 << 20):
    """The last `limit` bytes of a log file as lines (error logs of years are common)."""
    with open(path, 'rb') as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - limit))
        data = handle.read()
    lines = data.decode('utf-8', 'replace').splitlines()
    return lines[1:] if size > limit else lines


def rates(first, second, seconds):
    """Per-second rates and ratios from two SHOW GLOBAL STATUS samples."""
    def delta(*names):
        return sum(common.number(second.get(n.lower())) or 0 for n in names) - \
            sum(common.number(first.get(n.lower())) or 0 for n in names)
    reads = common.number(second.get('innodb_buffer_pool_reads')) or 0
    requests = common.number(second.get('innodb_buffer_pool_read_requests')) or 0
    return {
        'sessions': common.number(second.get('threads_connected')),
        'running': common.number(second.get('threads_running')),
        'queries_per_sec': round(delta('Questions') / seconds, 2),
        'transactions_per_sec': round(delta('Com_commit', 'Com_rollback') / seconds, 2),
        'buffer_hit_pct': round(100.0 * (1 - float(reads) / requests), 2) if requests else None,
        'slow_queries': common.number(second.get('slow_queries')),
        'aborted_connects': common.number(second.get('aborted_connects')),
    }


def facts(results, context):
    """Engine-neutral facts from the query results. `context` carries: now, window_hours, name, local (the module
    runs on the server's host), second_status and interval (the second status sample), error_lines (the error log
    file's lines or an error string, when local), datadir_usage (statvfs figures or None), dumps (newest first)."""
    now = context['now']
    out = {'engine': 'mysql', 'log_window_hours': context['window_hours']}
    variables = results['variables']
    if common.failed(variables):
        raise common.CollectError('SHOW GLOBAL VARIABLES failed: %s' % variables)
    var = key_values(variables)
    version = var.get('version', '')
    mariadb = 'mariadb' in version.lower()
    out.update(
        product='MariaDB' if mariadb else 'MySQL', version=version.split('-')[0],
        edition='MariaDB Server' if mariadb else var.get('version_comment'), version_string=version,
        server=var.get('hostname'), port=common.number(var.get('port')),
        name=context.get('name') or 'mysql-%s' % var.get('port'), instance='%s:%s' % (var.get('hostname'), var.get('port')),
        os='%s %s' % (var.get('version_compile_os'), var.get('version_compile_machine')),
        settings=dict((k, var.get(k)) for k in ('datadir', 'innodb_buffer_pool_size', 'max_connections', 'server_id',
                                                'gtid_mode', 'sync_binlog', 'innodb_flush_log_at_trx_commit',
                                                'character_set_server', 'performance_schema') if k in var))
    if context.get('cpu_count'):
        out.update(cpu_count=context['cpu_count'], memory_bytes=context.get('memory_bytes'))
    else:
        common.missing(out, 'CPU and memory', 'MySQL does not report them; run the module on the database host')
    status = key_values(results['status'])
    out['uptime_seconds'] = common.number(status.get('uptime'))
    if status and context.get('second_status'):
        out['perf'] = rates(status, context['second_status'], context['interval'])
        out['perf']['top_waits'] = top_waits(results['waits'], var)
    else:
        common.missing(out, 'performance figures', results['status'] if common.failed(results['status']) else 'no status')
    binlog_on = str(var.get('log_bin', '')).upper() in ('ON', '1')
    logs = results['binary_logs'] if binlog_on and not common.failed(results['binary_logs']) else []
    expire = common.number(var.get('binlog_expire_logs_seconds')) or (common.number(var.get('expire_logs_days')) or 0) * 86400
    out['archive'] = {'kind': 'binlog', 'mode': 'ON' if binlog_on else 'OFF', 'format': var.get('binlog_format'),
                      'expire_seconds': expire, 'off': [] if binlog_on else ['instance']}
    out['log_usage'] = {'binlog_files': len(logs), 'binlog_bytes': sum(common.number(r.get('file_size')) or 0 for r in logs)}
    out['databases'] = [{'name': r['name'], 'charset': r.get('charset'), 'tables': common.number(r.get('tables'))}
                        for r in results['schemas']] if not common.failed(results['schemas']) else []
    out['datafiles'] = parse_data_file_path(var.get('innodb_data_file_path'), 'innodb_system')
    temp_files = parse_data_file_path(var.get('innodb_temp_data_file_path'), 'innodb_temporary')
    out['temp'] = {'size_bytes': sum(f['size_bytes'] or 0 for f in temp_files), 'files': temp_files, 'tmpdir': var.get('tmpdir')}
    out['spaces'] = schema_spaces(results['schemas'])
    if context.get('datadir_usage'):
        out['spaces'].append(context['datadir_usage'])
    else:
        common.missing(out, 'free space of the data file system', 'InnoDB files grow into the file system; run the '
                       'module on the database host to measure it')
    errors_from(out, results['error_log'], context, var)
    backups_from(out, context.get('dumps'), now)
    return out


def schema_spaces(rows):
    """Schema sizes as spaces without a free % (InnoDB files have no fixed size; the data file system's free
    space is the one that can run out)."""
    if common.failed(rows):
        return []
    return [{'name': 'schema %s' % r['name'], 'size_bytes': (common.number(r.get('data_bytes')) or 0) +
             (common.number(r.get('index_bytes')) or 0), 'used_bytes': None, 'free_pct': None,
             'reusable_bytes': common.number(r.get('free_bytes'))} for r in rows]


def top_waits(rows, var):
    if common.failed(rows):
        return []
    return [{'event': r['event_name'], 'waits': common.number(r['count_star']),
             'seconds': round((common.number(r['sum_timer_wait']) or 0) / 1e12, 3)} for r in rows]


def errors_from(out, table_rows, context, var):
    since = context['now'] - datetime.timedelta(hours=context['window_hours'])
    if not common.failed(table_rows):
        out['error_log'] = 'performance_schema.error_log'
        out['errors'] = [{'time': common.iso(r['logged']), 'level': 'ERROR',
                          'text': '[%s] [%s] %s' % (r.get('error_code'), r.get('subsystem'), r.get('data'))} for r in table_rows]
        return
    lines = context.get('error_lines')
    out['error_log'] = var.get('log_error') or 'stderr'
    if isinstance(lines, list):
        out['errors'] = parse_error_log(lines, since)
    else:
        common.missing(out, 'error log', lines or 'performance_schema.error_log is not available (MySQL 8.0.22+ only) '
                       'and the log file %s is not on this host: run the module on the database host' % out['error_log'])


def backups_from(out, dumps, now):
    if dumps is None:
        common.missing(out, 'backups', 'MySQL keeps no backup history: set backup_path to the dump files to check them')
        return
    out['backup_scopes'] = ['instance']
    out['backups'] = []
    if dumps:
        newest = datetime.datetime.fromtimestamp(os.path.getmtime(dumps[0]), datetime.timezone.utc)
        out['backups'].append({'scope': 'instance', 'type': 'full', 'last': common.iso(newest),
                               'age_hours': common.age_hours(newest, now), 'file': dumps[0], 'count': len(dumps)})


def error_log_path(var):
    path = var.get('log_error') or ''
    if not path or path == 'stderr':
        return None
    return path if os.path.isabs(path) else os.path.join(var.get('datadir') or '', path)


def is_local(var):
    return (var.get('hostname') or '').split('.')[0] == socket.gethostname().split('.')[0]


def local_context(var):
    """What only the database's own host can tell: CPU, memory, the data file system, file sizes, the error log."""
    context = {'cpu_count': os.cpu_count(), 'memory_bytes': meminfo_total()}
    datadir = var.get('datadir')
    if datadir and os.path.isdir(datadir):
        stat = os.statvfs(datadir)
        used = (stat.f_blocks - stat.f_bfree) * stat.f_frsize
        avail = stat.f_bavail * stat.f_frsize
        context['datadir_usage'] = {'name': 'data file system %s' % datadir, 'size_bytes': stat.f_blocks * stat.f_frsize,
                                    'used_bytes': used, 'free_pct': round(100.0 * avail / (used + avail), 2) if used + avail else None}
        context['file_sizes'] = dict((name, os.path.getsize(os.path.join(datadir, name)))
                                     for name in os.listdir(datadir) if name.startswith(('ibdata', 'ibtmp')))
    path = error_log_path(var)
    try:
        context['error_lines'] = tail_lines(path) if path else 'the server logs to stderr (log_error is not a file)'
    except (IOError, OSError) as exc:
        context['error_lines'] = 'cannot read the error log %s: %s' % (path, exc.strerror or exc)
    return context


def meminfo_total():
    try:
        with open('/proc/meminfo') as handle:
            for line in handle:
                if line.startswith('MemTotal:'):
                    return int(line.split()[1]) * 1024
    except (IOError, OSError, ValueError):
        pass
    return None


def collect(connection, params, now):
    """Run the queries (the status twice, `sample_seconds` apart) and map them to facts."""
    results = common.run_queries(connection, queries(params['log_window_hours']))
    var = key_values(results['variables'])
    interval = common.sample_interval(params['sample_seconds'])
    second = common.run_queries(connection, [('status', QUERY_STATUS)])['status']
    context = {'now': now, 'window_hours': params['log_window_hours'], 'name': params['name'],
               'second_status': key_values(second), 'interval': interval}
    if is_local(var):
        context.update(local_context(var))
    if params.get('backup_path'):
        context['dumps'] = archive.newest_first(params['backup_path'])
    out = facts(results, context)
    for datafile in out['datafiles'] + out['temp']['files']:
        if datafile['name'] in context.get('file_sizes', {}):
            datafile['size_bytes'] = context['file_sizes'][datafile['name']]
    out['temp']['size_bytes'] = sum(f['size_bytes'] or 0 for f in out['temp']['files'])
    return out
