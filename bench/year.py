#!/usr/bin/env python3
"""One contract year in the store: fill it through the real ingestion path, then time the commands people use.

The year (dated back from today, one day after another, in time order):
  every day   01:00 backup.yml         285 hosts, backup_create (a real result captured on a host)
              02:00 backup_verify.yml  285 hosts, backup_check with a restore test
              06:00 daily_inspection   142 linux_inspect + 143 win_inspect results (captured / fixture shapes)
              07:00 db_ledger.yml      23 instances, a mysql_ledger result read from a real MariaDB
  every 5 min the availability probe of the 23 instances:
                --probes ledger  a db_ledger.yml run, as the README told users before (one full ledger read per
                                 instance: today's design)
                --probes probe   a db_probe.yml run: one db_probe call on the controller, 23 compact probes
  5 watches   72 hourly special_duty.yml rounds of 285 hosts each (linux_watch results; 1 % of hosts find something)
  monthly     harden.yml audit (285 hosts) and patch.yml (142 hosts applied, with change records)
  incidents   2 a month, acknowledged and resolved; notifications 6 a day
Planted: one instance down for 50 minutes on day 40, another refusing logins for 3 hours on day 200; hosts' file
systems fill slowly; 1 % of hosts change their configuration on a day (kernel, listening ports).

    .venv/bin/python bench/year.py fill --store sqlite:////var/tmp/year.sqlite --probes probe
    .venv/bin/python bench/year.py time --store sqlite:////var/tmp/year.sqlite
    .venv/bin/python bench/year.py compare --baseline a39deeb --json bench/results/year.json

`compare` runs today's design (a git worktree of --baseline, with --probes ledger) and this tree (--probes probe),
on SQLite and on a private PostgreSQL cluster on 127.0.0.1, each filled in a fresh process, then times every command
in a fresh process (median of 3), and prints one table. It needs about 40 GB of free disk for today's design.
"""
import argparse
import copy
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, 'data')

LINUX, WINDOWS, INSTANCES = 142, 143, 23
WATCH_DAYS = (30, 100, 180, 270, 330)        # each watch: 3 days of hourly rounds
OUTAGES = {40: (3, 50, 'refused'), 200: (7, 180, 'auth')}   # day: (instance, minutes down, error class)


def load(name):
    with open(os.path.join(DATA, name)) as handle:
        return json.load(handle)


def load_fixture(name):
    with open(os.path.join(ROOT, 'tests', 'fixtures', 'windows', name)) as handle:
        return json.load(handle)


def iso(when):
    return when.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def rekey(item, host):
    """A ledger key of the captured host ('vm', 'WIN-APP01') moved to `host`: PREFIX:NAME@HOST or PREFIX:HOST."""
    prefix, rest = item['key'].split(':', 1)
    if prefix == 'self':
        return 'self:vm:%s' % host
    if '@' in rest:
        return '%s:%s@%s' % (prefix, rest.rsplit('@', 1)[0], host)
    return '%s:%s' % (prefix, host)


