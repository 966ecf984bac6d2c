# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backup files read through end to end: archive formats, member checksums, manifests.

Listing an archive proves little (a tar cut at a member boundary lists fine, a gzip without
its trailer lists fine); reading every byte makes the format's own checks run - gzip CRC and
length, zip CRC-32, zstd frame checksums - and yields a sha256 per member to hold against a
manifest. Standard library only, except zstd, which Python 3.11 cannot read: the zstd tool does.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import glob
import gzip
import hashlib
import os
import re
import subprocess
import tarfile
import zipfile
import zlib

try:
    from lzma import LZMAError
except ImportError:   # a Python built without lzma cannot open .tar.xz at all
    LZMAError = zlib.error

# What the decompressors raise on damaged data, besides OSError/EOFError.
CORRUPT = (tarfile.TarError, zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, LZMAError, EOFError, OSError,
           ValueError, NotImplementedError)

CHUNK = 1024 * 1024
TAR_END = 1024   # a tar archive ends with two zero blocks of 512 bytes

# suffix -> format; the longest matching suffix wins
SUFFIXES = (
    ('.tar.gz', 'tar.gz'), ('.tgz', 'tar.gz'), ('.tar.bz2', 'tar.bz2'), ('.tbz2', 'tar.bz2'),
    ('.tar.xz', 'tar.xz'), ('.txz', 'tar.xz'), ('.tar.zst', 'tar.zst'), ('.tzst', 'tar.zst'),
    ('.tar', 'tar'), ('.zip', 'zip'), ('.gz', 'gzip'), ('.zst', 'zst'),
)
TAR_MODES = {'tar': 'r:', 'tar.gz': 'r:gz', 'tar.bz2': 'r:bz2', 'tar.xz': 'r:xz'}
MANIFEST_LINE = re.compile(r'^([0-9a-fA-F]{64}) [ *](.+)$')


class ArchiveError(Exception):
    """The backup cannot be read through: truncated, corrupt, or not what its name says."""


class ToolMissing(Exception):
    """A format needs a tool the host lacks (zstd): integrity cannot be checked here."""


def newest_first(pattern):
    """The backups matching a shell glob, newest (by modification time) first."""
    return sorted(glob.glob(pattern), key=os.path.getmtime, reverse=True)


def format_of(path):
    if os.path.isdir(path):
        return 'directory'
    lower = path.lower()
    for suffix, name in SUFFIXES:
        if lower.endswith(suffix):
            return name
    return 'file'


def is_archive(fmt):
    return fmt not in ('file', 'directory')


def member_name(name):
    """A member path as manifests and comparisons use it: no leading ./ or /."""
    while name.startswith('./'):
        name = name[2:]
    return name.lstrip('/')


def _digest(stream):
    """(sha256 hex, bytes read) of a file object read to its end."""
    digest, size = hashlib.sha256(), 0
    while True:
        block = stream.read(CHUNK)
        if not block:
            return digest.hexdigest(), size
        digest.update(block)
        size += len(block)


def file_sha256(path):
    with open(path, 'rb') as handle:
        return _digest(handle)[0]


def _tar_members(tar):
    members = {}
    for member in tar:
        if member.isfile():
            handle = tar.extractfile(member)
            sha, size = _digest(handle)
            if size != member.size:
                raise ArchiveError('member %s is %d bytes, its header says %d' % (member.name, size, member.size))
            members[member_name(member.name)] = {'size': size, 'sha256': sha}
    return members


def _read_tar(path, fmt):
    try:
        with tarfile.open(path, TAR_MODES[fmt]) as tar:
            members = _tar_members(tar)
            tar.fileobj.seek(tar.offset)
            tail = tar.fileobj.read(TAR_END)
            if len(tail) < TAR_END or tail.strip(b'\0'):
                raise ArchiveError('the end-of-archive blocks are missing after %d member(s): the file was cut short'
                                   % len(members))
            while tar.fileobj.read(CHUNK):   # to the end, so gzip/bz2/xz check their CRC and length
                pass
    except ArchiveError:
        raise
    except CORRUPT as exc:
        raise ArchiveError(_reason(exc))
    return members


