# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Oracle ledger: every SQL statement the oracle_ledger module runs, and rows -> facts.

Reads V$INSTANCE, V$VERSION, V$DATABASE, V$OSSTAT, DBA_DATA_FILES, DBA_TEMP_FILES,
DBA_TABLESPACE_USAGE_METRICS with DBA_TABLESPACES, V$RECOVERY_FILE_DEST, V$DIAG_ALERT_EXT (the
alert log), V$SESSION, V$SYSMETRIC, V$SYSTEM_EVENT and V$RMAN_BACKUP_JOB_DETAILS. Oracle 11.2 and
later (no FETCH FIRST). The statements read only; SELECT_CATALOG_ROLE (or SELECT ANY DICTIONARY)
is the privilege they need. DBA_ views show the container connected to: connect to a PDB's service
for its tablespaces.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common

try:
    import oracledb
    HAS_DRIVER = True
except ImportError:
    HAS_DRIVER = False

ENGINE = 'oracle'
DRIVER = 'oracledb'

# V$RMAN_BACKUP_JOB_DETAILS.INPUT_TYPE -> our backup type. A level 0 incremental is recorded as DB INCR.
RMAN_TYPES = {'DB FULL': 'full', 'DB INCR': 'incremental', 'ARCHIVELOG': 'log'}
# Tablespaces whose "used" is not a capacity problem: undo keeps expired extents, temp holds sorts.
NOT_GRADED = ('UNDO', 'TEMPORARY')
METRICS = {'Buffer Cache Hit Ratio': 'buffer_hit_pct', 'User Transaction Per Sec': 'transactions_per_sec',
           'Executions Per Sec': 'executions_per_sec', 'Host CPU Utilization (%)': 'host_cpu_pct',
           'Database CPU Time Ratio': 'db_cpu_time_ratio'}


def argument_spec():
    """oracle_ledger's options (and those of an Oracle entry of bjeic.ops.db_ledger)."""
    spec = common.connection_spec(1521)
    spec.update(
        service_name=dict(type='str', required=True),
        tcps=dict(type='bool', default=False),
        wallet_location=dict(type='path'),
        wallet_password=dict(type='str', no_log=True),
        ssl_server_cert_dn=dict(type='str'),
    )
    return spec


ARGUMENT_RULES = dict(required_by={'wallet_password': 'wallet_location'})


def queries(window_hours):
    """(name, sql) in the order they run."""
    return [
        # V$INSTANCE, with the server's clock to turn DATE columns (local time) into UTC
        ('instance', 'SELECT instance_name, host_name, version, status, startup_time, SYSDATE AS local_now, '
                     'SYS_EXTRACT_UTC(SYSTIMESTAMP) AS utc_now FROM v$instance'),
        ('version', "SELECT banner FROM v$version WHERE banner LIKE 'Oracle%'"),
        # the release update level (19.28.0.0.0; 18c and later), read apart: older releases lack the column
        ('version_full', 'SELECT version_full FROM v$instance'),
        ('database', 'SELECT name, db_unique_name, log_mode, open_mode, database_role, platform_name, force_logging, '
                     'flashback_on FROM v$database'),
        ('osstat', "SELECT stat_name, value FROM v$osstat WHERE stat_name IN "
                   "('NUM_CPUS', 'NUM_CPU_CORES', 'PHYSICAL_MEMORY_BYTES')"),
        ('datafiles', 'SELECT file_name, tablespace_name, bytes, autoextensible, maxbytes, status FROM dba_data_files '
                      'ORDER BY tablespace_name, file_name'),
        ('tempfiles', 'SELECT file_name, tablespace_name, bytes, autoextensible, maxbytes FROM dba_temp_files '
                      'ORDER BY tablespace_name, file_name'),
        # DBA_TABLESPACE_USAGE_METRICS counts blocks, against the size autoextend can reach
        ('tablespaces', 'SELECT m.tablespace_name, t.contents, t.block_size, m.used_space * t.block_size AS used_bytes, '
                        'm.tablespace_size * t.block_size AS max_bytes, m.used_percent '
                        'FROM dba_tablespace_usage_metrics m JOIN dba_tablespaces t ON t.tablespace_name = m.tablespace_name '
                        'ORDER BY m.tablespace_name'),
        ('recovery_area', 'SELECT name, space_limit, space_used, space_reclaimable FROM v$recovery_file_dest'),
        # V$DIAG_ALERT_EXT: the XML alert log; ORA- errors, incidents (problem_key) and critical messages
        ('alert', "SELECT * FROM (SELECT SYS_EXTRACT_UTC(originating_timestamp) AS logged, message_level, problem_key, "
                  "message_text FROM v$diag_alert_ext WHERE originating_timestamp > SYSTIMESTAMP - "
                  "NUMTODSINTERVAL(%d, 'MINUTE') AND (message_text LIKE '%%ORA-%%' OR problem_key IS NOT NULL "
                  "OR message_level = 1) ORDER BY originating_timestamp) WHERE ROWNUM <= 500" % int(window_hours * 60)),
        ('sessions', "SELECT COUNT(*) AS sessions, SUM(CASE WHEN status = 'ACTIVE' THEN 1 ELSE 0 END) AS active "
                     "FROM v$session WHERE type = 'USER'"),
        # V$SYSMETRIC group 2: the last 60-second interval's rates and ratios
        ('metrics', 'SELECT metric_name, value FROM v$sysmetric WHERE group_id = 2 AND metric_name IN (%s)'
                    % ', '.join("'%s'" % name for name in METRICS)),
        ('waits', "SELECT * FROM (SELECT event, total_waits, time_waited_micro FROM v$system_event "
                  "WHERE wait_class <> 'Idle' ORDER BY time_waited_micro DESC) WHERE ROWNUM <= 5"),
        ('rman', "SELECT input_type, status, start_time, end_time, output_bytes FROM v$rman_backup_job_details "
                 "WHERE start_time > SYSDATE - 60 ORDER BY start_time"),
    ]


