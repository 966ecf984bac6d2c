"""Run the project's playbooks through ansible-runner's Python API with the project's ansible.cfg.

`execute()` streams every event into the store (bjeic_ops.store) through an Ingestor;
`run_playbook()` / `run_module()` collect results in memory, for tests and small jobs.
Results come from runner events (event_data.res), never from parsing printed text.
"""
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

import ansible_runner

from . import BjeicOpsError
from .ingest import EVENT_STATUS, Ingestor
from .paths import artifact_root, keep_artifacts
from .redact import Redactor
from .store import COMPLETE, INCOMPLETE

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Exit codes: ansible-playbook's own, plus one for --fail-on.
EXIT_OK, EXIT_ERROR, EXIT_HOST_FAILED, EXIT_UNREACHABLE = 0, 1, 2, 4
EXIT_INTERRUPTED = 99
EXIT_FINDINGS = 10
SEVERITY_RANK = {'critical': 0, 'warning': 1, 'info': 2}


class PlaybookNotFound(BjeicOpsError):
    pass


@dataclass
class RunOptions:
    playbook: str
    inventory: str
    limit: str = None
    check: bool = False
    diff: bool = False
    extravars: dict = field(default_factory=dict)
    operator: str = None
    ticket: str = None
    secret_env: tuple = ()          # names of environment variables whose values are secrets
    fail_on: str = None             # critical or warning
    cancel: object = None           # callable -> True to stop the run (the CLI wires signals to it)
    verbosity: int = 0


@dataclass
class RunOutcome:
    run_id: int
    state: str
    status: str
    rc: int
    exit_code: int
    stats: object


def resolve_playbook(playbook):
    path = playbook if os.path.isabs(playbook) or os.path.exists(playbook) else os.path.join(PROJECT_ROOT, 'playbooks', playbook)
    if not os.path.isfile(path):
        raise PlaybookNotFound('no playbook at %s (give a path, or a name under %s)' % (
            path, os.path.join(PROJECT_ROOT, 'playbooks')))
    return os.path.abspath(path)


def environment():
    # The ansible commands installed beside this interpreter come first, so a virtual
    # environment works without being activated.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
    return {'ANSIBLE_CONFIG': os.path.join(PROJECT_ROOT, 'ansible.cfg'), 'PATH': path}


