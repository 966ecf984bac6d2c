"""Playbooks and ad-hoc modules through ansible-runner's Python API with the project's ansible.cfg, results collected
in memory from the runner's events (event_data.res): the way the tests and benchmarks run the collection without
recording a run."""
import json
import os
import tempfile
from dataclasses import dataclass, field

import ansible_runner

from bjeic_ops import project
from bjeic_ops.ingest import EVENT_STATUS
from bjeic_ops.run import environment, resolve_playbook


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


def run_module(module, module_args, inventory, host_pattern='all', quiet=True, check=False, diff=False):
    """Run one module ad hoc (like `ansible HOSTS -m MODULE -a ARGS [--check] [--diff]`) and collect results."""
    flags = ' '.join(flag for flag, wanted in (('--check', check), ('--diff', diff)) if wanted)
    return _run(inventory, quiet, module=module, module_args=json.dumps(module_args), host_pattern=host_pattern,
                **({'cmdline': flags} if flags else {}))


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
        # In-memory runs are for tests and small jobs: they are not records, so the store callback stays off.
        runner = ansible_runner.run(
            private_data_dir=private_dir, project_dir=project.root(), inventory=os.path.abspath(inventory),
            quiet=quiet, event_handler=on_event, envvars=dict(environment(), BJEIC_OPS_RECORD='false'),
            **runner_args)
        return RunResult(runner.status, runner.rc, results)
