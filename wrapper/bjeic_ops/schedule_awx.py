"""The schedule file as AWX / Automation Controller objects: a playbook of awx.awx tasks - one job template and one
schedule per playbook job - so one file is the source of truth for systemd timers and for AWX.

A cron expression becomes an iCalendar RRULE (what AWX schedules take): the minute, hour, day of month, month and
day of week fields become BYMINUTE, BYHOUR, BYMONTHDAY, BYMONTH and BYDAY of one rule.
"""
import json
from datetime import datetime

from croniter import croniter

from .schedule import ScheduleError

RRULE_DAYS = ('SU', 'MO', 'TU', 'WE', 'TH', 'FR', 'SA')


def rrule(expression, start=None, tz='Asia/Shanghai'):
    """'DTSTART;TZID=...:YYYYMMDDTHHMMSS RRULE:...' for a 5-field cron expression (local wall-clock times in `tz`)."""
    fields = expression.split()
    expanded = croniter(expression).expanded
    parts = []
    names = ('BYMINUTE', 'BYHOUR', 'BYMONTHDAY', 'BYMONTH')
    for index, name in enumerate(names):
        if fields[index] != '*':
            parts.append('%s=%s' % (name, ','.join(str(v) for v in expanded[index])))
    if fields[4] != '*':
        parts.append('BYDAY=%s' % ','.join(RRULE_DAYS[d % 7] for d in sorted(set(v % 7 for v in expanded[4]))))
    freq = 'MINUTELY' if fields[0] == '*' else 'HOURLY' if fields[1] == '*' else 'DAILY'
    start = (start or datetime.now()).replace(second=0, microsecond=0)
    return 'DTSTART;TZID=%s:%s RRULE:FREQ=%s;INTERVAL=1%s' % (
        tz, start.strftime('%Y%m%dT%H%M%S'), freq, ''.join(';' + p for p in parts))


def tasks(jobs, organization, project, tz='Asia/Shanghai', start=None):
    out = []
    for job in jobs:
        if not job.get('playbook'):
            continue      # a bjeic-ops command (alerts, store-compact) runs on the controller, not in AWX
        template = {
            'name': 'bjeic-ops %s' % job['name'], 'organization': organization, 'project': project,
            'playbook': 'playbooks/%s' % job['playbook'] if '/' not in job['playbook'] else job['playbook'],
            'inventory': job['inventory'], 'job_type': 'run', 'timeout': job['timeout'],
            'allow_simultaneous': job['overlap'], 'extra_vars': job['extra_vars'],
            'description': job.get('description') or 'from %s' % job['path'], 'state': 'present',
        }
        if job.get('limit'):
            template['limit'] = job['limit']
        out.append({'name': 'Job template of %s' % job['name'], 'awx.awx.job_template': template})
        out.append({'name': 'Schedule of %s (cron %s)' % (job['name'], job['when']), 'awx.awx.schedule': {
            'name': 'bjeic-ops %s' % job['name'], 'unified_job_template': template['name'], 'organization': organization,
            'rrule': rrule(job['when'], start, tz), 'enabled': True, 'state': 'present'}})
    if not out:
        raise ScheduleError('the schedule has no playbook job to give AWX')
    return out


def write(jobs, path, organization='Default', project='bjeic-ops', tz='Asia/Shanghai'):
    playbook = [{'name': 'The bjeic-ops schedule as AWX job templates and schedules', 'hosts': 'localhost',
                 'gather_facts': False, 'connection': 'local',
                 # The controller's URL and token: CONTROLLER_HOST / CONTROLLER_OAUTH_TOKEN in the environment.
                 'tasks': tasks(jobs, organization, project, tz)}]
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('---\n# Written by bjeic-ops schedule awx from the schedule file; run it with ansible-playbook.\n')
        json.dump(playbook, handle, ensure_ascii=False, indent=2)    # JSON is YAML
        handle.write('\n')
