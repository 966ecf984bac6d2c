"""Interrupted runs (SIGINT, SIGKILL) leave a consistent store and never become the current ledger;
two runs at once do not corrupt it."""
import os
import signal
import time

from bjeic_ops.store import Store

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLOW = os.path.join(ROOT, 'tests', 'integration', 'playbooks', 'slow.yml')


def kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for_ledger_rows(cli, run_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cli.store_path.exists() and Store('sqlite:///%s' % cli.store_path).count('ledger_items', run_id) >= 2:
            return
        time.sleep(0.5)
    raise AssertionError('run %d stored no ledger items within %ds' % (run_id, timeout))


def test_sigint_marks_the_run_incomplete(cli, lab_inventory):
    process = cli.popen('run', SLOW, '-i', lab_inventory)
    try:
        wait_for_ledger_rows(cli, 1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            kill_group(process)
    assert process.returncode == 99, out + err
    store = cli.store()
    run = store.get_run(1)
    assert (run['state'], run['status']) == ('incomplete', 'canceled')
    assert store.count('ledger_items', 1) == 4      # what was written is there, whole
    assert store.ledger('os') == []                 # but it is not the current ledger
    assert 'run 1 incomplete (canceled' in out


def test_sigkill_is_found_and_marked_incomplete(cli, lab_inventory):
    process = cli.popen('run', SLOW, '-i', lab_inventory)
    try:
        wait_for_ledger_rows(cli, 1)
        process.kill()
        process.wait(timeout=30)
    finally:
        kill_group(process)
    store = cli.store()                             # opening the store reaps runs whose process is gone
    run = store.get_run(1)
    assert (run['state'], run['status']) == ('incomplete', 'killed')
    assert store.ledger('os') == []
    # A later complete run becomes current as usual.
    cli('run', 'daily_inspection.yml', '-i', lab_inventory)
    assert [item['run_id'] for item in cli.store().ledger('os')] == [2, 2]


def test_two_runs_at_once(cli, lab_inventory):
    first = cli.popen('run', 'daily_inspection.yml', '-i', lab_inventory, '--limit', 'pytest-sd')
    second = cli.popen('run', 'daily_inspection.yml', '-i', lab_inventory, '--limit', 'pytest-plain')
    for process in (first, second):
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err
    store = cli.store()
    assert sorted(run['state'] for run in store.list_runs()) == ['complete', 'complete']
    assert sorted(item['host'] for item in store.ledger('os')) == ['pytest-plain', 'pytest-sd']
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql('PRAGMA integrity_check').scalar() == 'ok'
