"""Schedules on a real SQLite store: the schedule file, cron to systemd OnCalendar (checked with systemd-analyze
where it exists) and to AWX RRULEs (expanded with dateutil), late / missed / skipped rounds, the overlap lock and
the timeout of one round; the awx.awx tasks held to the collection's documented options."""
import json
import os
import re
import shutil
import subprocess
import threading
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from bjeic_ops import schedule, schedule_awx
from bjeic_ops.store import Store


@pytest.fixture
def store(tmp_path):
    return Store('sqlite:///%s' % (tmp_path / 'store.sqlite'))


def write(tmp_path, jobs):
    path = tmp_path / 'schedules.yml'
    path.write_text(json.dumps({'jobs': jobs}))
    return str(path)


JOB = {'playbook': 'daily_inspection.yml', 'inventory': 'inventories/example', 'when': '0 7 * * *'}


@pytest.mark.parametrize('cron, calendar', [
    ('0 7 * * *', '*-*-* 07:00:00'),
    ('*/5 * * * *', '*-*-* *:00,05,10,15,20,25,30,35,40,45,50,55:00'),
    ('30 6,18 * * *', '*-*-* 06,18:30:00'),
    ('0 2 * * 1-5', 'Mon,Tue,Wed,Thu,Fri *-*-* 02:00:00'),
    ('0 3 1 * *', '*-*-01 03:00:00'),
    ('15 1 * 1,7 0', 'Sun *-01,07-* 01:15:00'),
])
def test_cron_becomes_on_calendar(cron, calendar):
    assert schedule.on_calendar(cron) == calendar


@pytest.mark.skipif(not shutil.which('systemd-analyze'), reason='systemd-analyze is not installed here')
@pytest.mark.parametrize('cron', ['0 7 * * *', '*/5 * * * *', '0 2 * * 1-5', '15 1 * 1,7 0', '45 23 28 2 *'])
def test_systemd_reads_the_calendar_as_cron_means_it(cron):
    out = subprocess.run(['systemd-analyze', 'calendar', '--iterations=5', schedule.on_calendar(cron)],
                         capture_output=True, text=True, check=True, env=dict(os.environ, TZ='UTC')).stdout
    elapses = [datetime.strptime(m, '%Y-%m-%d %H:%M:%S').replace(tzinfo=timezone.utc)
               for m in re.findall(r'(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC', out)]
    job = dict(JOB, when=cron)
    expected = schedule.due_times(job, elapses[0] - timedelta(seconds=1), elapses[-1])
    assert [t.astimezone(timezone.utc) for t in expected] == elapses


@pytest.mark.parametrize('job, message', [
    ({'inventory': 'i', 'when': '0 7 * * *'}, 'give a playbook or a command'),
    (dict(JOB, when='every day'), 'when must be a cron expression of 5 fields'),
    (dict(JOB, when='0 7 1 * 1'), 'the day of the month or the day of the week, not both'),
    (dict(JOB, timeout=0), 'timeout is whole seconds'),
    (dict(JOB, colour='red'), 'unknown keys colour'),
    ({'playbook': 'x.yml', 'when': '0 7 * * *'}, 'a playbook job needs an inventory'),
    ({'command': 'reboot', 'when': '0 7 * * *'}, 'command must be one of alerts'),
])
def test_mistakes_in_the_file_are_named(tmp_path, job, message):
    with pytest.raises(schedule.ScheduleError, match=message):
        schedule.load(write(tmp_path, {'daily': job}))


def test_a_bad_job_name_is_refused(tmp_path):
    with pytest.raises(schedule.ScheduleError, match='lower-case letters'):
        schedule.load(write(tmp_path, {'Daily Inspection': JOB}))


