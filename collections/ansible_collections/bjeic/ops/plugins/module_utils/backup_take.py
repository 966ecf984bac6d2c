# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Taking a file backup set (系统数据备份): GNU tar (owners, modes, ACLs, xattrs; one file system; symlinks kept as
links) through zstd or gzip into a hidden `.partial` file beside the final name, read through, given a sha256
manifest in the format backup_check reads, and only then renamed to its final name - so a run that dies leaves
nothing that looks like a good backup. Retention prunes only after the new backup has been verified.

A set is {name, paths, exclude, destination, compression, retention, one_file_system}; `check_spec()` gives the
same set in backup_check's terms (path glob, manifest, source), so one list describes what is taken and checked.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import calendar
import fcntl
import fnmatch
import os
import re
import shutil
import time

from ansible_collections.bjeic.ops.plugins.module_utils import backup_archive as archive

SUFFIX = {'zstd': '.tar.zst', 'gzip': '.tar.gz'}
COMPRESSOR = {'zstd': 'zstd -T0 -3 -q', 'gzip': 'gzip -6'}
STAMP = '%Y%m%dT%H%M%SZ'
GROWTH = 1.25          # the room a new backup needs: the previous one's size and a quarter


class TakeError(Exception):
    """A backup that cannot be taken; the message says why, and that nothing was written."""


def archive_name(spec, stamp):
    return '%s-%s%s' % (spec['name'], stamp, SUFFIX[spec['compression']])


def check_spec(spec):
    """The set as backup_check reads it."""
    return {'name': spec['name'], 'path': os.path.join(spec['destination'], '%s-*%s' % (spec['name'], SUFFIX[spec['compression']])),
            'max_age_hours': spec.get('max_age_hours') or 24.0, 'min_size': spec.get('min_size') or '1',
            'manifest': '{file}.sha256', 'source': '/', 'verify': True}


def source_bytes(paths, exclude, one_file_system):
    """Apparent size of what the set would take (no symlink followed, mounts skipped when asked)."""
    total, count = 0, 0
    for top in paths:
        if os.path.islink(top) or not os.path.isdir(top):
            if os.path.lexists(top):
                total += os.lstat(top).st_size
                count += 1
            continue
        device = os.lstat(top).st_dev
        for root, dirs, files in os.walk(top):
            if one_file_system:
                dirs[:] = [d for d in dirs if os.lstat(os.path.join(root, d)).st_dev == device]
            dirs[:] = [d for d in dirs if not _excluded(os.path.join(root, d), exclude)]
            for name in files:
                path = os.path.join(root, name)
                if not _excluded(path, exclude):
                    try:
                        total += os.lstat(path).st_size
                        count += 1
                    except OSError:
                        pass
    return total, count


def _excluded(path, patterns):
    return any(fnmatch.fnmatch(path, p) or fnmatch.fnmatch(os.path.basename(path), p) for p in patterns)


def existing(spec, suffix=None, directories=False):
    """The set's backups in `destination`, newest first: [(path, stamp)] - files named NAME-STAMP<suffix> (the set's
    archive suffix by default), or with `directories` backup directories (a physical database set)."""
    suffix = SUFFIX[spec['compression']] if suffix is None else suffix
    pattern = re.compile(r'^%s-(\d{8}T\d{6}Z)%s$' % (re.escape(spec['name']), re.escape(suffix)))
    found = []
    directory = spec['destination']
    for entry in os.listdir(directory) if os.path.isdir(directory) else []:
        match = pattern.match(entry)
        path = os.path.join(directory, entry)
        if match and os.path.isdir(path) == directories:
            found.append((path, match.group(1)))
    return sorted(found, key=lambda item: item[1], reverse=True)


def tar_command(spec, partial):
    command = ['tar', '--create', '--file', partial, '--format=posix', '--acls', '--xattrs', '--xattrs-include=*',
               # no --sparse: it reads each file twice to find holes (10 % slower on this fleet's data); holes are
               # zeros to zstd, and a restored file is simply not sparse
               '--numeric-owner', '--use-compress-program', COMPRESSOR[spec['compression']],
               '--warning=no-file-ignored']
    if spec['one_file_system']:
        command.append('--one-file-system')
    for pattern in spec['exclude']:
        command.append('--exclude=%s' % pattern)
    command += ['-C', '/', '--'] + [p.lstrip('/') or '.' for p in spec['paths']]
    return command


# ---------------------------------------------------------------- retention

