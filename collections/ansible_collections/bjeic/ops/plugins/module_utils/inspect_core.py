# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The daily inspection's shared parts: check ids and default thresholds, reading with a time limit and from
the end of large files, and the Inspection that collects findings, ledger attributes and run-to-run state."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import threading
import time
from datetime import datetime

from ansible_collections.bjeic.ops.plugins.module_utils import contract


CHECK_IDS = (
    'fs.usage', 'fs.inodes', 'fs.readonly', 'fs.fstab_mismatch', 'lvm.vg_free', 'swap.usage',
    'mem.usage', 'cpu.load', 'proc.zombie', 'svc.failed', 'svc.down', 'login.failed', 'tmp.usage',
    'files.core_dump', 'log.errors', 'backup.stale', 'backup.missing', 'ntp.unsynced',
)

DEFAULT_THRESHOLDS = {
    'fs.usage': {'warning': 80.0, 'critical': 90.0},
    'fs.inodes': {'warning': 80.0, 'critical': 90.0},
    'lvm.vg_free': {'warning': 10.0, 'critical': 5.0, '_direction': 'below'},
    'swap.usage': {'warning': 50.0, 'critical': 80.0},
    'mem.usage': {'warning': 85.0, 'critical': 95.0},
    'cpu.load': {'warning': 1.0, 'critical': 2.0},
    'proc.zombie': {'warning': 1.0, 'critical': 10.0},
    'login.failed': {'warning': 5.0, 'critical': 30.0},
    'tmp.usage': {'warning': 1024.0, 'critical': 4096.0},
    'files.core_dump': {'warning': 1.0, 'critical': 10.0},
    'log.errors': {'warning': 10.0, 'critical': 100.0},
    'backup.stale': {'warning': 1.0, 'critical': 2.0},
}

STATFS_TIMEOUT = 5.0       # seconds per file system before it counts as hung
TMP_WALK_LIMIT = 200000    # entries walked under one tmp directory
LOG_TAIL_BYTES = 64 << 20  # read at most the last 64 MiB of a syslog file
UTMP_TAIL_BYTES = 32 << 20  # and of wtmp/btmp (brute force makes btmp huge)
JOURNAL_MAX_ENTRIES = 5000
MIB = 1024 * 1024
GIB = 1024 * MIB


def with_timeout(function, timeout, *args):
    """Run `function(*args)` in a daemon thread: (True, result), (False, exception) or (None, None) on timeout."""
    box = {}

    def target():
        try:
            box['result'] = function(*args)
        except Exception as exc:  # handed back to the caller, which reports it
            box['error'] = exc
    worker = threading.Thread(target=target)
    worker.daemon = True
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        return None, None
    if 'error' in box:
        return False, box['error']
    return True, box['result']


def read_tail(path, limit, align=1):
    """Last `limit` bytes of a file, starting on a multiple of `align`. Returns (data, truncated)."""
    with open(path, 'rb') as handle:
        size = os.fstat(handle.fileno()).st_size
        start = max(0, size - limit)
        start -= start % align
        handle.seek(start)
        return handle.read(), start > 0


def human_bytes(number):
    for unit, size in (('TiB', 1 << 40), ('GiB', GIB), ('MiB', MIB), ('KiB', 1024)):
        if number >= size:
            return '%.1f %s' % (number / size, unit)
    return '%d B' % number


class Inspection(object):
    """One inspection run: options, the clock, and what has been found so far."""

    def __init__(self, module, thresholds, enabled):
        self.module = module
        self.thresholds = thresholds
        self.enabled = enabled
        self.now = time.time()
        self.since = self.now - module.params['window_hours'] * 3600
        self.hostname = socket.gethostname()
        self.found = contract.Findings(keep=lambda check: check in enabled or check == 'inspect.error')
        self.findings = self.found.items
        self.attrs = {}
        self.state = {}  # values that change run to run: ledger attrs.state, left out of drift
        self.systemd = os.path.isdir('/run/systemd/system')
        self.network = None
        self.cloud = None

    def on(self, *checks):
        return any(check in self.enabled for check in checks)

    def add(self, item):
        self.found.add_item(item)

    def graded(self, check, subject, value, message_format, **extra):
        """Add a finding for `value` if it crosses the check's thresholds."""
        self.found.graded(check, value, self.thresholds[check], message_format, subject=subject, **extra)

    def run(self, *args):
        return contract.run_c(self.module, args)


def read_text_bytes(path):
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def iso(epoch):
    return datetime.utcfromtimestamp(epoch).strftime('%Y-%m-%dT%H:%M:%SZ')