# The availability probe's one trivial query (USERENV needs no privilege); the version comes from the handshake.
PROBE_SQL = "SELECT SYS_CONTEXT('USERENV', 'SERVER_HOST') AS server, NULL AS version FROM dual"


def default_name(params):
    """The ledger label when `name` is not given and the server cannot tell (it is unreachable)."""
    return params['service_name']


def connect(params):
    options = dict(user=params['login_user'], password=params['login_password'], host=params['login_host'],
                   port=params['login_port'], service_name=params['service_name'],
                   tcp_connect_timeout=params['connect_timeout'])
    if params.get('tcps'):
        options.update(protocol='tcps', wallet_location=params.get('wallet_location'),
                       wallet_password=params.get('wallet_password'), ssl_server_cert_dn=params.get('ssl_server_cert_dn'))
    connection = oracledb.connect(**dict((k, v) for k, v in options.items() if v is not None))
    if params.get('read_timeout'):
        connection.call_timeout = int(params['read_timeout'] * 1000)   # milliseconds, per round trip
    return connection


def facts(results, context):
    """Engine-neutral facts from the query results; `context` carries now, window_hours, name, service_name."""
    now = context['now']
    instance = common.first(results['instance'])
    if not instance:
        raise common.CollectError('V$INSTANCE cannot be read (%s)' % results['instance'])
    offset = common.clock_offset(instance)
    database = common.first(results['database'])
    banner = common.first(results['version']).get('banner', '')
    osstat = dict((r['stat_name'], r['value']) for r in results['osstat']) if not common.failed(results['osstat']) else {}
    out = {
        'engine': 'oracle', 'product': 'Oracle Database', 'log_window_hours': context['window_hours'],
        'name': context.get('name') or context.get('service_name') or instance.get('instance_name'),
        'instance': instance.get('instance_name'), 'server': instance.get('host_name'),
        'version': instance.get('version'), 'version_full': common.first(results['version_full']).get('version_full'),
        'edition': edition_of(banner), 'version_string': banner,
        'database': database.get('name'), 'db_unique_name': database.get('db_unique_name'),
        'role': database.get('database_role'), 'open_mode': database.get('open_mode'),
        'os': database.get('platform_name'),
        'cpu_count': common.number(osstat.get('NUM_CPUS')), 'cpu_cores': common.number(osstat.get('NUM_CPU_CORES')),
        'memory_bytes': common.number(osstat.get('PHYSICAL_MEMORY_BYTES')),
        'startup_time': common.iso(common.local_to_utc(instance.get('startup_time'), offset)),
    }
    if not osstat:
        common.missing(out, 'CPU and memory (V$OSSTAT)', results['osstat'] if common.failed(results['osstat']) else 'no rows')
    log_mode = database.get('log_mode')
    out['archive'] = {'kind': 'archivelog', 'mode': log_mode, 'force_logging': database.get('force_logging'),
                      'flashback': database.get('flashback_on'), 'off': ['database'] if log_mode == 'NOARCHIVELOG' else []}
    out['datafiles'] = files_of(results['datafiles'], out, 'data files (DBA_DATA_FILES)')
    temp_files = files_of(results['tempfiles'], out, 'temp files (DBA_TEMP_FILES)')
    out['temp'] = {'size_bytes': sum(f['size_bytes'] or 0 for f in temp_files), 'files': temp_files}
    out['spaces'] = spaces_of(results['tablespaces'], out['datafiles'] + temp_files, out)
    recovery = common.first(results['recovery_area'])
    if recovery.get('space_limit'):
        limit = common.number(recovery['space_limit'])
        used = (common.number(recovery.get('space_used')) or 0) - (common.number(recovery.get('space_reclaimable')) or 0)
        out['spaces'].append({'name': 'recovery area %s' % recovery.get('name'), 'contents': 'RECOVERY', 'size_bytes': limit,
                              'used_bytes': used, 'free_pct': common.free_pct(limit, used)})
    out['error_log'] = 'alert log (V$DIAG_ALERT_EXT)'
    if common.failed(results['alert']):
        common.missing(out, 'alert log (V$DIAG_ALERT_EXT)', results['alert'])
    else:
        out['errors'] = [{'time': common.iso(r['logged']), 'level': 'ERROR' if r.get('message_level') == 1 or
                          r.get('problem_key') or 'ORA-' in (r.get('message_text') or '') else 'WARNING',
                          'text': ' '.join((r.get('message_text') or '').split())} for r in results['alert']]
    out['perf'] = perf_of(results, out)
    backups_of(out, results['rman'], offset, now)
    return out


