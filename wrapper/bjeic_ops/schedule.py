"""Schedules (运维计划): one file names the jobs of the contract's operating loop - playbook, inventory, limit,
extra vars, when (cron, in the controller's time zone), timeout, whether two may overlap - and becomes systemd
timers on the controller (`schedule install`) or AWX job templates and schedules (`schedule awx`).

A timer starts `bjeic-ops schedule run-job NAME`: it takes the job's lock (a second start while one runs is
skipped and recorded), runs the playbook as an ordinary recorded run with operator `schedule:NAME`, stops it at
the timeout, and records started / finished / failed / skipped in `schedule_events` (`installed` too: no round
is due before it). `schedule list` compares
each job's runs with the times cron says it should have started: late or missed rounds show there, in the duty
record and in the monthly report.
"""
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timedelta

from croniter import croniter

from . import BjeicOpsError, yamlfile
from .times import as_utc, minute, now

UNIT_PREFIX = 'bjeic-ops-'
DEFAULT_UNIT_DIR = '/etc/systemd/system'
DEFAULT_ENV_FILE = '/etc/bjeic-ops/schedule.env'
DEFAULT_TIMEOUT = 3600
GRACE = timedelta(minutes=2)       # a start this late is on time; later is late; no start before the next is missed
# What a timer's run needs from the installer's environment (the store may carry a password: 0600 file, never a unit).
CARRIED_ENV = ('BJEIC_OPS_STORE', 'BJEIC_OPS_ARTIFACTS', 'BJEIC_OPS_SPOOL', 'BJEIC_OPS_ALERTS', 'BJEIC_OPS_PROJECT',
               'ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH', 'BJEIC_OPS_STORE_TIMEOUT')
NAME = re.compile(r'^[a-z0-9][a-z0-9_-]{0,62}$')
COMMANDS = ('alerts', 'store-compact', 'capacity')   # a job may run a bjeic-ops command instead of a playbook
DAYS = ('Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat')


class ScheduleError(BjeicOpsError):
    pass


# ---------------------------------------------------------------- the file

def load(path):
    data = yamlfile.read(path, 'schedule %s' % path, ScheduleError) or {}
    if not isinstance(data, dict) or not isinstance(data.get('jobs'), dict) or not data['jobs']:
        raise ScheduleError('schedule %s: give `jobs:` (a mapping of job names to jobs)' % path)
    jobs = []
    for name, job in data['jobs'].items():
        where = 'schedule %s: job %s' % (path, name)
        name = str(name)
        if not NAME.match(name):
            raise ScheduleError('%s: a job name is lower-case letters, digits, - and _ (it names a systemd unit)' % where)
        if not isinstance(job, dict):
            raise ScheduleError('%s must be a mapping' % where)
        unknown = set(job) - {'playbook', 'command', 'inventory', 'limit', 'extra_vars', 'when', 'timeout', 'overlap',
                              'ticket', 'description'}
        if unknown:
            raise ScheduleError('%s: unknown keys %s' % (where, ', '.join(sorted(unknown))))
        if bool(job.get('playbook')) == bool(job.get('command')):
            raise ScheduleError('%s: give a playbook or a command (%s), one of them' % (where, ', '.join(COMMANDS)))
        if job.get('command') and job['command'] not in COMMANDS:
            raise ScheduleError('%s: command must be one of %s' % (where, ', '.join(COMMANDS)))
        if job.get('playbook') and not job.get('inventory'):
            raise ScheduleError('%s: a playbook job needs an inventory' % where)
        on_calendar(job.get('when'), where)
        timeout = job.get('timeout', DEFAULT_TIMEOUT)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 < timeout <= 7 * 86400:
            raise ScheduleError('%s: timeout is whole seconds, 1 to 604800, got %r' % (where, timeout))
        if not isinstance(job.get('extra_vars', {}), dict):
            raise ScheduleError('%s: extra_vars must be a mapping' % where)
        jobs.append(dict(job, name=name, timeout=timeout, overlap=bool(job.get('overlap', False)),
                         extra_vars=job.get('extra_vars') or {}, path=os.path.abspath(path)))
    return jobs


def on_calendar(expression, where='schedule'):
    """A 5-field cron expression as systemd's OnCalendar, in the same (local) time zone."""
    if not isinstance(expression, str) or len(expression.split()) != 5 or not croniter.is_valid(expression):
        raise ScheduleError('%s: when must be a cron expression of 5 fields (minute hour day month weekday), got %r'
                            % (where, expression))
    minute_f, hour_f, day_f, month_f, weekday_f = expression.split()
    if day_f != '*' and weekday_f != '*':
        raise ScheduleError('%s: give the day of the month or the day of the week, not both (cron takes either, '
                            'systemd both)' % where)
    fields = croniter(expression).expanded

    def listed(values, text, width=2):
        return '*' if text == '*' else ','.join('%0*d' % (width, v) for v in values)
    weekdays = '' if weekday_f == '*' else ','.join(DAYS[d % 7] for d in sorted(set(v % 7 for v in fields[4]))) + ' '
    return '%s*-%s-%s %s:%s:00' % (weekdays, listed(fields[3], month_f), listed(fields[2], day_f),
                                   listed(fields[1], hour_f), listed(fields[0], minute_f))


