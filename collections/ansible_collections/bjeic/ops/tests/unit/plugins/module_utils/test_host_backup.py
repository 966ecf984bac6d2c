"""The host-side backup store on real files: what enforce saved comes back byte for byte."""
import os

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import Backup, BackupError, file_state, write_atomic


@pytest.fixture
def tree(tmp_path):
    etc = tmp_path / 'etc'
    etc.mkdir()
    (etc / 'login.defs').write_bytes(b'PASS_MAX_DAYS\t99999\n\xff raw byte\n')
    os.chmod(etc / 'login.defs', 0o640)
    os.symlink('login.defs', etc / 'link')
    return tmp_path


def test_restore_puts_back_content_mode_links_and_removes_created_files(tree, ansible_module):
    etc = tree / 'etc'
    before = {name: file_state(str(etc / name)) for name in ('login.defs', 'link')}
    backup = Backup.create(str(tree / 'backups'), 'test', 'h', ansible_module)
    for name in ('login.defs', 'link', 'new.conf'):
        backup.save_file(str(etc / name))
    (etc / 'login.defs').write_text('PASS_MAX_DAYS\t90\n')
    os.chmod(etc / 'login.defs', 0o644)
    os.unlink(etc / 'link')
    (etc / 'link').write_text('now a file')
    (etc / 'new.conf').write_text('created by enforce')
    backup.close()                                  # records what the run left at each path

    loaded = Backup.load(str(tree / 'backups'), backup.id, ansible_module)
    assert loaded.edited_since() == []
    changed = [loaded.restore_file(entry) for entry in reversed(loaded.files())]
    assert changed == [True, True, True]
    assert {name: file_state(str(etc / name)) for name in ('login.defs', 'link')} == before
    assert (etc / 'login.defs').read_bytes() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'
    assert not (etc / 'new.conf').exists()
    assert [loaded.restore_file(entry) for entry in loaded.files()] == [False, False, False]   # idempotent


def backup_of_login_defs(tree, ansible_module):
    """A new backup that has saved etc/login.defs: (backup, path)."""
    path = str(tree / 'etc' / 'login.defs')
    backup = Backup.create(str(tree / 'backups'), 'test', 'h', ansible_module)
    backup.save_file(path)
    return backup, path


def test_backup_directory_and_copies_are_root_only(tree, ansible_module):
    backup, _path = backup_of_login_defs(tree, ansible_module)
    assert oct(os.stat(tree / 'backups').st_mode & 0o777) == '0o700'
    assert oct(os.stat(os.path.join(backup.directory, 'files', '0001')).st_mode & 0o777) == '0o600'
    assert oct(os.stat(os.path.join(backup.directory, 'manifest.json')).st_mode & 0o777) == '0o600'


def test_later_edits_by_someone_else_are_detected(tree, ansible_module):
    backup, path = backup_of_login_defs(tree, ansible_module)
    with open(path, 'w') as handle:
        handle.write('by enforce\n')
    backup.close()
    with open(path, 'a') as handle:
        handle.write('by an administrator\n')
    assert Backup.load(str(tree / 'backups'), backup.id, ansible_module).edited_since() == [path]


def test_a_half_finished_run_still_has_a_usable_manifest(tree, ansible_module):
    """The manifest is written before each change: a run killed after its first change can roll back."""
    backup, path = backup_of_login_defs(tree, ansible_module)
    with open(path, 'w') as handle:
        handle.write('changed, then the run died\n')
    loaded = Backup.load(str(tree / 'backups'), backup.id, ansible_module)     # never closed
    assert loaded.manifest['state'] == 'open'
    assert loaded.restore_file(loaded.files()[0]) is True
    assert open(path, 'rb').read() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'


