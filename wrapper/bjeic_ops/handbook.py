"""The special-period duty inspection handbook (特殊时期值班巡检手册), generated before a watch from the inventory,
the duty playbook's own settings and a duty settings file (the watch, its window, the contacts): scope, the checks
and their tightened thresholds, the round schedule, what to do for each finding of the watch, escalation lines with
the contract's clocks, contacts, and a sign-off page."""
import os
from datetime import timedelta

from . import BjeicOpsError, project, yamlfile
from .i18n import Phrase
from .incidents import FIRST_RESPONSE, RESOLUTION_HOURS, SECOND_RESPONSE
from .reports import DUTY_ROUND_MINUTES, Report, Section, inventory_groups
from .times import TimeError, as_utc, day, local, parse_local

# The security checks of the watch - bjeic.ops.linux_watch's CHECKS, then win_watch's Windows-only ones (a unit test
# holds them to both modules) - with what the duty officer does about each. Threshold checks come from the inspection.
SECURITY_CHECKS = ('sec.listening_new', 'sec.account_new', 'sec.setuid_changed', 'sec.firewall_drift',
                   'sec.service_new', 'sec.task_new', 'sec.autostart_new')
ACTIONS = {
    'sec.listening_new': ('do_listening_new', 3),
    'sec.account_new': ('do_account_new', 2),
    'sec.setuid_changed': ('do_setuid_changed', 2),
    'sec.firewall_drift': ('do_firewall_drift', 3),
    'sec.service_new': ('do_service_new', 2),
    'sec.task_new': ('do_task_new', 2),
    'sec.autostart_new': ('do_autostart_new', 2),
    'login.failed': ('do_login_failed', 3),
    'fs.usage': ('do_fs_usage', 4),
    'mem.usage': ('do_mem_usage', 4),
    'swap.usage': ('do_mem_usage', 4),
    'cpu.load': ('do_cpu_load', 4),
    'cpu.usage': ('do_cpu_load', 4),
    'log.errors': ('do_log_errors', 4),
    'unreachable': ('do_unreachable', 2),
    'db.unreachable': ('do_db_unreachable', 1),
}
SETTINGS_KEYS = {'watch', 'start', 'end', 'contacts', 'notes'}
CONTACT_KEYS = {'role', 'name', 'phone', 'email', 'line'}
LINES = ('first', 'second', 'customer', 'manager')


def load_settings(path):
    """The duty settings file (duty.example.yml shows it); refused with the reason when it is malformed."""
    if path is None:
        return {'contacts': []}
    data = yamlfile.read(path, 'duty settings %s' % path) or {}
    if not isinstance(data, dict):
        raise BjeicOpsError('%s: the duty settings must be a mapping (watch, start, end, contacts)' % path)
    unknown = sorted(set(data) - SETTINGS_KEYS)
    if unknown:
        raise BjeicOpsError('%s: unknown duty setting(s) %s; known: %s' % (path, ', '.join(unknown),
                                                                           ', '.join(sorted(SETTINGS_KEYS))))
    contacts = data.get('contacts') or []
    if not isinstance(contacts, list) or not all(isinstance(c, dict) for c in contacts):
        raise BjeicOpsError('%s: contacts must be a list of {role, name, phone, email, line}' % path)
    for number, contact in enumerate(contacts, 1):
        wrong = sorted(set(contact) - CONTACT_KEYS)
        if wrong or not contact.get('name'):
            raise BjeicOpsError('%s: contact %d needs a name and knows only %s (got %s)' % (
                path, number, ', '.join(sorted(CONTACT_KEYS)), ', '.join(wrong) or 'no name'))
        if contact.get('line') not in (None,) + LINES:
            raise BjeicOpsError('%s: contact %d (%s): line must be one of %s' % (path, number, contact['name'],
                                                                                ', '.join(LINES)))
    window = {}
    for key in ('start', 'end'):
        if data.get(key) is not None:
            try:
                window[key] = as_utc(parse_local(str(data[key]), '%s: %s' % (key, data[key])))
            except TimeError as exc:
                raise BjeicOpsError('%s: %s' % (path, exc))
    if len(window) == 2 and window['end'] <= window['start']:
        raise BjeicOpsError('%s: end %s is not after start %s' % (path, data['end'], data['start']))
    return dict(data, contacts=contacts, **window)


def duty_thresholds():
    """(daily defaults, the duty playbook's tightened thresholds) - read from the project, so the handbook says what
    the playbooks will do."""
    defaults = project.collection_module_utils('inspect_core').DEFAULT_THRESHOLDS
    plays = yamlfile.read(os.path.join(project.root(), 'playbooks', 'special_duty.yml'), 'playbooks/special_duty.yml')
    tightened = plays[0]['vars']['special_duty_default_thresholds']
    return defaults, tightened