def test_rounds_on_time_late_missed_and_skipped(store, tmp_path):
    [job] = schedule.load(write(tmp_path, {'round': dict(JOB, when='0 * * * *')}))
    base = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    store.record_schedule_event('round', 'installed', at=base - timedelta(minutes=30))   # nothing was due before
    store.record_schedule_event('round', 'started', at=base + timedelta(seconds=20))               # on time
    store.record_schedule_event('round', 'started', at=base + timedelta(hours=1, minutes=10))      # late
    # base + 2 h: nothing - missed
    store.record_schedule_event('round', 'skipped', at=base + timedelta(hours=3, seconds=5))      # overlap
    store.record_schedule_event('round', 'started', at=base + timedelta(hours=4, seconds=3))
    states = [r['state'] for r in schedule.rounds(store, job, base - timedelta(minutes=1), base + timedelta(hours=4, minutes=30))]
    assert states == ['on_time', 'late', 'missed', 'skipped', 'on_time']
    overdue = schedule.overdue(store, [job], at=base + timedelta(hours=4, minutes=30), window=timedelta(hours=5))
    assert [o['event'] for o in overdue] == ['missed', 'skipped']
    [row] = schedule.list_rows(store, [job], at=base + timedelta(hours=4, minutes=30))
    assert (row['missed_7d'], row['late_7d'], row['skipped_7d']) == (1, 1, 1)


def test_a_second_round_while_one_runs_is_skipped_and_recorded(store, tmp_path, monkeypatch):
    monkeypatch.setenv('BJEIC_OPS_SCHEDULE_LOCKS', str(tmp_path / 'locks'))
    [job] = schedule.load(write(tmp_path, {'slow': JOB}))
    release, started = threading.Event(), threading.Event()

    def slow(job, cancel):
        started.set()
        release.wait(10)
        return 7, True, 'successful'
    results = []
    first = threading.Thread(target=lambda: results.append(schedule.run_job(store, job, slow)))
    first.start()
    assert started.wait(10)
    assert schedule.run_job(store, job, lambda j, c: (8, True, 'ok')) == ('skipped', None)
    release.set()
    first.join(10)
    assert results == [('finished', 7)]
    events = [(e['event'], e['run_id']) for e in store.schedule_events('slow')]
    assert events == [('started', None), ('skipped', None), ('finished', 7)]
    assert 'still runs' in store.schedule_events('slow')[1]['detail']


def test_a_round_is_stopped_at_its_timeout(store, tmp_path, monkeypatch):
    monkeypatch.setenv('BJEIC_OPS_SCHEDULE_LOCKS', str(tmp_path / 'locks'))
    [job] = schedule.load(write(tmp_path, {'stuck': dict(JOB, timeout=1)}))

    def stuck(job, cancel):
        while not cancel():
            threading.Event().wait(0.05)
        return 9, False, 'canceled'
    assert schedule.run_job(store, job, stuck) == ('failed', 9)
    assert store.schedule_events('stuck')[-1]['detail'] == 'stopped at its timeout of 1s; canceled'


def test_a_round_that_cannot_start_is_recorded_failed(store, tmp_path, monkeypatch):
    from bjeic_ops import BjeicOpsError
    monkeypatch.setenv('BJEIC_OPS_SCHEDULE_LOCKS', str(tmp_path / 'locks'))
    [job] = schedule.load(write(tmp_path, {'broken': JOB}))

    def broken(job, cancel):
        raise BjeicOpsError('inventory inventories/example: no such file')
    assert schedule.run_job(store, job, broken) == ('failed', None)
    assert store.schedule_events('broken')[-1]['detail'] == 'inventory inventories/example: no such file'


def test_units_carry_no_secret_and_quote_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv('BJEIC_OPS_STORE', 'postgresql+psycopg://ops:s3cret@db/bjeic')
    [job] = schedule.load(write(tmp_path, {'daily': JOB}))
    written = schedule.install([job], str(tmp_path / 'units'), str(tmp_path / 'etc' / 'schedule.env'), start=False,
                               command='/opt/bjeic ops/bin/bjeic-ops')
    service = open(tmp_path / 'units' / 'bjeic-ops-daily.service').read()
    timer = open(tmp_path / 'units' / 'bjeic-ops-daily.timer').read()
    assert 's3cret' not in service + timer
    assert 'ExecStart="/opt/bjeic ops/bin/bjeic-ops" schedule run-job daily --file %s' % job['path'] in service
    assert 'OnCalendar=*-*-* 07:00:00' in timer and 'Persistent=true' in timer
    env = tmp_path / 'etc' / 'schedule.env'
    assert os.stat(env).st_mode & 0o777 == 0o600 and 's3cret' in env.read_text()
    assert len(written) == 2
    assert schedule.remove(str(tmp_path / 'units'), stop=False) == ['bjeic-ops-daily.service', 'bjeic-ops-daily.timer']
    assert os.listdir(tmp_path / 'units') == []


