"""Database ledgers: the SQL of each engine, and rows shaped as the vendors' views return them -> facts, findings,
ledger items. Oracle and SQL Server cannot run here; MySQL/MariaDB also runs for real in tests/integration."""
import datetime
import decimal
import re

import pytest
import sqlglot
from sqlglot import exp

from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql, db_mysql, db_oracle

NOW = datetime.datetime(2026, 11, 26, 8, 0, 0, tzinfo=datetime.timezone.utc)
ENGINES = [(db_oracle, 'oracle'), (db_mssql, 'tsql'), (db_mysql, 'mysql')]


# ------------------------------------------------------------------ SQL text

@pytest.mark.parametrize('engine,dialect', ENGINES, ids=['oracle', 'mssql', 'mysql'])
def test_every_select_parses_and_reads_only_the_views_its_module_names(engine, dialect):
    documented = engine.__doc__.lower()
    selects = 0
    for name, sql in engine.queries(24):
        for statement in sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE):
            if isinstance(statement, exp.Command):   # SHOW / EXEC / DECLARE: sqlglot does not look inside
                assert statement.this.upper() in ('SHOW', 'EXEC', 'DECLARE'), (name, statement.this)
                continue
            selects += 1
            for table in statement.find_all(exp.Table):
                if not table.name or table.name.lower() in ('dual',):
                    continue
                qualified = '.'.join(part for part in (table.db, table.name) if part).lower()
                assert qualified in documented or table.name.lower() in documented, (
                    '%s: %s reads %s, which the module docstring does not name' % (engine.ENGINE, name, qualified))
    assert selects >= 4


def test_the_sql_check_is_not_blind():
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse('SELECT a, FROM WHERE', read='oracle', error_level=sqlglot.ErrorLevel.RAISE)


def test_window_and_space_sql():
    assert "NUMTODSINTERVAL(90, 'MINUTE')" in dict(db_oracle.queries(1.5))['alert']
    assert 'DATEADD(minute, -120, GETDATE())' in dict(db_mssql.queries(2))['errorlog']
    assert db_mssql.space_sql('odd]name') == ("USE [odd]]name]; SELECT name, type_desc, size, FILEPROPERTY(name, "
                                              "'SpaceUsed') AS used, max_size FROM sys.database_files")
    sqlglot.parse(db_mssql.space_sql('app db'), read='tsql', error_level=sqlglot.ErrorLevel.RAISE)


# ------------------------------------------------------------------ Oracle

