# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Back up what a changing module touches on a host, and put it back exactly.

A backup is a root-only directory `<root>/<id>/` holding a manifest (JSON) and copies of the
files it saved. The manifest is rewritten (atomically) before every change, so a run that dies
half-way still leaves a backup that covers everything it changed.

Entries, in the order they were recorded:
  {type: file, path, existed, kind (file|link), mode, uid, gid, sha256, link, blob, after}
     (`after`: what the module left there, recorded when the run closes the backup)
  {type: runtime, name, value}            a kernel setting read from /proc/sys before it was written
  {type: service, unit, enabled, active}  a systemd unit's state before it was changed
  {type: packages, manager, names}        packages the module installed (rollback removes them)
Rollback walks them newest first.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import random
import shutil
import stat
import tempfile
import time

BACKUP_ID_CHARS = '0123456789abcdef'


class BackupError(Exception):
    """Something about a backup is wrong; the message says what and what to do."""


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 16), b''):
            digest.update(block)
    return digest.hexdigest()


def write_atomic(module, path, data, mode=None, uid=None, gid=None):
    """Write bytes to `path` through a temporary file beside it and AnsibleModule.atomic_move, which keeps
    what a plain rename loses: the file's SELinux context (a new file gets the policy's default: a restored
    /etc/shadow must stay shadow_t or logins stop on an enforcing host), its ACLs and other extended
    attributes. Then owner and mode are set as asked. The umask is 077 meanwhile, so a file that did not
    exist is never readable by others, not even for a moment."""
    directory = os.path.dirname(path) or '.'
    umask = os.umask(0o077)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.bjeic-')
        try:
            with os.fdopen(fd, 'wb') as handle:
                handle.write(data)
            module.atomic_move(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    finally:
        os.umask(umask)
    if uid is not None:
        os.chown(path, uid, gid)   # before chmod: chown clears setuid bits
    if mode is not None:
        os.chmod(path, mode)


def file_state(path):
    """What a path is now: None when absent, else {kind, mode, uid, gid, sha256 | link}."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    state = {'mode': stat.S_IMODE(info.st_mode), 'uid': info.st_uid, 'gid': info.st_gid}
    if stat.S_ISLNK(info.st_mode):
        state.update(kind='link', link=os.readlink(path))
    else:
        state.update(kind='file', sha256=sha256_of(path))
    return state


def new_backup_id(now=None):
    stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
    return '%s-%s' % (stamp, ''.join(random.choice(BACKUP_ID_CHARS) for dummy in range(6)))


class Backup(object):
    """One backup directory. Create with Backup.create(), open an old one with Backup.load()."""

    def __init__(self, root, backup_id, manifest, module):
        self.module = module   # the AnsibleModule: its atomic_move writes every file
        self.root = root
        self.id = backup_id
        self.directory = os.path.join(root, backup_id)
        self.manifest = manifest

    @classmethod
    def create(cls, root, purpose, host, module):
        if not os.path.isdir(root):
            os.makedirs(root, 0o700)
        os.chmod(root, 0o700)
        backup_id = new_backup_id()
        directory = os.path.join(root, backup_id)
        os.makedirs(os.path.join(directory, 'files'), 0o700)
        manifest = {'id': backup_id, 'purpose': purpose, 'host': host, 'state': 'open',
                    'created': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), 'entries': []}
        backup = cls(root, backup_id, manifest, module)
        backup.save_manifest()
        return backup

    @classmethod
    def load(cls, root, backup_id, module):
        if not backup_id or '/' in backup_id or backup_id.startswith('.'):
            raise BackupError('backup_id %r is not a backup id (like 20261126T101500Z-1a2b3c)' % backup_id)
        path = os.path.join(root, backup_id, 'manifest.json')
        if not os.path.isfile(path):
            known = sorted(os.listdir(root)) if os.path.isdir(root) else []
            raise BackupError('no backup %s under %s; backups on this host: %s'
                              % (backup_id, root, ', '.join(known[-10:]) or 'none'))
        try:
            with open(path) as handle:
                manifest = json.load(handle)
        except ValueError as exc:
            raise BackupError('the manifest of backup %s (%s) is corrupt (%s): nothing was restored; '
                              'restore by hand from %s/files' % (backup_id, path, exc, os.path.dirname(path)))
        backup = cls(root, backup_id, manifest, module)
        for entry in backup.files():
            if entry['existed'] and entry['kind'] == 'file':
                blob = os.path.join(backup.directory, 'files', entry['blob'])
                if not os.path.isfile(blob) or sha256_of(blob) != entry['sha256']:
                    raise BackupError('backup %s is damaged: the saved copy of %s (%s) is missing or does not match '
                                      'its checksum; nothing was restored' % (backup_id, entry['path'], blob))
        return backup

    # ---------------------------------------------------------------- recording
    def save_manifest(self):
        data = json.dumps(self.manifest, indent=1, sort_keys=True).encode('utf-8')
        write_atomic(self.module, os.path.join(self.directory, 'manifest.json'), data, mode=0o600)

    def files(self):
        return [entry for entry in self.manifest['entries'] if entry['type'] == 'file']

    def has_file(self, path):
        return any(entry['path'] == path for entry in self.files())

    def save_file(self, path):
        """Record `path` as it is now (absent, file or symlink) before it is first changed."""
        if self.has_file(path):
            return
        state = file_state(path)
        entry = {'type': 'file', 'path': path, 'existed': state is not None}
        if state:
            entry.update(state)
            if state['kind'] == 'file':
                entry['blob'] = '%04d' % (len(self.files()) + 1)
                target = os.path.join(self.directory, 'files', entry['blob'])
                shutil.copyfile(path, target)
                os.chmod(target, 0o600)
        self.manifest['entries'].append(entry)
        self.save_manifest()

    def record(self, entry):
        self.manifest['entries'].append(entry)
        self.save_manifest()

    def close(self, state='complete'):
        """Mark the backup done. A finished change run records what it left at every saved path, so
        a later rollback can tell edits made by others since (a tool's second write counts as ours)."""
        if self.manifest['state'] == 'open':
            for entry in self.files():
                current = file_state(entry['path'])
                entry['after'] = current and (current.get('sha256') or current.get('link'))
        self.manifest['state'] = state
        self.manifest['closed'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
        self.save_manifest()

    # ---------------------------------------------------------------- restoring
    def edited_since(self):
        """Files changed by someone else after the module changed them: [path]."""
        edited = []
        for entry in self.files():
            if 'after' not in entry:
                continue
            state = file_state(entry['path'])
            now = state and (state.get('sha256') or state.get('link'))
            if now != entry['after']:
                edited.append(entry['path'])
        return edited

    def restore_file(self, entry, check_mode=False):
        """Put one file back as recorded. Returns True when something changed."""
        path = entry['path']
        current = file_state(path)
        if not entry['existed']:
            if current is None:
                return False
            if not check_mode:
                os.unlink(path)
            return True
        wanted = dict((k, entry[k]) for k in ('kind', 'mode', 'uid', 'gid', 'sha256', 'link') if k in entry)
        if current == wanted:
            return False
        if check_mode:
            return True
        if entry['kind'] == 'link':
            if current is not None:
                os.unlink(path)
            os.symlink(entry['link'], path)
            os.lchown(path, entry['uid'], entry['gid'])
            return True
        with open(os.path.join(self.directory, 'files', entry['blob']), 'rb') as handle:
            data = handle.read()
        if current is not None and current['kind'] == 'link':
            os.unlink(path)
        write_atomic(self.module, path, data, mode=entry['mode'], uid=entry['uid'], gid=entry['gid'])
        return True
