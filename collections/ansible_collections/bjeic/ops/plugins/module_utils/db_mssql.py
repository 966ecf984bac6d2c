# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SQL Server ledger: every SQL statement the mssql_ledger module runs, and rows -> facts.

Reads SERVERPROPERTY(), @@VERSION, sys.dm_os_sys_info, sys.databases, sys.master_files,
sys.dm_os_volume_stats, sys.database_files with FILEPROPERTY (per database), sys.xp_readerrorlog (the
error log), sys.dm_os_performance_counters (twice, for rates), sys.dm_os_wait_stats and
msdb.dbo.backupset. SQL Server 2012 and later. Privileges: VIEW SERVER STATE, VIEW ANY DEFINITION,
SELECT on msdb.dbo.backupset, a user in each database (for FILEPROPERTY), and membership of
securityadmin (VIEW SERVER SECURITY STATE on 2022) for the error log.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common

try:
    import pytds
    HAS_DRIVER = True
except ImportError:
    HAS_DRIVER = False

ENGINE = 'mssql'
DRIVER = 'python-tds'
PAGE = 8192
# msdb.dbo.backupset.type -> our backup type
BACKUP_TYPES = {'D': 'full', 'I': 'incremental', 'L': 'log'}
# Errors that mean damage or an outage even below severity 17: 823/824/825 I/O and checksum, 9002 log full,
# 1105 filegroup full, 833 slow I/O.
SERIOUS_ERRORS = (823, 824, 825, 833, 1105, 9002)
ERROR_LINE = re.compile(r'Error: (\d+), Severity: (\d+), State: (\d+)')
# Waits that are idle time, not work waiting (the usual exclusion list, shortened)
BENIGN_WAITS = ('BROKER_EVENTHANDLER', 'BROKER_RECEIVE_WAITFOR', 'BROKER_TASK_STOP', 'BROKER_TO_FLUSH',
                'CHECKPOINT_QUEUE', 'CLR_AUTO_EVENT', 'CLR_MANUAL_EVENT', 'DIRTY_PAGE_POLL', 'DISPATCHER_QUEUE_SEMAPHORE',
                'FT_IFTS_SCHEDULER_IDLE_WAIT', 'HADR_FILESTREAM_IOMGR_IOCOMPLETION', 'LAZYWRITER_SLEEP', 'LOGMGR_QUEUE',
                'ONDEMAND_TASK_QUEUE', 'REQUEST_FOR_DEADLOCK_SEARCH', 'SQLTRACE_BUFFER_FLUSH', 'SQLTRACE_INCREMENTAL_FLUSH_SLEEP',
                'WAITFOR', 'XE_DISPATCHER_WAIT', 'XE_TIMER_EVENT', 'SP_SERVER_DIAGNOSTICS_SLEEP', 'QDS_PERSIST_TASK_MAIN_LOOP_SLEEP',
                'QDS_ASYNC_QUEUE', 'QDS_CLEANUP_STALE_QUERIES_TASK_MAIN_LOOP_SLEEP', 'WAIT_XTP_OFFLINE_CKPT_NEW_LOG')
COUNTERS = ('Batch Requests/sec', 'Transactions/sec', 'User Connections', 'Buffer cache hit ratio',
            'Buffer cache hit ratio base', 'Page life expectancy')


def argument_spec():
    """mssql_ledger's options (and those of a SQL Server entry of bjeic.ops.db_ledger)."""
    spec = common.connection_spec(1433)
    spec.update(
        login_database=dict(type='str', default='master'),
        ca_cert=dict(type='path'),
        check_hostname=dict(type='bool', default=True),
        sample_seconds=dict(type='float', default=1),
    )
    return spec


ARGUMENT_RULES = {}

QUERY_COUNTERS = ("SELECT RTRIM(object_name) AS object_name, RTRIM(counter_name) AS counter_name, "
                  "RTRIM(instance_name) AS instance_name, cntr_value FROM sys.dm_os_performance_counters "
                  "WHERE counter_name IN (%s)" % ', '.join("'%s'" % name for name in COUNTERS))