def host_counter(inventory, limit):
    """callable(pattern) -> names of the hosts a play will run on, from ansible's inventory API."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    manager = InventoryManager(loader=DataLoader(), sources=[inventory])
    if limit:
        manager.subset(limit)

    def count(pattern):
        try:
            return {host.name for host in manager.get_hosts(pattern or 'all')}
        except Exception:  # an odd pattern must not break the run; the display just shows fewer hosts
            return set()
    return count


def execute(options, store, observer=None):
    """Run a playbook, stream its events into `store`, return the outcome with an exit code."""
    playbook = resolve_playbook(options.playbook)
    inventory = os.path.abspath(options.inventory)
    if not os.path.exists(inventory):
        raise BjeicOpsError('no inventory at %s' % inventory)
    redactor = Redactor.for_extravars(options.extravars, options.secret_env, os.environ)
    run_id = store.begin_run(playbook=os.path.relpath(playbook, PROJECT_ROOT), inventory=inventory, limit=options.limit,
                             check_mode=options.check, operator=options.operator, ticket=options.ticket,
                             extra_vars=redactor.data(options.extravars))
    ingest = Ingestor(store, run_id, redactor, options.operator, options.ticket, options.check, observer)
    try:
        ingest.on_play_start = host_counter(inventory, options.limit)
    except Exception:  # unparsable inventory: ansible-playbook will say why; progress shows no total
        ingest.on_play_start = None
    private_dir = os.path.join(artifact_root(), 'run-%06d' % run_id)
    os.makedirs(private_dir, mode=0o700)
    state, status, rc = INCOMPLETE, 'error', EXIT_ERROR
    try:
        extravars_file = _write_private_json(private_dir, 'extravars.json', options.extravars)
        cmdline = [flag for flag, on in (('--check', options.check), ('--diff', options.diff)) if on]
        cmdline += ['-e', '@' + extravars_file]
        runner = ansible_runner.run(
            private_data_dir=private_dir, project_dir=PROJECT_ROOT, playbook=playbook, inventory=inventory,
            limit=options.limit, cmdline=' '.join(cmdline), quiet=True, event_handler=ingest,
            cancel_callback=options.cancel or (lambda: False), envvars=environment(),
            suppress_env_files=True, verbosity=options.verbosity or None)
        os.unlink(extravars_file)
        ingest.flush()
        status, rc = runner.status, runner.rc
        state = COMPLETE if status in ('successful', 'failed') else INCOMPLETE
    finally:
        ingest.flush()
        store.finish_run(run_id, state, status, rc)
        _scrub_artifacts(private_dir, redactor)
        _prune_artifacts(keep_artifacts())
    exit_code = EXIT_INTERRUPTED if status == 'canceled' else (rc if rc is not None else EXIT_ERROR)
    if exit_code == EXIT_OK and options.fail_on:
        worst = SEVERITY_RANK[options.fail_on]
        if any(count for severity, count in ingest.stats.findings.items() if SEVERITY_RANK.get(severity, 9) <= worst):
            exit_code = EXIT_FINDINGS
    return RunOutcome(run_id, state, status, rc, exit_code, ingest.stats)


def _write_private_json(directory, name, data):
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w') as handle:
        json.dump(data, handle)
    return path


def _scrub_artifacts(private_dir, redactor):
    """Replace any secret value that still reached a file in the run directory."""
    if not redactor.secrets:
        return
    for root, _dirs, files in os.walk(private_dir):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, encoding='utf-8', errors='surrogateescape') as handle:
                    text = handle.read()
            except OSError:
                continue
            cleaned = redactor.text(text)
            if cleaned != text:
                with open(path, 'w', encoding='utf-8', errors='surrogateescape') as handle:
                    handle.write(cleaned)


def _prune_artifacts(keep):
    root = artifact_root()
    runs = sorted((entry for entry in os.scandir(root) if entry.is_dir() and entry.name.startswith('run-')),
                  key=lambda entry: entry.name)
    for entry in runs[:max(0, len(runs) - keep)]:
        shutil.rmtree(entry.path, ignore_errors=True)


# ---------------------------------------------------------------- in-memory runs (tests, small jobs)

@dataclass
class HostResult:
    host: str
    task: str
    status: str          # ok, failed, unreachable, skipped
    result: dict


@dataclass
class RunResult:
    status: str          # ansible-runner status: successful, failed, timeout, canceled
    rc: int
    results: list = field(default_factory=list)

    def for_task(self, task_name, status=None):
        """{host: result} of one task (by name), optionally only those with `status`."""
        return {r.host: r.result for r in self.results
                if r.task == task_name and (status is None or r.status == status)}


def run_playbook(playbook, inventory, extravars=None, limit=None, check=False, quiet=True):
    """Run `playbook` (a path, or a name under playbooks/) against `inventory` and collect results."""
    return _run(inventory, quiet, playbook=resolve_playbook(playbook), extravars=extravars or {}, limit=limit,
                cmdline='--check' if check else None)


def run_module(module, module_args, inventory, host_pattern='all', quiet=True):
    """Run one module ad hoc (like `ansible HOSTS -m MODULE -a ARGS`) and collect results."""
    return _run(inventory, quiet, module=module, module_args=json.dumps(module_args), host_pattern=host_pattern)


def _run(inventory, quiet, **runner_args):
    results = []

    def on_event(event):
        status = EVENT_STATUS.get(event.get('event'))
        data = event.get('event_data', {})
        if status and data.get('host'):
            results.append(HostResult(data['host'], data.get('task', ''), status, data.get('res', {})))
        return True

    with tempfile.TemporaryDirectory(prefix='bjeic-ops-run-') as private_dir:
        os.chmod(private_dir, 0o700)
        runner = ansible_runner.run(
            private_data_dir=private_dir, project_dir=PROJECT_ROOT, inventory=os.path.abspath(inventory),
            quiet=quiet, event_handler=on_event, envvars=environment(), **runner_args)
        return RunResult(runner.status, runner.rc, results)
