#!/usr/bin/env python3
"""The database ledger and the availability probe over many instances against the stock way, side by side.

N real MariaDB servers (as the tests start them: own data directory, 127.0.0.1, a free port each), one per database
host of the inventory (the hosts are names only: the modules run on the controller, as db_ledger.yml does by
default). In one run, order rotating:

  a      playbooks/db_ledger.yml: one bjeic.ops.db_ledger call on the controller for every instance, each read as
         mysql_ledger reads it (variables, status sampled twice for rates, schemas and sizes, binary logs, error log,
         waits, patch advice), then each host's part given to it (bjeic.ops.host_result)
  a_base with --baseline REV: a as it was at commit REV (its playbook, collection and ansible.cfg, from a git worktree)
  b      bench/stock/db_ledger.yml: community.mysql.mysql_info (version, settings, global status, databases with
         sizes) and mysql_query for what it lacks (binary logs, waits), then the status again after the same pause
         for rates, per instance
  probe  playbooks/db_probe.yml: one db_probe call for every instance

    .venv/bin/python bench/db_ledger.py --instances 5 23 --repeat 3 [--baseline REV]
"""
import argparse
import json
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
from mariadb_server import MariaDB  # noqa: E402
sys.path.insert(0, HERE)
from benchlib import add_baseline, head_commit, remove_baseline, rotated, run_timed, write_report  # noqa: E402

BIN = os.path.dirname(sys.executable)
PASSWORD = 'bench-Monitor-2026'
SETUP = """CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2));
INSERT INTO shop.orders SELECT seq, seq * 1.5 FROM shop.seq_1_to_500;
CREATE USER bjeic_monitor@'127.0.0.1' IDENTIFIED BY '%s';
GRANT SELECT, PROCESS, BINLOG MONITOR ON *.* TO bjeic_monitor@'127.0.0.1';""" % PASSWORD
SAMPLE_SECONDS = 1      # mysql_ledger's default pause between the two status reads


def inventory(servers, path):
    hosts = {}
    for index, server in enumerate(servers):
        hosts['db%02d' % (index + 1)] = {
            'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable,
            'db_ledger_instances': [{'engine': 'mysql', 'name': 'shop%02d' % (index + 1), 'login_host': '127.0.0.1',
                                     'login_port': server.port, 'login_user': 'bjeic_monitor',
                                     'login_password': PASSWORD}]}
    with open(path, 'w') as handle:
        json.dump({'all': {'hosts': {'localhost': {'ansible_connection': 'local',
                                                   'ansible_python_interpreter': sys.executable}},
                           'children': {'databases': {'hosts': hosts}}}}, handle)


def commands(inventory_path, baseline=None):
    play = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory_path]
    runs = {'a': play + [os.path.join(ROOT, 'playbooks', 'db_ledger.yml')],
            'b': play + [os.path.join(HERE, 'stock', 'db_ledger.yml'), '-e', 'sample_seconds=%d' % SAMPLE_SECONDS],
            'probe': play + [os.path.join(ROOT, 'playbooks', 'db_probe.yml')]}
    if baseline:
        runs['a_base'] = play + [os.path.join(baseline, 'playbooks', 'db_ledger.yml')]
    return runs


def run_with_config(command):
    """A playbook of the baseline's worktree runs with that worktree's ansible.cfg (and so its collection)."""
    root = command[-1].rsplit('/playbooks/', 1)[0] if '/playbooks/' in command[-1] else ROOT
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, 'ansible.cfg'), BJEIC_OPS_RECORD='false')
    return run_timed(command, env)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--instances', type=int, nargs='+', default=[5, 23])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'db_ledger.json'))
    parser.add_argument('--baseline', metavar='REV', help='also run a as it was at this commit (column a_base)')
    args = parser.parse_args(argv)
    servers, results = [], {}
    rev, baseline = add_baseline(args.baseline) if args.baseline else (None, None)
    work = tempfile.mkdtemp(prefix='bjeic-bench-db-')
    try:
        for _ in range(max(args.instances)):
            server = MariaDB()
            servers.append(server)
            server.start()
            server.sql(SETUP)
        for size in args.instances:
            path = os.path.join(work, 'hosts-%d.json' % size)
            inventory(servers[:size], path)
            runs = commands(path, baseline)
            samples = rotated(runs, args.repeat, run_with_config, label='N=%d ' % size)
            results[size] = dict((name, {'wall': statistics.median(s[0] for s in values),
                                         'cpu': statistics.median(s[1] for s in values)})
                                 for name, values in samples.items())
    finally:
        for server in servers:
            server.stop()
        if baseline:
            remove_baseline(baseline)
    write_report(args.json, repeat=args.repeat, results=results, commit=head_commit(), baseline=rev)
    print('| instances | a: db_ledger.yml (%s) | a at %s | b: stock | a/b | a at %s / b | db_probe.yml |' % (
        head_commit(), rev or '-', rev or '-'))
    print('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for size, r in results.items():
        base = r.get('a_base')
        print('| %d | %.2f (%.1f) | %s | %.2f (%.1f) | %.2f | %s | %.2f (%.1f) |' % (
            size, r['a']['wall'], r['a']['cpu'], '%.2f (%.1f)' % (base['wall'], base['cpu']) if base else '-',
            r['b']['wall'], r['b']['cpu'], r['a']['wall'] / r['b']['wall'],
            '%.2f' % (base['wall'] / r['b']['wall']) if base else '-', r['probe']['wall'], r['probe']['cpu']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