class Fleet:
    """The results each host returns, made from captured real results, varied per host and day."""

    def __init__(self, seed=7):
        self.random = random.Random(seed)
        self.inspect_linux = load('inspection-result.json')
        self.inspect_windows = load_fixture('win_inspect.json')
        self.harden_linux = load('harden-audit-result.json')
        self.harden_windows = load_fixture('win_harden_enforce.json')
        self.patch = load('patch-planned-result.json')
        self.backup_create = load('backup-create-result.json')
        self.backup_check = load('backup-check-result.json')
        self.watch = load('watch-round-result.json')
        self.db = load('mysql-ledger-result.json')
        self.linux = ['lnx%03d' % n for n in range(1, LINUX + 1)]
        self.windows = ['win%03d' % n for n in range(1, WINDOWS + 1)]
        self.hosts = self.linux + self.windows
        self.instances = ['db%02d' % n for n in range(1, INSTANCES + 1)]
        self.kernel = dict((h, 0) for h in self.hosts)      # configuration generation per host

    def inspection(self, host, day):
        windows = host.startswith('win')
        res = copy.deepcopy(self.inspect_windows if windows else self.inspect_linux)
        if self.random.random() < 0.01:
            self.kernel[host] += 1
        for item in res['ledger']:
            item['key'] = rekey(item, host)
            attrs = item['attrs']
            if item['kind'] == 'os':
                attrs['hostname'] = host
                attrs['kernel'] = '%s.%d' % (attrs.get('kernel') or '6.1', self.kernel[host])
                state = attrs.setdefault('state', {})
                state['load'] = {'1m': round(self.random.random() * 2, 2), '5m': 0.4, '15m': 0.3}
                state['uptime_seconds'] = day * 86400 + self.random.randint(0, 86400)
                state['inspected_at'] = None
                for fs in state.get('filesystems') or []:
                    fs['used_pct'] = round(min(99.0, 20 + day * 0.12 + self.random.random()), 1)
                    fs['used_bytes'] = int(fs.get('used_bytes') or 0) + day * 50_000_000
            elif item['kind'] == 'network' and self.kernel[host] % 3 == 2:
                attrs.setdefault('listening', []).append({'port': 8000 + self.kernel[host], 'proto': 'tcp',
                                                          'address': '0.0.0.0', 'process': 'app'})
        return 'bjeic.ops.' + ('win_inspect' if windows else 'linux_inspect'), res

    def with_host(self, result, host):
        res = copy.deepcopy(result)
        for item in res.get('ledger') or []:
            item['key'] = rekey(item, host)
        return res

    def harden(self, host):
        windows = host.startswith('win')
        return ('bjeic.ops.win_harden' if windows else 'bjeic.ops.linux_harden',
                self.with_host(self.harden_windows if windows else self.harden_linux, host))

    def patch_applied(self, host, when):
        res = self.with_host(self.patch, host)
        res['changed'] = True
        res['changes'] = [{'object': u.get('name', 'pkg'), 'action': 'upgrade', 'before': u.get('current'),
                           'after': u.get('candidate')} for u in (res.get('updates') or [])[:12]]
        res['rollback'] = {'id': 'tx-%s-%s' % (host, when.strftime('%Y%m%d')),
                           'how': {'module': 'bjeic.ops.linux_patch', 'args': {'state': 'rolled_back'}}}
        return 'bjeic.ops.linux_patch', res

    def backup_taken(self, host, when):
        res = self.with_host(self.backup_create, host)
        for backup in res['backups']:
            backup['started'] = backup['finished'] = iso(when)
            backup['path'] = '/backup/etc/etc-%s.tar.zst' % when.strftime('%Y%m%dT%H%M%SZ')
            backup['size'] = 60000 + self.random.randint(0, 5000)
        return 'bjeic.ops.backup_create', res

    def backup_checked(self, host):
        return 'bjeic.ops.backup_check', self.with_host(self.backup_check, host)

    def watch_round(self, host):
        res = copy.deepcopy(self.watch)
        if self.random.random() >= 0.01:
            res['findings'] = []
            res['msg'] = 'no change since the baseline'
        return 'bjeic.ops.linux_watch', res

    def db_ledger(self, instance):
        res = copy.deepcopy(self.db)
        for item in res['ledger']:
            item['key'] = 'db:%s@%s' % (instance, instance)
        return 'bjeic.ops.mysql_ledger', res

    def db_down(self, instance, error_class):
        subject = 'db:%s@%s' % (instance, instance)
        error = {'refused': "(2003, \"Can't connect to MySQL server on '%s' ([Errno 111] Connection refused)\")" % instance,
                 'auth': "(1045, \"Access denied for user 'mon'@'ctl' (using password: YES)\")"}[error_class]
        return 'bjeic.ops.mysql_ledger', {
            'changed': False, 'available': False, 'ledger': [], 'database': None,
            'findings': [{'check': 'db.unreachable', 'severity': 'critical', 'subject': subject, 'value': error,
                          'threshold': None, 'message': '%s: cannot connect: %s' % (subject, error)}],
            'msg': '%s: cannot connect: %s' % (subject, error)}

    def probes(self, down, when):
        """One db_probe result for every instance; `down` maps an instance to its error class."""
        probes, findings = [], []
        for instance in self.instances:
            key = 'db:%s@%s' % (instance, instance)
            if instance in down:
                probes.append({'instance': key, 'engine': 'mysql', 'target': '%s:3306' % instance, 'up': False,
                               'latency_ms': 12, 'error_class': down[instance], 'at': iso(when),
                               'error': 'Connection refused' if down[instance] == 'refused' else 'Access denied'})
                findings.append({'check': 'db.unreachable', 'severity': 'critical', 'subject': key, 'value': None,
                                 'threshold': None, 'message': '%s: cannot connect (%s)' % (key, down[instance])})
            else:
                probes.append({'instance': key, 'engine': 'mysql', 'target': '%s:3306' % instance, 'up': True,
                               'latency_ms': self.random.randint(2, 40), 'version': '10.11.19-MariaDB',
                               'error_class': None, 'at': iso(when)})
        return 'bjeic.ops.db_probe', {'changed': False, 'probes': probes, 'findings': findings,
                                      'msg': '%d of %d instances up' % (len(probes) - len(down), len(probes))}


