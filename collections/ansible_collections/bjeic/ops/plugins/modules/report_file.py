#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: report_file
short_description: Write hosts' results as JSON in a directory on the controller
version_added: 0.4.0
description:
  - Writes O(result) to C(<dir>/<inventory_hostname>.json) on the controller - or, with O(var), each host's
    registered O(var) to C(<dir>/<host>.json) for every host of the batch - creating O(dir) when missing (mode
    0750), the file replaced whole (a temporary file renamed over it) with mode 0640, so a reader never sees half a
    report and a killed run leaves the previous file.
  - Runs on the controller only and never connects to the host; the same in check mode, because the report is not a
    change to any host. Reports C(changed=false).
  - The step the roles (inspect, harden, patch, backup_verify) share to leave each host's result on the controller.
options:
  dir:
    description: The directory on the controller. Empty means write nothing (the task reports C(skipped)).
    type: path
    required: true
  result:
    description: What to write, usually a registered module result. One of O(result) and O(var) is required.
    type: raw
  name:
    description: The file's name without C(.json); the host's inventory name when omitted.
    type: str
  var:
    description:
      - The name of a variable each host registered. Every host of the current batch (C(ansible_play_batch)) that
        has it gets C(<dir>/<host>.json); hosts that failed or were unreachable are not in the batch.
      - Meant for C(run_once) - one task on the controller for the whole batch. A task that runs per host forks a
        worker for each host, even to skip, which costs the controller about 0.04 s of CPU per host.
    type: str
attributes:
  check_mode:
    support: full
    description: Writes the report in check mode too; it changes no host.
  diff_mode:
    support: none
    description: The report is not a change to any host.
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
- name: Write the result on the controller
  bjeic.ops.report_file:
    dir: "{{ inspect_report_dir }}"
    result: "{{ inspect_result }}"
  when: inspect_report_dir | length > 0

- name: Write every host's result on the controller in one task
  bjeic.ops.report_file:
    dir: "{{ inspect_report_dir }}"
    var: inspect_result
  run_once: true
'''

RETURN = r'''
path:
  description: The file written on the controller.
  returned: when written for one host (O(result))
  type: str
  sample: /var/tmp/reports/web01.json
paths:
  description: The files written on the controller, one per host.
  returned: with O(var)
  type: list
  elements: str
  sample: [/var/tmp/reports/web01.json, /var/tmp/reports/web02.json]
'''
