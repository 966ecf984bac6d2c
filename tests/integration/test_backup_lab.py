"""backup_check on a lab host, against archives made there by the host's own tar, gzip and zstd:
good sets pass, and each kind of damage is reported with its own finding."""
import os

import pytest

from labrun import ROOT, lab_hosts, run_module, run_playbook

pytestmark = pytest.mark.lab

HOST = 'pytest-backup'

# The host's data and a backup job's output, made with the host's own tools.
SETUP = r'''
set -e
mkdir -p /srv/app/conf /srv/app/data /backup
printf 'listen 8080\nworkers 4\n' > /srv/app/conf/app.conf
head -c 300000 /dev/urandom > /srv/app/data/blob.bin
seq 1 20000 > /srv/app/data/numbers.txt
manifest() { (cd /srv && find app -type f | sort | xargs sha256sum); }

# good: two days of gzip tars, the newest with a manifest of its content and of itself
mkdir -p /backup/good && cd /backup/good
tar -czf app-1.tar.gz -C /srv app && touch -d '1 day ago' app-1.tar.gz
tar -czf app-2.tar.gz -C /srv app
manifest > app-2.tar.gz.sha256 && sha256sum app-2.tar.gz >> app-2.tar.gz.sha256

# good zstd and zip sets
mkdir -p /backup/zst /backup/zip
tar --zstd -cf /backup/zst/app-1.tar.zst -C /srv app
python3 -c "
import os, zipfile
with zipfile.ZipFile('/backup/zip/app-1.zip', 'w', zipfile.ZIP_DEFLATED) as z:
    for d, _, names in os.walk('/srv/app'):
        for n in names:
            p = os.path.join(d, n); z.write(p, os.path.relpath(p, '/srv'))
"

# truncated: the newest gzip tar lost its last 5000 bytes
mkdir -p /backup/trunc && tar -czf /tmp/full.tar.gz -C /srv app
head -c $(( $(stat -c %s /tmp/full.tar.gz) - 5000 )) /tmp/full.tar.gz > /backup/trunc/app-1.tar.gz

# flipped: one byte of a file's data changed inside a plain tar; only the manifest can tell
mkdir -p /backup/flip && tar -cf /backup/flip/app-1.tar -C /srv app && manifest > /backup/flip/app-1.tar.sha256
python3 -c "
import tarfile
with tarfile.open('/backup/flip/app-1.tar') as t:
    at = t.getmember('app/data/blob.bin').offset_data + 1000
with open('/backup/flip/app-1.tar', 'r+b') as f:
    f.seek(at); b = f.read(1); f.seek(at); f.write(bytes([b[0] ^ 1]))
"

# stale: three days old against a 24 h objective
mkdir -p /backup/stale && tar -czf /backup/stale/app-1.tar.gz -C /srv app && touch -d '3 days ago' /backup/stale/app-1.tar.gz

# shrunk: yesterday's backup had the data, today's has only the configuration
mkdir -p /backup/shrunk
tar -czf /backup/shrunk/app-1.tar.gz -C /srv app && touch -d '1 day ago' /backup/shrunk/app-1.tar.gz
tar -czf /backup/shrunk/app-2.tar.gz -C /srv app/conf

# unrestorable: a sound archive whose member climbs out of the restore directory; GNU tar refuses it
mkdir -p /backup/evil && python3 -c "
import io, tarfile
with tarfile.open('/backup/evil/app-1.tar.gz', 'w:gz') as t:
    t.add('/srv/app/conf/app.conf', 'app/conf/app.conf')
    data = b'owned\n'; info = tarfile.TarInfo('../../escaped.txt'); info.size = len(data)
    t.addfile(info, io.BytesIO(data))
"
'''


@pytest.fixture(scope='module')
def backup_host(labctl, tmp_path_factory):
    with lab_hosts(labctl, tmp_path_factory, [([HOST], {})], {HOST: SETUP}) as inventory:
        yield inventory


def check(inventory, tmp_path, sets, check_mode=False, **options):
    args = dict(options, sets=sets)
    return run_module(inventory, HOST, 'bjeic.ops.backup_check', args, tmp_path, check_mode=check_mode)


def by_set(result):
    return {state['name']: state for state in result['sets']}


def checks_of(result, name):
    return sorted((f['check'], f['severity']) for f in result['findings'] if f['subject'] == name)


def test_good_sets_pass_and_restore_against_the_live_files(backup_host, tmp_path):
    result = check(backup_host, tmp_path, [
        {'name': 'good', 'path': '/backup/good/app-*.tar.gz', 'manifest': '{file}.sha256', 'source': '/srv/app',
         'min_size': '10K'},
        {'name': 'zst', 'path': '/backup/zst/*.tar.zst', 'source': '/srv/app'},
        {'name': 'zip', 'path': '/backup/zip/*.zip', 'source': '/srv/app'},
    ], restore_test=True)
    assert result['findings'] == []
    sets = by_set(result)
    good = sets['good']
    assert good['newest'] == '/backup/good/app-2.tar.gz' and good['previous'] == '/backup/good/app-1.tar.gz'
    assert good['verified'] is True and good['members'] == 3
    assert good['manifest']['checked'] == 4 and not good['manifest']['different']   # 3 members + the file itself
    for name in ('good', 'zst', 'zip'):
        restore = sets[name]['restore']
        assert restore['ok'] is True and restore['cleaned'] is True, (name, restore)
        assert restore['files'] == 3 and restore['live'] == {'source': '/srv/app', 'same': 3, 'different': 0,
                                                             'absent_live': 0, 'different_pct': 0.0}
        assert restore['restore_seconds'] >= 0 and restore['compare_seconds'] >= 0
    # the restore cleaned up after itself
    left = run_module(backup_host, HOST, 'ansible.builtin.find',
                      {'paths': '/var/tmp', 'patterns': 'bjeic-restore-*', 'file_type': 'directory'}, _mk(tmp_path, 'find'))
    assert left['matched'] == 0
    ledger = {item['key']: item for item in result['ledger']}
    item = ledger['backup:good@%s' % HOST]
    assert item['kind'] == 'backup' and item['attrs']['max_age_hours'] == 24
    assert item['attrs']['state']['restore']['ok'] is True