def oracle_rows(**override):
    local = datetime.datetime(2026, 11, 26, 16, 0, 0)          # server clock: Asia/Shanghai, UTC+8
    rows = {
        'instance': [{'instance_name': 'orcl1', 'host_name': 'db01', 'version': '19.0.0.0.0', 'status': 'OPEN',
                      'startup_time': datetime.datetime(2026, 11, 1, 9, 0), 'local_now': local,
                      'utc_now': datetime.datetime(2026, 11, 26, 8, 0, 0, 120000)}],
        'version': [{'banner': 'Oracle Database 19c Enterprise Edition Release 19.0.0.0.0 - Production'}],
        'version_full': [{'version_full': '19.28.0.0.0'}],
        'database': [{'name': 'ORCL', 'db_unique_name': 'orcl_bj', 'log_mode': 'ARCHIVELOG', 'open_mode': 'READ WRITE',
                      'database_role': 'PRIMARY', 'platform_name': 'Linux x86 64-bit', 'force_logging': 'YES',
                      'flashback_on': 'NO'}],
        'osstat': [{'stat_name': 'NUM_CPUS', 'value': 16}, {'stat_name': 'NUM_CPU_CORES', 'value': 8},
                   {'stat_name': 'PHYSICAL_MEMORY_BYTES', 'value': 68719476736}],
        'datafiles': [
            {'file_name': '/u01/oradata/ORCL/system01.dbf', 'tablespace_name': 'SYSTEM', 'bytes': 1048576000,
             'autoextensible': 'YES', 'maxbytes': 34359721984, 'status': 'AVAILABLE'},
            {'file_name': '/u01/oradata/ORCL/users01.dbf', 'tablespace_name': 'USERS', 'bytes': 10737418240,
             'autoextensible': 'NO', 'maxbytes': 0, 'status': 'AVAILABLE'}],
        'tempfiles': [{'file_name': '/u01/oradata/ORCL/temp01.dbf', 'tablespace_name': 'TEMP', 'bytes': 2147483648,
                       'autoextensible': 'YES', 'maxbytes': 34359721984}],
        'tablespaces': [
            {'tablespace_name': 'SYSTEM', 'contents': 'PERMANENT', 'block_size': 8192, 'used_bytes': 943718400,
             'max_bytes': 34359721984, 'used_percent': decimal.Decimal('2.7465')},
            {'tablespace_name': 'USERS', 'contents': 'PERMANENT', 'block_size': 8192, 'used_bytes': 10468982784,
             'max_bytes': 10737418240, 'used_percent': 97.5},
            {'tablespace_name': 'UNDOTBS1', 'contents': 'UNDO', 'block_size': 8192, 'used_bytes': 99,
             'max_bytes': 100, 'used_percent': 99.0}],
        'recovery_area': [{'name': '/u01/fra', 'space_limit': 107374182400, 'space_used': 96636764160,
                           'space_reclaimable': 0}],
        'alert': [{'logged': datetime.datetime(2026, 11, 26, 3, 12, 5), 'message_level': 1, 'problem_key': 'ORA 600',
                   'message_text': 'Errors in file /u01/diag/orcl1_ora_123.trc  (incident=4021):\nORA-00600: internal error'}],
        'sessions': [{'sessions': 84, 'active': 6}],
        'metrics': [{'metric_name': 'Buffer Cache Hit Ratio', 'value': 99.62},
                    {'metric_name': 'User Transaction Per Sec', 'value': 41.3},
                    {'metric_name': 'Executions Per Sec', 'value': 1200.5}],
        'waits': [{'event': 'db file sequential read', 'total_waits': 123456, 'time_waited_micro': 98765432100}],
        'rman': [
            {'input_type': 'DB FULL', 'status': 'COMPLETED', 'start_time': datetime.datetime(2026, 11, 22, 1, 0),
             'end_time': datetime.datetime(2026, 11, 22, 3, 0), 'output_bytes': 5e10},
            {'input_type': 'DB INCR', 'status': 'COMPLETED', 'start_time': datetime.datetime(2026, 11, 26, 1, 0),
             'end_time': datetime.datetime(2026, 11, 26, 1, 30), 'output_bytes': 5e9},
            {'input_type': 'ARCHIVELOG', 'status': 'COMPLETED', 'start_time': datetime.datetime(2026, 11, 26, 10, 0),
             'end_time': datetime.datetime(2026, 11, 26, 10, 5), 'output_bytes': 1e9},
            {'input_type': 'ARCHIVELOG', 'status': 'FAILED', 'start_time': datetime.datetime(2026, 11, 26, 14, 0),
             'end_time': datetime.datetime(2026, 11, 26, 14, 1), 'output_bytes': 0}],
    }
    rows.update(override)
    return rows


def oracle_facts(**override):
    return db_oracle.facts(oracle_rows(**override), {'now': NOW, 'window_hours': 24, 'name': None, 'service_name': 'ORCL'})


def judge(facts, thresholds=None, limits=None):
    merged = common.merge_thresholds(common.DEFAULT_THRESHOLDS, thresholds or {})
    return dict((f['check'] + ':' + f['message'][:60], f)
                for f in common.Evaluation(facts, merged, common.backup_limits(limits)).run())


def by_check(findings, check):
    return [f for f in findings.values() if f['check'] == check]


