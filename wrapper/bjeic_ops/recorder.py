"""Recording a run from inside ansible-playbook (the bjeic.ops.store callback plugin), for runs that do not go
through `bjeic-ops run`: plain ansible-playbook, AWX / Automation Controller jobs.

The callback turns its hooks into the same event dicts ansible-runner gives the wrapper, and this recorder
feeds them to the same Ingestor: one set of rules for both. Every event is also appended to a spool file;
when the store took the whole run the spool is removed, otherwise it stays for `bjeic-ops spool replay`.
The store is never a single point of failure for the play: a store that cannot be opened or written only
means the run is spooled.
"""
import os
import uuid
from dataclasses import dataclass, field

from .ingest import Ingestor
from .redact import Redactor, secret_values
from .runenv import secret_names
from .spool import SpoolWriter, spool_directory
from .store import Store, StoreError
from .times import now
from .vocab import COMPLETE

RECORDED_BY_WRAPPER = 'BJEIC_OPS_RUN_ID'      # set by `bjeic-ops run`: it records the run itself


@dataclass
class RunMeta:
    """What begin_run records about a run, as the callback finds it."""
    playbook: str
    inventory: str = None
    limit: str = None
    check_mode: bool = False
    operator: str = None
    ticket: str = None
    extra_vars: dict = field(default_factory=dict)
    origin: dict = field(default_factory=dict)


def redactor_for(extra_vars, environ, store_url):
    """The secrets a plain ansible-playbook run knows of: extra vars under secret names, controller variables
    whose names look secret, the store URL's password."""
    values = list(secret_values(extra_vars))
    values += [environ[name] for name in secret_names(environ) if environ.get(name)]
    from sqlalchemy.engine import make_url
    try:
        password = make_url(store_url).password
    except Exception:  # not a URL SQLAlchemy reads: no password in it to hide
        password = None
    if password:
        values.append(password)
    return Redactor(values)


class Recorder:
    def __init__(self, store_url, meta, spool_dir=None, environ=None):
        environ = os.environ if environ is None else environ
        self.redactor = redactor_for(meta.extra_vars, environ, store_url)
        self.uuid = str(uuid.uuid4())
        self.url = store_url
        self.failure = None
        self.run_id = None
        self.ingest = None
        self.finished = False
        run = {'playbook': meta.playbook, 'inventory': meta.inventory, 'limit': meta.limit,
               'check_mode': meta.check_mode, 'operator': meta.operator, 'ticket': meta.ticket,
               'extra_vars': self.redactor.data(meta.extra_vars), 'uuid': self.uuid, 'origin': meta.origin,
               'pid': os.getpid(), 'started_at': now()}
        self.spool = SpoolWriter(spool_directory(spool_dir), self.uuid)
        self.spool.write({'kind': 'run', 'run': dict(run, started_at=run['started_at'].isoformat())})
        try:
            self.store = Store(store_url)
            self.run_id = self.store.begin_run(**run)
        except StoreError as exc:
            self.failure = exc
            return
        self.ingest = Ingestor(self.store, self.run_id, self.redactor, meta.operator, meta.ticket, meta.check_mode)

    def event(self, event):
        """One event as ansible-runner would give it: {'event': kind, 'created': ISO time, 'event_data': {...}}."""
        self.spool.write({'kind': 'event', 'event': self.redactor.data(event)})
        if self.ingest is not None and self.failure is None:
            self.ingest(event)
            self.failure = self.ingest.failure

    def finish(self, state, status, rc, reason=None):
        """End the run; returns None when the store has it all, else a sentence saying where it was kept."""
        if self.finished:
            return None
        self.finished = True
        end = {'state': state, 'status': status, 'rc': rc, 'reason': reason, 'finished_at': now().isoformat()}
        self.spool.write({'kind': 'end', 'end': end})
        if self.ingest is not None and self.failure is None:
            self.ingest.close()
            self.failure = self.ingest.failure
        if self.failure is None:
            try:
                self.store.finish_run(self.run_id, state, status, rc, reason)
            except StoreError as exc:
                self.failure = exc
        self.spool.close(keep=self.failure is not None)
        if self.failure is None:
            return None
        if self.spool.failure is not None:
            return ('the store could not be written (%s) and neither could the spool %s (%s): this run is NOT '
                    'recorded' % (self.failure, self.spool.path, self.spool.failure))
        return ('the store could not be written (%s); the run is kept in %s: `bjeic-ops spool replay` puts it '
                'in the store' % (self.failure, self.spool.path))


def status_of(stats_failures, stats_unreachable):
    """(state, status, rc) of a finished play, as ansible-playbook's exit code would say it."""
    if stats_unreachable:
        return COMPLETE, 'failed', 4
    if stats_failures:
        return COMPLETE, 'failed', 2
    return COMPLETE, 'successful', 0