def edition_of(banner):
    for name in ('Enterprise Edition', 'Standard Edition 2', 'Standard Edition', 'Express Edition', 'Personal Edition'):
        if name in banner:
            return name
    return banner or None


def files_of(rows, out, what):
    if common.failed(rows):
        common.missing(out, what, rows)
        return []
    return [{'name': r['file_name'], 'space': r['tablespace_name'], 'size_bytes': common.number(r.get('bytes')),
             'autoextend': r.get('autoextensible') == 'YES', 'max_bytes': common.number(r.get('maxbytes')) or None,
             'status': r.get('status')} for r in rows]


def spaces_of(rows, files, out):
    if common.failed(rows):
        common.missing(out, 'tablespace usage (DBA_TABLESPACE_USAGE_METRICS)', rows)
        return []
    allocated = {}
    for datafile in files:
        allocated[datafile['space']] = allocated.get(datafile['space'], 0) + (datafile['size_bytes'] or 0)
    spaces = []
    for r in rows:
        used, ceiling = common.number(r.get('used_bytes')), common.number(r.get('max_bytes'))
        graded = r.get('contents') not in NOT_GRADED
        spaces.append({'name': r['tablespace_name'], 'contents': r.get('contents'),
                       'size_bytes': allocated.get(r['tablespace_name']), 'used_bytes': used, 'max_bytes': ceiling,
                       'used_pct': common.number(r.get('used_percent')),
                       'free_pct': round(100.0 - float(r['used_percent']), 2) if graded and r.get('used_percent') is not None else None})
    return spaces


def perf_of(results, out):
    perf = {}
    sessions = common.first(results['sessions'])
    perf.update(sessions=common.number(sessions.get('sessions')), active=common.number(sessions.get('active')))
    if common.failed(results['metrics']):
        common.missing(out, 'performance metrics (V$SYSMETRIC)', results['metrics'])
    else:
        for row in results['metrics']:
            perf[METRICS[row['metric_name']]] = common.number(row['value'])
    perf['top_waits'] = [] if common.failed(results['waits']) else [
        {'event': r['event'], 'waits': common.number(r['total_waits']),
         'seconds': round((common.number(r['time_waited_micro']) or 0) / 1e6, 3)} for r in results['waits']]
    return perf


def backups_of(out, rows, offset, now):
    if common.failed(rows):
        common.missing(out, 'RMAN backup history (V$RMAN_BACKUP_JOB_DETAILS)', rows)
        return
    done = [dict(r, scope='database', end_time=common.local_to_utc(r.get('end_time'), offset)) for r in rows
            if r.get('status') in ('COMPLETED', 'COMPLETED WITH WARNINGS')]
    out['backup_scopes'] = ['database']
    out['log_backup_scopes'] = [] if out['archive']['off'] else ['database']
    out['backups'] = common.newest_backups(done, now, 'scope', 'input_type', 'end_time', RMAN_TYPES)
    failed_jobs = [r for r in rows if r.get('status') in ('FAILED', 'COMPLETED WITH ERRORS')]
    if failed_jobs:
        last = failed_jobs[-1]
        out['backup_failures'] = {'count': len(failed_jobs), 'last_type': last.get('input_type'),
                                  'last_start': common.iso(common.local_to_utc(last.get('start_time'), offset))}


def collect(connection, params, now):
    results = common.run_queries(connection, queries(params['log_window_hours']))
    return facts(results, {'now': now, 'window_hours': params['log_window_hours'], 'name': params['name'],
                           'service_name': params['service_name']})
