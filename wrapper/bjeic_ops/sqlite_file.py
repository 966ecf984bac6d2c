"""The SQLite store as a file: where it is, who may read it, whether it is ours, and how to read it read-only.

Everything here happens before SQLAlchemy touches the file, because opening it the normal way already writes
(WAL mode changes the header, creating tables adds pages): a file that is not a bjeic-ops store must be
refused untouched.
"""
import errno
import os
import sqlite3
import urllib.parse

from sqlalchemy.engine import make_url

from . import BjeicOpsError

FILE_MODE = 0o600              # the store holds the estate's whole configuration
RESERVE_BYTES = 1 << 20        # kept free beside the store so that a run can still record why it failed
OUR_TABLES = {'schema_version', 'runs'}


class StoreFileError(BjeicOpsError):
    pass


def path_of(url):
    """The file of a sqlite:/// URL, or None for an in-memory store."""
    database = make_url(url).database
    return os.path.abspath(database) if database and database != ':memory:' else None


def prepare(path, create=True):
    """Check the file before anything opens it: refuse another application's database or a file that is no
    database at all; create a new store as an empty 0600 file (SQLite gives its -wal and -shm files the
    same mode); narrow an existing store's mode to 0600."""
    if not os.path.exists(path):
        if not create:
            raise StoreFileError('no store at %s' % path)
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise StoreFileError('cannot create the store %s: the directory %s does not exist' % (path, directory))
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
        except FileExistsError:
            pass   # another bjeic-ops made it a moment ago
        except OSError as exc:
            raise StoreFileError('cannot create the store %s: %s' % (path, exc.strerror))
        return
    if not os.path.isfile(path):
        raise StoreFileError('the store %s is not a file' % path)
    tables = table_names(path)
    if tables and not OUR_TABLES <= tables:
        raise StoreFileError('%s is not a bjeic-ops store: it holds tables of another application (%s); nothing was '
                             'changed. Give --store a new file' % (path, ', '.join(sorted(tables)[:8])))
    narrow_mode(path)


def table_names(path):
    """Tables of an SQLite file, read without writing to it (an empty file has none). The file is only ever
    opened through SQLite: closing any other descriptor of it would drop the locks this process's SQLite
    connections hold on it (POSIX locks belong to the process), and the next write would corrupt it."""
    if os.path.getsize(path) == 0:
        return set()
    connection = None
    try:
        connection = connect_readonly(path)
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if 'not a database' in str(exc):
            raise StoreFileError('%s is not an SQLite database; nothing was changed' % path)
        raise StoreFileError('the store %s cannot be read (%s): restore it from its backup' % (path, exc))
    finally:
        if connection is not None:
            connection.close()


def narrow_mode(path):
    for name in (path, path + '-wal', path + '-shm'):
        try:
            info = os.stat(name)
        except FileNotFoundError:
            continue
        if info.st_mode & 0o077 and info.st_uid == os.geteuid():
            os.chmod(name, FILE_MODE)


def connect_readonly(path, timeout=30.0):
    """A connection that does not write. mode=ro first; where SQLite refuses that for a WAL database (the -shm
    needs setting up and a read-only connection may not), a normal connection with query_only, which touches
    the -shm only; on read-only media, where neither can open it, the file is opened as immutable (nobody can
    be writing it there, and immutable on a file that is being written would read a torn copy)."""
    quoted = urllib.parse.quote(path)
    try:
        connection = sqlite3.connect('file:%s?mode=ro' % quoted, uri=True, timeout=timeout, check_same_thread=False)
        connection.execute('SELECT count(*) FROM sqlite_master').fetchone()
        return connection
    except sqlite3.OperationalError as exc:
        if 'unable to open' not in str(exc) and 'readonly' not in str(exc):
            raise
    if read_only_media(path):
        return sqlite3.connect('file:%s?immutable=1' % quoted, uri=True, timeout=timeout, check_same_thread=False)
    connection = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
    connection.execute('PRAGMA query_only = ON')
    return connection


def read_only_media(path):
    """Whether the file system holding `path` is mounted read-only."""
    try:
        return bool(os.statvfs(os.path.dirname(path) or '.').f_flag & os.ST_RDONLY)
    except OSError:
        return False


def keep_reserve(path):
    """Hold RESERVE_BYTES of real (not sparse) space beside the store, best effort."""
    reserve = path + '-reserve'
    if os.path.exists(reserve):
        return
    try:
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError:
        return
    try:
        os.write(fd, b'\0' * RESERVE_BYTES)
    except OSError as exc:
        os.close(fd)
        os.unlink(reserve)
        if exc.errno != errno.ENOSPC:
            raise
        return
    os.close(fd)


def release_reserve(path):
    """Give the reserve back to the file system; True when there was one."""
    try:
        os.unlink(path + '-reserve')
        return True
    except FileNotFoundError:
        return False
