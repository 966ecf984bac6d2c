"""module_utils.fs_walk on real files: what the inspection and the duty watch walk, and what they must not."""
import os

from ansible_collections.bjeic.ops.plugins.module_utils.fs_walk import OneFileSystemWalk


def tree(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    for name in ('a/one', 'a/b/two', 'three'):
        (tmp_path / name).write_text(name)
    outside = tmp_path.parent / (tmp_path.name + '-outside')
    outside.mkdir()
    (outside / 'secret').write_text('x')
    os.symlink(str(outside), str(tmp_path / 'a' / 'link-to-dir'))   # never followed
    os.symlink(str(outside / 'secret'), str(tmp_path / 'link-to-file'))   # listed as the link itself
    return outside


def test_every_entry_once_links_not_followed(tmp_path):
    outside = tree(tmp_path)
    walk = OneFileSystemWalk([str(tmp_path)], 100)
    names = sorted(os.path.relpath(path, str(tmp_path)) for path, _info in walk)
    # a link to a directory is neither entered nor listed (os.walk files it under dirs, where it is dropped)
    assert names == ['a/b/two', 'a/one', 'link-to-file', 'three']
    assert not walk.truncated and not any(str(outside) in name for name in names)


def test_the_budget_is_shared_by_all_tops_and_says_it_ran_out(tmp_path):
    tree(tmp_path)
    walk = OneFileSystemWalk([str(tmp_path / 'a'), str(tmp_path)], 3)
    assert len(list(walk)) == 3 and walk.truncated


def test_missing_file_and_linked_tops(tmp_path):
    outside = tree(tmp_path)
    assert list(OneFileSystemWalk([str(tmp_path / 'missing'), str(tmp_path / 'three')], 10)) == []
    linked = str(tmp_path / 'a' / 'link-to-dir')
    assert [os.path.basename(p) for p, _i in OneFileSystemWalk([linked], 10)] == ['secret']   # a named top is walked
    assert list(OneFileSystemWalk([linked], 10, skip_linked_tops=True)) == []
    assert os.path.exists(str(outside / 'secret'))


def test_it_does_not_leave_the_file_system(tmp_path):
    # /dev is its own file system (devtmpfs or tmpfs) wherever tests run; walking / must not enter it.
    walk = OneFileSystemWalk(['/'], 2000)
    assert not any(path.startswith(('/dev/', '/proc/', '/sys/')) for path, _info in walk)
