#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the work is done on the controller by the action plugin of the same name.

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: report_file
short_description: Write a host's result as JSON in a directory on the controller
version_added: 0.4.0
description:
  - Writes O(result) to C(<dir>/<inventory_hostname>.json) on the controller, creating O(dir) when missing (mode
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
    description: What to write, usually a registered module result.
    type: raw
    required: true
  name:
    description: The file's name without C(.json); the host's inventory name when omitted.
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
'''

RETURN = r'''
path:
  description: The file written on the controller.
  returned: when written
  type: str
  sample: /var/tmp/reports/web01.json
'''
