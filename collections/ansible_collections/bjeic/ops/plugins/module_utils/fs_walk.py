# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Walking a directory tree the way an inspection must on a production host: never leaving the file
system it starts on (no NFS, no /proc under a chroot), never following links, and stopping after a
budget of entries so a directory with millions of files cannot stall the run."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat


class OneFileSystemWalk(object):
    """Iterate (path, lstat result) of the non-directory entries under each of `tops`.

    `limit` entries in all; past it the walk stops and `truncated` is True. A top that is not a
    directory (or, with `skip_linked_tops`, is a link) is left out. `max_depth`, when given, is how many
    directory levels below a top are entered (0: the top's own entries only).
    """

    def __init__(self, tops, limit, skip_linked_tops=False, max_depth=None):
        self.tops = tops
        self.limit = limit
        self.skip_linked_tops = skip_linked_tops
        self.max_depth = max_depth
        self.truncated = False

    def __iter__(self):
        seen = 0
        for top in self.tops:
            if not os.path.isdir(top) or (self.skip_linked_tops and os.path.islink(top)):
                continue
            try:
                device = os.lstat(top).st_dev
            except OSError:
                continue
            for directory, subdirs, files in os.walk(top):
                depth = 0 if directory == top else os.path.relpath(directory, top).count(os.sep) + 1
                if self.max_depth is not None and depth >= self.max_depth:
                    subdirs[:] = []
                subdirs[:] = [d for d in subdirs if _directory_on(os.path.join(directory, d), device)]
                for name in files:
                    seen += 1
                    if seen > self.limit:
                        self.truncated = True
                        return
                    path = os.path.join(directory, name)
                    try:
                        info = os.lstat(path)
                    except OSError:   # gone since it was listed
                        continue
                    yield path, info


def _directory_on(path, device):
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_dev == device
