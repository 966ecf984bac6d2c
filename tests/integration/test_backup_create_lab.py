"""backup_create on a lab host, with real data: a set is taken (owners, modes, an ACL and an xattr kept, a mount and
a symlink out of the set not followed), verified by backup_check's own code and by a restore, checked again by
backup_check from the same set list; retention removes the oldest only after the new one verified; a run killed
mid-archive leaves nothing that looks like a backup and the next run cleans up and succeeds; a destination without
room is refused before anything is written; check mode writes nothing; the record reaches the store."""
import json
import os
import subprocess
import time

import pytest

from labrun import ROOT, lab_hosts, run_module

pytestmark = pytest.mark.lab

HOST = 'pytest-bkcreate'

# /srv/app: data with an owner, a mode, an ACL (a named user) and a user xattr, a symlink to /etc (out of the
# set), a mount inside the set; /srv/big: incompressible data for the kill test; /small: a 16 MiB destination.
SETUP = r'''
set -e
mkdir -p /srv/app/conf /srv/app/data /srv/app/mnt /srv/big /backup
printf 'listen 8080\n' > /srv/app/conf/app.conf
chown 1234:1234 /srv/app/conf/app.conf && chmod 0640 /srv/app/conf/app.conf
head -c 2000000 /dev/urandom > /srv/app/data/blob.bin
seq 1 50000 > /srv/app/data/numbers.txt
ln -s /etc /srv/app/etc-link
mount -t tmpfs -o size=4m tmpfs /srv/app/mnt && echo mounted > /srv/app/mnt/inside.txt
python3 - <<'PY'
import os, struct
path = '/srv/app/conf/app.conf'
os.setxattr(path, 'user.bjeic.owner', b'ops-team')
entries = [(0x01, 6, 0xFFFFFFFF), (0x02, 6, 4321), (0x04, 4, 0xFFFFFFFF), (0x10, 6, 0xFFFFFFFF), (0x20, 0, 0xFFFFFFFF)]
os.setxattr(path, 'system.posix_acl_access', struct.pack('<I', 2) + b''.join(struct.pack('<HHI', *e) for e in entries))
PY
for i in $(seq 1 16); do head -c 20000000 /dev/urandom > /srv/big/part$i.bin; done
mkdir -p /small && mount -t tmpfs -o size=16m tmpfs /small
'''

SET = {'name': 'app', 'paths': ['/srv/app'], 'destination': '/backup/app', 'retention': {'keep': 2}, 'min_free_mb': 1}


@pytest.fixture(scope='module')
def host(labctl, tmp_path_factory):
    # The tmpfs mounts inside the set need the right to mount; the ACL and xattrs need a file system that keeps them.
    options = {'caps': ['SYS_ADMIN'], 'tmpfs': ['/srv:600m']}
    with lab_hosts(labctl, tmp_path_factory, [([HOST], options)], {HOST: SETUP}) as inventory:
        yield labctl, inventory


def take(inventory, tmp_path, sets, check_mode=False, expect_failure=False, **options):
    return run_module(inventory, HOST, 'bjeic.ops.backup_create', dict(options, sets=sets), tmp_path,
                      check_mode=check_mode, expect_failure=expect_failure)


def files(labctl, directory):
    return sorted(labctl.sh(HOST, 'ls -A %s 2>/dev/null || true' % directory).split())


def test_check_mode_writes_nothing_and_says_what_it_would_take(host, tmp_path):
    labctl, inventory = host
    result = take(inventory, tmp_path, [SET], check_mode=True)
    [record] = result['backups']
    assert record['state'] == 'planned' and record['files'] >= 3 and record['size'] > 2000000
    assert files(labctl, '/backup') == []


def test_a_set_is_taken_kept_whole_and_verified_by_the_check_and_a_restore(host, tmp_path):
    labctl, inventory = host
    result = take(inventory, tmp_path, [SET], restore_test=True)
    [record] = result['backups']
    assert (record['state'], record['verified'], record['kind']) == ('taken', True, 'file')
    name = record['path'].rsplit('/', 1)[1]
    assert files(labctl, '/backup/app') == ['.app.lock', name, name + '.sha256']
    assert result['sets'][0]['restore']['ok'] is True
    members = labctl.sh(HOST, 'tar --zstd -tf %s' % record['path']).split()
    assert 'srv/app/conf/app.conf' in members and 'srv/app/etc-link' in members
    # The mount point is kept as an empty directory (tar --one-file-system), not what is mounted there.
    assert not [m for m in members if m.startswith('srv/app/etc-link/') or m.startswith('srv/app/mnt/') and m != 'srv/app/mnt/']
    manifest = labctl.sh(HOST, 'cat %s.sha256' % record['path'])
    assert manifest.splitlines()[0].endswith('  ' + name) and 'srv/app/data/blob.bin' in manifest
    # Restored as an operator would: owner, mode, ACL and xattr came through.
    restored = labctl.sh(HOST, r'''rm -rf /tmp/r && mkdir /tmp/r && tar --zstd --acls --xattrs --xattrs-include='*' \
        -xpf %s -C /tmp/r && stat -c '%%u %%a' /tmp/r/srv/app/conf/app.conf /srv/app/conf/app.conf && python3 -c "
import os; p='/tmp/r/srv/app/conf/app.conf'
print(os.getxattr(p, 'user.bjeic.owner').decode(), os.getxattr(p, 'system.posix_acl_access') == os.getxattr(
    '/srv/app/conf/app.conf', 'system.posix_acl_access'))"''' % record['path']).split()
    # (the ACL's mask is the mode's group bits, on the source as on the restore)
    assert restored[:2] == restored[2:4] and restored[0] == '1234' and restored[4:] == ['ops-team', 'True']
    # The same set list, given to backup_check, finds the backup and agrees with it.
    checked = run_module(inventory, HOST, 'bjeic.ops.backup_check', {'sets': [SET]}, tmp_path)
    assert checked['findings'] == [] and checked['sets'][0]['newest'] == record['path']
    assert checked['sets'][0]['manifest']['checked'] == record['files'] + 1   # each file, and the archive itself
    assert checked['sets'][0]['verified'] is True


