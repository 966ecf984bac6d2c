# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# A run_once call on the controller (bjeic.ops.db_ledger) reads for many hosts; this gives each host its part as its
# own task result, so the play recap, the callbacks and the store see it per host - in a worker, without a module.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.plugins.action import ActionBase

ARGUMENT_SPEC = {'result': {'type': 'dict', 'required': True}}


def own_part(result):
    """The part as this host's result. Ansible's own keys stay Ansible's: a part cannot set facts or task internals
    on the host."""
    own = dict((key, value) for key, value in result.items()
               if not key.startswith('_ansible') and key not in ('ansible_facts', 'invocation'))
    own['changed'] = bool(own.get('changed'))
    return own


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        super(ActionModule, self).run(tmp, task_vars)
        return own_part(self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]['result'])
