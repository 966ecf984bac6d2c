#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: host_result
short_description: Give a host, as its own task result, its part of what a run-once call read for many hosts
version_added: 0.4.0
description:
  - Returns O(result) as this host's result - C(failed), C(msg), C(results) and the result contract's keys
    (C(ledger), C(findings), C(probes), ...) as given - so the play recap, the callbacks and the bjeic.ops store see
    each host's part under that host, as if a module had run for it.
  - The step after a C(run_once) call on the controller that reads for every host of the play at once
    (M(bjeic.ops.db_ledger) returns its C(hosts) dict for this). A worker on the controller, no module, no
    connection to the host.
  - Keys of Ansible's own (C(ansible_facts), C(invocation), C(_ansible_*)) are dropped; a part cannot set facts.
options:
  result:
    description: The host's part, a module result (usually C(registered.hosts[inventory_hostname])).
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: The same in check mode; it changes nothing.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: all
    description: Runs on the controller whatever the host.
  action:
    support: full
    description: The work is done by the action plugin on the controller; there is no module to run on the host.
author:
  - bjeic.ops maintainers (@bjeic-ops)
'''

EXAMPLES = r'''
- name: Read every instance of the play's hosts in one call on the controller
  bjeic.ops.db_ledger:
    instances: "{{ hostvars | bjeic.ops.db_instances(ansible_play_batch, 'ledger') }}"
  run_once: true
  delegate_to: localhost
  register: db_ledger_all

- name: Give each host its own part
  bjeic.ops.host_result:
    result: "{{ db_ledger_all.hosts[inventory_hostname] }}"
  when: inventory_hostname in db_ledger_all.hosts
'''

RETURN = r'''
msg:
  description: The part's message.
  returned: when the part has one
  type: str
changed:
  description: Whether the part says something changed (false when it does not say).
  returned: always
  type: bool
'''
