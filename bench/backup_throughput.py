"""File backup throughput: bjeic.ops.backup_create against plain `tar | zstd` on the same data, side by side.

One lab host (podman container from the lab image) gets ≥ 1 GiB of mixed files on a tmpfs - random data (does not
compress), text (compresses well) and many small files - then, alternating, a plain `tar -cf - | zstd -T0 -3` and
a backup_create run of the same set, each writing to the same tmpfs. The module's own `archive_seconds` (tar and
zstd, the part plain tar does) and its total (with the read-back, the manifest and the rename) are reported.

    .venv/bin/python bench/backup_throughput.py --repeat 3
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'lab'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
os.environ.setdefault('CONTAINERS_CONF', os.path.join(ROOT, 'lab', 'containers.conf'))
import labctl  # noqa: E402
from labrun import run_module  # noqa: E402

HOST = 'bench-backup'
DATA = r'''
set -e
mkdir -p /srv/data/random /srv/data/text /srv/data/small /srv/out
for i in $(seq 1 12); do head -c 40000000 /dev/urandom > /srv/data/random/r$i.bin; done
for i in $(seq 1 12); do seq 1 6000000 | sed 's/$/ ledger line of the daily inspection/' | head -c 45000000 > /srv/data/text/t$i.txt; done
python3 -c "
import os
for d in range(40):
    os.makedirs('/srv/data/small/%d' % d, exist_ok=True)
    for f in range(250):
        open('/srv/data/small/%d/%d.conf' % (d, f), 'w').write(('key%d = value %d\n' % (f, d)) * 40)
"
du -sb /srv/data | cut -f1
'''


def plain():
    # Timed inside the host, as the module times its own tar (podman exec's own start is not the pipeline's).
    out = labctl.sh(HOST, 'rm -f /srv/out/plain.tar.zst; s=$(date +%s.%N); '
                          'tar -cf - -C / srv/data | zstd -T0 -3 -q -o /srv/out/plain.tar.zst; e=$(date +%s.%N); echo $s $e')
    started, finished = map(float, out.split())
    return finished - started


def project(inventory, workdir):
    labctl.sh(HOST, 'rm -rf /srv/out/set')
    started = time.time()
    result = run_module(inventory, HOST, 'bjeic.ops.backup_create', {'sets': [
        {'name': 'data', 'paths': ['/srv/data'], 'destination': '/srv/out/set', 'min_free_mb': 1}]}, workdir)
    wall = time.time() - started
    [record] = result['backups']
    assert record['state'] == 'taken' and record['verified'], record
    return record['archive_seconds'], record['seconds'], wall, record['size']


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--out', default=os.path.join(ROOT, 'bench', 'results', 'backup-throughput.json'))
    options = parser.parse_args()
    import tempfile
    import pathlib
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='bench-backup-'))
    try:
        [host] = labctl.up([HOST], tmpfs=['/srv:4g'])
        inventory = workdir / 'hosts.ini'
        inventory.write_text(labctl.inventory([host]))
        size = int(labctl.sh(HOST, DATA).split()[-1])
        rows = []
        for index in range(options.repeat):
            order = ('plain', 'project') if index % 2 == 0 else ('project', 'plain')
            row = {}
            for which in order:
                if which == 'plain':
                    row['plain_seconds'] = round(plain(), 2)
                else:
                    archive, total, wall, archive_size = project(inventory, workdir)
                    row.update(archive_seconds=archive, module_seconds=total, ansible_wall=round(wall, 2),
                               archive_bytes=archive_size)
            rows.append(row)
            print(json.dumps(row))
        plain_s = statistics.median(r['plain_seconds'] for r in rows)
        archive_s = statistics.median(r['archive_seconds'] for r in rows)
        total_s = statistics.median(r['module_seconds'] for r in rows)
        summary = {'data_bytes': size, 'plain_mib_s': round(size / plain_s / 2 ** 20, 1),
                   'archive_mib_s': round(size / archive_s / 2 ** 20, 1),
                   'ratio_archive': round(plain_s / archive_s, 3), 'ratio_with_verification': round(plain_s / total_s, 3),
                   'repeats': rows, 'date': time.strftime('%Y-%m-%d'),
                   'machine': '%s, %d CPUs, %s' % (platform.processor() or platform.machine(), os.cpu_count(), platform.platform())}
        with open(options.out, 'w') as handle:
            json.dump(summary, handle, indent=2)
        print(json.dumps(dict((k, v) for k, v in summary.items() if k != 'repeats'), indent=2))
    finally:
        labctl.down([HOST])


if __name__ == '__main__':
    main()
