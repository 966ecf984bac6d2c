"""A run kept on the controller's disk while the store cannot take it, and putting it in the store later.

A spool is one JSON-lines file per run (0600, in a 0700 directory): a `run` line (what begin_run records, with
the run's uuid), one `event` line per ansible event (secrets already masked), and an `end` line when the play
ended. Replaying turns it into store rows with the same Ingestor as a live run and stores the whole run in one
transaction, replacing whatever part of it reached the store before the store failed; a spool whose run is
already in the store from an earlier replay adds nothing.
"""
import fcntl
import json
import os

from . import BjeicOpsError
from .ingest import Ingestor
from .paths import state_home
from .redact import Redactor
from .vocab import INCOMPLETE

SUFFIX = '.jsonl'


class SpoolError(BjeicOpsError):
    pass


def spool_directory(explicit=None):
    """BJEIC_OPS_SPOOL, else $XDG_STATE_HOME/bjeic-ops/spool; made 0700."""
    directory = explicit or os.environ.get('BJEIC_OPS_SPOOL') or os.path.join(state_home(), 'bjeic-ops', 'spool')
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


class SpoolWriter:
    """Appends a run's records to its spool file. A write error (a full disk) stops the spool and is kept in
    `failure`; the play goes on either way."""

    def __init__(self, directory, run_uuid):
        self.path = os.path.join(directory, 'run-%s%s' % (run_uuid, SUFFIX))
        self.failure = None
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)   # held while the play runs: a replay leaves a live spool alone
        self._handle = os.fdopen(fd, 'w', encoding='utf-8')

    def write(self, record):
        if self._handle is None:
            return
        try:
            self._handle.write(json.dumps(record, ensure_ascii=False, default=str) + '\n')
            self._handle.flush()
        except OSError as exc:
            self.failure = exc
            self._close()

    def close(self, keep):
        """Done: `keep` the file for replay (made durable), or remove it (the store has the whole run)."""
        if self._handle is not None and keep:
            try:
                os.fsync(self._handle.fileno())
            except OSError as exc:
                self.failure = exc
        self._close()
        if not keep:
            os.unlink(self.path)

    def _close(self):
        handle, self._handle = self._handle, None
        if handle is not None:
            try:
                handle.close()
            except OSError as exc:
                self.failure = self.failure or exc


def read(path):
    """(run, events, end) of a spool file; `end` is None for a play that never finished (killed)."""
    run, events, end = None, [], None
    try:
        with open(path, encoding='utf-8') as handle:
            for number, line in enumerate(handle, start=1):
                if not line.endswith('\n'):
                    break   # the last line of a play killed while writing it
                try:
                    record = json.loads(line)
                except ValueError:
                    raise SpoolError('spool %s: line %d is not JSON; the file is damaged' % (path, number))
                if record.get('kind') == 'run':
                    run = record['run']
                elif record.get('kind') == 'event':
                    events.append(record['event'])
                elif record.get('kind') == 'end':
                    end = record['end']
    except OSError as exc:
        raise SpoolError('cannot read spool %s: %s' % (path, exc.strerror))
    if not run or not run.get('uuid'):
        raise SpoolError('spool %s has no run record; it is not a bjeic-ops spool' % path)
    return run, events, end


class _Rows:
    """What an Ingestor writes, collected here so that a replayed run is stored in one transaction."""

    def __init__(self):
        self.rows = {}

    def write_batch(self, rows):
        for table, items in rows.items():
            self.rows.setdefault(table, []).extend(items)


def replay(store, path):
    """Put the spooled run in the store: ('replayed', run_id), ('already', run_id), or ('running', None) for
    the spool of a play that is still going. Removes the file after a replay."""
    with open(path, 'rb') as probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 'running', None
        return _replay(store, path)


def _replay(store, path):
    run, events, end = read(path)
    existing = store.run_by_uuid(run['uuid'])
    if existing is not None and (existing.get('origin') or {}).get('replayed_from'):
        os.unlink(path)
        return 'already', existing['id']
    rows = _Rows()
    ingest = Ingestor(rows, 0, Redactor(), run.get('operator'), run.get('ticket'), run.get('check_mode'))
    for event in events:
        ingest(event)
    ingest.close()
    if ingest.failure is not None:
        raise SpoolError('spool %s could not be read into rows: %s' % (path, ingest.failure))
    if end is None:
        end = {'state': INCOMPLETE, 'status': 'killed', 'rc': None,
               'reason': 'ansible-playbook ended without finishing the play (killed); recorded from its spool'}
    run = dict(run, pid=None, origin=dict(run.get('origin') or {}, replayed_from=os.path.basename(path)))
    finished = end.get('finished_at')
    end = dict(end, finished_at=_time(finished) if finished else None)
    run['started_at'] = _time(run.get('started_at'))
    run_id = store.replace_run(run, rows.rows, end)
    os.unlink(path)
    return 'replayed', run_id


def _time(text):
    from .ingest import parse_time
    return parse_time(text)


def pending(directory=None):
    """Spool files waiting to be replayed, oldest first."""
    directory = spool_directory(directory)
    paths = [os.path.join(directory, name) for name in os.listdir(directory) if name.endswith(SUFFIX)]
    return sorted(paths, key=os.path.getmtime)
