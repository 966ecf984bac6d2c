"""The module's file-system helpers on real files in a temporary directory."""
import os
import struct
import time

from ansible_collections.bjeic.ops.plugins.module_utils import inspect_core, inspect_system


def write(path, data=b'x'):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


ELF_CORE = b'\x7fELF\x02\x01\x01' + bytes(9) + struct.pack('<H', 4) + bytes(46)
ELF_EXEC = b'\x7fELF\x02\x01\x01' + bytes(9) + struct.pack('<H', 2) + bytes(46)


def test_crash_files_by_header_and_name_not_by_name_alone(tmp_path):
    write(tmp_path / 'core', ELF_CORE)
    write(tmp_path / 'app' / 'core.123', ELF_CORE)               # one level down
    write(tmp_path / 'app' / 'deep' / 'deeper' / 'core', ELF_CORE)  # too deep for depth 0
    write(tmp_path / 'core.txt', b'core is just a name here')
    write(tmp_path / 'a.out', ELF_EXEC)
    write(tmp_path / 'hs_err_pid4242.log', b'# A fatal error has been detected by the JRE')
    os.symlink(tmp_path / 'core', tmp_path / 'link-to-core')
    found = inspect_system.crash_files([str(tmp_path)])
    assert [os.path.relpath(f['path'], str(tmp_path)) for f in found] == ['core', 'hs_err_pid4242.log']
    assert found[0]['kind'] == 'ELF core dump' and found[1]['kind'] == 'crash report'


def test_walk_depth(tmp_path):
    """The crash-file search walks with the one file-system walker, to a depth."""
    from ansible_collections.bjeic.ops.plugins.module_utils.fs_walk import OneFileSystemWalk
    write(tmp_path / 'a' / 'b' / 'c' / 'f')
    write(tmp_path / 'a' / 'g')
    walk = OneFileSystemWalk([str(tmp_path)], 1000, max_depth=1)
    assert sorted(os.path.relpath(p, str(tmp_path)) for p, _info in walk) == ['a/g']
    assert list(OneFileSystemWalk([str(tmp_path / 'missing')], 1000, max_depth=2)) == []


def test_directory_usage_counts_allocated_blocks(tmp_path):
    write(tmp_path / 'big', b'\0' * (3 * 1024 * 1024))
    write(tmp_path / 'sub' / 'small', b'abc')
    used, complete = inspect_system.directory_usage(str(tmp_path))
    assert complete
    assert 3 * 1024 * 1024 <= used <= 3 * 1024 * 1024 + 64 * 1024


def test_directory_usage_stops_at_the_walk_limit(tmp_path, monkeypatch):
    for index in range(5):
        write(tmp_path / ('f%d' % index))
    monkeypatch.setattr(inspect_system, 'TMP_WALK_LIMIT', 3)   # as imported where it is used
    _used, complete = inspect_system.directory_usage(str(tmp_path))
    assert complete is False


def test_with_timeout_reports_result_error_and_hang():
    assert inspect_core.with_timeout(lambda: 42, 1.0) == (True, 42)
    ok, error = inspect_core.with_timeout(lambda: 1 / 0, 1.0)
    assert ok is False and isinstance(error, ZeroDivisionError)
    started = time.time()
    assert inspect_core.with_timeout(time.sleep, 0.2, 5) == (None, None)
    assert time.time() - started < 2


def test_kernel_clock_state_is_a_boolean():
    assert inspect_system.kernel_clock_synchronized() in (True, False)


def test_human_bytes():
    assert inspect_core.human_bytes(512) == '512 B'
    assert inspect_core.human_bytes(1536) == '1.5 KiB'
    assert inspect_core.human_bytes(3 * 1024 ** 3) == '3.0 GiB'
