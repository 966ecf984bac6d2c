"""Oracle and SQL Server backups of db_backup. Neither engine runs here: the RMAN command file and the T-SQL are held
as text (and the T-SQL parsed with sqlglot's tsql dialect), RMAN is a stand-in script that records its command file
and environment and answers with RMAN's documented output, the SQL Server side runs against a connection that
answers as the documented driver does (cursor, description, rows), and the real driver against a closed port."""
import json
import socket

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import backup_vendor
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings

BACKUP_OUTPUT = '''
Starting backup at 02-DEC-26
channel ORA_DISK_1: starting compressed incremental level 0 datafile backup set
piece handle=/backup/orcl/ORCL_db_0b2c3d4e_1_1 tag=ORCL_L0_20261202T020000 comment=NONE
piece handle=/backup/orcl/ORCL_arc_0c2c3d4e_1_1 tag=ORCL_L0_20261202T020000 comment=NONE
Finished backup at 02-DEC-26
deleted backup piece
backup piece handle=/backup/orcl/ORCL_db_09aa0000_1_1 RECID=11 STAMP=1190000000
Deleted 1 objects
Recovery Manager complete.
'''
VALIDATE_OUTPUT = 'channel ORA_DISK_1: validation complete\nFinished restore at 02-DEC-26\n'


def test_the_rman_command_file():
    script = backup_vendor.rman_script('ORCL', '/backup/orcl/', 1, 14, 'ORCL_L1_X')
    assert script.splitlines() == [
        'CONFIGURE RETENTION POLICY TO RECOVERY WINDOW OF 14 DAYS;',
        'CONFIGURE CONTROLFILE AUTOBACKUP ON;',
        "CONFIGURE CONTROLFILE AUTOBACKUP FORMAT FOR DEVICE TYPE DISK TO '/backup/orcl/ORCL_cf_%F';",
        "BACKUP AS COMPRESSED BACKUPSET INCREMENTAL LEVEL 1 DATABASE FORMAT '/backup/orcl/ORCL_db_%U' TAG 'ORCL_L1_X' "
        "PLUS ARCHIVELOG FORMAT '/backup/orcl/ORCL_arc_%U' TAG 'ORCL_L1_X';",
        'CROSSCHECK BACKUP;', 'CROSSCHECK ARCHIVELOG ALL;', 'DELETE NOPROMPT OBSOLETE;', 'EXIT;']


def oracle_params(home, **extra):
    params = {'name': 'ORCL', 'engine': 'oracle', 'destination': '/backup/orcl', 'level': 0, 'recovery_window_days': 7,
              'oracle_home': str(home), 'oracle_sid': 'orcl1'}
    params.update(extra)
    return params


def stand_in_rman(tmp_path, answers):
    """bin/rman that appends its environment and command file to `seen` and answers with `answers` in turn."""
    home = tmp_path / 'home'
    (home / 'bin').mkdir(parents=True)
    (tmp_path / 'answers').write_text(json.dumps(answers))
    rman = home / 'bin' / 'rman'
    rman.write_text('#!/usr/bin/env python3\nimport json, os, sys\n'
                    'seen = open(%r, "a")\nseen.write("args=%%s sid=%%s\\n" %% (" ".join(sys.argv[1:]), os.environ["ORACLE_SID"]))\n'
                    'seen.write(sys.stdin.read())\nanswers = json.load(open(%r))\nrc, text = answers.pop(0)\n'
                    'json.dump(answers, open(%r, "w"))\nprint(text)\nsys.exit(rc)\n'
                    % (str(tmp_path / 'seen'), str(tmp_path / 'answers'), str(tmp_path / 'answers')))
    rman.chmod(0o755)
    return home


class Module(object):
    check_mode = False

    def run_command(self, args, data=None, environ_update=None):
        import os
        import subprocess
        done = subprocess.run(args, input=data, capture_output=True, text=True, check=False,
                              env=dict(os.environ, **environ_update))
        return done.returncode, done.stdout, done.stderr


def test_an_rman_backup_is_taken_pruned_by_rman_and_validated(tmp_path):
    home = stand_in_rman(tmp_path, [[0, BACKUP_OUTPUT], [0, VALIDATE_OUTPUT]])
    findings = Findings()
    backup = backup_vendor.OracleBackup(Module(), oracle_params(home), findings, 'db01')
    backup.run()
    record = backup.record
    assert (record['state'], record['verified'], record['method']) == ('taken', True, 'rman level 0')
    assert record['pieces'] == ['/backup/orcl/ORCL_db_0b2c3d4e_1_1', '/backup/orcl/ORCL_arc_0c2c3d4e_1_1']
    assert record['pruned'] == ['/backup/orcl/ORCL_db_09aa0000_1_1']
    assert [c['action'] for c in backup.changes] == ['prune', 'backup']
    seen = (tmp_path / 'seen').read_text()
    assert seen.count('args=target / sid=orcl1') == 2          # OS authentication: no password anywhere
    assert 'BACKUP AS COMPRESSED BACKUPSET INCREMENTAL LEVEL 0 DATABASE' in seen and 'RESTORE DATABASE VALIDATE;' in seen
    assert findings.items == []


