# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of one file backup set (backup_check): newest archive's age and size against the last ones,
reading it through, its manifest, and a restore into scratch compared with the manifest or the live files."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import gzip
import os
import shutil
import tempfile
import time
import zipfile

from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive
from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, unavailable
from ansible_collections.bjeic.ops.plugins.module_utils.findings import stale_severity


SPACE_MARGIN = 1.1   # room a restore needs: the unpacked size plus a tenth


def iso(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


class SetCheck:
    """The checks of one backup set; findings go to `add`, facts to `state`."""

    def __init__(self, module, spec, add):
        self.module, self.spec, self.add = module, spec, add
        self.name = spec['name']
        self.state = {'name': self.name, 'path': spec['path'], 'newest': None, 'count': 0, 'verified': None,
                      'restore': None}
        self.members = None

    def run(self):
        matches = archive.newest_first(self.spec['path'])
        self.state['count'] = len(matches)
        if not matches:
            self.add(finding('backup.missing', 'critical', self.name,
                             'backup set %s: nothing matches %s - the backup job is not producing files there'
                             % (self.name, self.spec['path'])))
            return self.state
        newest = matches[0]
        fmt = archive.format_of(newest)
        mtime = os.path.getmtime(newest)
        size = archive.path_size(newest)
        self.state.update(newest=newest, format=fmt, mtime=iso(mtime), size=size,
                          age_hours=round((time.time() - mtime) / 3600.0, 2),
                          previous=matches[1] if len(matches) > 1 else None,
                          previous_size=archive.path_size(matches[1]) if len(matches) > 1 else None)
        self.check_age()
        self.check_size()
        if self.spec['verify']:
            self.verify(newest, fmt)
        if self.module.params['restore_test'] and archive.is_archive(fmt):
            if self.module.check_mode:
                self.state['restore'] = {'ok': None, 'skipped': 'check mode'}
            elif self.members is None:
                why = 'the archive was not read through (see the findings)' if self.spec['verify'] else 'verify is off for this set'
                self.state['restore'] = {'ok': None, 'skipped': why}
            else:
                self.restore(newest, fmt)
        return self.state

    # ------------------------------------------------------------ age and size
    def check_age(self):
        limit = self.spec['max_age_hours']
        age = self.state['age_hours']
        severity = stale_severity(age, limit)
        if severity:
            self.add(finding('backup.stale', severity, self.name,
                             'backup set %s: newest backup %s is %.1f h old, the set allows %s h (RPO)'
                             % (self.name, self.state['newest'], age, limit), value=age, threshold=limit))

    def check_size(self):
        size, previous = self.state['size'], self.state['previous_size']
        minimum = self.spec['min_size_bytes']
        if size < minimum:
            self.add(finding('backup.shrunk', 'critical', self.name,
                             'backup set %s: newest backup %s is %d bytes, below the minimum of %d bytes'
                             % (self.name, self.state['newest'], size, minimum), value=size, threshold=minimum))
            return
        if previous:
            shrink = round(100.0 * (previous - size) / previous, 1)
            self.state['shrink_pct'] = shrink
            limit = self.module.params['shrink_threshold_pct']
            if shrink >= limit:
                self.add(finding('backup.shrunk', 'warning', self.name,
                                 'backup set %s: newest backup %s is %.1f%% smaller than the previous one (%d -> %d bytes)'
                                 % (self.name, self.state['newest'], shrink, previous, size), value=shrink, threshold=limit))

    # ------------------------------------------------------------ integrity and manifest
    def verify(self, path, fmt):
        if not os.access(path, os.R_OK):
            self.add(unavailable('backup.unavailable', self.name,
                                 'backup set %s: %s is not readable by this user - run with become' % (self.name, path)))
            return
        started = time.time()
        if archive.is_archive(fmt):
            try:
                self.members = archive.read_through(path, fmt)
            except archive.ToolMissing as exc:
                self.add(unavailable('backup.unavailable', self.name, 'backup set %s: %s' % (self.name, exc)))
                return
            except archive.ArchiveError as exc:
                self.state['verified'] = False
                self.add(finding('backup.corrupt', 'critical', self.name,
                                 'backup set %s: %s (%s) cannot be read through: %s'
                                 % (self.name, path, fmt, exc), value=str(exc)))
                return
            self.state['members'] = len(self.members)
        elif fmt == 'directory':
            self.members = archive.tree(path)
            self.state['members'] = len(self.members)
        self.state['verified'] = self.check_manifest(path)
        self.state['verify_seconds'] = round(time.time() - started, 3)

    def check_manifest(self, path):
        """True when the manifest agrees (or there is none to check); False on a mismatch."""
        template = self.spec.get('manifest')
        if not template:
            return True if self.members is not None else None
        manifest_path = template.replace('{file}', path).replace('{name}', self.name)
        try:
            with open(manifest_path) as handle:
                entries, bad = archive.parse_manifest(handle.read())
        except (IOError, OSError) as exc:
            self.add(finding('backup.manifest', 'warning', self.name,
                             'backup set %s: manifest %s cannot be read (%s): the backup is not checked against it'
                             % (self.name, manifest_path, exc.strerror or exc)))
            return True if self.members is not None else None
        if bad or not entries:
            self.add(finding('backup.manifest', 'warning', self.name,
                             'backup set %s: manifest %s has %d line(s) that are not sha256sum lines, e.g. %r'
                             % (self.name, manifest_path, len(bad), bad[0] if bad else '(empty file)')))
        whole, content = archive.split_manifest(entries, path, self.members)
        report = {'path': manifest_path, 'checked': 0, 'missing': [], 'different': []}
        if whole and os.path.isfile(path):
            report['checked'] += 1
            if archive.file_sha256(path) != list(whole.values())[0]:
                report['different'].append(os.path.basename(path))
        if content:
            if self.members is None:
                self.add(unavailable('backup.unavailable', self.name, 'backup set %s: %s is not an archive or '
                                     'directory: its content entries in the manifest are not checked' % (self.name, path)))
            else:
                found = archive.compare(content, self.members)
                report['checked'] += len(content)
                report['missing'] += found['missing']
                report['different'] += found['different']
        self.state['manifest'] = report
        if report['missing'] or report['different']:
            self.add(finding('backup.corrupt', 'critical', self.name,
                             'backup set %s: %s disagrees with its manifest %s: %d different (%s), %d missing (%s)'
                             % (self.name, path, manifest_path, len(report['different']),
                                ', '.join(report['different'][:5]) or '-', len(report['missing']),
                                ', '.join(report['missing'][:5]) or '-'),
                             value={'different': len(report['different']), 'missing': len(report['missing'])}))
            return False
        return True

    # ------------------------------------------------------------ restore test
    def restore(self, path, fmt):
        needed = int(sum(m['size'] for m in self.members.values()) * SPACE_MARGIN)
        scratch_root = self.module.params['scratch_dir']
        try:
            free = archive.free_bytes(scratch_root)
        except OSError as exc:
            self.skip_restore('scratch_dir %s cannot be used (%s)' % (scratch_root, exc.strerror or exc))
            return
        if free < needed:
            self.skip_restore('%s has %d MiB free, the restore needs about %d MiB'
                              % (scratch_root, free // 2 ** 20, needed // 2 ** 20 + 1))
            return
        try:
            scratch = tempfile.mkdtemp(prefix='bjeic-restore-%s-' % self.name.replace('/', '_'), dir=scratch_root)
        except OSError as exc:
            self.skip_restore('cannot make a directory under %s (%s)' % (scratch_root, exc.strerror or exc))
            return
        outcome = {'ok': False, 'scratch': scratch, 'cleaned': False}
        self.state['restore'] = outcome
        try:
            started = time.time()
            problem = self.extract(path, fmt, scratch)
            outcome['restore_seconds'] = round(time.time() - started, 3)
            if problem is None:
                started = time.time()
                problem = self.compare_restored(scratch, outcome)
                outcome['compare_seconds'] = round(time.time() - started, 3)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            outcome['cleaned'] = not os.path.exists(scratch)
        outcome['ok'] = problem is None
        if problem:
            outcome['problem'] = problem
            self.add(finding('backup.restore_failed', 'critical', self.name,
                             'backup set %s: restore test of %s failed: %s' % (self.name, path, problem), value=problem))

    def skip_restore(self, why):
        self.state['restore'] = {'ok': None, 'skipped': why}
        self.add(finding('backup.restore_skipped', 'warning', self.name,
                         'backup set %s: restore test skipped: %s' % (self.name, why)))

    def extract(self, path, fmt, scratch):
        """None when the archive was unpacked, else why not."""
        if fmt.startswith('tar'):
            rc, out, err = self.module.run_command(archive.extract_command(path, fmt, scratch))
            if rc != 0:
                return 'tar exited %d: %s' % (rc, (err or out).strip()[-400:])
            return None
        try:
            if fmt == 'zip':
                with zipfile.ZipFile(path) as handle:
                    handle.extractall(scratch)
            elif fmt == 'gzip':
                name = list(self.members)[0]
                with gzip.open(path, 'rb') as source, open(os.path.join(scratch, name), 'wb') as target:
                    shutil.copyfileobj(source, target, archive.CHUNK)
            else:   # zst
                name = list(self.members)[0]
                rc, out, err = self.module.run_command(['zstd', '-d', '-q', '-o', os.path.join(scratch, name), path])
                if rc != 0:
                    return 'zstd exited %d: %s' % (rc, (err or out).strip()[-400:])
        except (IOError, OSError, EOFError) as exc:
            return '%s: %s' % (type(exc).__name__, exc)
        return None

    def compare_restored(self, scratch, outcome):
        """None when the restored files are whole, else what is wrong."""
        restored = archive.tree(scratch)
        outcome.update(files=len(restored), bytes=sum(f['size'] for f in restored.values()))
        lost = archive.compare(self.members, restored)
        if lost['missing'] or lost['different']:
            return ('%d file(s) of the archive missing after the restore (%s), %d restored with other content (%s)'
                    % (len(lost['missing']), ', '.join(lost['missing'][:5]) or '-',
                       len(lost['different']), ', '.join(lost['different'][:5]) or '-'))
        if not restored:
            return 'the archive restored no files'
        if self.spec.get('source'):
            return self.compare_live(restored, outcome)
        return None

    def compare_live(self, restored, outcome):
        source = self.spec['source']
        same = different = absent = 0
        examples = []
        for member, info in restored.items():
            live = archive.live_path(source, member)
            if not os.path.isfile(live):
                absent += 1
                continue
            if os.path.getsize(live) == info['size'] and archive.file_sha256(live) == info['sha256']:
                same += 1
            else:
                different += 1
                examples.append(member)
        outcome['live'] = {'source': source, 'same': same, 'different': different, 'absent_live': absent}
        compared = same + different
        if not compared:
            return 'no restored file exists under the live source %s: is source right for this set?' % source
        share = 100.0 * different / compared
        outcome['live']['different_pct'] = round(share, 1)
        if share > self.module.params['restore_max_diff_pct']:
            return ('%.1f%% of the restored files differ from the live files under %s (allowed %s%%), e.g. %s'
                    % (share, source, self.module.params['restore_max_diff_pct'], ', '.join(sorted(examples)[:5])))
        return None


def check_set(module, spec, add):
    check = SetCheck(module, spec, add)
    try:
        return check.run()
    except (IOError, OSError) as exc:   # a backup rotated away mid-check, an unreadable directory
        add(unavailable('backup.unavailable', spec['name'], 'backup set %s could not be checked: %s: %s'
                        % (spec['name'], type(exc).__name__, exc)))
        return check.state


def ledger_item(host, spec, state):
    """The set's configuration as the ledger item; what changes every run goes under `state` (no drift)."""
    attrs = {'set': spec['name'], 'host': host, 'path': spec['path'], 'max_age_hours': spec['max_age_hours'],
             'min_size': spec['min_size'], 'manifest': spec.get('manifest'), 'source': spec.get('source'),
             'state': dict((k, v) for k, v in state.items() if k not in ('name', 'path'))}
    return contract.ledger_item('backup', contract.key('backup', spec['name'], host), attrs)
