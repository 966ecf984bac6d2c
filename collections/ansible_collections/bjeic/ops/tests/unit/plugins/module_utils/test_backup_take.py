"""backup_take: retention rules, the archive names it owns, and one set taken for real with this machine's GNU tar and
zstd through a real AnsibleModule - including a verification that fails, after which nothing is pruned."""
import os
import shutil
import time

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import backup_take
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings


def stamps(*texts):
    return [('/b/app-%s.tar.zst' % t, t) for t in texts]


def test_retention_by_count_and_by_period():
    backups = stamps('20261202T020000Z', '20261201T020000Z', '20261201T010000Z', '20261124T020000Z',
                     '20261101T020000Z', '20261001T020000Z')
    kept, pruned = backup_take.to_keep(backups, {'keep': 2})
    assert [s for _p, s in kept] == ['20261202T020000Z', '20261201T020000Z']
    kept = backup_take.to_keep(backups, {'daily': 2, 'weekly': 2, 'monthly': 3})[0]
    # the newest of 2 days, of 2 ISO weeks (W49, W48), of 3 months (Dec, Nov - its newest is the 24th -, Oct)
    assert [s for _p, s in kept] == ['20261202T020000Z', '20261201T020000Z', '20261124T020000Z', '20261001T020000Z']
    now = time.mktime(time.strptime('20261202T030000', '%Y%m%dT%H%M%S')) - time.timezone
    kept, pruned = backup_take.to_keep(backups, {'keep': 6, 'max_age_days': 10}, now=now)
    assert [s for _p, s in pruned] == ['20261101T020000Z', '20261001T020000Z']
    assert backup_take.to_keep(backups[:1], {'keep': 0}) == (backups[:1], [])     # the newest always stays


def test_only_its_own_archives_count(tmp_path):
    for name in ('app-20261201T020000Z.tar.zst', 'app-20261202T020000Z.tar.zst', 'app-20261202T020000Z.tar.zst.sha256',
                 '.app-20261203T020000Z.tar.zst.partial', 'application-20261202T020000Z.tar.zst', 'app-latest.tar.zst',
                 'app-20261202T020000Z.tar.gz'):
        (tmp_path / name).write_text('x')
    spec = {'name': 'app', 'destination': str(tmp_path), 'compression': 'zstd'}
    assert [os.path.basename(p) for p, _s in backup_take.existing(spec)] == [
        'app-20261202T020000Z.tar.zst', 'app-20261201T020000Z.tar.zst']
    assert [os.path.basename(p) for p in backup_take.leftovers(spec)] == ['.app-20261203T020000Z.tar.zst.partial']


def test_the_tar_command_keeps_metadata_and_follows_no_link():
    spec = {'compression': 'zstd', 'one_file_system': True, 'exclude': ['*.tmp'], 'paths': ['/etc', '/srv/app']}
    command = backup_take.tar_command(spec, '/b/.x.partial')
    for flag in ('--acls', '--xattrs', '--numeric-owner', '--one-file-system', '--exclude=*.tmp', '--format=posix'):
        assert flag in command
    assert '--dereference' not in command and '-h' not in command
    assert command[-4:] == ['/', '--', 'etc', 'srv/app']


@pytest.mark.skipif(not (shutil.which('tar') and shutil.which('zstd')), reason='needs GNU tar and zstd on this machine')
@pytest.mark.parametrize('verified', [True, False])
def test_a_set_taken_for_real_prunes_only_after_it_verified(tmp_path, ansible_module, verified):
    data = tmp_path / 'data'
    data.mkdir()
    (data / 'a.txt').write_text('alpha\n')
    (data / 'b.bin').write_bytes(os.urandom(4096))
    destination = tmp_path / 'backup'
    destination.mkdir()
    old = destination / 'app-20200101T000000Z.tar.zst'
    old.write_bytes(b'an old backup')
    spec = {'name': 'app', 'paths': [str(data)], 'exclude': [], 'destination': str(destination), 'compression': 'zstd',
            'one_file_system': True, 'retention': {'keep': 1}, 'min_free_mb': 0}
    findings = Findings()
    take = backup_take.SetTake(ansible_module, spec, findings, 'web01')
    seen = []
    take.run(lambda check: seen.append(check) or verified)
    record = take.record
    assert record['state'] == 'taken' and record['files'] == 2 and record['verified'] is verified
    assert os.path.exists(record['path']) and os.path.exists(record['path'] + '.sha256')
    assert seen[0]['path'] == str(destination / 'app-*.tar.zst') and seen[0]['manifest'] == '{file}.sha256'
    lines = open(record['path'] + '.sha256').read().splitlines()
    assert lines[0] == '%s  %s' % (record['sha256'], os.path.basename(record['path']))
    assert sorted(line.split('  ')[1] for line in lines[1:]) == sorted(
        os.path.join(str(data), n).lstrip('/') for n in ('a.txt', 'b.bin'))
    assert old.exists() is not verified
    assert record['pruned'] == ([str(old)] if verified else [])
    assert [f['check'] for f in findings.items] == ([] if verified else ['backup.failed'])
    assert not backup_take.leftovers(spec)
