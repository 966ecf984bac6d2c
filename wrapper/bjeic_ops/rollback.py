"""Undo a recorded change by running the rollback its module returned.

A module wires rollback by returning `rollback: {id, how: {module, args}}`; the wrapper runs
that module with those args on the change's host, as a new recorded run.
"""
import json
import os
import tempfile

from . import BjeicOpsError
from .paths import artifact_root
from .run import RunOptions, execute


WINDOWS_PREFIX = 'bjeic.ops.win_'


class RollbackNotWired(BjeicOpsError):
    pass


def rollback_playbook(change):
    handle = change.get('rollback') or {}
    if isinstance(handle, dict) and handle.get('irreversible'):
        raise RollbackNotWired('change %d (%s on %s) cannot be rolled back: %s'
                               % (change['id'], change['object'], change['host'], handle['irreversible']))
    how = handle.get('how') if isinstance(handle, dict) else None
    if not isinstance(how, dict) or not how.get('module'):
        raise RollbackNotWired('change %d (%s on %s, module %s) has no rollback wired: its module returned %s'
                               % (change['id'], change['object'], change['host'], change['module'] or '?',
                                  json.dumps(handle) if handle else 'no rollback handle'))
    task = {'name': 'Roll back change %d (%s %s)' % (change['id'], change['action'] or '', change['object'] or ''),
            how['module']: how.get('args') or {}}
    if how['module'].startswith(WINDOWS_PREFIX):
        # As the roles run Windows modules: SYSTEM through runas (sudo means nothing over WinRM).
        task.update(become_method='ansible.builtin.runas', become_user='SYSTEM')
    return [{
        'name': 'Roll back change %d' % change['id'],
        'hosts': change['host'],
        'gather_facts': False,
        'become': True,
        'tasks': [task],
    }]


def rollback(store, change_id, operator=None, ticket=None, check=False, observer=None, cancel=None):
    change = store.get_change(change_id)
    run = store.get_run(change['run_id'])
    playbook = rollback_playbook(change)
    fd, path = tempfile.mkstemp(dir=artifact_root(), prefix='rollback-change-%d-' % change['id'], suffix='.yml')
    with os.fdopen(fd, 'w') as handle:
        json.dump(playbook, handle, indent=2)   # JSON is YAML
    try:
        options = RunOptions(playbook=path, inventory=run['inventory'], limit=change['host'], check=check, diff=True,
                             operator=operator, ticket=ticket or change['ticket'], cancel=cancel)
        return execute(options, store, observer)
    finally:
        os.unlink(path)