def test_unknown_corrupt_and_damaged_backups_are_refused_with_the_reason(tree, ansible_module):
    root = str(tree / 'backups')
    backup, _path = backup_of_login_defs(tree, ansible_module)
    with pytest.raises(BackupError, match='no backup 20200101T000000Z-000000 under .*backups on this host: %s' % backup.id):
        Backup.load(root, '20200101T000000Z-000000', ansible_module)
    with pytest.raises(BackupError, match='is not a backup id'):
        Backup.load(root, '../etc', ansible_module)
    blob = os.path.join(backup.directory, 'files', '0001')
    with open(blob, 'ab') as handle:
        handle.write(b'flipped')
    with pytest.raises(BackupError, match='is damaged: the saved copy of .*login.defs'):
        Backup.load(root, backup.id, ansible_module)
    with open(os.path.join(backup.directory, 'manifest.json'), 'w') as handle:
        handle.write('{"entries": [')
    with pytest.raises(BackupError, match='manifest of backup .* is corrupt'):
        Backup.load(root, backup.id, ansible_module)
    assert (tree / 'etc' / 'login.defs').read_bytes() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'   # nothing touched


def acl_of(path):
    import subprocess
    return subprocess.run(['getfacl', '--omit-header', '--absolute-names', str(path)], capture_output=True,
                          text=True, check=True).stdout


def test_writes_keep_acls_and_extended_attributes_and_a_new_file_is_never_readable_by_others(tree, ansible_module):
    """Hardening writes and restores go through AnsibleModule.atomic_move: a plain rename of a new file loses
    the ACL and xattrs the administrator set (and on SELinux hosts the file's label)."""
    import subprocess
    path = tree / 'etc' / 'login.defs'
    subprocess.run(['setfacl', '-m', 'u:nobody:r', str(path)], check=True)
    os.setxattr(path, 'user.bjeic.test', b'kept')
    acl = acl_of(path)
    assert 'user:nobody:r' in acl
    backup = Backup.create(str(tree / 'backups'), 'test', 'h', ansible_module)
    backup.save_file(str(path))
    write_atomic(ansible_module, str(path), b'PASS_MAX_DAYS\t90\n', mode=0o640, uid=0, gid=0)
    assert path.read_bytes() == b'PASS_MAX_DAYS\t90\n'
    assert os.getxattr(path, 'user.bjeic.test') == b'kept'
    assert 'user:nobody:r' in acl_of(path)
    backup.close()
    loaded = Backup.load(str(tree / 'backups'), backup.id, ansible_module)
    assert loaded.restore_file(loaded.files()[0]) is True
    assert path.read_bytes() == b'PASS_MAX_DAYS\t99999\n\xff raw byte\n'
    assert os.getxattr(path, 'user.bjeic.test') == b'kept' and acl_of(path) == acl
    # A file that did not exist: created 0600 under umask 077 first, then given the mode asked for.
    new = tree / 'etc' / 'new.conf'
    old_umask = os.umask(0o022)
    try:
        write_atomic(ansible_module, str(new), b'x\n', mode=0o640)
    finally:
        os.umask(old_umask)
    assert oct(os.stat(new).st_mode & 0o777) == '0o640'


def test_writes_keep_the_selinux_context_of_the_file(tree, ansible_module, monkeypatch):
    """No SELinux kernel here: the module's SELinux calls are stood in for, to show the context the file had
    is the one it is given back (what atomic_move does on an enforcing host)."""
    path = str(tree / 'etc' / 'login.defs')
    labels = {path: ['system_u', 'object_r', 'shadow_t', 's0']}
    given = []
    monkeypatch.setattr(ansible_module, 'selinux_enabled', lambda: True)
    monkeypatch.setattr(ansible_module, 'selinux_context', lambda p: labels[p])
    monkeypatch.setattr(ansible_module, 'set_context_if_different',
                        lambda p, context, changed, diff=None: given.append((p, context)))
    write_atomic(ansible_module, path, b'new\n', mode=0o640)
    assert given == [(path, ['system_u', 'object_r', 'shadow_t', 's0'])]
