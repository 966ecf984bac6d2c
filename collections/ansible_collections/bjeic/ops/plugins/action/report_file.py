# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The roles' "write the result on the controller" in one place, and without a module: the copy module delegated to
# localhost forked a local Python for each host to write one file.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import tempfile

from ansible.module_utils.common.text.converters import to_native
from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = {
    'dir': {'type': 'path', 'required': True},
    'result': {'type': 'raw'},
    'name': {'type': 'str'},
    'var': {'type': 'str'},
}
ARGUMENT_RULES = {'required_one_of': [['result', 'var']], 'mutually_exclusive': [['result', 'var'], ['name', 'var']]}


def write_json(directory, name, result):
    """The report at directory/name.json, replaced whole: written to a temporary file in the same directory and
    renamed over the old one."""
    if not name or name in ('.', '..') or '/' in name or '\0' in name:
        raise ValueError('report name %r is not a plain file name' % (name,))
    os.makedirs(directory, mode=0o750, exist_ok=True)
    path = os.path.join(directory, name + '.json')
    handle, temporary = tempfile.mkstemp(prefix='.%s.' % name, suffix='.tmp', dir=directory)
    try:
        with os.fdopen(handle, 'w', encoding='utf-8') as out:
            json.dump(result, out, indent=4, sort_keys=True, ensure_ascii=False, default=str)
            out.write('\n')
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o640)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return path


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, **ARGUMENT_RULES)[1]
        task_vars = task_vars or {}
        if not args['dir']:
            return {'changed': False, 'skipped': True, 'msg': 'no report directory given: nothing written'}
        if args['var']:
            # One task (run_once) for the whole batch: each host that registered the variable.
            hostvars = task_vars['hostvars']
            reports = [(host, hostvars[host][args['var']]) for host in task_vars.get('ansible_play_batch', [])
                       if args['var'] in hostvars[host]]
        else:
            reports = [(args['name'] or task_vars.get('inventory_hostname'), args['result'])]
        paths = []
        try:
            for name, result in reports:
                paths.append(write_json(args['dir'], name, result))
        except (OSError, ValueError) as error:
            return {'failed': True, 'changed': False, 'paths': paths,
                    'msg': 'could not write the report in %s on the controller: %s' % (args['dir'], to_native(error))}
        if args['var']:
            return {'changed': False, 'paths': paths}
        return {'changed': False, 'path': paths[0]}