def test_oracle_rows_to_facts():
    facts = oracle_facts()
    assert (facts['name'], facts['instance'], facts['server']) == ('ORCL', 'orcl1', 'db01')
    assert (facts['edition'], facts['cpu_count'], facts['memory_bytes']) == ('Enterprise Edition', 16, 68719476736)
    assert facts['startup_time'] == '2026-11-01T01:00:00Z'          # DATE in server time (UTC+8) -> UTC
    assert facts['archive']['off'] == [] and facts['archive']['mode'] == 'ARCHIVELOG'
    users = [s for s in facts['spaces'] if s['name'] == 'USERS'][0]
    assert users['free_pct'] == 2.5 and users['size_bytes'] == 10737418240
    assert [s for s in facts['spaces'] if s['name'] == 'UNDOTBS1'][0]['free_pct'] is None   # undo is not graded
    fra = [s for s in facts['spaces'] if s['name'].startswith('recovery area')][0]
    assert fra['free_pct'] == 10.0
    assert facts['temp']['size_bytes'] == 2147483648
    assert facts['datafiles'][1] == {'name': '/u01/oradata/ORCL/users01.dbf', 'space': 'USERS', 'size_bytes': 10737418240,
                                     'autoextend': False, 'max_bytes': None, 'status': 'AVAILABLE'}
    assert facts['errors'][0]['text'].startswith('Errors in file') and 'ORA-00600' in facts['errors'][0]['text']
    assert facts['errors'][0]['time'] == '2026-11-26T03:12:05Z'
    assert facts['perf']['buffer_hit_pct'] == 99.62 and facts['perf']['sessions'] == 84
    assert facts['perf']['top_waits'][0]['seconds'] == 98765.432
    backups = dict((b['type'], b) for b in facts['backups'])
    assert backups['log']['last'] == '2026-11-26T02:05:00Z' and backups['log']['age_hours'] == 5.92
    assert backups['full']['last'] == '2026-11-21T19:00:00Z'
    assert facts['backup_failures'] == {'count': 1, 'last_type': 'ARCHIVELOG', 'last_start': '2026-11-26T06:00:00Z'}


def test_oracle_findings():
    findings = judge(oracle_facts(), limits={'log': 4})
    assert [f['subject'] for f in by_check(findings, 'db.tablespace_free')] == ['db:ORCL@db01'] * 2
    assert sorted(f['severity'] for f in by_check(findings, 'db.tablespace_free')) == ['warning', 'critical'][::-1]
    assert by_check(findings, 'db.log_errors')[0]['value'] == 1
    [stale] = by_check(findings, 'db.backup_stale')
    assert stale['severity'] == 'warning' and stale['threshold'] == 4 and 'log backup' in stale['message']
    assert not by_check(findings, 'db.archive_off')


def test_oracle_noarchivelog_missing_backups_and_privileges():
    database = oracle_rows()['database'][0]
    facts = oracle_facts(database=[dict(database, log_mode='NOARCHIVELOG')], rman=[],
                         alert='ORA-00942: table or view does not exist')
    findings = judge(facts, limits={'log': 2})
    assert by_check(findings, 'db.archive_off')[0]['severity'] == 'warning'
    messages = [f['message'] for f in by_check(findings, 'db.backup_stale')]
    assert messages == ['db:ORCL@db01: no backup of database is recorded']
    database_only_archived = oracle_facts(database=[dict(database, log_mode='NOARCHIVELOG')], rman=[
        r for r in oracle_rows()['rman'] if r['input_type'] == 'DB INCR'])
    messages = [f['message'] for f in by_check(judge(database_only_archived, limits={'log': 2}), 'db.backup_stale')]
    assert len(messages) == 1 and 'no full backup of database' in messages[0]   # no archive log: no log backup due
    [gap] = by_check(findings, 'db.unavailable')
    assert 'ORA-00942' in gap['message'] and gap['severity'] == 'info'
    assert 'errors' not in facts and not by_check(findings, 'db.log_errors')


