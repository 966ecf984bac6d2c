"""Several bjeic-ops processes opening one new SQLite store at the same moment (two runs started together).

Before the schema was made under the store's write lock, about half of these rounds had a process fail with
"table ... already exists" or "database is locked". The processes are fresh interpreters (not forks of pytest,
whose copied locks can hang a child) that wait for one start file and then open the store.
"""
import subprocess
import sys

from bjeic_ops.store import SCHEMA_VERSION, Store

PROCESSES, ROUNDS = 4, 10
OPEN_STORE = '''
import os, sys, time
from bjeic_ops.store import Store
url, start = sys.argv[1:]
deadline = time.monotonic() + 60
while not os.path.exists(start) and time.monotonic() < deadline:
    time.sleep(0.001)
print(Store(url).version())
'''


def test_processes_opening_a_new_store_at_once(tmp_path):
    for round_number in range(ROUNDS):
        url = 'sqlite:///%s' % (tmp_path / ('store-%d.sqlite' % round_number))
        start = tmp_path / ('start-%d' % round_number)
        processes = [subprocess.Popen([sys.executable, '-c', OPEN_STORE, url, str(start)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(PROCESSES)]
        start.touch()
        outcomes = [process.communicate(timeout=120) for process in processes]
        assert [err[-1200:] for _out, err in outcomes if err.strip()] == []
        assert [out.strip() for out, _err in outcomes] == [str(SCHEMA_VERSION)] * PROCESSES
        assert Store(url).version() == SCHEMA_VERSION
