"""report_file's writer: the report replaced whole with its modes, a failed write leaving the previous report and no
temporary file, a name that is not a plain file name refused."""
import json
import os
import stat

import pytest

from ansible_collections.bjeic.ops.plugins.action.report_file import write_json


def test_writes_the_result_with_its_modes(tmp_path):
    directory = tmp_path / 'reports' / 'daily'
    path = write_json(str(directory), 'web01', {'findings': [{'message': '磁盘使用率 91%'}], 'changed': False})
    assert path == str(directory / 'web01.json')
    assert json.loads(open(path, encoding='utf-8').read())['findings'][0]['message'] == '磁盘使用率 91%'
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) & 0o027 == 0   # 0750, less with a stricter umask


def test_a_failed_write_keeps_the_previous_report(tmp_path):
    write_json(str(tmp_path), 'web01', {'run': 1})
    with pytest.raises(TypeError):
        write_json(str(tmp_path), 'web01', {('not', 'a', 'key'): 1})
    assert json.load(open(str(tmp_path / 'web01.json'))) == {'run': 1}
    assert os.listdir(str(tmp_path)) == ['web01.json']


@pytest.mark.parametrize('name', ['', '.', '..', '../etc/passwd', 'a/b'])
def test_a_name_that_is_not_a_file_name_is_refused(tmp_path, name):
    with pytest.raises(ValueError):
        write_json(str(tmp_path), name, {})
    assert os.listdir(str(tmp_path)) == []