def to_keep(backups, policy, now=None):
    """(kept, pruned) of [(path, stamp)] newest first. policy: {keep: N} and/or {daily, weekly, monthly} counts
    (the newest backup of each of that many days, ISO weeks, months) and max_age_days; the newest is always kept."""
    if not backups:
        return [], []
    now = now or time.time()
    keep = set([backups[0][0]])
    if policy.get('keep'):
        keep.update(path for path, _stamp in backups[:policy['keep']])
    for period, fmt in (('daily', '%Y-%m-%d'), ('weekly', '%G-W%V'), ('monthly', '%Y-%m')):
        wanted = policy.get(period) or 0
        seen = []
        for path, stamp in backups:
            key = time.strftime(fmt, time.strptime(stamp, STAMP))
            if key not in seen:
                seen.append(key)
                if len(seen) > wanted:
                    break
                keep.add(path)
    if policy.get('max_age_days'):
        limit = now - policy['max_age_days'] * 86400
        for path, stamp in backups[1:]:
            if _epoch(stamp) < limit:
                keep.discard(path)
    return ([b for b in backups if b[0] in keep], [b for b in backups if b[0] not in keep])


def _epoch(stamp):
    return calendar.timegm(time.strptime(stamp, STAMP))


def no_policy(policy):
    return not any(policy.get(k) for k in ('keep', 'daily', 'weekly', 'monthly', 'max_age_days'))


def prune(backups, policy, companions, record, changes):
    """Delete what `policy` does not keep of `backups` (and each one's companion files, by suffix: its manifest),
    noting each in the backup record and the change records. Called only once the new backup verified."""
    if no_policy(policy):
        return
    for path, _stamp in to_keep(backups, policy)[1]:
        for victim in [path] + [path + suffix for suffix in companions]:
            remove(victim)
        record['pruned'].append(path)
        changes.append({'object': path, 'action': 'prune', 'before': 'backup', 'after': None,
                        'rollback': {'irreversible': 'a pruned backup is deleted'}})


def taken_change(path, after):
    """The change record of a backup written: it cannot be rolled back (it is kept until retention removes it)."""
    return {'object': path, 'action': 'backup', 'before': None, 'after': after,
            'rollback': {'irreversible': 'a backup taken is kept until retention removes it'}}


def remove(path):
    """Delete a backup file or directory (a physical set), if it is there."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.unlink(path)


# ---------------------------------------------------------------- the set's lock and leftovers

class SetLock(object):
    """One run per set at a time: a lock file in the destination (flock, released when the process dies)."""

    def __init__(self, spec):
        self.path = os.path.join(spec['destination'], '.%s.lock' % spec['name'])
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, 'a')
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError):
            self.handle.close()
            raise TakeError('another backup of this set is running (lock %s)' % self.path)
        return self

    def __exit__(self, *exc):
        self.handle.close()


def leftovers(spec):
    """Partial archives of runs that died (only ever under the lock, so none is being written now)."""
    prefix = '.%s-' % spec['name']
    directory = spec['destination']
    return sorted(os.path.join(directory, e) for e in os.listdir(directory)
                  if e.startswith(prefix) and e.endswith('.partial')) if os.path.isdir(directory) else []


def write_manifest(module, path, members, archive_path, archive_sha):
    """sha256sum lines: the archive itself, then every member - what backup_check reads."""
    from ansible_collections.bjeic.ops.plugins.module_utils.host_backup import write_atomic
    lines = ['%s  %s' % (archive_sha, os.path.basename(archive_path))]
    lines += ['%s  %s' % (item['sha256'], name) for name, item in sorted(members.items())]
    write_atomic(module, path, ('\n'.join(lines) + '\n').encode('utf-8'), mode=0o600)


def read_back(path, fmt):
    """Members of the archive as written ({name: {size, sha256}}) and the archive's own sha256."""
    return archive.read_through(path, fmt), archive.file_sha256(path)


# ---------------------------------------------------------------- one set, taken

def iso(timestamp):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(timestamp))