def due_times(job, since, until):
    """The times cron says the job should have started in (since, until]."""
    times = []
    iterator = croniter(job['when'], as_utc(since).astimezone())
    while len(times) < 10000:
        moment = iterator.get_next(ret_type=datetime)
        if moment > as_utc(until):
            break
        times.append(moment)
    return times


def next_time(job, at=None):
    return croniter(job['when'], as_utc(at or now()).astimezone()).get_next(ret_type=datetime)


# ---------------------------------------------------------------- late and missed rounds

def rounds(store, job, since, until):
    """Each due time in the window with what happened: on_time, late (started more than GRACE after), missed (no
    start before the next due time), skipped (an overlap), running. [{due, started, state, run_id}]"""
    known = store.schedule_events(job['name'])
    if not known:
        return []               # never installed nor run here: nothing was due
    since = max(as_utc(since), as_utc(known[0]['at']) - GRACE)   # nothing was due before it was installed
    events = [e for e in known if e['event'] in ('started', 'skipped')
              and since - GRACE <= as_utc(e['at']) <= as_utc(until) + timedelta(days=1)]
    due = due_times(job, since, until)
    out = []
    for index, moment in enumerate(due):
        later = due[index + 1] if index + 1 < len(due) else None
        match = next((e for e in events if as_utc(e['at']) >= moment - GRACE
                      and (later is None or as_utc(e['at']) < later - GRACE)), None)
        if match is None:
            state = 'missed' if later is not None or as_utc(until) - moment > GRACE else 'due'
        elif match['event'] == 'skipped':
            state = 'skipped'
        else:
            state = 'late' if as_utc(match['at']) - moment > GRACE else 'on_time'
        out.append({'due': moment, 'started': match and match['at'], 'state': state, 'run_id': match and match['run_id']})
    return out


def overdue(store, jobs, at=None, window=timedelta(hours=2)):
    """Missed rounds and failures of the last `window`, for the alert rule `jobs`: [{job, event, at, detail}]."""
    at = at or now()
    out = []
    for job in jobs:
        for item in rounds(store, job, at - window, at):
            if item['state'] in ('missed', 'skipped'):
                out.append({'job': job['name'], 'event': item['state'], 'at': minute(item['due']),
                            'detail': 'job %s (%s) %s its round due %s' % (
                                job['name'], job.get('playbook') or job['command'],
                                'missed' if item['state'] == 'missed' else 'was skipped (the previous one still ran) for',
                                minute(item['due']))})
        for event in store.schedule_events(job['name'], at - window, at):
            if event['event'] == 'failed':
                out.append({'job': job['name'], 'event': 'failed', 'at': minute(event['at']),
                            'detail': 'job %s failed at %s: %s' % (job['name'], minute(event['at']), event['detail'])})
    return out


def list_rows(store, jobs, at=None):
    at = at or now()
    rows = []
    for job in jobs:
        events = store.schedule_events(job['name'])
        last = next((e for e in reversed(events) if e['event'] in ('finished', 'failed', 'skipped')), None)
        recent = rounds(store, job, at - timedelta(days=7), at)
        rows.append({'job': job['name'], 'what': job.get('playbook') or 'bjeic-ops ' + job['command'],
                     'when': job['when'], 'on_calendar': on_calendar(job['when']),
                     'last': minute(last['at']) if last else None, 'last_result': last['event'] if last else None,
                     'last_run': last['run_id'] if last else None, 'next': minute(next_time(job, at)),
                     'late_7d': sum(1 for r in recent if r['state'] == 'late'),
                     'missed_7d': sum(1 for r in recent if r['state'] == 'missed'),
                     'skipped_7d': sum(1 for r in recent if r['state'] == 'skipped')})
    return rows


# ---------------------------------------------------------------- systemd units

def units(job, command, env_file):
    """(service text, timer text) of a job."""
    argv = [command, 'schedule', 'run-job', job['name'], '--file', job['path']]
    service = '\n'.join([
        '# Written by bjeic-ops schedule install; edit %s and install again instead.' % job['path'],
        '[Unit]',
        'Description=bjeic-ops scheduled job %s (%s)' % (job['name'], job.get('playbook') or job['command']),
        '',
        '[Service]',
        'Type=oneshot',
        'EnvironmentFile=-%s' % env_file,
        'ExecStart=%s' % ' '.join(_systemd_quote(a) for a in argv),
        # run-job stops the playbook at the job's timeout; this is the backstop.
        'TimeoutStartSec=%d' % (job['timeout'] + 120),
        '']) + '\n'
    timer = '\n'.join([
        '[Unit]',
        'Description=bjeic-ops schedule of %s (cron %s)' % (job['name'], job['when']),
        '',
        '[Timer]',
        'OnCalendar=%s' % on_calendar(job['when']),
        'AccuracySec=1s',
        'Persistent=true',
        'Unit=%s%s.service' % (UNIT_PREFIX, job['name']),
        '',
        '[Install]',
        'WantedBy=timers.target',
        '']) + '\n'
    return service, timer