def queries(window_hours):
    """(name, sql) in the order they run; the per-database space query is `space_sql`."""
    return [
        # SERVERPROPERTY, with the server's clock (msdb and the error log keep local time)
        ('server', "SELECT CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name, "
                   "CAST(SERVERPROPERTY('ServerName') AS nvarchar(256)) AS server_name, "
                   "CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name, "
                   "CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version, "
                   "CAST(SERVERPROPERTY('ProductLevel') AS nvarchar(128)) AS product_level, "
                   "CAST(SERVERPROPERTY('ProductUpdateLevel') AS nvarchar(128)) AS update_level, "
                   "CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition, "
                   "@@VERSION AS version_text, GETDATE() AS local_now, GETUTCDATE() AS utc_now"),
        ('sysinfo', 'SELECT cpu_count, physical_memory_kb, sqlserver_start_time FROM sys.dm_os_sys_info'),
        ('databases', 'SELECT name, database_id, state_desc, recovery_model_desc, compatibility_level, collation_name '
                      'FROM sys.databases ORDER BY name'),
        # sys.master_files: size and max_size in 8 KB pages; max_size -1 = unlimited, 0 = no growth
        ('files', 'SELECT DB_NAME(database_id) AS database_name, database_id, file_id, name, physical_name, type_desc, '
                  'size, max_size, growth, is_percent_growth FROM sys.master_files ORDER BY database_id, file_id'),
        ('volumes', 'SELECT DISTINCT vs.volume_mount_point, vs.total_bytes, vs.available_bytes FROM sys.master_files f '
                    'CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.file_id) vs'),
        # the current error log (0) of SQL Server (1), from the window's start; filtered to errors in facts()
        ('errorlog', "DECLARE @start nvarchar(30) = CONVERT(nvarchar(30), DATEADD(minute, -%d, GETDATE()), 120); "
                     "EXEC sys.xp_readerrorlog 0, 1, N'Error', NULL, @start, NULL" % int(window_hours * 60)),
        ('counters', QUERY_COUNTERS),
        ('waits', 'SELECT TOP 5 wait_type, waiting_tasks_count, wait_time_ms FROM sys.dm_os_wait_stats '
                  "WHERE wait_type NOT IN (%s) AND wait_type NOT LIKE 'SLEEP%%' AND waiting_tasks_count > 0 "
                  "ORDER BY wait_time_ms DESC" % ', '.join("'%s'" % name for name in BENIGN_WAITS)),
        # msdb.dbo.backupset: type D full, I differential, L log; finish times are local
        ('backups', "SELECT database_name, type, MAX(backup_finish_date) AS finished FROM msdb.dbo.backupset "
                    "WHERE backup_finish_date > DATEADD(day, -60, GETDATE()) GROUP BY database_name, type"),
    ]


def space_sql(database):
    """Allocated and used pages of each file of one database (FILEPROPERTY works in the current database only)."""
    return ("USE %s; SELECT name, type_desc, size, FILEPROPERTY(name, 'SpaceUsed') AS used, max_size "
            "FROM sys.database_files" % quote_name(database))


def quote_name(name):
    return '[%s]' % name.replace(']', ']]')


# The availability probe's one trivial query: the server's own name and version.
PROBE_SQL = ("SELECT CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS server, "
             "CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version")


def default_name(params):
    """The ledger label when `name` is not given and the server cannot tell (it is unreachable)."""
    return 'mssql'   # the instance name is known only once connected


def connect(params):
    options = dict(dsn=params['login_host'], port=params['login_port'], database=params['login_database'],
                   user=params['login_user'], password=params['login_password'], login_timeout=params['connect_timeout'],
                   timeout=params.get('read_timeout') or 300, autocommit=True)
    if params.get('ca_cert'):
        options.update(cafile=params['ca_cert'], validate_host=params['check_hostname'])
    return pytds.connect(**options)


def pages(value):
    value = common.number(value)
    return value * PAGE if value is not None else None


def max_of(max_size, size):
    """Bytes a file can grow to: None for unlimited (-1, bound by its volume), its size for no growth (0)."""
    max_size = common.number(max_size)
    if max_size == -1 or max_size is None:
        return None
    return pages(max_size) if max_size > 0 else pages(size)