def test_each_kind_of_damage_has_its_finding(backup_host, tmp_path):
    result = check(backup_host, tmp_path, [
        {'name': 'trunc', 'path': '/backup/trunc/*.tar.gz'},
        {'name': 'flip', 'path': '/backup/flip/*.tar', 'manifest': '{file}.sha256'},
        {'name': 'stale', 'path': '/backup/stale/*.tar.gz'},
        {'name': 'shrunk', 'path': '/backup/shrunk/*.tar.gz'},
        {'name': 'evil', 'path': '/backup/evil/*.tar.gz'},
        {'name': 'absent', 'path': '/backup/nothing/*.tar.gz'},
        {'name': 'tiny', 'path': '/backup/good/app-2.tar.gz', 'min_size': '10M'},
    ], restore_test=True)
    assert checks_of(result, 'trunc') == [('backup.corrupt', 'critical')]
    assert checks_of(result, 'flip') == [('backup.corrupt', 'critical')]
    assert checks_of(result, 'stale') == [('backup.stale', 'critical')]
    assert checks_of(result, 'shrunk') == [('backup.shrunk', 'warning')]
    assert checks_of(result, 'evil') == [('backup.restore_failed', 'critical')]
    assert checks_of(result, 'absent') == [('backup.missing', 'critical')]
    assert checks_of(result, 'tiny') == [('backup.shrunk', 'critical')]
    sets = by_set(result)
    assert sets['trunc']['verified'] is False and sets['trunc']['restore']['ok'] is None
    assert sets['flip']['manifest']['different'] == ['app/data/blob.bin']
    assert sets['shrunk']['shrink_pct'] > 50
    assert "'..'" in sets['evil']['restore']['problem'] and sets['evil']['restore']['cleaned'] is True
    escaped = run_module(backup_host, HOST, 'ansible.builtin.stat', {'path': '/var/escaped.txt'}, _mk(tmp_path, 'st'))
    assert escaped['stat']['exists'] is False


def test_live_files_changed_since_the_backup_fail_the_restore_test(backup_host, labctl, tmp_path):
    labctl.sh(HOST, 'mkdir -p /srv/changed && cp -r /srv/app /srv/changed/ && cd /srv/changed && '
                    'tar -czf /backup/changed.tar.gz app && echo new >> app/conf/app.conf && echo new >> app/data/numbers.txt')
    result = check(backup_host, tmp_path, [{'name': 'changed', 'path': '/backup/changed.tar.gz',
                                            'source': '/srv/changed/app'}], restore_test=True)
    assert checks_of(result, 'changed') == [('backup.restore_failed', 'critical')]
    live = by_set(result)['changed']['restore']['live']
    assert live['same'] == 1 and live['different'] == 2
    allowed = check(backup_host, _mk(tmp_path, 'allowed'), [{'name': 'changed', 'path': '/backup/changed.tar.gz',
                                                             'source': '/srv/changed/app'}],
                    restore_test=True, restore_max_diff_pct=70)
    assert allowed['findings'] == []


def test_check_mode_skips_the_restore_and_bad_input_is_refused(backup_host, tmp_path):
    result = check(backup_host, tmp_path, [{'name': 'good', 'path': '/backup/good/app-*.tar.gz'}], check_mode=True,
                   restore_test=True)
    assert result['changed'] is False and by_set(result)['good']['restore'] == {'ok': None, 'skipped': 'check mode'}
    refused = run_module(backup_host, HOST, 'bjeic.ops.backup_check',
                         {'sets': [{'name': 'a', 'path': '/x'}, {'name': 'a', 'path': '/y'}]}, _mk(tmp_path, 'dup'),
                         expect_failure=True)
    assert 'repeated: a' in refused['msg']
    refused = run_module(backup_host, HOST, 'bjeic.ops.backup_check',
                         {'sets': [{'name': 'a', 'path': '/x', 'min_size': 'lots'}]}, _mk(tmp_path, 'size'),
                         expect_failure=True)
    assert 'min_size' in refused['msg']


def test_the_playbook_fails_loudly_on_a_critical_finding(backup_host, tmp_path):
    report = tmp_path / 'report'
    good = {'backup_verify_sets': [{'name': 'good', 'path': '/backup/good/app-*.tar.gz', 'manifest': '{file}.sha256'}],
            'backup_verify_restore_test': True, 'backup_verify_report_dir': str(report)}
    run_playbook(os.path.join(ROOT, 'playbooks', 'backup_verify.yml'), backup_host, dict(good, target=HOST))
    assert (report / ('%s.json' % HOST)).exists()
    bad = dict(good, backup_verify_sets=good['backup_verify_sets'] + [{'name': 'trunc', 'path': '/backup/trunc/*.tar.gz'}])
    done = run_playbook(os.path.join(ROOT, 'playbooks', 'backup_verify.yml'), backup_host, dict(bad, target=HOST),
                        check=False)
    assert done.returncode != 0
    assert 'backup.corrupt' in done.stdout and 'trunc' in done.stdout


def _mk(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path