def run_events(tasks, when):
    """Runner events of one run: `tasks` is [(task name, module, [(host, status, res)])]; time advances a little
    per host, as a real run's events do."""
    clock = when
    yield {'event': 'playbook_on_play_start', 'created': iso(clock), 'event_data': {'play_pattern': 'all'}}
    for name, module, results in tasks:
        yield {'event': 'playbook_on_task_start', 'created': iso(clock), 'event_data': {'task': name}}
        for host, status, res in results:
            clock += timedelta(milliseconds=40)
            yield {'event': 'runner_on_%s' % status, 'created': iso(clock),
                   'event_data': {'host': host, 'task': name, 'task_action': module, 'res': res, 'duration': 1.2}}
    yield {'event': 'playbook_on_stats', 'created': iso(clock), 'event_data': {}}


class Filler:
    def __init__(self, store_url, probes, days, seed=7):
        from bjeic_ops.store import Store
        self.store = Store(store_url)
        self.probes_mode = probes
        self.days = days
        self.fleet = Fleet(seed)
        self.random = random.Random(seed + 1)
        self.counts = {'runs': 0, 'events': 0}

    def run(self, playbook, when, tasks, check_mode=False, ticket=None):
        from bjeic_ops.ingest import Ingestor
        run_id = self.store.begin_run(playbook, inventory='inventories/production', operator='ops', ticket=ticket,
                                      check_mode=check_mode, started_at=when)
        ingest = Ingestor(self.store, run_id, operator='ops', ticket=ticket, check_mode=check_mode)
        last = when
        for event in run_events(tasks, when):
            ingest(event)
            self.counts['events'] += 1
            last = datetime.fromisoformat(event['created'].replace('Z', '+00:00'))
        ingest.close()
        if ingest.failure is not None:
            raise SystemExit('the store refused the run: %s' % ingest.failure)
        self.store.finish_run(run_id, 'complete', status='successful', rc=0, finished_at=last + timedelta(seconds=1))
        self.counts['runs'] += 1
        return run_id

    def per_host(self, name, hosts, make):
        results = []
        for host in hosts:
            module, res = make(host)
            results.append((host, 'ok', res))
        return (name, module, results)

    def day(self, index, midnight):
        fleet = self.fleet
        at = lambda hours, minutes=0: midnight + timedelta(hours=hours, minutes=minutes)   # noqa: E731
        self.run('playbooks/backup.yml', at(1), [self.per_host('Take the backups', fleet.hosts,
                                                               lambda h: fleet.backup_taken(h, at(1)))],
                 ticket='STD-BACKUP')   # a standard change: schedules.yml gives the job its standing ticket
        self.run('playbooks/backup_verify.yml', at(2), [self.per_host('Check the backup sets', fleet.hosts,
                                                                      fleet.backup_checked)])
        self.run('playbooks/daily_inspection.yml', at(6), [
            ('Validating arguments', 'ansible.builtin.validate_argument_spec',
             [(h, 'ok', {'changed': False}) for h in fleet.hosts]),
            self.per_host('Inspect the host in one call', fleet.linux, lambda h: fleet.inspection(h, index)),
            self.per_host('Inspect the host in one call', fleet.windows, lambda h: fleet.inspection(h, index)),
            ('Write the result on the controller', 'ansible.builtin.copy', [(h, 'skipped', {}) for h in fleet.hosts])])
        outage = OUTAGES.get(index)
        if self.probes_mode == 'probe':
            self.run('playbooks/db_ledger.yml', at(7), [self.per_host('Read the MySQL/MariaDB instances',
                                                                      fleet.instances, fleet.db_ledger)])
        for minute in range(0, 24 * 60, 5):
            down = {}
            if outage and 600 <= minute < 600 + outage[1]:
                down[fleet.instances[outage[0]]] = outage[2]
            self.probe(at(0, minute), down)
        if index in WATCH_DAYS or index - 1 in WATCH_DAYS or index - 2 in WATCH_DAYS:
            if index in WATCH_DAYS:
                self.watch_id = self.store.start_watch('watch %d' % index, operator='ops', at=midnight)
            for hour in range(24):
                self.run('playbooks/special_duty.yml', at(hour, 30), [self.per_host('Watch round', fleet.hosts,
                                                                                    fleet.watch_round)])
            if index - 2 in WATCH_DAYS:
                self.store.stop_watch(self.watch_id, operator='ops', at=midnight + timedelta(days=1))
        if midnight.day == 15:
            self.run('playbooks/harden.yml', at(9), [self.per_host('Audit', fleet.hosts, fleet.harden)],
                     ticket='CHG-%s-H' % midnight.strftime('%Y%m'))
            self.run('playbooks/patch.yml', at(10), [self.per_host('Patch', fleet.linux,
                                                                   lambda h: fleet.patch_applied(h, at(10)))],
                     ticket='CHG-%s-P' % midnight.strftime('%Y%m'))
        if midnight.day in (5, 20):
            incident = self.store.open_incident(3, fleet.hosts[index % len(fleet.hosts)], 'service slow',
                                                operator='ops', at=at(11))
            self.store.record_incident_event(incident, 'ack', {'status': 'acknowledged', 'first_response_at': at(11, 3)},
                                             operator='ops', line='first', at=at(11, 3))
            self.store.record_incident_event(incident, 'resolve', {'status': 'resolved', 'resolved_at': at(14),
                                                                   'resolution': 'restarted'}, operator='ops', at=at(14))
        for n in range(6):
            self.store.add_notification(created_at=at(4 * n), channel='mail', rule='finding', key='k%d-%d' % (index, n),
                                        host=fleet.hosts[n], event='firing', severity='warning', title='t',
                                        body='b', state='sent', attempts=1, sent_at=at(4 * n))

    def probe(self, when, down):
        fleet = self.fleet
        if self.probes_mode == 'probe':
            module, res = fleet.probes(down, when)
            self.run('playbooks/db_probe.yml', when, [('Probe the instances', module, [('localhost', 'ok', res)])])
            return
        results = {'mysql': []}
        for instance in fleet.instances:
            module, res = fleet.db_down(instance, down[instance]) if instance in down else fleet.db_ledger(instance)
            results['mysql'].append((instance, 'ok', {'changed': False, 'results': [res], 'msg': 'All items completed'}))
        self.run('playbooks/db_ledger.yml', when, [
            ('Read the Oracle instances', 'bjeic.ops.oracle_ledger', [(i, 'skipped', {}) for i in fleet.instances]),
            ('Read the MySQL/MariaDB instances', 'bjeic.ops.mysql_ledger', results['mysql']),
            ('Read the SQL Server instances', 'bjeic.ops.mssql_ledger', [(i, 'skipped', {}) for i in fleet.instances]),
            ('Summarise the instances read', 'ansible.builtin.debug',
             [(i, 'ok', {'changed': False, 'msg': []}) for i in fleet.instances])])

    def fill(self, progress=True):
        today = datetime.now().astimezone().replace(hour=0, minute=0, second=0, microsecond=0)
        start = today - timedelta(days=self.days)
        per_day, maintain = [], []
        for index in range(self.days):
            midnight = (start + timedelta(days=index)).astimezone()
            began = time.perf_counter()
            self.day(index, midnight)
            per_day.append(time.perf_counter() - began)
            compact = getattr(self.store, 'compact', None)
            if compact is not None:      # the nightly store maintenance job of the new design
                began = time.perf_counter()
                compact(at=midnight + timedelta(days=1, hours=3))
                maintain.append(time.perf_counter() - began)
            if progress and index % 10 == 9:
                print('day %d/%d: %.1f s, %d runs, %d events, peak RSS %.0f MiB' % (
                    index + 1, self.days, per_day[-1], self.counts['runs'], self.counts['events'], peak_mib()),
                    file=sys.stderr, flush=True)
        return {'days': self.days, 'runs': self.counts['runs'], 'events': self.counts['events'],
                'fill_seconds': round(sum(per_day), 1), 'day_seconds_median': round(statistics.median(per_day), 2),
                'day_seconds_max': round(max(per_day), 2),
                'maintenance_seconds_median': round(statistics.median(maintain), 3) if maintain else None,
                'peak_rss_mib': round(peak_mib(), 1), 'start': start.strftime('%Y-%m-%d')}


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def last_full_month():
    first = datetime.now().astimezone().replace(day=1)
    return (first - timedelta(days=1)).strftime('%Y-%m')