def facts(results, context):
    """Engine-neutral facts; `context` carries now, window_hours, name, space ({database: rows}), second_counters
    and interval."""
    now = context['now']
    server = common.first(results['server'])
    if not server:
        raise common.CollectError('SERVERPROPERTY cannot be read (%s)' % results['server'])
    offset = common.clock_offset(server)
    sysinfo = common.first(results['sysinfo'])
    instance = server.get('instance_name') or 'MSSQLSERVER'
    out = {
        'engine': 'mssql', 'product': 'Microsoft SQL Server', 'log_window_hours': context['window_hours'],
        'name': context.get('name') or instance, 'instance': instance, 'server': server.get('machine_name'),
        'server_name': server.get('server_name'), 'version': server.get('product_version'),
        'level': ' '.join(filter(None, (server.get('product_level'), server.get('update_level')))),
        'edition': server.get('edition'), 'version_string': ' '.join((server.get('version_text') or '').split()),
        'os': os_of(server.get('version_text') or ''),
        'cpu_count': common.number(sysinfo.get('cpu_count')),
        'memory_bytes': (common.number(sysinfo.get('physical_memory_kb')) or 0) * 1024 or None,
        'startup_time': common.iso(common.local_to_utc(sysinfo.get('sqlserver_start_time'), offset)),
    }
    if not sysinfo:
        common.missing(out, 'CPU and memory (sys.dm_os_sys_info)', results['sysinfo'])
    databases = [] if common.failed(results['databases']) else results['databases']
    out['databases'] = [{'name': d['name'], 'state': d.get('state_desc'), 'recovery_model': d.get('recovery_model_desc'),
                         'compatibility_level': common.number(d.get('compatibility_level')), 'collation': d.get('collation_name')}
                        for d in databases]
    user_dbs = [d for d in databases if (common.number(d.get('database_id')) or 0) > 4]
    out['archive'] = {'kind': 'recovery model', 'mode': dict((d['name'], d.get('recovery_model_desc')) for d in databases),
                      'off': [d['name'] for d in user_dbs if d.get('recovery_model_desc') == 'SIMPLE']}
    files = [] if common.failed(results['files']) else results['files']
    out['datafiles'] = [{'name': f['physical_name'], 'space': '%s/%s' % (f['database_name'], f['name']),
                         'type': f.get('type_desc'), 'size_bytes': pages(f.get('size')),
                         'autoextend': (common.number(f.get('growth')) or 0) > 0,
                         'max_bytes': max_of(f.get('max_size'), f.get('size'))}
                        for f in files if common.number(f.get('database_id')) != 2]
    temp = [f for f in files if common.number(f.get('database_id')) == 2]
    out['temp'] = {'size_bytes': sum(pages(f.get('size')) or 0 for f in temp),
                   'files': [{'name': f['physical_name'], 'type': f.get('type_desc'), 'size_bytes': pages(f.get('size'))}
                             for f in temp]}
    out['spaces'] = database_spaces(context.get('space') or {}, out) + volume_spaces(results['volumes'], out)
    errors_of(out, results['errorlog'], offset)
    out['perf'] = perf_of(results, context, out)
    backups_of(out, results['backups'], databases, offset, now)
    return out


def os_of(version_text):
    """'... on Windows Server 2019 Standard 10.0 <X64> (Build 17763: )' -> 'Windows Server 2019 Standard 10.0'."""
    match = re.search(r'\bon (Windows[^<(]*|Linux[^<(]*)', version_text)
    return match.group(1).strip() if match else None


def database_spaces(space_rows, out):
    spaces = []
    for database, rows in sorted(space_rows.items()):
        if common.failed(rows):
            common.missing(out, 'space used in database %s' % database, rows)
            continue
        for kind, label in (('ROWS', 'data'), ('LOG', 'log')):
            group = [r for r in rows if r.get('type_desc') == kind]
            if not group:
                continue
            size = sum(pages(r.get('size')) or 0 for r in group)
            used = sum(pages(r.get('used')) or 0 for r in group)
            limits = [max_of(r.get('max_size'), r.get('size')) for r in group]
            ceiling = None if None in limits else sum(limits)
            spaces.append({'name': '%s %s' % (database, label), 'contents': kind, 'size_bytes': size, 'used_bytes': used,
                           'max_bytes': ceiling,
                           # unlimited growth: the volume's free space (its own entry) is what can run out
                           'free_pct': common.free_pct(size, used, ceiling) if ceiling is not None else None})
    return spaces


