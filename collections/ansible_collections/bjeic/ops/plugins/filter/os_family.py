# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: os_family
short_description: Whether a host is reached as a Linux or a Windows host, from its connection alone
version_added: 0.4.0
description:
  - Returns C(windows) for a host reached over WinRM or PSRP, or over SSH with the PowerShell shell, and C(linux) for
    every other connection. It needs no facts, so the roles and playbooks pick their Linux or Windows tasks without
    gathering any.
  - The one rule the roles (inspect, harden, patch, expand) and C(special_duty.yml) share.
positional: shell_type
options:
  _input:
    description: The host's C(ansible_connection); empty or undefined means SSH.
    type: str
    required: true
  shell_type:
    description: The host's C(ansible_shell_type); C(powershell) means Windows over SSH.
    type: str
    default: ''
author:
  - bjeic.ops maintainers (@bjeic-ops)
'''

EXAMPLES = r'''
- name: Run the tasks of the host's family
  ansible.builtin.include_tasks: "{{ ansible_connection | default('ssh') | bjeic.ops.os_family(ansible_shell_type | default('')) }}.yml"
'''

RETURN = r'''
_value:
  description: C(linux) or C(windows).
  type: str
'''

WINDOWS_CONNECTIONS = ('winrm', 'psrp', 'ansible.builtin.winrm', 'ansible.builtin.psrp')


def os_family(connection, shell_type=''):
    if (connection or 'ssh') in WINDOWS_CONNECTIONS or (shell_type or '') == 'powershell':
        return 'windows'
    return 'linux'


class FilterModule(object):
    def filters(self):
        return {'os_family': os_family}