def commands(start):
    """The commands people use, as bjeic-ops arguments (the store URL is added)."""
    end = datetime.now().astimezone().strftime('%Y-%m-%d')
    out = tempfile.gettempdir()
    return [
        ('runs', ['runs']),
        ('ledger os', ['ledger', 'os']),
        ('ledger db', ['ledger', 'db']),
        ('ledger diff os (30 days)', ['ledger', 'diff', 'os', '--since',
                                      (datetime.now() - timedelta(days=30)).strftime('%Y-%m-%d')]),
        ('report daily', ['report', 'daily', '--out', os.path.join(out, 'year-daily.html')]),
        ('report monthly', ['report', 'monthly', '--month', last_full_month(), '--out',
                            os.path.join(out, 'year-monthly.html')]),
        ('report acceptance (year)', ['report', 'acceptance', '--from', start, '--to', end, '--out',
                                      os.path.join(out, 'year-acceptance.html')]),
        ('cloud optimize --days 30', ['cloud', 'optimize', '--days', '30']),
    ]


def run_measured(command, env, limit):
    """(exit code or -signal, wall seconds, peak RSS MiB of the command's own process, output); None for the code
    when it ran past `limit` and was stopped."""
    with tempfile.TemporaryFile() as output:
        began = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        stopped = threading.Event()

        def stop():
            stopped.set()
            process.kill()
        timer = threading.Timer(limit, stop)
        timer.start()
        _pid, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        code = None if stopped.is_set() else process.returncode
        return code, time.perf_counter() - began, usage.ru_maxrss / 1024.0, output.read().decode(errors='replace')


