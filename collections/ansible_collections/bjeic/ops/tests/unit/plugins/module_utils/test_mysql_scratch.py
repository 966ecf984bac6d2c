"""The SQL and parsing behind db_restore_test, on the shapes the mariadb client prints in batch mode."""
import os

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import mysql_scratch as scratch
from ansible_collections.bjeic.ops.plugins.module_utils.restore_mysql import differences, parse_row_manifest


def test_fingerprint_sql_quotes_names_and_checks_every_table_in_one_statement():
    sql = scratch.fingerprint_sql([('app', 'orders'), ('we`ird', "it's")])
    assert "SELECT 'app', 'orders', COUNT(*) FROM `app`.`orders`;" in sql
    assert "SELECT 'we`ird', 'it\\'s', COUNT(*) FROM `we``ird`.`it's`;" in sql
    assert sql.rstrip().endswith("CHECKSUM TABLE `app`.`orders`, `we``ird`.`it's`;")
    assert scratch.fingerprint_sql([]) == '\n'


def test_parse_fingerprint_joins_counts_and_checksums():
    out = 'app\torders\t2000\ncrm\tcontacts\t100\napp.orders\t3924519582\ncrm.contacts\tNULL\n'
    assert scratch.parse_fingerprint(out) == {'app.orders': {'rows': 2000, 'checksum': '3924519582'},
                                              'crm.contacts': {'rows': 100, 'checksum': None}}


def test_differences_name_missing_tables_and_changed_rows():
    source = {'a.t': {'rows': 10, 'checksum': '1'}, 'a.u': {'rows': 5, 'checksum': '2'}, 'a.v': {'rows': 1, 'checksum': '3'}}
    restored = {'a.t': {'rows': 10, 'checksum': '1'}, 'a.u': {'rows': 4, 'checksum': '9'}}
    assert differences(restored, source, True) == (['a.v'], ['a.u (rows 5, restored 4; checksum differs)'])
    same_rows = {'a.t': {'rows': 10, 'checksum': 'other'}}
    assert differences(same_rows, {'a.t': {'rows': 10}}, False) == ([], [])


def test_row_manifest_lines():
    assert parse_row_manifest('# at dump time\napp.orders 2000\n\ncrm.contacts 100\n') == {
        'app.orders': 2000, 'crm.contacts': 100}
    with pytest.raises(ValueError, match='not a "schema.table rows" line'):
        parse_row_manifest('orders 2000\n')


def test_client_options_file_is_private_and_quotes_the_password(tmp_path):
    path = str(tmp_path / 'source.cnf')
    scratch.write_client_options(path, {'user': 'check', 'password': 'a "b" #;=\\', 'host': None, 'port': ''})
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert open(path).read() == '[client]\nuser="check"\npassword="a \\"b\\" #;=\\\\"\n'
    with pytest.raises(FileExistsError):   # never written over an existing file
        scratch.write_client_options(path, {'user': 'x'})
