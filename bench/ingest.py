#!/usr/bin/env python3
"""Wrapper ingestion: a synthetic event stream of N hosts x the daily playbook into a SQLite store.

Each host gets the events the daily playbook produces (argument-spec check, the inspection
result recorded from a real host in bench/data/inspection-result.json, two skipped report
tasks) plus the summary on localhost. Every size runs in a fresh process, so peak RSS is that
size's own. Prints a Markdown table: events per second and peak memory per fleet size.

    .venv/bin/python bench/ingest.py 100 300 1000
"""
import copy
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'wrapper'))


def events(hosts, result):
    for index in range(hosts):
        host = 'host%04d' % index
        res = copy.deepcopy(result)
        for item in res['ledger']:
            item['key'] = item['key'].split(':', 1)[0] + ':' + host
        yield {'event': 'runner_on_ok', 'event_data': {'host': host, 'task': 'Validating arguments',
                                                       'task_action': 'ansible.builtin.validate_argument_spec',
                                                       'res': {'changed': False}}}
        yield {'event': 'runner_on_ok', 'event_data': {'host': host, 'task': 'Inspect the host in one call',
                                                       'task_action': 'bjeic.ops.linux_inspect', 'res': res}}
        for task in ('Create the report directory on the controller', 'Write the result on the controller'):
            yield {'event': 'runner_on_skipped', 'event_data': {'host': host, 'task': task, 'res': {}}}
    yield {'event': 'runner_on_ok', 'event_data': {'host': 'localhost', 'task': 'Show findings per host',
                                                   'res': {'changed': False}}}


def measure(hosts):
    from bjeic_ops.ingest import Ingestor
    from bjeic_ops.store import COMPLETE, Store
    with open(os.path.join(HERE, 'data', 'inspection-result.json')) as handle:
        result = json.load(handle)
    with tempfile.TemporaryDirectory() as directory:
        store = Store('sqlite:///%s' % os.path.join(directory, 'store.sqlite'))
        run_id = store.begin_run('daily_inspection.yml')
        ingest = Ingestor(store, run_id)
        count = 0
        started = time.perf_counter()
        for event in events(hosts, result):
            ingest(event)
            count += 1
        ingest.flush()
        store.finish_run(run_id, COMPLETE, 'successful', 0)
        elapsed = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        assert store.count('ledger_items', run_id) == 2 * hosts   # os + network per host
    return {'hosts': hosts, 'events': count, 'seconds': round(elapsed, 2),
            'events_per_second': int(count / elapsed), 'peak_rss_mib': round(peak_mib, 1)}


def main(argv):
    if argv[:1] == ['--one']:
        print(json.dumps(measure(int(argv[1]))))
        return 0
    sizes = [int(a) for a in argv] or [100, 300, 1000]
    print('| hosts | events | seconds | events/s | peak RSS (MiB) |')
    print('| ---: | ---: | ---: | ---: | ---: |')
    for size in sizes:
        out = subprocess.run([sys.executable, __file__, '--one', str(size)], check=True, capture_output=True, text=True)
        row = json.loads(out.stdout)
        print('| %(hosts)d | %(events)d | %(seconds).2f | %(events_per_second)d | %(peak_rss_mib).1f |' % row)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