def time_commands(store_url, tree, start, repeat=3, limit=600):
    """Median wall seconds and peak RSS of each command in a fresh process; one that runs past `limit` is stopped
    and says so, one the kernel kills (out of memory) says by which signal, and one over a minute is not repeated."""
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, 'wrapper'), BJEIC_OPS_PROJECT=tree)
    rows = {}
    for label, argv in commands(start):
        seconds, peaks = [], []
        for _ in range(repeat):
            code, wall, peak, output = run_measured(
                [sys.executable, '-c', 'import sys; from bjeic_ops.cli import main; sys.exit(main())',
                 '--store', store_url] + argv, env, limit)
            if code is None:
                rows[label] = {'over': limit}
            elif code < 0:
                rows[label] = {'killed': -code, 'peak_rss_mib': round(peak)}
            elif code not in (0, 10):
                rows[label] = {'error': output.strip().splitlines()[-1:]}
            if label in rows:
                break
            seconds.append(wall)
            peaks.append(peak)
            if wall > 60:
                break
        if label not in rows:
            rows[label] = {'seconds': round(statistics.median(seconds), 2), 'peak_rss_mib': round(max(peaks))}
    return rows


def store_size(url):
    if url.startswith('sqlite'):
        path = url.split('///', 1)[1]
        return sum(os.path.getsize(p) for p in (path, path + '-wal') if os.path.exists(p))
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.connect() as conn:
        return conn.execute(text('SELECT pg_database_size(current_database())')).scalar()


def table_sizes(url):
    """Rows per table (and bytes per table on SQLite, from dbstat when the build has it)."""
    from sqlalchemy import create_engine, inspect, text
    engine = create_engine(url)
    sizes = {}
    with engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            sizes[table] = {'rows': conn.execute(text('SELECT count(*) FROM "%s"' % table)).scalar()}
        if url.startswith('sqlite'):
            try:
                for name, size in conn.execute(text('SELECT name, sum(pgsize) FROM dbstat GROUP BY name')):
                    sizes.setdefault(name, {})['bytes'] = size
            except Exception:
                pass
        else:
            for table in list(sizes):
                sizes[table]['bytes'] = conn.execute(text("SELECT pg_total_relation_size('%s')" % table)).scalar()
    return sizes


# ---------------------------------------------------------------- compare: both designs, both databases

