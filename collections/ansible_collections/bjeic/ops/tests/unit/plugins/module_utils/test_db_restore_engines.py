"""db_restore_test's Oracle (RMAN) and SQL Server (RESTORE VERIFYONLY) paths, on the statements and the output the
vendors document. Neither server runs here: the live paths are covered by tests/integration/test_db_live.py."""
import sqlglot

from ansible_collections.bjeic.ops.plugins.module_utils import restore_mssql, restore_oracle

# RMAN output as Oracle documents it for RESTORE ... VALIDATE with a missing backup piece
RMAN_FAILED = """
Recovery Manager: Release 19.0.0.0.0 - Production on Thu Nov 26 02:00:01 2026

connected to target database: ORCL (DBID=1591287654)

RMAN> RESTORE DATABASE VALIDATE;
Starting restore at 2026-11-26 02:00:03
using target database control file instead of recovery catalog
allocated channel: ORA_DISK_1
channel ORA_DISK_1: starting validation of datafile backup set
channel ORA_DISK_1: reading from backup piece /backup/rman/ORCL_0a2b3c4d_1_1.bkp
RMAN-00571: ===========================================================
RMAN-00569: =============== ERROR MESSAGE STACK FOLLOWS ===============
RMAN-00571: ===========================================================
RMAN-03002: failure of restore command at 11/26/2026 02:00:05
ORA-19505: failed to identify file "/backup/rman/ORCL_0a2b3c4d_1_1.bkp"
ORA-27037: unable to obtain file status
RMAN-00571: ===========================================================

Recovery Manager complete.
"""

RMAN_PASSED = """
RMAN> RESTORE DATABASE VALIDATE;
Starting restore at 2026-11-26 02:00:03
channel ORA_DISK_1: piece handle=/backup/rman/ORCL_0a2b3c4d_1_1.bkp tag=TAG20261126T010002
channel ORA_DISK_1: restored backup piece 1
channel ORA_DISK_1: validation complete, elapsed time: 00:01:05
Finished restore at 2026-11-26 02:01:09
"""


def test_rman_script():
    assert restore_oracle.script(['database', 'controlfile', 'archivelog'], 12) == (
        "RESTORE DATABASE VALIDATE;\nRESTORE CONTROLFILE VALIDATE;\n"
        "RESTORE ARCHIVELOG FROM TIME 'SYSDATE-0.5' VALIDATE;\nEXIT;\n")


def test_rman_errors_are_read_in_order_without_banner_repeats():
    errors = restore_oracle.errors_of(RMAN_FAILED)
    assert [code for code, _text in errors] == ['RMAN-00571', 'RMAN-00569', 'RMAN-03002', 'ORA-19505', 'ORA-27037']
    assert errors[3][1] == 'failed to identify file "/backup/rman/ORCL_0a2b3c4d_1_1.bkp"'
    assert restore_oracle.errors_of(RMAN_PASSED) == []


def test_rman_is_run_with_the_instance_environment(tmp_path):
    """A stand-in rman (Oracle cannot run here) records its arguments, environment and command file."""
    home = tmp_path / 'home'
    (home / 'bin').mkdir(parents=True)
    rman = home / 'bin' / 'rman'
    rman.write_text('#!/bin/sh\necho "args=$*" > "%s/seen"\necho "sid=$ORACLE_SID home=$ORACLE_HOME" >> "%s/seen"\n'
                    'cat >> "%s/seen"\ncat <<\'EOF\'\n%s\nEOF\nexit 1\n' % (tmp_path, tmp_path, tmp_path, RMAN_FAILED))
    rman.chmod(0o755)

    class Module:
        def run_command(self, args, data=None, environ_update=None):
            import subprocess
            import os
            done = subprocess.run(args, input=data, capture_output=True, text=True, check=False,
                                  env=dict(os.environ, **environ_update))
            return done.returncode, done.stdout, done.stderr

    outcome = restore_oracle.validate(Module(), str(home), 'orcl1', ['database'], 24)
    seen = (tmp_path / 'seen').read_text()
    assert 'args=target /' in seen and 'sid=orcl1 home=%s' % home in seen and 'RESTORE DATABASE VALIDATE;' in seen
    assert outcome['ok'] is False and outcome['rc'] == 1
    assert 'ORA-19505: failed to identify file "/backup/rman/ORCL_0a2b3c4d_1_1.bkp"' in outcome['errors']
    missing = restore_oracle.validate(Module(), str(tmp_path / 'nowhere'), 'orcl1', ['database'], 24)
    assert missing['ok'] is False and 'check oracle_home' in missing['errors'][0]


def parses(sql):
    return sqlglot.parse(sql, read='tsql', error_level=sqlglot.ErrorLevel.RAISE)


def test_mssql_statements():
    parses(restore_mssql.newest_full_sql("o'brien"))
    assert "= N'o''brien'" in restore_mssql.newest_full_sql("o'brien")
    assert restore_mssql.verify_sql("D:\\bak\\app.bak", True) == "RESTORE VERIFYONLY FROM DISK = N'D:\\bak\\app.bak' WITH CHECKSUM"
    assert restore_mssql.verify_sql('/var/opt/mssql/app.bak', False).endswith("'/var/opt/mssql/app.bak'")
    assert restore_mssql.checkdb_sql('x]y') == 'DBCC CHECKDB ([x]]y]) WITH NO_INFOMSGS, ALL_ERRORMSGS'
    parses(restore_mssql.exists_sql('scratch'))
    parses(restore_mssql.DATA_PATH_SQL)


def test_mssql_restore_moves_every_file_to_scratch_names():
    # RESTORE FILELISTONLY rows, as documented (LogicalName, PhysicalName, Type, ...), lower-cased by the runner
    files = [{'logicalname': 'appdb', 'physicalname': 'D:\\data\\appdb.mdf', 'type': 'D'},
             {'logicalname': 'appdb_2', 'physicalname': 'D:\\data\\appdb_2.ndf', 'type': 'D'},
             {'logicalname': 'appdb_log', 'physicalname': 'L:\\log\\appdb.ldf', 'type': 'L'}]
    sql = restore_mssql.restore_sql('E:\\bak\\appdb.bak', 'appdb_restoretest', files, 'S:\\scratch\\')
    assert sql == ("RESTORE DATABASE [appdb_restoretest] FROM DISK = N'E:\\bak\\appdb.bak' WITH "
                   "MOVE N'appdb' TO N'S:\\scratch\\appdb_restoretest_0.mdf', "
                   "MOVE N'appdb_2' TO N'S:\\scratch\\appdb_restoretest_1.ndf', "
                   "MOVE N'appdb_log' TO N'S:\\scratch\\appdb_restoretest_2.ldf', RECOVERY, STATS = 10")
    linux = restore_mssql.restore_sql('/bak/a.bak', 'a_test', files[:1], '/var/opt/mssql/data/')
    assert "TO N'/var/opt/mssql/data/a_test_0.mdf'" in linux
