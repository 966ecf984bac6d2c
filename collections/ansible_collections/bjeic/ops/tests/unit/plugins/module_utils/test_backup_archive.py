"""Backup read-through on real archives made by the real tools (tar, gzip, zstd) and Python's
zipfile: good archives give every member's checksum, damaged ones are refused with the reason."""
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import zipfile

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive

needs_zstd = pytest.mark.skipif(not shutil.which('zstd'), reason='zstd is not installed (scripts/bootstrap --test installs it)')


@pytest.fixture
def source(tmp_path):
    """An `etc` tree of three files, one of them compressible text."""
    etc = tmp_path / 'src' / 'etc'
    (etc / 'sub').mkdir(parents=True)
    (etc / 'hosts').write_text('127.0.0.1 localhost\n' * 200)
    (etc / 'random.bin').write_bytes(os.urandom(70000))
    (etc / 'sub' / 'app.conf').write_text('key = value\n')
    return etc


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make(tmp_path, source, fmt):
    """An archive of `source` in `fmt`, made as a backup job would make it."""
    parent, name = str(source.parent), source.name
    out = tmp_path / ('backup.' + fmt)
    if fmt == 'zip':
        with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as handle:
            for path in sorted(source.rglob('*')):
                handle.write(path, str(path.relative_to(source.parent)))
    elif fmt == 'gz':
        with open(source / 'hosts', 'rb') as raw, gzip.open(out, 'wb') as packed:
            shutil.copyfileobj(raw, packed)
    elif fmt == 'zst':
        subprocess.run(['zstd', '-q', '-o', str(out), str(source / 'hosts')], check=True)
    else:
        flags = {'tar': '', 'tar.gz': '-z', 'tar.bz2': '-j', 'tar.xz': '-J', 'tar.zst': '--zstd'}[fmt]
        subprocess.run(['tar'] + ([flags] if flags else []) + ['-c', '-f', str(out), '-C', parent, name], check=True)
    return out


@pytest.mark.parametrize('fmt', ['tar', 'tar.gz', 'tar.bz2', 'tar.xz', 'zip',
                                 pytest.param('tar.zst', marks=needs_zstd)])
def test_good_archives_give_every_members_checksum(tmp_path, source, fmt):
    path = make(tmp_path, source, fmt)
    assert archive.format_of(str(path)) == fmt
    members = archive.read_through(str(path), fmt)
    assert members == {
        'etc/hosts': {'size': (source / 'hosts').stat().st_size, 'sha256': sha(source / 'hosts')},
        'etc/random.bin': {'size': 70000, 'sha256': sha(source / 'random.bin')},
        'etc/sub/app.conf': {'size': 12, 'sha256': sha(source / 'sub' / 'app.conf')},
    }


@pytest.mark.parametrize('fmt', ['gz', pytest.param('zst', marks=needs_zstd)])
def test_single_file_compression_has_one_member_named_without_the_suffix(tmp_path, source, fmt):
    path = make(tmp_path, source, fmt)
    members = archive.read_through(str(path), archive.format_of(str(path)))
    assert members == {'backup': {'size': (source / 'hosts').stat().st_size, 'sha256': sha(source / 'hosts')}}


def cut(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[:keep] if keep >= 0 else data[:keep])


@pytest.mark.parametrize('fmt, keep, reason', [
    ('tar.gz', -8, 'end-of-stream'),            # gzip trailer (CRC, length) gone
    ('tar.gz', 2000, 'end-of-stream'),
    ('tar', 1536, 'unexpected end of data'),     # cut inside a member
    ('zip', -30, 'BadZipFile'),                  # central directory gone
    ('tar.xz', -40, 'Error'),
    pytest.param('tar.zst', -10, 'zstd', marks=needs_zstd),
])
def test_truncated_archives_are_refused(tmp_path, source, fmt, keep, reason):
    path = make(tmp_path, source, fmt)
    cut(path, keep)
    with pytest.raises(archive.ArchiveError) as error:
        archive.read_through(str(path), fmt)
    assert reason in str(error.value)


def test_tar_cut_exactly_at_a_member_boundary_is_refused(tmp_path, source):
    """tar -t lists such a file happily; only the missing end-of-archive blocks give it away."""
    path = make(tmp_path, source, 'tar')
    with tarfile.open(str(path)) as tar:
        last = tar.getmembers()[-1]
        end = last.offset_data + (last.size + 511) // 512 * 512
    cut(path, end)
    assert subprocess.run(['tar', '-t', '-f', str(path)], capture_output=True, check=False).returncode == 0
    with pytest.raises(archive.ArchiveError, match='end-of-archive'):
        archive.read_through(str(path), 'tar')