class Postgres:
    """A private PostgreSQL cluster on 127.0.0.1 (as the tests start one)."""

    def __enter__(self):
        import glob
        import socket
        initdb = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))[-1]
        self.bindir = os.path.dirname(initdb)
        self.base = tempfile.mkdtemp(prefix='bjeic-pg-', dir='/var/tmp')
        os.chmod(self.base, 0o755)
        self.data = os.path.join(self.base, 'data')
        os.mkdir(self.data, 0o700)
        shutil.chown(self.data, 'postgres', 'postgres')
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            self.port = sock.getsockname()[1]
        self.pg(os.path.join(self.bindir, 'initdb'), '-D', self.data, '--auth=trust', '-U', 'postgres', '-E', 'UTF8')
        self.pg(os.path.join(self.bindir, 'pg_ctl'), '-D', self.data, '-w', '-l', os.path.join(self.data, 'log'), '-o',
                '-p %d -k %s -c listen_addresses=127.0.0.1' % (self.port, self.data), 'start')
        return self

    def url(self, database):
        self.pg(os.path.join(self.bindir, 'createdb'), '-h', '127.0.0.1', '-p', str(self.port), '-U', 'postgres',
                database)
        return 'postgresql+psycopg://postgres@127.0.0.1:%d/%s' % (self.port, database)

    @staticmethod
    def pg(*command):
        subprocess.run(['runuser', '-u', 'postgres', '--'] + list(command), check=True, capture_output=True)

    def __exit__(self, *exc):
        self.pg(os.path.join(self.bindir, 'pg_ctl'), '-D', self.data, '-m', 'fast', 'stop')
        shutil.rmtree(self.base, ignore_errors=True)