def test_oracle_without_instance_view_is_a_collect_error():
    with pytest.raises(common.CollectError, match='V\\$INSTANCE'):
        oracle_facts(instance='ORA-01031: insufficient privileges')


# ------------------------------------------------------------------ SQL Server

def mssql_rows(**override):
    rows = {
        'server': [{'machine_name': 'SQL01', 'server_name': 'SQL01\\HR', 'instance_name': 'HR',
                    'product_version': '15.0.4355.3', 'product_level': 'RTM', 'update_level': 'CU25',
                    'edition': 'Standard Edition (64-bit)',
                    'version_text': 'Microsoft SQL Server 2019 (RTM-CU25) (KB5033688) - 15.0.4355.3 (X64) \n\tJan 30 2024 '
                                    '17:02:22 \n\tCopyright (C) 2019 Microsoft Corporation\n\tStandard Edition (64-bit) on '
                                    'Windows Server 2019 Standard 10.0 <X64> (Build 17763: ) (Hypervisor)\n',
                    'local_now': datetime.datetime(2026, 11, 26, 16, 0, 0, 3000),
                    'utc_now': datetime.datetime(2026, 11, 26, 8, 0, 0)}],
        'sysinfo': [{'cpu_count': 8, 'physical_memory_kb': 33554432,
                     'sqlserver_start_time': datetime.datetime(2026, 11, 20, 8, 30)}],
        'databases': [
            {'name': 'master', 'database_id': 1, 'state_desc': 'ONLINE', 'recovery_model_desc': 'SIMPLE',
             'compatibility_level': 150, 'collation_name': 'Chinese_PRC_CI_AS'},
            {'name': 'tempdb', 'database_id': 2, 'state_desc': 'ONLINE', 'recovery_model_desc': 'SIMPLE',
             'compatibility_level': 150, 'collation_name': 'Chinese_PRC_CI_AS'},
            {'name': 'appdb', 'database_id': 5, 'state_desc': 'ONLINE', 'recovery_model_desc': 'FULL',
             'compatibility_level': 150, 'collation_name': 'Chinese_PRC_CI_AS'},
            {'name': 'reports', 'database_id': 6, 'state_desc': 'ONLINE', 'recovery_model_desc': 'SIMPLE',
             'compatibility_level': 150, 'collation_name': 'Chinese_PRC_CI_AS'}],
        'files': [
            {'database_name': 'tempdb', 'database_id': 2, 'file_id': 1, 'name': 'tempdev', 'physical_name': 'T:\\tempdb.mdf',
             'type_desc': 'ROWS', 'size': 131072, 'max_size': -1, 'growth': 8192, 'is_percent_growth': False},
            {'database_name': 'appdb', 'database_id': 5, 'file_id': 1, 'name': 'appdb', 'physical_name': 'D:\\appdb.mdf',
             'type_desc': 'ROWS', 'size': 1280000, 'max_size': 1310720, 'growth': 8192, 'is_percent_growth': False},
            {'database_name': 'appdb', 'database_id': 5, 'file_id': 2, 'name': 'appdb_log', 'physical_name': 'L:\\appdb.ldf',
             'type_desc': 'LOG', 'size': 65536, 'max_size': 268435456, 'growth': 10, 'is_percent_growth': True}],
        'volumes': [{'volume_mount_point': 'D:\\', 'total_bytes': 536870912000, 'available_bytes': 21474836480},
                    {'volume_mount_point': 'L:\\', 'total_bytes': 107374182400, 'available_bytes': 85899345920}],
        'errorlog': [
            {'logdate': datetime.datetime(2026, 11, 26, 9, 0, 1), 'processinfo': 'Logon',
             'text': 'Error: 18456, Severity: 14, State: 8.'},
            {'logdate': datetime.datetime(2026, 11, 26, 9, 0, 1), 'processinfo': 'Logon',
             'text': "Login failed for user 'sa'. Reason: Password did not match. [CLIENT: 10.1.1.9]"},
            {'logdate': datetime.datetime(2026, 11, 26, 11, 30, 0), 'processinfo': 'spid57',
             'text': 'Error: 9002, Severity: 17, State: 2.'},
            {'logdate': datetime.datetime(2026, 11, 26, 11, 30, 0), 'processinfo': 'spid57',
             'text': "The transaction log for database 'appdb' is full due to 'LOG_BACKUP'."},
            {'logdate': datetime.datetime(2026, 11, 26, 12, 0, 0), 'processinfo': 'spid60',
             'text': 'Error: 2627, Severity: 14, State: 1.'}],
        'counters': [
            {'object_name': 'MSSQL$HR:SQL Statistics', 'counter_name': 'Batch Requests/sec', 'instance_name': '',
             'cntr_value': 1000000},
            {'object_name': 'MSSQL$HR:Databases', 'counter_name': 'Transactions/sec', 'instance_name': '_Total',
             'cntr_value': 500000},
            {'object_name': 'MSSQL$HR:General Statistics', 'counter_name': 'User Connections', 'instance_name': '',
             'cntr_value': 37},
            {'object_name': 'MSSQL$HR:Buffer Manager', 'counter_name': 'Buffer cache hit ratio', 'instance_name': '',
             'cntr_value': 995},
            {'object_name': 'MSSQL$HR:Buffer Manager', 'counter_name': 'Buffer cache hit ratio base', 'instance_name': '',
             'cntr_value': 1000},
            {'object_name': 'MSSQL$HR:Buffer Manager', 'counter_name': 'Page life expectancy', 'instance_name': '',
             'cntr_value': 5400}],
        'waits': [{'wait_type': 'PAGEIOLATCH_SH', 'waiting_tasks_count': 5000, 'wait_time_ms': 123456}],
        'backups': [
            {'database_name': 'appdb', 'type': 'D', 'finished': datetime.datetime(2026, 11, 23, 2, 0)},
            {'database_name': 'appdb', 'type': 'I', 'finished': datetime.datetime(2026, 11, 26, 2, 0)},
            {'database_name': 'appdb', 'type': 'L', 'finished': datetime.datetime(2026, 11, 26, 15, 30)},
            {'database_name': 'master', 'type': 'D', 'finished': datetime.datetime(2026, 11, 26, 1, 0)}],
    }
    rows.update(override)
    return rows