def _systemd_quote(text):
    return text if re.match(r'^[A-Za-z0-9_@%+=:,./-]+$', text) else '"%s"' % text.replace('\\', '\\\\').replace('"', '\\"')


def _systemctl(*args, check=True):
    if not shutil.which('systemctl'):
        raise ScheduleError('systemctl is not here: schedule install needs a controller that runs systemd '
                            '(use --unit-dir to write the units only, or `schedule awx` for AWX)')
    done = subprocess.run(['systemctl'] + list(args), capture_output=True, text=True)
    if check and done.returncode != 0:
        raise ScheduleError('systemctl %s failed: %s' % (' '.join(args), (done.stderr or done.stdout).strip()[:300]))
    return done


def install(jobs, unit_dir=DEFAULT_UNIT_DIR, env_file=DEFAULT_ENV_FILE, start=True, command=None):
    """Write each job's service and timer (and the 0600 environment file), reload systemd, enable the timers."""
    command = command or os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), 'bjeic-ops')
    os.makedirs(unit_dir, exist_ok=True)
    os.makedirs(os.path.dirname(env_file), mode=0o700, exist_ok=True)
    fd = os.open(env_file + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        for name in CARRIED_ENV:
            if os.environ.get(name):
                handle.write('%s=%s\n' % (name, json.dumps(os.environ[name])))
    os.replace(env_file + '.tmp', env_file)
    written = []
    for job in jobs:
        service, timer = units(job, command, env_file)
        for suffix, text in (('.service', service), ('.timer', timer)):
            path = os.path.join(unit_dir, UNIT_PREFIX + job['name'] + suffix)
            with open(path + '.tmp', 'w') as handle:
                handle.write(text)
            os.chmod(path + '.tmp', 0o644)
            os.replace(path + '.tmp', path)
            written.append(path)
    if start:
        _systemctl('daemon-reload')
        _systemctl('enable', '--now', *['%s%s.timer' % (UNIT_PREFIX, j['name']) for j in jobs])
    return written


def remove(unit_dir=DEFAULT_UNIT_DIR, names=None, stop=True):
    """Stop, disable and delete the units bjeic-ops wrote (all of them, or the jobs named)."""
    found = sorted(f for f in os.listdir(unit_dir) if f.startswith(UNIT_PREFIX) and f.endswith(('.timer', '.service'))
                   and (names is None or f[len(UNIT_PREFIX):].rsplit('.', 1)[0] in names)) if os.path.isdir(unit_dir) else []
    timers = [f for f in found if f.endswith('.timer')]
    if stop and timers:
        _systemctl('disable', '--now', *timers, check=False)
    for name in found:
        os.unlink(os.path.join(unit_dir, name))
    if stop and found:
        _systemctl('daemon-reload', check=False)
    return found


# ---------------------------------------------------------------- one round

def lock_path(job):
    directory = os.environ.get('BJEIC_OPS_SCHEDULE_LOCKS', '/run/bjeic-ops' if os.access('/run', os.W_OK) else
                               os.path.join(os.path.expanduser('~'), '.cache', 'bjeic-ops'))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return os.path.join(directory, 'schedule-%s.lock' % job['name'])


def run_job(store, job, execute, at=None):
    """One round of a job: lock (or skip and record), run it with its timeout, record how it ended.
    `execute(job, cancel)` runs the playbook or command and returns (run_id or None, ok, detail)."""
    handle = open(lock_path(job), 'a+')
    try:
        if not job['overlap']:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or 'another round'
                store.record_schedule_event(job['name'], 'skipped', detail='%s still runs' % holder, at=at)
                return 'skipped', None
        handle.seek(0)
        handle.truncate()
        handle.write('pid %d since %s' % (os.getpid(), minute(now())))
        handle.flush()
        store.record_schedule_event(job['name'], 'started', at=at)
        stop = threading.Event()
        timer = threading.Timer(job['timeout'], stop.set)
        timer.daemon = True
        timer.start()
        try:
            run_id, ok, detail = execute(job, stop.is_set)
        except BjeicOpsError as exc:
            # A round that could not even start its run (a missing inventory, unreadable alert settings) is a failed
            # round on the record, not a traceback in the journal.
            run_id, ok, detail = None, False, str(exc)
        finally:
            timer.cancel()
        if stop.is_set():
            ok, detail = False, 'stopped at its timeout of %ds%s' % (job['timeout'], '; ' + detail if detail else '')
        store.record_schedule_event(job['name'], 'finished' if ok else 'failed', run_id=run_id, detail=detail)
        return ('finished' if ok else 'failed'), run_id
    finally:
        handle.close()
