#!/usr/bin/env python3
"""The database ledger and the availability probe over many instances against the stock way, side by side.

N real MariaDB servers (as the tests start them: own data directory, 127.0.0.1, a free port each), one per database
host of the inventory (the hosts are names only: the modules run on the controller, as db_ledger.yml does by
default). In one run, order rotating:

  a      playbooks/db_ledger.yml: one mysql_ledger call per instance (variables, status sampled twice for rates,
         schemas and sizes, binary logs, error log, waits, patch advice)
  b      bench/stock/db_ledger.yml: community.mysql.mysql_info (version, settings, global status, databases with
         sizes) and mysql_query for what it lacks (binary logs, waits), then the status again after the same pause
         for rates, per instance
  probe  playbooks/db_probe.yml: one db_probe call for every instance

    .venv/bin/python bench/db_ledger.py --instances 5 23 --repeat 3
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
from benchlib import rotated, run_timed, write_report  # noqa: E402

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


def commands(inventory_path):
    play = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory_path]
    return {'a': play + [os.path.join(ROOT, 'playbooks', 'db_ledger.yml')],
            'b': play + [os.path.join(HERE, 'stock', 'db_ledger.yml'), '-e', 'sample_seconds=%d' % SAMPLE_SECONDS],
            'probe': play + [os.path.join(ROOT, 'playbooks', 'db_probe.yml')]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--instances', type=int, nargs='+', default=[5, 23])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'db_ledger.json'))
    args = parser.parse_args(argv)
    servers, results = [], {}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), BJEIC_OPS_RECORD='false')
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
            runs = commands(path)
            samples = rotated(runs, args.repeat, lambda command: run_timed(command, env), label='N=%d ' % size)
            results[size] = dict((name, {'wall': statistics.median(s[0] for s in values),
                                         'cpu': statistics.median(s[1] for s in values)})
                                 for name, values in samples.items())
    finally:
        for server in servers:
            server.stop()
    write_report(args.json, repeat=args.repeat, results=results)
    print('| instances | a: db_ledger.yml | b: stock | a/b | db_probe.yml |')
    print('| ---: | ---: | ---: | ---: | ---: |')
    for size, r in results.items():
        print('| %d | %.2f (%.1f) | %.2f (%.1f) | %.2f | %.2f (%.1f) |' % (
            size, r['a']['wall'], r['a']['cpu'], r['b']['wall'], r['b']['cpu'], r['a']['wall'] / r['b']['wall'],
            r['probe']['wall'], r['probe']['cpu']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
