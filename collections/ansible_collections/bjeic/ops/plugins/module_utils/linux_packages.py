# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The package manager of a Linux host, for every module that installs or removes packages (linux_harden installs
auditd and removes telnetd, linux_patch upgrades and rolls back): which one this host has, and the backends
(patch_apt.AptBackend, patch_dnf.DnfBackend) that both modules use - names installed, install, remove - so there is one
way to call apt and dnf, with dpkg's lock waited for and the administrator's configuration files kept."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.bjeic.ops.plugins.module_utils.patch_apt import AptBackend
from ansible_collections.bjeic.ops.plugins.module_utils.patch_dnf import DnfBackend
from ansible_collections.bjeic.ops.plugins.module_utils.patch_record import PatchError

RHEL_LIKE = ('rhel', 'fedora', 'centos', 'kylin', 'openeuler', 'anolis', 'rocky', 'almalinux')
BINARIES = {'apt': 'apt-get', 'dnf': 'dnf', 'yum': 'yum'}


def os_release_ids():
    ids = set()
    try:
        with open('/etc/os-release') as handle:
            for line in handle:
                key, dummy, value = line.strip().partition('=')
                if key in ('ID', 'ID_LIKE'):
                    ids.update(value.strip('"\'').lower().split())
    except (IOError, OSError):
        pass
    return ids


def pick_backend(module, wanted, run, lock_timeout=60):
    """The backend of `wanted` (apt, dnf, yum, or auto: the one the host's family uses); PatchError when the host has
    none. `run(args, environ_update=None, cwd=None)` is module.run_command."""
    found = dict((backend, module.get_bin_path(binary)) for backend, binary in BINARIES.items())
    if wanted == 'auto':
        rhel = bool(os_release_ids() & set(RHEL_LIKE))
        order = ('dnf', 'yum', 'apt') if rhel else ('apt', 'dnf', 'yum')
        wanted = next((backend for backend in order if found[backend]), None)
        if wanted is None:
            raise PatchError('this host has neither apt-get nor dnf/yum: only Debian- and RHEL-family hosts are '
                             'supported')
    if not found[wanted]:
        raise PatchError('backend=%s but this host has no %s' % (wanted, BINARIES[wanted]))
    if wanted == 'apt':
        return AptBackend(run, lock_timeout)
    return DnfBackend(run, command=found[wanted])
