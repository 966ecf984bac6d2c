"""The operating loop on the command line: `bjeic-ops schedule ...` and `bjeic-ops alerts ...`."""
import os
import sys

from . import alerts, project, schedule
from .progress import PlainProgress
from .run import RunOptions, execute
from .times import as_utc

READING = {('schedule', 'list'), ('alerts', 'list')}


def default_schedule():
    return os.environ.get('BJEIC_OPS_SCHEDULE') or os.path.join(project.root(), 'schedules.yml')


def default_alerts():
    return os.environ.get('BJEIC_OPS_ALERTS') or os.path.join(project.root(), 'alerts.yml')


def add_parsers(sub, output_options, when):
    sch = sub.add_parser('schedule', help='the jobs of the operating loop as systemd timers (运维计划)')
    sch_sub = sch.add_subparsers(dest='action', required=True)
    for name, text in (('list', "each job's last and next run, and its late, missed and skipped rounds"),
                       ('install', 'write systemd timers and services for the jobs and start them'),
                       ('remove', 'stop and delete the timers and services bjeic-ops wrote'),
                       ('run-job', 'one round of a job (what a timer starts)'),
                       ('awx', 'the jobs as an awx.awx playbook: job templates and schedules')):
        action = sch_sub.add_parser(name, help=text)
        action.add_argument('--file', default=None, help='the schedule (default: BJEIC_OPS_SCHEDULE, else schedules.yml '
                                                          'in the project)')
        if name == 'list':
            output_options(action)
        if name in ('install', 'remove'):
            action.add_argument('--unit-dir', default=schedule.DEFAULT_UNIT_DIR)
            action.add_argument('--no-start', action='store_true', help='write or delete the files only')
        if name == 'install':
            action.add_argument('--env-file', default=schedule.DEFAULT_ENV_FILE,
                                help='0600 file with the store URL and settings the timers run with')
        if name == 'run-job':
            action.add_argument('job')
        if name == 'awx':
            action.add_argument('--out', required=True, metavar='FILE', help='the playbook to write')
            action.add_argument('--organization', default='Default')
            action.add_argument('--project', default='bjeic-ops', help='the AWX project holding this repository')
    alr = sub.add_parser('alerts', help='alerts (告警): evaluate the rules, send, list what was sent')
    alr_sub = alr.add_subparsers(dest='action', required=True)
    alr_run = alr_sub.add_parser('run', help='evaluate the rules now and deliver what is due (and retries)')
    alr_run.add_argument('--config', default=None, help='alert settings (default: BJEIC_OPS_ALERTS, else alerts.yml)')
    alr_run.add_argument('--at', type=when, help='evaluate as at this local time (for SLA clocks of past incidents)')
    alr_list = alr_sub.add_parser('list', help='notifications sent, failed or waiting')
    alr_list.add_argument('--since', type=when)
    output_options(alr_list)
    alr_test = alr_sub.add_parser('test', help='send a test message to one channel')
    alr_test.add_argument('channel')
    alr_test.add_argument('--config', default=None)


def cmd_schedule(args, store, show):
    path = args.file or default_schedule()
    jobs = schedule.load(path)
    if args.action == 'list':
        show(schedule.list_rows(store, jobs), args.format, args.out, args.lang)
    elif args.action == 'install':
        written = schedule.install(jobs, args.unit_dir, args.env_file, start=not args.no_start)
        for job in jobs:
            store.record_schedule_event(job['name'], 'installed', detail='%s (%s)' % (job['when'], args.unit_dir))
        print('wrote %d unit files to %s%s' % (len(written), args.unit_dir, '' if args.no_start else '; timers started'))
    elif args.action == 'remove':
        removed = schedule.remove(args.unit_dir, stop=not args.no_start)
        print('removed %d unit files from %s' % (len(removed), args.unit_dir))
    elif args.action == 'awx':
        from . import schedule_awx
        schedule_awx.write(jobs, args.out, args.organization, args.project)
        print('wrote %s (run it with ansible-playbook against your AWX; see docs/awx.md)' % args.out)
    else:
        job = next((j for j in jobs if j['name'] == args.job), None)
        if job is None:
            raise schedule.ScheduleError('no job %s in %s (jobs: %s)' % (args.job, path, ', '.join(j['name'] for j in jobs)))
        result, run_id = schedule.run_job(store, job, lambda j, cancel: _execute(store, j, cancel))
        print('job %s %s%s' % (job['name'], result, ' (run %d)' % run_id if run_id else ''))
        return 0 if result in ('finished', 'skipped') else 1
    return 0


def _execute(store, job, cancel):
    if job.get('command') == 'alerts':
        counts = alerts.run(store, alerts.load(default_alerts()), jobs_overdue=_overdue(store))
        return None, True, ', '.join('%s %d' % item for item in sorted(counts.items()))
    if job.get('command') == 'capacity':
        from . import cli_store, forecast
        run_id, found = cli_store.record_forecast(store, forecast.findings(forecast.trends(store)))
        return run_id, True, '%d capacity.forecast finding(s)' % len(found)
    if job.get('command') == 'store-compact':
        done = store.compact()
        return None, True, '%(days)d day(s), %(thinned)d thinned, %(slimmed)d cut' % done
    options = RunOptions(playbook=job['playbook'], inventory=job['inventory'], limit=job.get('limit'),
                         extravars=job['extra_vars'], operator='schedule:%s' % job['name'], ticket=job.get('ticket'),
                         cancel=cancel)
    outcome = execute(options, store, PlainProgress(sys.stdout))
    return outcome.run_id, outcome.state == 'complete' and outcome.status == 'successful', outcome.reason or outcome.status


def _overdue(store):
    try:
        return schedule.overdue(store, schedule.load(default_schedule()))
    except schedule.ScheduleError:
        return []     # no schedule: no job rule to evaluate


def cmd_alerts(args, store, show):
    if args.action == 'list':
        show(alerts.notification_rows(store, args.since), args.format, args.out, args.lang)
        return 0
    settings = alerts.load(args.config or default_alerts())
    if args.action == 'test':
        channel = next((c for c in settings['channels'] if c['name'] == args.channel), None)
        if channel is None:
            raise alerts.AlertError('no channel %s (channels: %s)' % (args.channel, ', '.join(c['name'] for c in settings['channels'])))
        note = {'rule': 'test', 'key': 'test', 'event': 'firing', 'severity': 'info', 'title': 'bjeic-ops test message',
                'body': 'a test of channel %s' % channel['name'], 'at': None, 'host': None}
        alerts.deliver(channel, note)
        print('sent a test message to %s' % channel['name'])
        return 0
    counts = alerts.run(store, settings, at=as_utc(args.at), jobs_overdue=_overdue(store))
    print('alerts: %(alerts)d new; notifications sent %(sent)d, waiting to retry %(pending)d, gave up %(failed)d, '
          'held for quiet hours %(held)d' % counts)
    return 1 if counts['failed'] else 0
