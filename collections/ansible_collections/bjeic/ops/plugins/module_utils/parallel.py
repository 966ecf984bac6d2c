# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work on many items at once from one module call (db_probe, db_ledger): each item on a daemon thread, a few at
a time, every one within a time limit. What waits on the network waits side by side, and one item that never
answers costs its own limit, not the whole call's: its thread is left to die with the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import queue
import threading
import time


def run_all(items, parallel, work, time_limit, late, crashed):
    """[work(item), ...] in the order of `items`, `parallel` at a time.

    time_limit(item): seconds one item may take. An item not done when its round's limit has passed gets
    late(item, started) instead, started being when its work began (None: it never began, every thread being held
    by items that did not come back). An item whose work raised gets crashed(item, exception)."""
    results = [None] * len(items)
    done = [False] * len(items)
    started = {}
    pending = queue.Queue()
    for index in range(len(items)):
        pending.put(index)

    def worker():
        while True:
            try:
                index = pending.get_nowait()
            except queue.Empty:
                return
            started[index] = time.time()
            try:
                results[index] = work(items[index])
            except Exception as exc:  # one item's surprise must not lose the others' results
                results[index] = crashed(items[index], exc)
            done[index] = True

    threads = [threading.Thread(target=worker) for dummy in range(max(1, min(parallel, len(items))))]
    for thread in threads:
        thread.daemon = True
        thread.start()
    rounds = (len(items) + len(threads) - 1) // len(threads)
    deadline = time.time() + rounds * max([time_limit(item) for item in items] or [1]) + 1
    for thread in threads:
        thread.join(max(0.0, deadline - time.time()))
    # A new list: a thread that comes back after the deadline writes into `results`, not into what was returned.
    return [results[index] if done[index] else late(item, started.get(index)) for index, item in enumerate(items)]