def fill_in_process(tree, url, probes, days):
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, 'wrapper'))
    done = subprocess.run([sys.executable, os.path.join(HERE, 'year.py'), 'fill', '--store', url, '--probes', probes, '--days', str(days),
                           '--json'], env=env, stdout=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit('fill failed for %s (%s)' % (url, tree))
    return json.loads(done.stdout)


def migrate_in_process(url, tree):
    """Today's design's year store opened by this tree: the migration to schema 8 (and the first compaction, which
    sums a year of probes into days), timed, with the size after each and after VACUUM."""
    script = ('import json, sys, time; from bjeic_ops.store import Store; t = time.perf_counter(); s = Store(sys.argv[1]); '
              'm = time.perf_counter() - t; t = time.perf_counter(); s.compact(); c = time.perf_counter() - t; '
              'print(json.dumps({"migrate_seconds": round(m, 1), "compact_seconds": round(c, 1)}))')
    env = dict(os.environ, PYTHONPATH=os.path.join(tree, 'wrapper'))
    done = subprocess.run([sys.executable, '-c', script, url], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return {'error': done.stderr.strip().splitlines()[-1:]}
    figures = json.loads(done.stdout)
    figures['size_bytes_after'] = store_size(url)
    vacuum = subprocess.run([sys.executable, '-c', 'import sys; from bjeic_ops.store import Store; '
                             'Store(sys.argv[1]).vacuum()', url], env=env, capture_output=True, text=True)
    figures['size_bytes_vacuumed'] = store_size(url) if vacuum.returncode == 0 else None
    return figures


def compare(args):
    results = {'machine': '%s, %d CPUs, %s, Python %s' % (platform.platform(), os.cpu_count(), machine_memory(),
                                                         platform.python_version()),
               'date': datetime.now().strftime('%Y-%m-%d'), 'days': args.days, 'designs': []}
    work = tempfile.mkdtemp(prefix='bjeic-year-', dir=args.workdir)
    baseline, new = os.path.join(work, 'baseline'), os.path.join(work, 'new')
    # Both named by their short commit and checked out apart: the working tree may change meanwhile.
    args.baseline, args.new = (subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', commit], check=True,
                                              capture_output=True, text=True).stdout.strip()
                               for commit in (args.baseline, args.new))
    for tree, commit in ((baseline, args.baseline), (new, args.new)):
        subprocess.run(['git', '-C', ROOT, 'worktree', 'add', '--detach', tree, commit], check=True, capture_output=True)
    try:
        with Postgres() as postgres:
            designs = [('today', 'today (%s)' % args.baseline, baseline, 'ledger'),
                       ('new', 'new (%s)' % args.new, new, 'probe')]
            for name, label, tree, probes in designs:
                if name not in args.designs:
                    continue
                for backend in args.backends:
                    if backend == 'sqlite':
                        url = 'sqlite:///%s' % os.path.join(work, '%s.sqlite' % probes)
                    else:
                        url = postgres.url('year_%s' % probes)
                    print('filling %s on %s ...' % (label, backend), file=sys.stderr, flush=True)
                    fill = fill_in_process(tree, url, probes, args.days)
                    entry = {'design': label, 'backend': backend, 'fill': fill, 'size_bytes': store_size(url),
                             'tables': table_sizes(url), 'commands': time_commands(url, tree, fill['start'])}
                    results['designs'].append(entry)
                    print(json.dumps(entry), file=sys.stderr, flush=True)
                    if probes == 'ledger' and backend == 'sqlite':
                        results['migration'] = migrate_in_process(url, new)
                        print(json.dumps(results['migration']), file=sys.stderr, flush=True)
                    if url.startswith('sqlite'):
                        for suffix in ('', '-wal', '-shm', '-reserve'):
                            if os.path.exists(url.split('///', 1)[1] + suffix):
                                os.remove(url.split('///', 1)[1] + suffix)
    finally:
        for tree in (baseline, new):
            subprocess.run(['git', '-C', ROOT, 'worktree', 'remove', '--force', tree], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(results, handle, indent=1)
    print(table(results))


def machine_memory():
    with open('/proc/meminfo') as handle:
        kib = int(handle.readline().split()[1])
    return '%.0f GiB' % (kib / 1024.0 ** 2)


def table(results):
    designs = results['designs']
    head = '| | ' + ' | '.join('%s, %s' % (d['design'], d['backend']) for d in designs) + ' |'
    lines = [head, '| --- |' + ' ---: |' * len(designs)]
    lines.append('| store size (MB) | ' + ' | '.join('%.0f' % (d['size_bytes'] / 1e6) for d in designs) + ' |')
    lines.append('| fill: seconds per day (median / max) | ' + ' | '.join(
        '%.1f / %.1f' % (d['fill']['day_seconds_median'], d['fill']['day_seconds_max']) for d in designs) + ' |')
    lines.append('| fill: peak RSS (MiB) | ' + ' | '.join('%.0f' % d['fill']['peak_rss_mib'] for d in designs) + ' |')
    for label in designs[0]['commands']:
        cells = []
        for d in designs:
            cell = d['commands'].get(label, {})
            if 'seconds' in cell:
                cells.append('%.2f s' % cell['seconds'] + (' (%d MiB)' % cell['peak_rss_mib'] if 'peak_rss_mib' in cell
                                                           else ''))
            elif 'over' in cell:
                cells.append('> %d s (stopped)' % cell['over'])
            elif 'killed' in cell:
                cells.append('killed (signal %d)' % cell['killed'])
            else:
                cells.append('error: %s' % cell.get('error'))
        lines.append('| %s | %s |' % (label, ' | '.join(cells)))
    return '\n'.join(lines)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='action', required=True)
    fill = sub.add_parser('fill')
    fill.add_argument('--store', required=True)
    fill.add_argument('--probes', choices=('ledger', 'probe'), default='probe')
    fill.add_argument('--days', type=int, default=365)
    fill.add_argument('--json', action='store_true', help='print the figures as JSON on stdout')
    timing = sub.add_parser('time')
    timing.add_argument('--store', required=True)
    timing.add_argument('--start', required=True, help='the first day filled (YYYY-MM-DD)')
    cmp_ = sub.add_parser('compare')
    cmp_.add_argument('--baseline', required=True, help='the commit of today\'s design')
    cmp_.add_argument('--new', default='HEAD', help='the commit of the new design (default HEAD)')
    cmp_.add_argument('--days', type=int, default=365)
    cmp_.add_argument('--backends', nargs='+', choices=('sqlite', 'postgresql'), default=['sqlite', 'postgresql'])
    cmp_.add_argument('--designs', nargs='+', choices=('today', 'new'), default=['today', 'new'],
                      help='measure only these (today\'s design takes most of the hours)')
    cmp_.add_argument('--workdir', default='/var/tmp')
    cmp_.add_argument('--json')
    args = parser.parse_args(argv)
    if args.action == 'fill':
        figures = Filler(args.store, args.probes, args.days).fill()
        print(json.dumps(figures) if args.json else figures)
    elif args.action == 'time':
        print(json.dumps(time_commands(args.store, ROOT, args.start), indent=1))
    else:
        compare(args)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