def mssql_facts(**override):
    space = {'appdb': [{'name': 'appdb', 'type_desc': 'ROWS', 'size': 1280000, 'used': 1250000, 'max_size': 1310720},
                       {'name': 'appdb_log', 'type_desc': 'LOG', 'size': 65536, 'used': 1000, 'max_size': 268435456}],
             'reports': 'The server principal "bjeic_monitor" is not able to access the database "reports"',
             'master': [{'name': 'master', 'type_desc': 'ROWS', 'size': 1000, 'used': 500, 'max_size': -1}]}
    second = [dict(r, cntr_value=r['cntr_value'] + (200 if r['counter_name'] == 'Batch Requests/sec' else
                                                    50 if r['counter_name'] == 'Transactions/sec' else 0))
              for r in mssql_rows()['counters']]
    context = {'now': NOW, 'window_hours': 24, 'name': None, 'space': space, 'second_counters': second, 'interval': 2.0}
    return db_mssql.facts(mssql_rows(**override), context)


def test_mssql_rows_to_facts():
    facts = mssql_facts()
    assert (facts['name'], facts['instance'], facts['server'], facts['server_name']) == ('HR', 'HR', 'SQL01', 'SQL01\\HR')
    assert facts['os'] == 'Windows Server 2019 Standard 10.0' and facts['level'] == 'RTM CU25'
    assert (facts['cpu_count'], facts['memory_bytes']) == (8, 34359738368)
    assert facts['startup_time'] == '2026-11-20T00:30:00Z'
    assert facts['archive']['off'] == ['reports']                   # user database in SIMPLE; master is not judged
    data = [s for s in facts['spaces'] if s['name'] == 'appdb data'][0]
    assert (data['size_bytes'], data['used_bytes'], data['max_bytes']) == (1280000 * 8192, 1250000 * 8192, 1310720 * 8192)
    assert data['free_pct'] == pytest.approx(4.63, abs=0.01)
    assert [s for s in facts['spaces'] if s['name'] == 'master data'][0]['free_pct'] is None   # unlimited: the volume
    assert [s for s in facts['spaces'] if s['name'] == 'volume D:\\'][0]['free_pct'] == 4.0
    assert facts['temp'] == {'size_bytes': 131072 * 8192, 'files': [
        {'name': 'T:\\tempdb.mdf', 'type': 'ROWS', 'size_bytes': 131072 * 8192}]}
    assert [f['name'] for f in facts['datafiles']] == ['D:\\appdb.mdf', 'L:\\appdb.ldf']
    [error] = facts['errors']
    assert error['time'] == '2026-11-26T03:30:00Z' and 'is full' in error['text'] and '9002' in error['text']
    assert facts['login_failures'] == 1
    assert facts['perf'] == {'sessions': 37, 'page_life_expectancy': 5400, 'buffer_hit_pct': 99.5,
                             'batches_per_sec': 100.0, 'transactions_per_sec': 25.0,
                             'top_waits': [{'event': 'PAGEIOLATCH_SH', 'waits': 5000, 'seconds': 123.456}]}
    backups = dict(((b['scope'], b['type']), b) for b in facts['backups'])
    assert backups[('appdb', 'log')]['last'] == '2026-11-26T07:30:00Z'
    assert facts['backup_scopes'] == ['master', 'appdb', 'reports'] and facts['log_backup_scopes'] == ['appdb']