def test_an_rman_error_fails_the_backup_with_rmans_words(tmp_path):
    home = stand_in_rman(tmp_path, [[1, 'RMAN-03009: failure of backup command on ORA_DISK_1 channel\n'
                                        'ORA-19502: write error on file "/backup/orcl/ORCL_db_x", block number 128']])
    findings = Findings()
    backup = backup_vendor.OracleBackup(Module(), oracle_params(home), findings, 'db01')
    backup.run()
    assert backup.record['state'] == 'failed' and 'ORA-19502: write error on file' in backup.record['error']
    assert [f['check'] for f in findings.items] == ['backup.failed']


def test_sql_server_statements_parse_and_compress_only_where_the_edition_can():
    sqlglot = pytest.importorskip('sqlglot')
    full = backup_vendor.mssql_backup_sql('orders', r'D:\backup\orders-20261202T020000Z.bak', 'full', True, 'bjeic-ops orders')
    assert full == ("BACKUP DATABASE [orders] TO DISK = N'D:\\backup\\orders-20261202T020000Z.bak' WITH CHECKSUM, INIT, "
                    "FORMAT, NAME = N'bjeic-ops orders', COMPRESSION")
    log = backup_vendor.mssql_backup_sql("o'rders]x", r'D:\b\x.trn', 'log', False, 'l')
    assert log.startswith("BACKUP LOG [o'rders]]x] TO DISK = N'D:\\b\\x.trn'") and 'COMPRESSION' not in log
    assert 'DIFFERENTIAL, CHECKSUM' in backup_vendor.mssql_backup_sql('o', 'x', 'diff', False, 'l')
    sqlglot.parse_one(backup_vendor.EDITION_SQL, read='tsql')
    # sqlglot has no grammar for BACKUP: its tsql tokenizer holds the quoting (a stray quote or bracket would not
    # come out as one string and one identifier).
    tokens = sqlglot.Dialect.get_or_raise('tsql').tokenize(log)
    assert [t.text for t in tokens[:3]] == ['BACKUP', 'LOG', "o'rders]x"]
    assert [t.text for t in tokens if t.token_type.name in ('NATIONAL_STRING', 'STRING')][:1] == ['D:\\b\\x.trn']


class Cursor(object):
    """A DB-API cursor answering as python-tds does: description of (name, ...) tuples, rows as tuples."""

    def __init__(self, server):
        self.server, self.description, self.rows = server, None, []

    def execute(self, sql):
        self.server.seen.append(sql)
        if 'EngineEdition' in sql:
            self.description, self.rows = [('edition',)], [(self.server.edition,)]
        elif sql.startswith('RESTORE VERIFYONLY') and self.server.damaged:
            raise RuntimeError('The media family on device is incorrectly formed. RESTORE VERIFYONLY is terminating abnormally.')
        else:
            self.description, self.rows = None, []

    def fetchall(self):
        return self.rows

    def close(self):
        pass


class Server(object):
    def __init__(self, edition, damaged=False):
        self.edition, self.damaged, self.seen = edition, damaged, []

    def cursor(self):
        return Cursor(self)

    def rollback(self):
        pass

    def close(self):
        pass


def mssql_params(**extra):
    params = {'name': 'orders', 'engine': 'mssql', 'destination': 'D:\\backup', 'database': 'orders',
              'mssql_type': 'full', 'login_host': 'db02', 'login_port': 1433}
    params.update(extra)
    return params


@pytest.mark.parametrize('edition, compressed', [(3, True), (4, False)])     # Enterprise; Express has no compression
def test_a_sql_server_backup_is_taken_and_verified(edition, compressed):
    server = Server(edition)
    findings = Findings()
    backup = backup_vendor.MssqlBackup(Module(), mssql_params(), findings, 'db02')
    backup.run(lambda params: server)
    record = backup.record
    assert (record['state'], record['verified'], record['compression']) == ('taken', True, compressed)
    assert record['path'].startswith('D:\\backup\\orders-') and record['path'].endswith('.bak')
    assert server.seen[1].startswith('BACKUP DATABASE [orders] TO DISK') and server.seen[2].startswith('RESTORE VERIFYONLY')
    assert ('COMPRESSION' in server.seen[1]) is compressed


def test_a_backup_that_does_not_verify_is_critical():
    findings = Findings()
    backup = backup_vendor.MssqlBackup(Module(), mssql_params(mssql_type='log'), findings, 'db02')
    backup.run(lambda params: Server(2, damaged=True))
    assert backup.record['state'] == 'taken' and backup.record['verified'] is False
    assert backup.record['path'].endswith('.trn')
    assert [f['check'] for f in findings.items] == ['backup.failed']
    assert 'incorrectly formed' in findings.items[0]['message']


def test_the_real_driver_against_a_closed_port_is_a_clear_failure():
    from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql
    if not db_mssql.HAS_DRIVER:
        pytest.skip('python-tds is not installed')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    params = mssql_params(login_host='127.0.0.1', login_port=port, login_database='master', login_user='sa',
                          login_password='Secret-9', connect_timeout=2)
    findings = Findings()
    backup = backup_vendor.MssqlBackup(Module(), params, findings, 'db02')
    backup.run(db_mssql.connect)
    assert backup.record['state'] == 'failed' and backup.record['error'].startswith('cannot connect to 127.0.0.1:%d' % port)
    assert 'Secret-9' not in json.dumps(backup.record)