def volume_spaces(rows, out):
    if common.failed(rows):
        common.missing(out, 'volume free space (sys.dm_os_volume_stats)', rows)
        return []
    spaces = []
    for r in rows:
        total, available = common.number(r.get('total_bytes')), common.number(r.get('available_bytes'))
        spaces.append({'name': 'volume %s' % r['volume_mount_point'], 'contents': 'VOLUME', 'size_bytes': total,
                       'used_bytes': total - available if total is not None and available is not None else None,
                       'free_pct': round(100.0 * available / total, 2) if total else None})
    return spaces


def errors_of(out, rows, offset):
    """Error-log entries: 'Error: N, Severity: S' lines with severity 17+ or a damage error, plus the next line of the
    same process (SQL Server writes the message text there)."""
    out['error_log'] = 'SQL Server error log'
    if common.failed(rows):
        common.missing(out, 'error log (xp_readerrorlog)', rows)
        return
    errors, logins = [], 0
    for index, row in enumerate(rows):
        match = ERROR_LINE.search(row.get('text') or '')
        if not match:
            continue
        number, severity = int(match.group(1)), int(match.group(2))
        if number == 18456:
            logins += 1
            continue
        if severity < 17 and number not in SERIOUS_ERRORS:
            continue
        following = rows[index + 1].get('text') if index + 1 < len(rows) else ''
        logged = row.get('logdate')
        errors.append({'time': common.iso(common.local_to_utc(logged, offset)),
                       'level': 'ERROR', 'text': '%s %s' % (row['text'].strip(), (following or '').strip())})
    out['errors'] = errors
    out['login_failures'] = logins


def counters_of(rows):
    """{(counter, instance): value} with the object's instance prefix (SQLServer: / MSSQL$NAME:) dropped."""
    if common.failed(rows):
        return {}
    return dict(((r['counter_name'], r.get('instance_name') or ''), common.number(r['cntr_value'])) for r in rows)


def perf_of(results, context, out):
    first, second = counters_of(results['counters']), counters_of(context.get('second_counters') or [])
    perf = {'sessions': first.get(('User Connections', '')),
            'page_life_expectancy': first.get(('Page life expectancy', ''))}
    ratio, base = first.get(('Buffer cache hit ratio', '')), first.get(('Buffer cache hit ratio base', ''))
    perf['buffer_hit_pct'] = round(100.0 * ratio / base, 2) if ratio is not None and base else None
    if first and second:
        seconds = context['interval']
        for counter, instance, key in (('Batch Requests/sec', '', 'batches_per_sec'),
                                       ('Transactions/sec', '_Total', 'transactions_per_sec')):
            a, b = first.get((counter, instance)), second.get((counter, instance))
            perf[key] = round((b - a) / seconds, 2) if a is not None and b is not None else None
    else:
        common.missing(out, 'performance counters (sys.dm_os_performance_counters)', results['counters'])
    perf['top_waits'] = [] if common.failed(results['waits']) else [
        {'event': r['wait_type'], 'waits': common.number(r['waiting_tasks_count']),
         'seconds': round((common.number(r['wait_time_ms']) or 0) / 1000.0, 3)} for r in results['waits']]
    return perf


def backups_of(out, rows, databases, offset, now):
    if common.failed(rows):
        common.missing(out, 'backup history (msdb.dbo.backupset)', rows)
        return
    out['backup_scopes'] = [d['name'] for d in databases if d['name'] != 'tempdb' and d.get('state_desc') == 'ONLINE']
    out['log_backup_scopes'] = [d['name'] for d in databases if d.get('recovery_model_desc') in ('FULL', 'BULK_LOGGED')
                                and d['name'] != 'model']
    local = [dict(r, finished=common.local_to_utc(r.get('finished'), offset)) for r in rows]
    out['backups'] = common.newest_backups(local, now, 'database_name', 'type', 'finished', BACKUP_TYPES)


def collect(connection, params, now):
    results = common.run_queries(connection, queries(params['log_window_hours']))
    online = [d['name'] for d in results['databases'] if d.get('state_desc') == 'ONLINE'] \
        if not common.failed(results['databases']) else []
    space = dict((name, common.run_queries(connection, [(name, space_sql(name))])[name]) for name in online)
    interval = common.sample_interval(params['sample_seconds'])
    second = common.run_queries(connection, [('counters', QUERY_COUNTERS)])['counters']
    common.run_queries(connection, [('database', 'USE %s' % quote_name(params['login_database']))])
    return facts(results, {'now': now, 'window_hours': params['log_window_hours'], 'name': params['name'],
                           'space': space, 'second_counters': second, 'interval': interval})