def zstd_stream(path):
    """`zstd -dc` of a file as a process; its stdout is the content. ToolMissing without zstd."""
    try:
        return subprocess.Popen(['zstd', '-d', '-c', '-q', path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError:
        raise ToolMissing('zstd is not installed on the host: %s cannot be read through' % path)


def finish_zstd(process):
    """Drain and wait for a decompressor; its exit status is the integrity verdict."""
    while process.stdout.read(CHUNK):
        pass
    error = process.stderr.read().decode('utf-8', 'replace').strip()
    if process.wait() != 0:
        raise ArchiveError('zstd: %s' % (error.splitlines()[-1] if error else 'exit status %d' % process.returncode))


def _read_tar_zst(path):
    process = zstd_stream(path)
    try:
        with tarfile.open(fileobj=process.stdout, mode='r|') as tar:
            members = _tar_members(tar)
    except CORRUPT as exc:
        finish_zstd(process)   # zstd's own verdict names the damage better than tar's "empty file"
        raise ArchiveError(_reason(exc))
    finish_zstd(process)
    return members


def _read_zip(path):
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            for info in archive.infolist():
                if info.is_dir():
                    continue
                with archive.open(info) as handle:   # reading to the end checks the CRC-32
                    sha, size = _digest(handle)
                members[member_name(info.filename)] = {'size': size, 'sha256': sha}
            return members
    except CORRUPT as exc:
        raise ArchiveError(_reason(exc))


def _read_single(path, fmt):
    """gzip or zst of one file: its content is the one member, named without the suffix."""
    name = member_name(os.path.basename(path)[:-len('.gz' if fmt == 'gzip' else '.zst')])
    if fmt == 'gzip':
        try:
            with gzip.open(path, 'rb') as handle:
                sha, size = _digest(handle)
        except CORRUPT as exc:
            raise ArchiveError(_reason(exc))
    else:
        process = zstd_stream(path)
        sha, size = _digest(process.stdout)
        finish_zstd(process)
    return {name: {'size': size, 'sha256': sha}}


def _reason(exc):
    text = str(exc).strip().splitlines()
    reason = text[-1] if text else ''
    return '%s: %s' % (type(exc).__name__, reason) if reason else type(exc).__name__


def read_through(path, fmt):
    """Every member of the archive read to its last byte: {member: {size, sha256}}.

    Raises ArchiveError when the archive is damaged, ToolMissing when it cannot be read here.
    """
    if fmt in TAR_MODES:
        return _read_tar(path, fmt)
    if fmt == 'tar.zst':
        return _read_tar_zst(path)
    if fmt == 'zip':
        return _read_zip(path)
    if fmt in ('gzip', 'zst'):
        return _read_single(path, fmt)
    raise ValueError('not an archive format: %s' % fmt)


def tree(root):
    """Regular files under a directory: {relative path: {size, sha256}}."""
    files = {}
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                sha = file_sha256(path)
                files[os.path.relpath(path, root)] = {'size': os.path.getsize(path), 'sha256': sha}
    return files


def tree_size(root):
    total = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    return total


def path_size(path):
    """Bytes of a backup: a file's size, or a directory's (a physical backup set) whole tree."""
    return tree_size(path) if os.path.isdir(path) else os.path.getsize(path)


def free_bytes(path):
    """Bytes an unprivileged writer may still use on the file system holding `path`."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def parse_manifest(text):
    """sha256sum lines -> ({path: sha256}, [unparsable lines]). Blank and # lines are skipped."""
    entries, bad = {}, []
    for line in text.splitlines():
        line = line.rstrip('\r')
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        match = MANIFEST_LINE.match(line)
        if match:
            entries[member_name(match.group(2))] = match.group(1).lower()
        else:
            bad.append(line[:200])
    return entries, bad


def split_manifest(entries, backup_path, members=None):
    """(entries naming the backup file itself, entries naming its content).

    An entry whose base name is the backup file's checks the file. An entry named like an archive
    that is not among `members` describes another backup file (a manifest written next to several
    archives, or the archive's own line read against its restored directory) and is left out.
    """
    own = os.path.basename(backup_path.rstrip('/'))
    whole, content = {}, {}
    for name, digest in entries.items():
        if os.path.basename(name) == own:
            whole[name] = digest
        elif members is not None and name not in members and is_archive(format_of(name)):
            continue
        else:
            content[name] = digest
    return whole, content


def compare(expected, found):
    """Entries of `expected` ({path: sha256 or {sha256}}) missing or different in `found`.

    Returns {'missing': [...], 'different': [...]} (sorted paths).
    """
    missing, different = [], []
    for path, want in sorted(expected.items()):
        want = want['sha256'] if isinstance(want, dict) else want
        got = found.get(path)
        if got is None:
            missing.append(path)
        elif got['sha256'] != want:
            different.append(path)
    return {'missing': missing, 'different': different}


def live_path(source, member):
    """Where a member restored from a backup of `source` lives on the host.

    Archives of /etc are made either as `etc/...` (tar -C / etc) or as `./...` (tar -C /etc .):
    a first component equal to the source's own name is taken to be the source directory.
    """
    source = source.rstrip('/') or '/'
    base = os.path.basename(source)
    if base and (member == base or member.startswith(base + '/')):
        return os.path.join(os.path.dirname(source), member)
    return os.path.join(source, member)


def extract_command(path, fmt, destination):
    """The command a restore test extracts a tar archive with: GNU tar, as an operator would."""
    command = ['tar', '-x', '-f', path, '-C', destination, '--no-same-owner']
    if fmt == 'tar.zst':
        command.insert(1, '--zstd')
    return command