class SetTake(object):
    """Take one set: plan, archive, read back, manifest, rename, verify (backup_check's own code), prune."""

    def __init__(self, module, spec, findings, host):
        self.module, self.spec, self.findings, self.host = module, spec, findings, host
        self.name = spec['name']
        self.record = {'set': self.name, 'kind': 'file', 'host': host, 'path': None, 'compression': spec['compression'],
                       'started': None, 'finished': None, 'seconds': None, 'size': None, 'files': None, 'sha256': None,
                       'verified': None, 'pruned': [], 'state': 'planned', 'error': None}
        self.changes = []

    def fail(self, why):
        self.record.update(state='failed', error=why)
        self.findings.add('backup.failed', 'critical', 'backup set %s was not taken: %s' % (self.name, why), subject=self.name)

    def run(self, verify):
        spec = self.spec
        missing = [p for p in spec['paths'] if not os.path.lexists(p)]
        if missing:
            return self.fail('%s does not exist; nothing was written' % ', '.join(missing))
        if not os.path.isdir(spec['destination']):
            if self.module.check_mode:
                return self.plan(None)
            os.makedirs(spec['destination'], 0o700)
        try:
            with SetLock(spec):
                self.take(verify)
        except TakeError as exc:
            self.fail(str(exc))

    def estimate(self):
        previous = existing(self.spec)
        if previous:
            return int(os.path.getsize(previous[0][0]) * GROWTH), 'the previous backup and a quarter'
        size, _count = source_bytes(self.spec['paths'], self.spec['exclude'], self.spec['one_file_system'])
        return size, 'the data itself (no earlier backup to go by)'

    def plan(self, needed):
        size, count = source_bytes(self.spec['paths'], self.spec['exclude'], self.spec['one_file_system'])
        keep, prune = to_keep(existing(self.spec), self.spec['retention'])
        self.record.update(state='planned', files=count, size=size, needed=needed,
                           would_prune=[p for p, _s in prune] if not no_policy(self.spec['retention']) else [])

    def take(self, verify):
        spec = self.spec
        for stale in leftovers(spec):
            if not self.module.check_mode:
                os.unlink(stale)
            self.record.setdefault('removed_partials', []).append(stale)
        needed, basis = self.estimate()
        free = archive.free_bytes(spec['destination'])
        reserve = spec['min_free_mb'] * 1024 ** 2
        if free is not None and free - needed < reserve:
            raise TakeError('%s has %d MiB free; this backup needs about %d MiB (%s) and %d MiB must stay free: '
                            'nothing was written' % (spec['destination'], free // 1024 ** 2, needed // 1024 ** 2, basis,
                                                     spec['min_free_mb']))
        if self.module.check_mode:
            return self.plan(needed)
        started = time.time()
        stamp = time.strftime(STAMP, time.gmtime(started))
        final = os.path.join(spec['destination'], archive_name(spec, stamp))
        if os.path.exists(final):
            raise TakeError('%s already exists (two runs in one second?): nothing was written' % final)
        partial = os.path.join(spec['destination'], '.%s.partial' % os.path.basename(final))
        self.record.update(started=iso(started), path=final)
        old_umask = os.umask(0o077)
        try:
            rc, out, err = self.module.run_command(tar_command(spec, partial), environ_update={'LC_ALL': 'C'})
        finally:
            os.umask(old_umask)
        self.record['archive_seconds'] = round(time.time() - started, 3)
        if rc not in (0, 1):          # 1: a file changed while it was read; the archive is whole
            remove(partial)
            raise TakeError('tar failed (rc %d): %s; nothing was kept' % (rc, (err or out).strip().splitlines()[-1:]))
        if rc == 1:
            self.findings.add('backup.changed_while_read', 'warning', 'backup set %s: files changed while they were '
                              'read (%s)' % (self.name, (err or out).strip()[:300]), subject=self.name)
        try:
            members, digest = read_back(partial, archive.format_of(final))
        except (archive.ArchiveError, archive.ToolMissing) as exc:
            remove(partial)
            raise TakeError('the archive just written cannot be read back (%s); nothing was kept' % exc)
        write_manifest(self.module, final + '.sha256', members, final, digest)
        with open(partial, 'rb') as handle:
            os.fsync(handle.fileno())
        os.rename(partial, final)        # the commit point: only now does it look like a backup
        _fsync_dir(spec['destination'])
        finished = time.time()
        size = os.path.getsize(final)
        self.record.update(state='taken', finished=iso(finished), seconds=round(finished - started, 3),
                           size=size, files=len(members), sha256=digest)
        self.changes.append(taken_change(final, '%d files, %d bytes' % (len(members), size)))
        verified = verify(check_spec(spec))
        self.record['verified'] = verified
        if not verified:
            self.findings.add('backup.failed', 'critical', 'backup set %s: %s was taken but did not verify (see the '
                              'backup.* findings); no older backup was pruned' % (self.name, final), subject=self.name)
            return
        self.prune()

    def prune(self):
        prune(existing(self.spec), self.spec['retention'], ('.sha256',), self.record, self.changes)


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