def test_mssql_findings():
    findings = judge(mssql_facts(), limits={'log': 1})
    spaces = dict((f['message'].split(': ')[1].split(' has ')[0], f['severity']) for f in by_check(findings, 'db.tablespace_free'))
    assert spaces == {'appdb data': 'critical', 'volume D:\\': 'critical'}
    assert by_check(findings, 'db.archive_off')[0]['message'].endswith('not a point in time')
    assert 'reports' in by_check(findings, 'db.archive_off')[0]['message']
    stale = by_check(findings, 'db.backup_stale')
    assert any('no backup of reports' in f['message'] for f in stale)   # database never backed up
    assert not any('of master' in f['message'] for f in stale)          # full within limits, SIMPLE: no log check
    assert not [f for f in stale if 'log backup of appdb' in f['message']]   # 0.5 h old, limit 1 h
    assert by_check(findings, 'db.unavailable')[0]['message'].count('reports') == 2


def test_mssql_log_backup_overdue():
    rows = mssql_rows()
    backups = [dict(b, finished=datetime.datetime(2026, 11, 26, 13, 0)) if b['type'] == 'L' else b for b in rows['backups']]
    findings = judge(mssql_facts(backups=backups), limits={'log': 1})
    [log] = [f for f in by_check(findings, 'db.backup_stale') if 'log backup of appdb' in f['message']]
    assert log['severity'] == 'critical' and log['value'] == 3.0 and log['threshold'] == 1


# ------------------------------------------------------------------ MySQL helpers

def test_mysql_error_log_lines_both_formats():
    since = datetime.datetime(2026, 11, 26, 0, 0, tzinfo=datetime.timezone.utc)
    lines = ['2026-11-26  9:55:03 7 [ERROR] Event Scheduler: [root@localhost][shop.broken] Table x doesn\'t exist',
             '2026-11-26  9:55:03 7 [Note] Event Scheduler: At line 1',
             '2026-11-26T02:00:01.123456Z 0 [ERROR] [MY-010119] [Server] Aborting',
             '2026-11-25T02:00:01.123456Z 0 [ERROR] [MY-010119] [Server] Too old',
             '2026-11-26T02:00:01.123456+08:00 0 [ERROR] [MY-000001] [Server] offset zone, before the window',
             'garbage line']
    entries = db_mysql.parse_error_log(lines, since)
    assert [e['text'][:16] for e in entries] == ['Event Scheduler:', '[MY-010119] [Ser']
    assert entries[1]['time'] == '2026-11-26T02:00:01Z'