def test_a_flipped_byte_in_a_compressed_archive_fails_its_crc(tmp_path, source):
    path = make(tmp_path, source, 'tar.gz')
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(archive.ArchiveError):
        archive.read_through(str(path), 'tar.gz')


def test_a_flipped_byte_in_a_plain_tar_shows_only_in_the_member_checksum(tmp_path, source):
    path = make(tmp_path, source, 'tar')
    good = archive.read_through(str(path), 'tar')
    with tarfile.open(str(path)) as tar:
        target = tar.getmember('etc/random.bin').offset_data + 100
    data = bytearray(path.read_bytes())
    data[target] ^= 0x01
    path.write_bytes(bytes(data))
    damaged = archive.read_through(str(path), 'tar')
    assert archive.compare(good, damaged) == {'missing': [], 'different': ['etc/random.bin']}


def test_a_file_that_is_not_what_its_name_says_is_refused(tmp_path):
    path = tmp_path / 'backup.tar.gz'
    path.write_bytes(b'this is not gzip data at all\n' * 10)
    with pytest.raises(archive.ArchiveError, match='gzip'):
        archive.read_through(str(path), 'tar.gz')


def test_zstd_missing_is_a_tool_problem_not_corruption(tmp_path, monkeypatch):
    path = tmp_path / 'backup.tar.zst'
    path.write_bytes(b'\x28\xb5\x2f\xfd')
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    with pytest.raises(archive.ToolMissing, match='zstd is not installed'):
        archive.read_through(str(path), 'tar.zst')


@pytest.mark.parametrize('name, fmt', [
    ('etc-20261126.tar.gz', 'tar.gz'), ('x.TGZ', 'tar.gz'), ('x.tar', 'tar'), ('x.tar.zst', 'tar.zst'),
    ('x.tzst', 'tar.zst'), ('dump.sql.gz', 'gzip'), ('x.zip', 'zip'), ('x.zst', 'zst'), ('dump.sql', 'file'),
    ('x.tar.bz2', 'tar.bz2'), ('x.txz', 'tar.xz'),
])
def test_format_from_the_name(name, fmt):
    assert archive.format_of(name) == fmt


def test_manifest_lines_are_sha256sum_output():
    digest = 'a' * 64
    entries, bad = archive.parse_manifest(
        '# made by the backup job\n%s  ./etc/hosts\n%s *etc/binary\n\nnot a line\n%s  backup.tar.gz\r\n'
        % (digest, digest.upper(), digest))
    assert entries == {'etc/hosts': digest, 'etc/binary': digest, 'backup.tar.gz': digest}
    assert bad == ['not a line']
    whole, content = archive.split_manifest(entries, '/backup/backup.tar.gz')
    assert list(whole) == ['backup.tar.gz'] and sorted(content) == ['etc/binary', 'etc/hosts']


def test_manifest_checked_against_the_restored_directory_leaves_out_the_archives_own_line():
    entries = {'app/a.conf': '1' * 64, 'app-2.tar.gz': '2' * 64, 'app/old.tar.gz': '3' * 64}
    members = {'app/a.conf': {}, 'app/old.tar.gz': {}}   # an archive inside the backup is content
    whole, content = archive.split_manifest(entries, '/srv/restore/', members)
    assert whole == {} and sorted(content) == ['app/a.conf', 'app/old.tar.gz']


def test_compare_names_missing_and_different_entries():
    found = {'a': {'size': 1, 'sha256': '1'}, 'b': {'size': 1, 'sha256': '2'}}
    assert archive.compare({'a': '1', 'b': '3', 'c': '4'}, found) == {'missing': ['c'], 'different': ['b']}


@pytest.mark.parametrize('source, member, live', [
    ('/etc', 'etc/hosts', '/etc/hosts'),             # tar -C / -c etc
    ('/etc', 'hosts', '/etc/hosts'),                 # tar -C /etc -c .
    ('/srv/app/', 'app/data/x', '/srv/app/data/x'),
    ('/srv/app', 'application.log', '/srv/app/application.log'),
])
def test_live_path_of_a_restored_member(source, member, live):
    assert archive.live_path(source, member) == live


def test_tree_lists_regular_files_with_checksums(source):
    os.symlink('hosts', str(source / 'link'))
    files = archive.tree(str(source))
    assert sorted(files) == ['hosts', 'random.bin', 'sub/app.conf']
    assert files['random.bin']['sha256'] == sha(source / 'random.bin')