def duty_schedule():
    """The cron line of the job that runs special_duty.yml in the project's schedules.yml, or None."""
    path = os.environ.get('BJEIC_OPS_SCHEDULE') or os.path.join(project.root(), 'schedules.yml')
    try:
        jobs = (yamlfile.read(path, path) or {}).get('jobs') or {}
    except (BjeicOpsError, AttributeError):
        return None, path   # no schedule file (or not one): the handbook says no job runs the rounds
    for name, job in sorted(jobs.items()):
        if isinstance(job, dict) and os.path.basename(str(job.get('playbook', ''))) == 'special_duty.yml':
            return (name, job.get('when')), path
    return None, path


def handbook(store, inventory, settings):
    groups = inventory_groups(inventory)
    by_group = {}
    for host, names in groups.items():
        for name in names or ['ungrouped']:
            by_group.setdefault(name, []).append(host)
    databases = {}
    for item in store.ledger('db'):
        databases.setdefault(item['host'], []).append(item['key'].split(':', 1)[-1])
    scope = [{'group': name, 'hosts_count': len(hosts), 'host_list': ', '.join(sorted(hosts)),
              'databases': ', '.join(sorted(db for h in hosts for db in databases.get(h, [])))}
             for name, hosts in sorted(by_group.items())]
    daily, tightened = duty_thresholds()
    checks = [{'check': check, 'meaning': 'means_' + check, 'daily_warning': (daily.get(check) or {}).get('warning'),
               'daily_critical': (daily.get(check) or {}).get('critical'), 'duty_warning': levels['warning'],
               'duty_critical': levels['critical']} for check, levels in sorted(tightened.items())]
    checks += [{'check': check, 'meaning': 'means_' + check, 'duty_warning': Phrase('against_baseline')}
               for check in SECURITY_CHECKS]
    actions = [{'check': check, 'meaning': 'means_' + check, 'what_to_do': key, 'suggested_level': level}
               for check, (key, level) in sorted(ACTIONS.items(), key=lambda item: (item[1][1], item[0]))]
    job, schedule_path = duty_schedule()
    start, end = settings.get('start'), settings.get('end')
    rounds = int((end - start) / timedelta(hours=1)) if start and end else None
    schedule = [{'item': 'round_job', 'value': ('%s (%s): %s' % (job[0], os.path.basename(schedule_path), job[1]))
                 if job else Phrase('no_duty_job', os.path.basename(schedule_path))},
                {'item': 'round_window', 'value': '%s – %s' % (local(start).strftime('%Y-%m-%d %H:%M'),
                                                               local(end).strftime('%Y-%m-%d %H:%M'))
                 if start and end else Phrase('window_unset')},
                {'item': 'rounds_expected', 'value': rounds},
                {'item': 'round_late', 'value': Phrase('minutes', DUTY_ROUND_MINUTES)},
                {'item': 'round_commands', 'value': 'bjeic-ops duty start --name "%s"; bjeic-ops run special_duty.yml '
                                                    '-i %s; bjeic-ops duty report --out ...'
                                                    % (settings.get('watch') or '...', inventory)}]
    contacts = settings.get('contacts') or []
    lines = []
    for line, minutes in (('first', FIRST_RESPONSE), ('second', SECOND_RESPONSE)):
        lines.append({'line': line, 'response': Phrase('minutes', int(minutes.total_seconds() // 60)),
                      'who': ', '.join('%s %s' % (c['name'], c.get('phone') or '') for c in contacts
                                       if c.get('line') == line).strip() or Phrase('not_named')})
    for level, hours in sorted(RESOLUTION_HOURS.items()):
        lines.append({'line': Phrase('incident_level', level), 'response': Phrase('resolve_within', hours),
                      'who': Phrase('level_who_%d' % level)})
    sections = [
        Section('sec_hb_scope', ident='scope', columns=['group', 'hosts_count', 'host_list', 'databases'], rows=scope),
        Section('sec_hb_checks', ident='checks', columns=['check', 'meaning', 'daily_warning', 'daily_critical',
                                                          'duty_warning', 'duty_critical'], rows=checks,
                note='note_hb_checks'),
        Section('sec_hb_schedule', ident='schedule', columns=['item', 'value'], rows=schedule),
        Section('sec_hb_actions', ident='actions', columns=['check', 'meaning', 'what_to_do', 'suggested_level'],
                rows=actions),
        Section('sec_hb_escalation', ident='escalation', columns=['line', 'response', 'who'], rows=lines,
                note='note_hb_escalation'),
        Section('sec_hb_contacts', ident='contacts', columns=['role', 'name', 'phone', 'email', 'line'],
                rows=[dict((k, c.get(k)) for k in ('role', 'name', 'phone', 'email', 'line')) for c in contacts],
                note=None if contacts else 'note_hb_no_contacts'),
        Section('sec_signoff', ident='signoff', columns=['role', 'name', 'signature', 'date'],
                rows=[{'role': role, 'name': '', 'signature': '', 'date': ''}
                      for role in ('hb_author', 'hb_reviewer', 'hb_approver')]),
    ]
    meta = [('watch', settings.get('watch')), ('period', '%s – %s' % (day(start), day(end)) if start and end else None),
            ('hosts', len(groups)), ('inventory', inventory), ('notes', settings.get('notes'))]
    return Report('duty_handbook', 'title_duty_handbook', settings.get('watch') or '', meta, sections)