def documented_options(module):
    import importlib
    doc = yaml.safe_load(importlib.import_module('ansible_collections.awx.awx.plugins.modules.' + module).DOCUMENTATION)
    return doc['options']


PYTHON_TYPES = {'str': str, 'int': int, 'bool': bool, 'dict': dict, 'list': list, 'raw': object, 'path': str}


def test_awx_tasks_use_only_what_awx_awx_documents(tmp_path):
    jobs = schedule.load(write(tmp_path, {'daily': dict(JOB, limit='linux', extra_vars={'inspect_window_hours': 24}),
                                          'db': dict(JOB, playbook='db_ledger.yml', when='*/5 * * * *', overlap=True),
                                          'alerts': {'command': 'alerts', 'when': '* * * * *'}}))
    tasks = schedule_awx.tasks(jobs, 'Default', 'bjeic-ops')
    assert [list(t)[1] for t in tasks] == ['awx.awx.job_template', 'awx.awx.schedule'] * 2
    for task in tasks:
        module = list(task)[1]
        options = documented_options(module.split('.')[-1])
        for name, value in task[module].items():
            assert name in options, (module, name)
            kind = PYTHON_TYPES[options[name].get('type', 'str')]
            assert isinstance(value, kind), (module, name, value)
            assert 'choices' not in options[name] or value in options[name]['choices'], (module, name, value)
    template = tasks[0]['awx.awx.job_template']
    assert (template['playbook'], template['limit'], template['allow_simultaneous']) == ('playbooks/daily_inspection.yml', 'linux', False)
    schedule_awx.write(jobs, str(tmp_path / 'awx.yml'))
    assert yaml.safe_load((tmp_path / 'awx.yml').read_text())[0]['tasks'] == schedule_awx.tasks(jobs, 'Default', 'bjeic-ops')


@pytest.mark.parametrize('cron', ['0 7 * * *', '*/5 * * * *', '0 2 * * 1-5', '30 6,18 * * *', '0 3 1 * *'])
def test_an_awx_rrule_fires_when_cron_does(cron):
    from dateutil.rrule import rrulestr
    start = datetime(2026, 12, 1, 0, 0)
    rule = schedule_awx.rrule(cron, start=start, tz='UTC')
    dtstart, body = rule.split(' ')
    parsed = rrulestr(body.replace('RRULE:', ''), dtstart=start)
    fired = parsed.between(start, start + timedelta(days=40), inc=True)[:200]
    job = dict(JOB, when=cron)
    expected = [t.replace(tzinfo=None) for t in schedule.due_times(job, start.replace(tzinfo=timezone.utc)
                                                                        - timedelta(seconds=1),
                                                                   start.replace(tzinfo=timezone.utc) + timedelta(days=40))][:200]
    if os.environ.get('TZ', 'UTC') == 'UTC' and datetime.now().astimezone().utcoffset() == timedelta(0):
        assert fired == expected
    else:
        assert [t.strftime('%M %H %d %w') for t in fired] == [t.strftime('%M %H %d %w') for t in expected]


def test_the_shipped_schedule_loads_and_its_playbooks_exist():
    """schedules.yml as shipped: every job valid (it once carried a description YAML could not read), every playbook
    and inventory it names present in the project."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    jobs = schedule.load(os.path.join(root, 'schedules.yml'))
    assert {'daily-inspection', 'db-availability', 'backup', 'store-compact'} <= set(j['name'] for j in jobs)
    for job in jobs:
        if job.get('playbook'):
            assert os.path.exists(os.path.join(root, 'playbooks', job['playbook'])), job['name']
            assert os.path.exists(os.path.join(root, job['inventory'])), job['name']
