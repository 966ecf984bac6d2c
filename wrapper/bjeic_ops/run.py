"""Run the project's playbooks through ansible-runner with the project's ansible.cfg.

Results come from runner events (event_data.res), never from parsing printed text.
"""
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field

import ansible_runner

from . import BjeicOpsError

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class PlaybookNotFound(BjeicOpsError):
    pass


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


_EVENT_STATUS = {'runner_on_ok': 'ok', 'runner_on_failed': 'failed',
                 'runner_on_unreachable': 'unreachable', 'runner_on_skipped': 'skipped'}


def run_playbook(playbook, inventory, extravars=None, limit=None, check=False, quiet=True):
    """Run `playbook` (a path, or a name under playbooks/) against `inventory` and collect results."""
    path = playbook if os.path.isabs(playbook) else os.path.join(PROJECT_ROOT, 'playbooks', playbook)
    if not os.path.isfile(path):
        raise PlaybookNotFound('no playbook at %s' % path)
    return _run(inventory, quiet, playbook=path, extravars=extravars or {}, limit=limit,
                cmdline='--check' if check else None)


def run_module(module, module_args, inventory, host_pattern='all', quiet=True):
    """Run one module ad hoc (like `ansible HOSTS -m MODULE -a ARGS`) and collect results."""
    return _run(inventory, quiet, module=module, module_args=json.dumps(module_args), host_pattern=host_pattern)


def _environment():
    # The ansible commands installed beside this interpreter come first, so a virtual
    # environment works without being activated.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
    return {'ANSIBLE_CONFIG': os.path.join(PROJECT_ROOT, 'ansible.cfg'), 'PATH': path}


def _run(inventory, quiet, **runner_args):
    results = []

    def on_event(event):
        status = _EVENT_STATUS.get(event.get('event'))
        data = event.get('event_data', {})
        if status and data.get('host'):
            results.append(HostResult(data['host'], data.get('task', ''), status, data.get('res', {})))
        return True

    with tempfile.TemporaryDirectory(prefix='bjeic-ops-run-') as private_dir:
        os.chmod(private_dir, 0o700)
        runner = ansible_runner.run(
            private_data_dir=private_dir, project_dir=PROJECT_ROOT, inventory=os.path.abspath(inventory),
            quiet=quiet, event_handler=on_event,
            envvars=_environment(), **runner_args)
        return RunResult(runner.status, runner.rc, results)