def test_mysql_data_file_path_and_rates():
    files = db_mysql.parse_data_file_path('ibdata1:12M;ibdata2:1G:autoextend:max:4G', 'innodb_system')
    assert files == [{'name': 'ibdata1', 'space': 'innodb_system', 'size_bytes': 12 << 20, 'autoextend': False,
                      'max_bytes': None},
                     {'name': 'ibdata2', 'space': 'innodb_system', 'size_bytes': 1 << 30, 'autoextend': True,
                      'max_bytes': 4 << 30}]
    first = {'questions': '1000', 'com_commit': '10', 'com_rollback': '0', 'threads_connected': '5'}
    second = {'questions': '1500', 'com_commit': '60', 'com_rollback': '2', 'threads_connected': '6',
              'innodb_buffer_pool_reads': '5', 'innodb_buffer_pool_read_requests': '1000'}
    perf = db_mysql.rates(first, second, 2.0)
    assert (perf['queries_per_sec'], perf['transactions_per_sec'], perf['buffer_hit_pct'], perf['sessions']) == (
        250.0, 26.0, 99.5, 6)


# ------------------------------------------------------------------ shared

def test_ledger_item_keeps_measurements_out_of_drift():
    item = common.ledger_item(oracle_facts())
    assert item['key'] == 'db:ORCL@db01' and item['kind'] == 'db'
    assert 'perf' not in item['attrs'] and 'perf' in item['attrs']['state']
    assert item['attrs']['datafiles'][0] == {'name': '/u01/oradata/ORCL/system01.dbf', 'space': 'SYSTEM',
                                             'autoextend': True, 'max_bytes': 34359721984, 'status': 'AVAILABLE'}
    assert item['attrs']['state']['datafiles'][0] == {'name': '/u01/oradata/ORCL/system01.dbf', 'size_bytes': 1048576000}


def test_backup_limits_and_thresholds_are_validated():
    with pytest.raises(ValueError, match="unknown key 'weekly'"):
        common.backup_limits({'weekly': 1})
    with pytest.raises(ValueError, match='must be a number'):
        common.backup_limits({'log': 'often'})
    with pytest.raises(ValueError, match='unknown check id'):
        common.settings({'thresholds': {'db.nope': {'warning': 1}}, 'backup_max_age_hours': {}})


def test_run_queries_keeps_going_after_a_failing_query():
    class Cursor:
        description = [('A',)]

        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql):
            if 'bad' in sql:
                raise RuntimeError('ORA-00942:   table or view\n does not exist')
            self.conn.executed.append(sql)

        def fetchall(self):
            return [(1,)]

        def close(self):
            pass

    class Connection:
        executed, rolled_back = [], 0

        def cursor(self):
            return Cursor(self)

        def rollback(self):
            self.rolled_back += 1

    conn = Connection()
    results = common.run_queries(conn, [('one', 'select 1'), ('two', 'select bad'), ('three', 'select 3')])
    assert results == {'one': [{'a': 1}], 'two': 'ORA-00942: table or view does not exist', 'three': [{'a': 1}]}
    assert conn.rolled_back == 1


def test_unreachable_finding_names_subject_and_error():
    found = common.unreachable_finding('db:ORCL@db01', 'DPY-6005: cannot connect to database')
    assert found['check'] == 'db.unreachable' and found['severity'] == 'critical' and 'DPY-6005' in found['message']


def test_human_sizes():
    assert [common.human(v) for v in (512, 2048, 3 * 1024 ** 3, None)] == ['512 B', '2.0 KiB', '3.0 GiB', '?']
    assert re.match(r'^\d', common.human(5 * 1024 ** 5))
