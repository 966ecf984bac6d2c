"""Several bjeic-ops processes opening one new SQLite store at the same moment (two runs started together).

Before the schema was made under the store's write lock, about half of these rounds had a process fail with
"table ... already exists" or "database is locked".
"""
import multiprocessing
import traceback

from bjeic_ops.store import SCHEMA_VERSION, Store

PROCESSES, ROUNDS = 4, 10


def open_store(url, barrier):
    barrier.wait()
    try:
        return Store(url).version(), None
    except Exception:  # the test reports whatever went wrong, with where
        return None, traceback.format_exc()[-1200:]


def test_processes_opening_a_new_store_at_once(tmp_path):
    context = multiprocessing.get_context('fork')
    manager = context.Manager()
    for round_number in range(ROUNDS):
        url = 'sqlite:///%s' % (tmp_path / ('store-%d.sqlite' % round_number))
        barrier = manager.Barrier(PROCESSES)
        with context.Pool(PROCESSES) as pool:
            outcomes = pool.starmap(open_store, [(url, barrier)] * PROCESSES)
        assert [error for _version, error in outcomes if error] == []
        assert [version for version, _error in outcomes] == [SCHEMA_VERSION] * PROCESSES
        assert Store(url).version() == SCHEMA_VERSION
