"""The availability probe against the real MariaDB the tests start, through playbooks/db_probe.yml and bjeic-ops:
up; down with the server stopped mid-series, and up again once it is back; a wrong password (down, class auth);
slow (the server frozen for longer than slow_ms answers late: still up, with db.probe_slow). Then the series, moved
to planted times, gives the outage in minutes. The passwords never reach the store or the artifacts."""
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from bjeic_ops import availability
from bjeic_ops.store import epoch, probes
from mariadb_server import serve

PASSWORD = 'Probe#pw;2026-long'
WRONG = 'Not!the-password-42'


@pytest.fixture(scope='module')
def mariadb():
    for server in serve("CREATE USER bjeic_monitor@'127.0.0.1' IDENTIFIED BY '%s';" % PASSWORD):
        yield server


def inventory(path, port, password, slow_ms=1000):
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    path.write_text(json.dumps({'all': {'vars': {'db_probe_slow_ms': slow_ms}, 'children': {
        'databases': {'hosts': {'dbhost': dict(local, db_ledger_defaults={'connect_timeout': 2, 'thresholds': {}},
                                               db_ledger_instances=[
            {'engine': 'mysql', 'name': 'shop', 'login_host': '127.0.0.1', 'login_port': port,
             'login_user': 'bjeic_monitor', 'login_password': password, 'backup_path': '/x/*.sql'}])}}}}}))
    return path


def probe_run(cli, inventory_path):
    """One recorded db_probe.yml run: its run id and its one probe."""
    cli('run', 'db_probe.yml', '-i', inventory_path)
    store = cli.store()
    run_id = store.list_runs(1)[0]['id']
    [row] = store.probe_rows(run_id)
    return run_id, row


def test_up_down_wrong_password_and_slow_then_the_outage_in_minutes(mariadb, cli, tmp_path):
    good = inventory(tmp_path / 'good.json', mariadb.port, PASSWORD)
    wrong = inventory(tmp_path / 'wrong.json', mariadb.port, WRONG)
    series = []

    run_id, up = probe_run(cli, good)
    assert up['up'] and up['error_class'] is None and 0 < up['latency_ms'] < 1000
    assert (up['instance'], up['host'], up['engine'], up['target']) == ('shop', 'dbhost', 'mysql',
                                                                        '127.0.0.1:%d' % mariadb.port)
    assert cli.store().findings(run_id) == []
    series.append(run_id)

    mariadb.halt()                      # the server stops mid-series
    try:
        for _ in range(3):
            run_id, down = probe_run(cli, good)
            assert not down['up'] and down['error_class'] == 'refused', down
            assert 'Connection refused' in down['error']
            series.append(run_id)
        [found] = cli.store().findings(run_id)
        assert (found['check_id'], found['severity'], found['subject']) == ('db.unreachable', 'critical', 'db:shop@dbhost')
    finally:
        mariadb.resume()
    run_id, back = probe_run(cli, good)
    assert back['up']
    series.append(run_id)

    run_id, denied = probe_run(cli, wrong)
    assert not denied['up'] and denied['error_class'] == 'auth' and 'Access denied' in denied['error']

    # Slow: the server frozen for 2.5 s while the probe connects (its timeout is 2 s per step, 7 s in all).
    slow_inventory = inventory(tmp_path / 'slow.json', mariadb.port, PASSWORD, slow_ms=1000)
    # Frozen first, and thawed 1.5 s after the probe's connection is seen: however slow ansible-playbook is to start
    # on a busy machine, the probe waits (the kernel completes the handshake for a stopped server).
    os.kill(mariadb.process.pid, signal.SIGSTOP)
    try:
        probe = cli.popen('run', 'db_probe.yml', '-i', slow_inventory)
        deadline = time.time() + 60
        while not connected_to(mariadb.port) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)
    finally:
        os.kill(mariadb.process.pid, signal.SIGCONT)
    assert probe.wait(timeout=120) == 0
    store = cli.store()
    run_id = store.list_runs(1)[0]['id']
    [slow] = store.probe_rows(run_id)
    if slow['up']:
        assert slow['latency_ms'] >= 1000
        [found] = store.findings(run_id)
        assert (found['check_id'], found['severity'], found['value']) == ('db.probe_slow', 'warning', slow['latency_ms'])
    else:                               # frozen across a whole step: that is a timeout, and says so
        assert slow['error_class'] == 'timeout'

    # The series at planted times: up 10:00, down 10:05 / 10:20 / 10:35 (15 minutes apart: each covers its 15),
    # up again 10:50 - an outage of 45 minutes, ended by a good probe.
    start = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
    with store.engine.begin() as conn:
        for run, minutes in zip(series, (0, 5, 20, 35, 50)):
            conn.execute(update(probes).where(probes.c.run_id == run).values(t=epoch(start + timedelta(minutes=minutes))))
    [row] = availability.per_instance(store, start, start + timedelta(hours=1))
    assert (row.down_s, row.unmeasured_s, row.up_s) == (45 * 60, 0, 15 * 60)
    assert row.meets_target == 'no' and row.pct == 25.0
    [outage] = availability.outages(store, start, start + timedelta(hours=1))
    assert (outage['minutes'], outage['error_class'], outage['end_seen']) == (45.0, 'refused', True)
    listed = json.loads(cli('availability', '--from', '2026-11-02T10:00+00:00', '--to', '2026-11-02T11:00+00:00',
                            '--outages', '--format', 'json').stdout)
    assert [(o['instance'], o['outage_minutes'], o['error_class']) for o in listed] == [('shop', 45.0, 'refused')]

    # The passwords went nowhere: not the store, not the run artifacts.
    for path in [cli.store_path] + [os.path.join(d, f) for d, _s, files in os.walk(cli.artifacts) for f in files]:
        if os.path.exists(path):
            with open(path, 'rb') as handle:
                data = handle.read()
            assert PASSWORD.encode() not in data and WRONG.encode() not in data, path


def test_no_instance_in_the_group_is_one_clear_line(cli, tmp_path):
    empty = tmp_path / 'empty.json'
    empty.write_text(json.dumps({'all': {'children': {'databases': {'hosts': {'dbhost': {
        'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}}}))
    done = cli('run', 'db_probe.yml', '-i', empty, check=False)
    assert done.returncode != 0
    assert 'host localhost failed (Probe every instance in one call: no instances to probe' in done.stdout


def test_the_module_in_check_mode_probes_the_same(mariadb, tmp_path):
    """A read-only module: check mode probes for real (ansible-playbook --check), and the result keeps the contract."""
    good = inventory(tmp_path / 'good.json', mariadb.port, PASSWORD)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='json', BJEIC_OPS_RECORD='false')
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '--check', '-i', str(good),
                           os.path.join(os.path.dirname(__file__), '..', '..', 'playbooks', 'db_probe.yml')],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
    assert [p['up'] for p in result['probes']] == [True] and result['summary']['up'] == 1
    assert PASSWORD not in done.stdout


def connected_to(port):
    """An established TCP connection to 127.0.0.1:port exists (/proc/net/tcp: remote address, state 01)."""
    with open('/proc/net/tcp') as handle:
        rows = [line.split() for line in handle.readlines()[1:]]
    return any(row[2] == '0100007F:%04X' % port and row[3] == '01' for row in rows)