def test_retention_removes_the_oldest_only_after_the_new_one_verified(host, tmp_path):
    labctl, inventory = host
    for _ in range(2):
        time.sleep(1.1)     # archive names carry the second
        result = take(inventory, tmp_path, [SET])
    [record] = result['backups']
    archives = [f for f in files(labctl, '/backup/app') if f.endswith('.tar.zst')]
    assert len(archives) == 2 and record['path'].rsplit('/', 1)[1] == archives[-1]
    assert len(record['pruned']) == 1 and record['pruned'][0] < record['path']
    assert [c['action'] for c in result['changes']] == ['backup', 'prune']
    assert all(c['rollback']['irreversible'] for c in result['changes'])
    assert not [f for f in files(labctl, '/backup/app') if f.endswith('.sha256') and f[:-7] not in archives]


def test_a_run_killed_mid_archive_leaves_no_backup_and_the_next_run_succeeds(host, tmp_path):
    labctl, inventory = host
    big = {'name': 'big', 'paths': ['/srv/big'], 'destination': '/backup/big', 'min_free_mb': 1}
    play = tmp_path / 'play.yml'
    play.write_text(json.dumps([{'hosts': HOST, 'gather_facts': False,
                                 'tasks': [{'bjeic.ops.backup_create': {'sets': [big]}}]}]))
    runner = subprocess.Popen([ROOT + '/.venv/bin/ansible-playbook', '-i', str(inventory), str(play)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=dict(os.environ, ANSIBLE_CONFIG=ROOT + '/ansible.cfg', BJEIC_OPS_RECORD='false'))
    deadline = time.time() + 120
    while time.time() < deadline and not [f for f in files(labctl, '/backup/big') if f.endswith('.partial')]:
        time.sleep(0.1)
    # The module dies (with pipelining its command line does not name it: it is the host's only python3), then
    # tar and zstd, wherever it was - writing the archive or reading it back.
    labctl.sh(HOST, "pkill -9 -f '^[^ ]*python3'; pkill -9 -x tar; pkill -9 -x zstd; true")
    runner.wait(120)
    left = files(labctl, '/backup/big')
    assert [f for f in left if f.endswith('.partial')], left
    assert not [f for f in left if f.endswith('.tar.zst')], left       # nothing looks like a good backup
    result = take(inventory, tmp_path, [big])
    [record] = result['backups']
    assert record['state'] == 'taken' and record['verified'] is True
    assert [f for f in files(labctl, '/backup/big') if f.endswith('.partial')] == []
    assert len(record['removed_partials']) == 1


def test_a_destination_without_room_is_refused_before_writing(host, tmp_path):
    labctl, inventory = host
    small = {'name': 'big', 'paths': ['/srv/big'], 'destination': '/small/big', 'min_free_mb': 1}
    result = take(inventory, tmp_path, [small], expect_failure=True)
    [record] = result['backups']
    assert record['state'] == 'failed' and 'MiB free; this backup needs about' in record['error']
    assert 'nothing was written' in record['error']
    assert [f['check'] for f in result['findings']] == ['backup.failed']
    assert files(labctl, '/small/big') == ['.big.lock']


def test_the_record_reaches_the_store_and_its_export(host, tmp_path, cli):
    labctl, inventory = host
    cli('run', 'backup.yml', '-i', inventory, '--ticket', 'CHG-2026-201',
        '-e', json.dumps({'backup_sets': [dict(SET, name='conf', paths=['/srv/app/conf'], destination='/backup/conf')]}))
    [row] = json.loads(cli('backups', '--format', 'json').stdout)
    assert (row['set_name'], row['host'], row['backup_state'], row['backup_verified'], row['ticket']) == (
        'conf', HOST, 'taken', 'yes', 'CHG-2026-201')
    assert row['items'] == 1 and len(row['sha256']) == 64
    out = tmp_path / 'backups.csv'
    cli('backups', '--format', 'csv', '--out', out)
    header = out.read_text(encoding='utf-8-sig').splitlines()[0]
    assert '备份集' in header and '验证结果' in header
