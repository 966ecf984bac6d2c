"""A run's private directory on the controller, and what may and may not be written into it.

What lives on disk during a run, and for how long:
- extra vars reach ansible-playbook through a named pipe (mode 0600): it reads them once at start-up and
  they never exist as a file;
- secret environment variables reach it through a second pipe, read by the launcher (launch.py) that
  becomes ansible-playbook: ansible-runner's `command` artifact, which records the environment it starts a
  process with, never holds them; it holds only the variables a run is allowed (runenv.py);
- ansible's output is written by us, not by the runner, already masked (`stdout`);
- job events are not kept (the ingestor returns False): results live in the store, redacted. ansible-runner's
  display callback hands each event's data to the runner through a 0600 file in `job_events/`, which the
  runner deletes as soon as it has read it (milliseconds); a run killed in between leaves the events in flight,
  and reaping deletes those too.
"""
import errno
import json
import os
import shutil
import stat
import threading

from .paths import artifact_root

RUN_PREFIX = 'run-'


def run_directory_name(store_id, run_id):
    """Unique per store and run: two stores on one controller (a test store, a second estate, a store rebuilt
    after loss) never meet in one directory."""
    return '%s%s-%06d' % (RUN_PREFIX, (store_id or 'nostore')[:12], run_id)


def create_run_directory(store_id, run_id):
    path = os.path.join(artifact_root(), run_directory_name(store_id, run_id))
    os.makedirs(path, mode=0o700)
    return path


class SecretPipe:
    """Hands `data` (JSON) to one reader through a named pipe: nothing is written to disk. `close()` releases a
    writer whose reader never came (ansible-playbook failed before reading its extra vars) and removes the pipe."""

    def __init__(self, directory, name, data):
        self.path = os.path.join(directory, name)
        os.mkfifo(self.path, 0o600)
        self._payload = json.dumps(data).encode('utf-8')
        self._thread = threading.Thread(target=self._write, name='bjeic-ops-extravars', daemon=True)
        self._thread.start()

    def _write(self):
        try:
            fd = os.open(self.path, os.O_WRONLY)   # blocks until the reader opens the pipe
            try:
                view = memoryview(self._payload)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as exc:
            if exc.errno not in (errno.EPIPE, errno.ENOENT):
                raise

    def close(self):
        if self._thread.is_alive():
            try:   # be the reader the writer waits for, take nothing, and let it finish
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                self._thread.join(0.2)
                os.close(fd)
            except OSError:
                pass
            self._thread.join(5)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


def write_private(path, data):
    tmp = path + '.tmp'
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class OutputLog:
    """ansible's output as the runner's events carry it, masked before it is written. On a write error (a
    full disk) it stops writing and says why in `failure`; the run goes on to be recorded."""

    def __init__(self, path, redactor):
        self.redactor = redactor
        self.failure = None
        self.last_error = None     # ansible's last "ERROR" line, for the reason of a run that failed early
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._handle = os.fdopen(fd, 'w', encoding='utf-8', errors='replace')

    def write(self, event):
        text = event.get('stdout')
        if not text:
            return
        text = self.redactor.text(text)
        for line in text.splitlines():
            if line.startswith(('ERROR!', '[ERROR]')):
                self.last_error = line.split(':', 1)[-1].strip() if line.startswith('[ERROR]') else line[6:].strip()
        if self._handle is None:
            return
        try:
            self._handle.write(text + '\n')
            self._handle.flush()
        except OSError as exc:
            self.failure = exc
            self.close()

    def close(self):
        if self._handle is not None:
            handle, self._handle = self._handle, None
            try:
                handle.close()
            except OSError as exc:
                self.failure = self.failure or exc


def scrub(directory, redactor):
    """Replace any known secret value that still reached a file in the run directory."""
    if not redactor.secrets:
        return
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(root, name)
            if not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            try:
                with open(path, encoding='utf-8', errors='surrogateescape') as handle:
                    text = handle.read()
                cleaned = redactor.text(text)
                if cleaned != text:
                    write_private(path, cleaned.encode('utf-8', 'surrogateescape'))
            except OSError:
                os.unlink(path)   # it could not be rewritten (a full disk): a secret must not outlive the run


def forget_secrets_of_reaped(store_id, run_ids):
    """Runs whose controller died: their secrets are unknown now, so the files that can hold them go."""
    root = artifact_root()
    for run_id in run_ids:
        directory = os.path.join(root, run_directory_name(store_id, run_id))
        for current, _dirs, files in os.walk(directory):
            for name in files:
                if (name in ('command', 'extravars.json') or name.endswith(('.tmp', '-partial.json'))
                        or os.path.basename(current) == 'job_events'):
                    os.unlink(os.path.join(current, name))


def prune(keep):
    """Keep the newest `keep` run directories (of every store: they share the controller's disk)."""
    root = artifact_root()
    runs = sorted((entry for entry in os.scandir(root) if entry.is_dir() and entry.name.startswith(RUN_PREFIX)),
                  key=lambda entry: (entry.stat().st_mtime, entry.name))
    for entry in runs[:max(0, len(runs) - keep)]:
        shutil.rmtree(entry.path, ignore_errors=True)
