"""The host-side backup store on real files: what enforce saved comes back byte for byte."""
import os

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import Backup, BackupError, file_state


@pytest.fixture
def tree(tmp_path):
    etc = tmp_path / 'etc'
    etc.mkdir()
    (etc / 'login.defs').write_bytes(b'PASS_MAX_DAYS\t99999\n\xff raw byte\n')
    os.chmod(etc / 'login.defs', 0o640)
    os.symlink('login.defs', etc / 'link')
    return tmp_path


def test_restore_puts_back_content_mode_links_and_removes_created_files(tree):
    etc = tree / 'etc'
    before = {name: file_state(str(etc / name)) for name in ('login.defs', 'link')}
    backup = Backup.create(str(tree / 'backups'), 'test', 'h')
    for name in ('login.defs', 'link', 'new.conf'):
        backup.save_file(str(etc / name))
    (etc / 'login.defs').write_text('PASS_MAX_DAYS\t90\n')
    os.chmod(etc / 'login.defs', 0o644)
    os.unlink(etc / 'link')
    (etc / 'link').write_text('now a file')
    (etc / 'new.conf').write_text('created by enforce')
    backup.close()                                  # records what the run left at each path

    loaded = Backup.load(str(tree / 'backups'), backup.id)
    assert loaded.edited_since() == []
    changed = [loaded.restore_file(entry) for entry in reversed(loaded.files())]
    assert changed == [True, True, True]
    assert {name: file_state(str(etc / name)) for name in ('login.defs', 'link')} == before
    assert (etc / 'login.defs').read_bytes() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'
    assert not (etc / 'new.conf').exists()
    assert [loaded.restore_file(entry) for entry in loaded.files()] == [False, False, False]   # idempotent


def backup_of_login_defs(tree):
    """A new backup that has saved etc/login.defs: (backup, path)."""
    path = str(tree / 'etc' / 'login.defs')
    backup = Backup.create(str(tree / 'backups'), 'test', 'h')
    backup.save_file(path)
    return backup, path


def test_backup_directory_and_copies_are_root_only(tree):
    backup, _path = backup_of_login_defs(tree)
    assert oct(os.stat(tree / 'backups').st_mode & 0o777) == '0o700'
    assert oct(os.stat(os.path.join(backup.directory, 'files', '0001')).st_mode & 0o777) == '0o600'
    assert oct(os.stat(os.path.join(backup.directory, 'manifest.json')).st_mode & 0o777) == '0o600'


def test_later_edits_by_someone_else_are_detected(tree):
    backup, path = backup_of_login_defs(tree)
    with open(path, 'w') as handle:
        handle.write('by enforce\n')
    backup.close()
    with open(path, 'a') as handle:
        handle.write('by an administrator\n')
    assert Backup.load(str(tree / 'backups'), backup.id).edited_since() == [path]


def test_a_half_finished_run_still_has_a_usable_manifest(tree):
    """The manifest is written before each change: a run killed after its first change can roll back."""
    backup, path = backup_of_login_defs(tree)
    with open(path, 'w') as handle:
        handle.write('changed, then the run died\n')
    loaded = Backup.load(str(tree / 'backups'), backup.id)     # never closed
    assert loaded.manifest['state'] == 'open'
    assert loaded.restore_file(loaded.files()[0]) is True
    assert open(path, 'rb').read() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'


def test_unknown_corrupt_and_damaged_backups_are_refused_with_the_reason(tree):
    root = str(tree / 'backups')
    backup, _path = backup_of_login_defs(tree)
    with pytest.raises(BackupError, match='no backup 20200101T000000Z-000000 under .*backups on this host: %s' % backup.id):
        Backup.load(root, '20200101T000000Z-000000')
    with pytest.raises(BackupError, match='is not a backup id'):
        Backup.load(root, '../etc')
    blob = os.path.join(backup.directory, 'files', '0001')
    with open(blob, 'ab') as handle:
        handle.write(b'flipped')
    with pytest.raises(BackupError, match='is damaged: the saved copy of .*login.defs'):
        Backup.load(root, backup.id)
    with open(os.path.join(backup.directory, 'manifest.json'), 'w') as handle:
        handle.write('{"entries": [')
    with pytest.raises(BackupError, match='manifest of backup .* is corrupt'):
        Backup.load(root, backup.id)
    assert (tree / 'etc' / 'login.defs').read_bytes() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'   # nothing touched
