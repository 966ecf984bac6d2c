"""bjeic-ops: the command line over the wrapper (a thin layer: parse, call, print, exit)."""
import argparse
import json
import os
import shlex
import signal
import sys
import threading
from datetime import datetime

from . import BjeicOpsError, __version__, artifacts, cli_loop, cli_store, duty, export, ledger, reports, times
from .i18n import label
from .paths import store_url
from .progress import PlainProgress, RichProgress, printable
from .run import EXIT_ERROR, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_USAGE, RunOptions, execute
from .store import Store, StoreError

EPILOG = '''exit codes of `run`: 0 ok, 1 error, 2 a host failed, 4 a host was unreachable (as
ansible-playbook), 5 bad or incomplete options, 10 findings at or above --fail-on, 99 interrupted.'''
# Commands that only read the store: on a full disk or read-only media they open it read-only.
READING = {'runs', 'findings', 'ledger', 'changes', 'drills', 'backups', 'report', 'deliver', ('incident', 'list'), ('duty', 'list'),
           ('duty', 'report'), ('cloud', 'list'), ('cloud', 'history'), ('cloud', 'reconcile'), ('cloud', 'optimize')}
MAX_ID = 2 ** 31 - 1


class Parser(argparse.ArgumentParser):
    """argparse that says a usage error in one line and exits 5, as ansible does for bad options."""

    def error(self, message):
        self.exit(EXIT_USAGE, 'bjeic-ops: %s: %s (see %s --help)\n' % (
            self.prog, printable(message).replace('\n', '\\n'), self.prog))


def whole_number(low, high=MAX_ID):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError('%r is not a whole number' % text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError('%s is out of range (%d to %d)' % (text, low, high))
        return value
    return parse


def words(limit):
    """A piece of text for the record: not empty, no control characters, at most `limit` characters."""
    def parse(text):
        if not text.strip():
            raise argparse.ArgumentTypeError('must not be empty')
        if len(text) > limit:
            raise argparse.ArgumentTypeError('is %d characters long; at most %d' % (len(text), limit))
        if printable(text.replace('\n', ' ').replace('\t', ' ')) != text.replace('\n', ' ').replace('\t', ' '):
            raise argparse.ArgumentTypeError('%s holds control characters' % _short(text))
        return text
    return parse


NAME, LINE, TEXT = words(200), words(500), words(10000)


def share(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number' % text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError('%s is out of range (0 to 100)' % text)
    return value


def parse_extra_vars(values):
    """-e KEY=VALUE, -e JSON or -e @FILE (JSON or YAML), like ansible-playbook."""
    merged = {}
    for value in values or []:
        if value.startswith('@'):
            data = _vars_file(value[1:])
        elif value.lstrip().startswith(('{', '[')):
            try:
                data = json.loads(value)
            except ValueError as exc:
                raise BjeicOpsError('-e %s: not valid JSON (%s)' % (_short(value), exc))
        else:
            data = {}
            try:
                pairs = shlex.split(value)   # KEY='a value with spaces', as ansible-playbook takes it
            except ValueError as exc:
                raise BjeicOpsError('-e %s: %s' % (_short(value), exc))
            for pair in pairs:
                key, sep, item = pair.partition('=')
                if not sep or not key:
                    raise BjeicOpsError('extra var %s is not KEY=VALUE, JSON or @FILE' % _short(pair))
                data[key] = item
        if not isinstance(data, dict):
            raise BjeicOpsError('extra vars %s are not a mapping of names to values' % _short(value))
        merged.update(data)
    return merged


def _vars_file(path):
    from . import yamlfile
    return yamlfile.read(path, '-e @%s' % path) or {}


def _short(text, width=80):
    text = printable(str(text))
    return repr(text if len(text) <= width else text[:width] + '...')


def parse_when(text):
    """An operator's local time (--since, --at) as naive UTC; one sentence when it cannot be."""
    try:
        return times.parse_local(text, _short(text))
    except times.TimeError as exc:
        raise BjeicOpsError(str(exc))


def default_operator():
    import getpass
    return os.environ.get('BJEIC_OPS_OPERATOR') or getpass.getuser()


def build_parser():
    parser = Parser(prog='bjeic-ops', description='Operations runs, ledgers and change records.', epilog=EPILOG)
    parser.add_argument('--version', action='version', version='bjeic-ops ' + __version__)
    parser.add_argument('--store', help='store URL (default: BJEIC_OPS_STORE, else SQLite in the XDG data dir)')
    sub = parser.add_subparsers(dest='command', required=True, parser_class=Parser)

    run = sub.add_parser('run', help='run a playbook and record it', epilog=EPILOG)
    run.add_argument('playbook', help='path, or a name under playbooks/ (daily_inspection.yml)')
    run.add_argument('-i', '--inventory', required=True)
    run.add_argument('-l', '--limit', type=words(1000))
    run.add_argument('-C', '--check', action='store_true')
    run.add_argument('-D', '--diff', action='store_true')
    run.add_argument('-e', '--extra-vars', action='append', default=[], metavar='VARS')
    run.add_argument('--ticket', type=NAME, help='change ticket id recorded with every change')
    run.add_argument('--operator', type=NAME, default=default_operator(),
                     help='who runs it (default: BJEIC_OPS_OPERATOR, else the login name)')
    run.add_argument('--secret-env', action='append', default=[], metavar='NAME',
                     help='environment variable the run needs whose value must never be stored (repeatable)')
    run.add_argument('--pass-env', action='append', default=[], metavar='NAME',
                     help='another controller environment variable the run needs (repeatable); by default a run '
                          'gets only PATH, HOME, the locale, ANSIBLE_*, SSH agent and Kerberos variables')
    run.add_argument('--junit', metavar='FILE', help='write JUnit XML: one testcase per host x task')
    run.add_argument('--fail-on', choices=('critical', 'warning'), help='exit 10 when findings reach this severity')
    run.add_argument('-v', '--verbose', action='count', default=0)

    sub.add_parser('runs', help='list recorded runs').add_argument('--limit', type=whole_number(1), default=30)

    fnd = sub.add_parser('findings', help='findings of a run (default: the latest complete run)')
    fnd.add_argument('--run', type=whole_number(1))
    fnd.add_argument('--severity', action='append', choices=('critical', 'warning', 'info'))
    fnd.add_argument('--host', type=words(255))
    _output_options(fnd)

    led = sub.add_parser('ledger', help='the current ledger of a kind, or `ledger diff KIND` for drift')
    led.add_argument('words', nargs='+', metavar='KIND | diff KIND', help='os, db, network, cloud, backup or all')
    led.add_argument('--run', type=whole_number(1), help='the ledger as observed by this run')
    led.add_argument('--from', dest='from_run', type=whole_number(1), help='diff: older run')
    led.add_argument('--to', dest='to_run', type=whole_number(1), help='diff: newer run (default: current ledger)')
    led.add_argument('--since', help='diff: the ledger as it stood at this date against the current one')
    _output_options(led)

    chg = sub.add_parser('changes', help='change records (变更记录单)')
    chg.add_argument('--since')
    chg.add_argument('--host', type=words(255))
    chg.add_argument('--run', type=whole_number(1))
    _output_options(chg)

    drl = sub.add_parser('drills', help='emergency drill records (应急演练记录)')
    drl.add_argument('--since')
    drl.add_argument('--run', type=whole_number(1))
    _output_options(drl)

    bkp = sub.add_parser('backups', help='the backup record (数据备份记录): backups taken, verified, failed')
    bkp.add_argument('--since')
    bkp.add_argument('--until')
    bkp.add_argument('--host', type=NAME)
    bkp.add_argument('--set', type=NAME)
    _output_options(bkp)

    rep = sub.add_parser('report', help='documents: daily inspection, monthly report, fault report (HTML, XLSX or PDF)')
    rep_sub = rep.add_subparsers(dest='report', required=True)
    rep_daily = rep_sub.add_parser('daily', help='daily inspection report (日常巡检报告) of a run')
    rep_daily.add_argument('--run', type=whole_number(1), help='run id (default: the latest complete daily_inspection.yml run)')
    rep_monthly = rep_sub.add_parser('monthly', help='monthly report (月报)')
    rep_monthly.add_argument('--month', required=True, help='YYYY-MM, in local time')
    rep_monthly.add_argument('-i', '--inventory', help='inventory whose groups the hardening compliance is counted by')
    rep_fault = rep_sub.add_parser('fault', help='fault report (故障报告单) of an incident')
    rep_fault.add_argument('incident_id', type=whole_number(1))
    rep_acc = rep_sub.add_parser('acceptance', help='acceptance report (项目验收报告): every obligation, met or not, '
                                                    'with its evidence')
    _period_options(rep_acc)
    rep_hb = rep_sub.add_parser('duty-handbook', help='special-period duty inspection handbook (特殊时期值班巡检手册), '
                                                      'before a watch')
    rep_hb.add_argument('-i', '--inventory', required=True, help='the inventory the watch covers')
    rep_hb.add_argument('--settings', metavar='FILE', help='duty settings: watch, start, end, contacts '
                                                           '(duty.example.yml)')
    rep_ops = rep_sub.add_parser('operations', help='operation report (远程操作记录): every task sent to every host')
    which = rep_ops.add_mutually_exclusive_group(required=True)
    which.add_argument('--run', type=whole_number(1), action='append', help='a run (repeat for several)')
    which.add_argument('--incident', type=whole_number(1), help='every run on the incident host while it was open')
    for parser_ in (rep_daily, rep_monthly, rep_fault, rep_acc, rep_hb, rep_ops):
        _document_options(parser_)

    dlv = sub.add_parser('deliver', help='the deliverable set of a period (成果交付): documents, index, sha256 '
                                         'manifest, ISO image for DVD')
    _period_options(dlv)
    dlv.add_argument('--out', metavar='DIR', required=True, help='a new directory for the set')
    dlv.add_argument('--iso', metavar='FILE', help='also write an ISO 9660 image (Joliet and Rock Ridge names)')
    dlv.add_argument('--format', choices=('pdf', 'html'), default='pdf', help='documents as PDF (default) or HTML')
    dlv.add_argument('--duty-settings', metavar='FILE', help='include the duty handbook made from these settings')
    dlv.add_argument('--lang', choices=('zh', 'en'), default='zh', help='document language (default Chinese)')

    inc = sub.add_parser('incident', help='incidents (故障事件) and their service-level clocks')
    inc_sub = inc.add_subparsers(dest='action', required=True)
    inc_open = inc_sub.add_parser('open', help='record a new incident; its clocks start now')
    inc_open.add_argument('--level', type=whole_number(1, 4), required=True,
                          help='1 (most severe, 2 h to resolve) .. 4 (16 h)')
    inc_open.add_argument('--host', type=words(255), required=True)
    inc_open.add_argument('--summary', type=TEXT, required=True)
    inc_open.add_argument('--ticket', type=NAME)
    inc_ack = inc_sub.add_parser('ack', help='a support line responds')
    inc_ack.add_argument('incident_id', type=whole_number(1))
    inc_ack.add_argument('--line', choices=('first', 'second'), default='first')
    inc_ack.add_argument('--text', type=TEXT)
    inc_esc = inc_sub.add_parser('escalate', help='hand to the second line; its 30-minute clock starts')
    inc_esc.add_argument('incident_id', type=whole_number(1))
    inc_esc.add_argument('--text', type=TEXT)
    inc_note = inc_sub.add_parser('note', help='add a line to the timeline')
    inc_note.add_argument('incident_id', type=whole_number(1))
    inc_note.add_argument('text', type=TEXT)
    inc_res = inc_sub.add_parser('resolve', help='close the incident; its clocks stop')
    inc_res.add_argument('incident_id', type=whole_number(1))
    inc_res.add_argument('--resolution', type=TEXT, required=True)
    inc_list = inc_sub.add_parser('list', help='incidents with their service-level state (overdue ones first)')
    inc_list.add_argument('--open', action='store_true', help='only those not resolved')
    inc_list.add_argument('--lang', choices=('zh', 'en'), default='en')
    for parser_ in (inc_open, inc_ack, inc_esc, inc_note, inc_res):
        parser_.add_argument('--operator', type=NAME, default=default_operator())
        parser_.add_argument('--at', help='when it happened, if not now (YYYY-MM-DDTHH:MM, local time)')

    duty = sub.add_parser('duty', help='special-period security watches (特殊时期安全值守)')
    duty_sub = duty.add_subparsers(dest='action', required=True)
    duty_start = duty_sub.add_parser('start', help='begin a watch; run playbooks/special_duty.yml every hour during it')
    duty_start.add_argument('--name', type=LINE, required=True, help='e.g. "2026 National Day watch"')
    duty_start.add_argument('--notes', type=TEXT)
    duty_stop = duty_sub.add_parser('stop', help='end the watch that is on')
    duty_report = duty_sub.add_parser('report', help='the duty inspection record (值守巡检记录) of a watch')
    duty_report.add_argument('watch_id', type=whole_number(1), nargs='?', help='default: the newest watch')
    _document_options(duty_report)
    duty_sub.add_parser('list', help='watches recorded')
    for parser_ in (duty_start, duty_stop):
        parser_.add_argument('--operator', type=NAME, default=default_operator())
        parser_.add_argument('--at', help='when, if not now (YYYY-MM-DDTHH:MM, local time)')

    cld = sub.add_parser('cloud', help='cloud resource ledger (云资源台账): import, lifecycle, reconcile, right-sizing')
    cld_sub = cld.add_subparsers(dest='action', required=True)
    cld_imp = cld_sub.add_parser('import', help="record a cloud platform's export (CSV, XLSX, JSON) or an inventory")
    source = cld_imp.add_mutually_exclusive_group(required=True)
    source.add_argument('file', nargs='?', help='the export file (.csv, .xlsx, .json)')
    source.add_argument('--inventory', help='any Ansible inventory, dynamic ones included (ansible-inventory --list)')
    cld_imp.add_argument('--mapping', required=True, help='YAML file mapping the export to ledger attributes')
    cld_imp.add_argument('--operator', type=NAME, default=default_operator())
    for action, text in (('request', 'record a request for a new resource (申请)'),
                         ('change', 'record a change to a resource (变更)'),
                         ('reclaim', 'record that a resource was reclaimed (回收)')):
        parser_ = cld_sub.add_parser(action, help=text)
        parser_.add_argument('resource', type=LINE, help='TYPE:ID or TYPE:NAME, TYPE one of vm, disk, secgroup, backup')
        parser_.add_argument('--ticket', type=NAME, required=True)
        parser_.add_argument('--reason', type=TEXT, required=True)
        parser_.add_argument('--set', action='append', default=[], metavar='ATTR=VALUE',
                             help='what was requested or changed, e.g. cpu_count=8 (repeatable)')
        parser_.add_argument('--operator', type=NAME, default=default_operator())
        parser_.add_argument('--at', help='when, if not now (YYYY-MM-DDTHH:MM, local time)')
    cld_list = cld_sub.add_parser('list', help='every resource with its platform state, host report and lifecycle')
    cld_hist = cld_sub.add_parser('history', help="a resource's records and observed changes (履历)")
    cld_hist.add_argument('resource', type=LINE)
    cld_rec = cld_sub.add_parser('reconcile', help='platform export against lifecycle records and host reports')
    cld_opt = cld_sub.add_parser('optimize', help='right-sizing from inspection history (资源配置优化)')
    cld_opt.add_argument('--days', type=whole_number(1, 3660), default=30)
    cld_opt.add_argument('--min-samples', type=whole_number(1, 100000), default=7,
                         help='fewer inspections than this: no recommendation')
    cld_opt.add_argument('--idle-load', type=share, default=0.05, help='max per-CPU load of an idle host')
    for parser_ in (cld_list, cld_rec):
        parser_.add_argument('--stale-days', type=whole_number(1, 3660), default=7,
                             help='a host report older than this no longer counts (default 7)')
    for parser_ in (cld_list, cld_hist, cld_rec, cld_opt):
        _output_options(parser_)

    spl = sub.add_parser('spool', help='runs kept on this controller while the store could not take them')
    spl.add_argument('action', nargs='?', choices=('list', 'replay'), default='list',
                     help='list them (default), or put them in the store (each once)')
    spl.add_argument('--dir', help='the spool directory (default: BJEIC_OPS_SPOOL, else $XDG_STATE_HOME/bjeic-ops/spool)')

    cli_loop.add_parsers(sub, _output_options, parse_when)
    cli_store.add_parsers(sub, _output_options, whole_number)

    rb = sub.add_parser('rollback', help='undo a recorded change with the rollback its module returned')
    rb.add_argument('change_id', type=whole_number(1))
    rb.add_argument('-C', '--check', action='store_true')
    rb.add_argument('--ticket', type=NAME)
    rb.add_argument('--operator', type=NAME, default=default_operator())
    return parser


def _output_options(parser):
    parser.add_argument('--format', choices=export.FORMATS, default='table')
    parser.add_argument('--out', metavar='FILE', help='file for csv, json or xlsx')
    parser.add_argument('--lang', choices=('zh', 'en'), default='zh', help='document language (default Chinese)')


def _period_options(parser):
    parser.add_argument('--from', dest='period_from', required=True, metavar='DATE', help='first day, YYYY-MM-DD (local)')
    parser.add_argument('--to', dest='period_to', required=True, metavar='DATE', help='last day, YYYY-MM-DD (local)')
    parser.add_argument('--stage', action='store_true', help='stage acceptance (阶段性验收): a count still short is '
                                                              '"not yet", not "not met"')
    parser.add_argument('-i', '--inventory', help='inventory whose hosts the inspection coverage is counted against')


def _document_options(parser):
    parser.add_argument('--format', choices=('html', 'xlsx', 'pdf'), default='html')
    parser.add_argument('--out', metavar='FILE', required=True, help='file to write (HTML, XLSX or PDF: A4, fonts embedded)')
    parser.add_argument('--lang', choices=('zh', 'en'), default='zh', help='document language (default Chinese)')


class Cancel:
    """SIGINT / SIGTERM ask ansible-runner to stop the run; a second Ctrl-C is not needed."""

    def __init__(self):
        self.event = threading.Event()

    def install(self):
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: self.event.set())

    def __call__(self):
        return self.event.is_set()


def cmd_run(args, store):
    extravars = duty.run_vars(store, args.playbook, parse_extra_vars(args.extra_vars))
    options = RunOptions(playbook=args.playbook, inventory=args.inventory, limit=args.limit, check=args.check,
                         diff=args.diff, extravars=extravars, operator=args.operator,
                         ticket=args.ticket, secret_env=tuple(args.secret_env), pass_env=tuple(args.pass_env),
                         fail_on=args.fail_on, verbosity=args.verbose)
    return _execute_with_progress(lambda observer, cancel: execute(_with_cancel(options, cancel), store, observer),
                                  store, args.junit)


def _with_cancel(options, cancel):
    options.cancel = cancel
    return options


def _execute_with_progress(start, store, junit_path=None):
    cancel = Cancel()
    cancel.install()
    if sys.stdout.isatty():
        from rich.console import Console
        observer = RichProgress(Console())
    else:
        observer = PlainProgress(sys.stdout)
    outcome = None
    try:
        outcome = start(observer, cancel)
    finally:
        observer.close(outcome.stats if outcome else None)   # a run that never began leaves no progress line
    print('run %d %s (%s, rc=%s) -> exit %d' % (outcome.run_id, outcome.state, outcome.status, outcome.rc, outcome.exit_code))
    if outcome.reason:
        say('run %d: %s' % (outcome.run_id, outcome.reason))
    if junit_path:
        from . import junit
        junit.write(junit_path, store.get_run(outcome.run_id), store.host_results(outcome.run_id))
    return outcome.exit_code


def cmd_rollback(args, store):
    from .rollback import rollback
    return _execute_with_progress(lambda observer, cancel: rollback(store, args.change_id, args.operator, args.ticket,
                                                                    args.check, observer, cancel), store)


def cmd_runs(args, store):
    rows = [{'id': r['id'], 'state': r['state'], 'status': r['status'], 'rc': r['rc'], 'playbook': r['playbook'],
             'via': _via(r), 'check': r['check_mode'], 'operator': r['operator'], 'ticket': r['ticket'],
             'started': r['started_at'], 'finished': r['finished_at'], 'reason': r['reason']}
            for r in store.list_runs(args.limit)]
    show(rows, 'table', None, 'en')
    return 0


def _via(run):
    """How a run was started: bjeic-ops, ansible-playbook, awx job N (replayed from a spool)."""
    origin = run.get('origin') or {}
    via = origin.get('via') or ('import' if run['playbook'].startswith('cloud-import:') else 'bjeic-ops')
    if via == 'awx' and (origin.get('awx') or {}).get('job_id'):
        via = 'awx job %s' % origin['awx']['job_id']
    return via + (' (spooled)' if origin.get('replayed_from') else '')


def cmd_findings(args, store):
    _known_run(store, args.run)
    rows = [{'run_id': f['run_id'], 'host': f['host'], 'severity': f['severity'], 'check': f['check_id'],
             'subject': f['subject'], 'value': f['value'], 'message': f['message']}
            for f in store.findings(args.run, args.severity, args.host)]
    show(rows, args.format, args.out, args.lang)
    return 0


def cmd_ledger(args, store):
    words = args.words
    if words[0] == 'diff':
        if len(words) != 2 or words[1] not in ledger.KINDS:
            raise BjeicOpsError('usage: bjeic-ops ledger diff KIND --from RUN [--to RUN] | --since DATE; KIND is one of %s'
                                % ', '.join(ledger.KINDS))
        kind = words[1]
        if args.since:
            old = store.ledger(kind, before=parse_when(args.since))
        elif args.from_run:
            old = store.ledger(kind, run_id=args.from_run)
        else:
            raise BjeicOpsError('ledger diff needs --from RUN or --since DATE')
        new = store.ledger(kind, run_id=args.to_run) if args.to_run else store.ledger(kind)
        show(ledger.diff(old, new), args.format, args.out, args.lang)
        return 0
    kind = words[0]
    if kind not in ledger.KINDS + ('all',) or len(words) != 1:
        raise BjeicOpsError('ledger kind must be one of %s or all, got %s' % (', '.join(ledger.KINDS), ' '.join(words)))
    kinds = ledger.KINDS if kind == 'all' else (kind,)
    sheets = [('sheet_' + k, ledger.rows(store.ledger(k, run_id=args.run), k)) for k in kinds]
    if args.format == 'xlsx':
        _need_out(args)
        export.write_xlsx(args.out, sheets, args.lang)
        print('wrote %s' % args.out)
        return 0
    if kind == 'all' and args.format != 'json':
        raise BjeicOpsError('ledger all exports as xlsx (one sheet per kind) or json')
    if kind == 'all':
        _need_out(args)
        data = {label(title, args.lang): rows for title, rows in sheets}
        export.write_json(args.out, data)
        print('wrote %s' % args.out)
        return 0
    show(sheets[0][1], args.format, args.out, args.lang)
    return 0


def cmd_changes(args, store):
    _known_run(store, args.run)
    since = parse_when(args.since) if args.since else None
    rows = [{'id': c['id'], 'at': c['at'], 'host': c['host'], 'task': c['task'], 'module': c['module'],
             'object': c['object'], 'action': c['action'], 'before': c['before'], 'after': c['after'],
             'diff': c['diff'], 'operator': c['operator'], 'ticket': c['ticket'], 'rollback': c['rollback'],
             'run_id': c['run_id']} for c in store.changes(since, args.host, args.run)]
    show(rows, args.format, args.out, args.lang, sheet='sheet_changes')
    return 0


def cmd_drills(args, store):
    _known_run(store, args.run)
    since = parse_when(args.since) if args.since else None
    rows = []
    for d in store.drills(since, args.run):
        timings = d['timings'] or {}
        rows.append({'id': d['id'], 'drill': d['name'], 'drill_kind': d['kind'], 'host': d['host'],
                     'outcome': d['outcome'], 'started': d['started'], 'finished': d['finished'],
                     'detection_seconds': timings.get('detection_seconds'),
                     'recovery_seconds': timings.get('recovery_seconds'), 'total_seconds': timings.get('total_seconds'),
                     'operator': d['operator'], 'run_id': d['run_id']})
    show(rows, args.format, args.out, args.lang, sheet='sheet_drills')
    return 0


def cmd_backups(args, store):
    from . import backup_record
    rows = backup_record.rows(store, parse_when(args.since) if args.since else None,
                              parse_when(args.until) if args.until else None, args.host, args.set)
    show(rows, args.format, args.out, args.lang, sheet='sheet_backups')
    return 0


def cmd_report(args, store):
    if args.report == 'daily':
        report = reports.daily(store, args.run)
    elif args.report == 'monthly':
        report = reports.monthly(store, args.month, args.inventory)
    elif args.report == 'fault':
        report = reports.fault(store, args.incident_id)
    elif args.report == 'acceptance':
        from . import acceptance
        since, until = acceptance.period(args.period_from, args.period_to)
        report = acceptance.acceptance(store, since, until, args.stage, args.inventory)
    elif args.report == 'duty-handbook':
        from . import handbook
        report = handbook.handbook(store, args.inventory, handbook.load_settings(args.settings))
    else:
        from . import operations
        report = (operations.for_incident(store, args.incident) if args.incident
                  else operations.for_runs(store, args.run))
    return _write_document(args, report, store)


DOCUMENT_SUBJECT = {'daily': lambda args: 'run %s' % (args.run or 'latest'), 'monthly': lambda args: args.month,
                    'fault': lambda args: str(args.incident_id)}


def _write_document(args, report, store):
    from . import deliver, render
    render.write(args.out, report, args.format, args.lang)
    subject = DOCUMENT_SUBJECT.get(report.kind, lambda _args: report.subtitle)(args)
    warning = deliver.record(store, [(os.path.abspath(args.out), report.kind, subject)], args_operator(args))
    print('wrote %s%s' % (args.out, '; %s' % warning if warning else ''))
    return 0


def args_operator(args):
    return getattr(args, 'operator', None) or default_operator()


def cmd_deliver(args, store):
    from . import acceptance, deliver, handbook
    since, until = acceptance.period(args.period_from, args.period_to)
    settings = handbook.load_settings(args.duty_settings) if args.duty_settings else None
    if settings is not None and not args.inventory:
        raise BjeicOpsError('--duty-settings needs -i INVENTORY: the handbook lists the hosts the watch covers')
    written, warning = deliver.deliver(store, since, until, args.out, args.lang, args.format, args.iso, args.inventory,
                                       args.stage, settings, args_operator(args))
    print('wrote %d documents to %s (%s verifies them)%s%s' % (
        len(written), args.out, deliver.MANIFEST, '; ISO image %s' % args.iso if args.iso else '',
        '; %s' % warning if warning else ''))
    return 0


def cmd_incident(args, store):
    from . import incidents
    at = _at(args)
    if args.action == 'open':
        incidents.check_level(args.level)
        incident_id = store.open_incident(args.level, args.host, args.summary, args.operator, args.ticket, at)
        first, resolution = [c['due'] for c in incidents.clocks(store.get_incident(incident_id))]
        print('incident %d opened (level %d): first-line response due by %s, resolution by %s'
              % (incident_id, args.level, times.minute(first), times.minute(resolution)))
    elif args.action == 'ack':
        incidents.acknowledge(store, args.incident_id, args.line, args.operator, args.text, at)
        print('incident %d acknowledged by the %s line' % (args.incident_id, args.line))
    elif args.action == 'escalate':
        incidents.escalate(store, args.incident_id, args.operator, args.text, at)
        print('incident %d escalated: second-line response due within 30 minutes' % args.incident_id)
    elif args.action == 'note':
        incidents.note(store, args.incident_id, args.operator, args.text, at)
        print('note added to incident %d' % args.incident_id)
    elif args.action == 'resolve':
        incidents.resolve(store, args.incident_id, args.operator, args.resolution, at)
        print('incident %d resolved: SLA %s' % (args.incident_id,
                                               incidents.sla_state(store.get_incident(args.incident_id))))
    else:
        rows, _tones = reports.incident_table(store.incidents(open_only=args.open))
        show(incidents.most_urgent_first(rows), 'table', None, args.lang, styles={'overdue': 'bold red', 'breached': 'yellow'}, style_key='sla')
    return 0


FUTURE_SLACK_SECONDS = 300   # clocks of two machines differ a little; a record from the future does not


def _at(args):
    """--at as an aware UTC time, or None for now. A time in the future is refused: it would start or stop
    a service-level clock that has not run yet."""
    if not getattr(args, 'at', None):
        return None
    at = times.as_utc(parse_when(args.at))
    if (at - times.now()).total_seconds() > FUTURE_SLACK_SECONDS:
        raise BjeicOpsError('--at %s is in the future; give the time it happened' % args.at)
    return at


def cmd_duty(args, store):
    at = _at(args)
    if args.action == 'start':
        watch_id = store.start_watch(args.name, args.operator, args.notes, at)
        print('watch %d "%s" started. Run the hourly inspection with: bjeic-ops run %s -i INVENTORY'
              % (watch_id, args.name, duty.DUTY_PLAYBOOK))
    elif args.action == 'stop':
        watch = duty.open_watch(store)
        if watch is None:
            raise BjeicOpsError('no watch is on; `bjeic-ops duty list` shows the past ones')
        store.stop_watch(watch['id'], args.operator, at)
        print('watch %d "%s" stopped; `bjeic-ops duty report %d --out FILE` writes its record'
              % (watch['id'], watch['name'], watch['id']))
    elif args.action == 'report':
        return _write_document(args, reports.duty(store, args.watch_id), store)
    else:
        show([{'id': w['id'], 'watch': w['name'], 'started': w['started_at'], 'started_by': w['started_by'],
               'finished': w['stopped_at'], 'stopped_by': w['stopped_by']} for w in store.watches()], 'table', None, 'en')
    return 0


def cmd_cloud(args, store):
    from . import cloud
    if args.action == 'import':
        mapping = cloud.load_mapping(args.mapping)
        if args.inventory:
            records, path = cloud.inventory_records(args.inventory), args.inventory
        else:
            records, path = cloud.read_records(args.file, mapping), os.path.abspath(args.file)
        run_id, count = cloud.import_export(store, mapping, records, path, args.operator)
        print('imported %d resource(s) from %s as run %d (source %s)' % (count, path, run_id, mapping.source))
    elif args.action in cloud.ACTIONS:
        details = parse_extra_vars(args.set) if args.set else None
        key, event_id = cloud.record(store, args.action, args.resource, args.ticket, args.reason, details,
                                     args.operator, _at(args))
        print('recorded %s of %s (record %d, ticket %s)' % (args.action, key, event_id, args.ticket))
    elif args.action == 'list':
        rows = cloud.resource_rows(cloud.gather(store), args.stale_days)
        show(_words(cloud, rows, args), args.format, args.out, args.lang, sheet='sheet_cloud')
    elif args.action == 'history':
        key = cloud.resolve(args.resource, cloud.gather(store))
        show(_words(cloud, cloud.history_rows(store, key, args.lang), args), args.format, args.out, args.lang,
             sheet='sheet_history')
    elif args.action == 'reconcile':
        rows = cloud.reconcile(store, args.stale_days, lang=args.lang)
        show(_words(cloud, rows, args), args.format, args.out, args.lang, sheet='sheet_reconcile')
        return EXIT_FINDINGS if cloud.has_critical(rows) else 0
    else:
        policy = cloud.SizingPolicy(min_samples=args.min_samples, idle_load=args.idle_load)
        rows = cloud.optimize(store, args.days, policy)
        show(cloud.optimize_table(rows, args.days, args.lang), args.format, args.out, args.lang, sheet='sheet_optimize')
    return 0


def cmd_spool(args, store):
    from . import spool
    paths = spool.pending(args.dir)
    if args.action == 'list':
        rows = []
        for path in paths:
            run, events, end = spool.read(path)
            rows.append({'file': path, 'playbook': run['playbook'], 'operator': run['operator'],
                         'started': run['started_at'], 'events': len(events),
                         'state': (end or {}).get('state', 'killed before the end')})
        show(rows, 'table', None, 'en')
        return 0
    failed = 0
    for path in paths:
        try:
            how, run_id = spool.replay(store, path)
        except BjeicOpsError as exc:
            failed += 1
            say(str(exc))
            continue
        if how == 'running':
            print('left %s alone: its play is still running' % path)
        elif how == 'already':
            print('%s was already in the store as run %d; removed' % (path, run_id))
        else:
            print('replayed %s as run %d' % (path, run_id))
    if not paths:
        print('nothing spooled')
    return EXIT_ERROR if failed else 0


def _words(cloud, rows, args):
    """Our codes (in_use, reclaim ...) in the document's language; JSON keeps the codes for machines."""
    return rows if args.format == 'json' else cloud.localize(rows, args.lang)


def _known_run(store, run_id):
    if run_id is not None:
        store.get_run(run_id)   # says "no run N in the store" instead of showing an empty table


def _need_out(args):
    if not args.out:
        raise BjeicOpsError('--format %s needs --out FILE' % args.format)


def show(rows, fmt, out, lang, sheet='sheet', styles=None, style_key=None):
    if fmt == 'csv':
        if not out:
            raise BjeicOpsError('--format csv needs --out FILE')
        export.write_csv(out, rows, lang)
        print('wrote %s' % out)
    elif fmt == 'json':
        if out:
            export.write_json(out, rows)
            print('wrote %s' % out)
        else:
            print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    elif fmt == 'pdf':
        if not out:
            raise BjeicOpsError('--format pdf needs --out FILE')
        from . import render
        from .reports import records_report
        render.write_pdf(out, records_report(sheet, rows), lang)
        print('wrote %s' % out)
    elif fmt == 'xlsx':
        if not out:
            raise BjeicOpsError('--format xlsx needs --out FILE')
        export.write_xlsx(out, [(sheet, rows)], lang)
        print('wrote %s' % out)
    else:
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text
        table = Table(show_lines=False)
        columns = export.columns_of(rows)
        for column in columns:
            table.add_column(label(column, lang), overflow='fold')
        for row in rows:
            # Text, not str: a value is never read as rich markup ([link=...] in a host name), and control
            # characters (a terminal escape in a file name) are shown, not sent to the terminal.
            table.add_row(*[Text(printable(str(export.text_of(row.get(c))))) for c in columns],
                          style=(styles or {}).get(row.get(style_key)))
        Console(width=None if sys.stdout.isatty() else 200).print(table)
        if not rows:
            print('(nothing)')


COMMANDS = {'run': cmd_run, 'runs': cmd_runs, 'findings': cmd_findings, 'ledger': cmd_ledger,
            'changes': cmd_changes, 'drills': cmd_drills, 'backups': cmd_backups, 'rollback': cmd_rollback,
            'report': cmd_report, 'deliver': cmd_deliver,
            'incident': cmd_incident, 'duty': cmd_duty, 'cloud': cmd_cloud, 'spool': cmd_spool,
            'schedule': lambda args, store: cli_loop.cmd_schedule(args, store, show),
            'alerts': lambda args, store: cli_loop.cmd_alerts(args, store, show),
            'availability': lambda args, store: cli_store.cmd_availability(args, store, show),
            'store': lambda args, store: cli_store.cmd_store(args, store, show),
            'db': lambda args, store: cli_store.cmd_db(args, store, show),
            'capacity': lambda args, store: cli_store.cmd_capacity(args, store, show)}


def open_store(args):
    """The store for a command; a reading command falls back to a read-only open when the store cannot be
    written now (a full disk, read-only media), so listings and documents still come out."""
    url = store_url(args.store)
    action = (args.command, getattr(args, 'action', None))
    reading = args.command in READING or action in READING or action in cli_loop.READING or \
        args.command in cli_store.READING or action in cli_store.READING
    try:
        store = Store(url)
    except StoreError as exc:
        if not reading or exc.kind not in ('full', 'readonly', 'unopenable', 'locked'):
            raise
        try:
            store = Store(url, readonly=True)
        except StoreError as second:
            if second.kind == 'schema':   # an old store that cannot be upgraded now: say why it cannot
                raise exc
            raise
    artifacts.forget_secrets_of_reaped(store.store_id(), store.reaped)
    return store


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        # Listing the spool is what one does while the store is down: it needs no store.
        store = None if (args.command, getattr(args, 'action', None)) == ('spool', 'list') else open_store(args)
        return COMMANDS[args.command](args, store)
    except KeyboardInterrupt:
        print('bjeic-ops: interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
    except BjeicOpsError as exc:
        say(str(exc))
        return EXIT_ERROR
    except OSError as exc:
        say('%s%s' % (exc.strerror or exc, ' (%s)' % exc.filename if exc.filename else ''))
        return EXIT_ERROR
    except ValueError as exc:
        say(str(exc))
        return EXIT_ERROR
    except Exception as exc:  # a bug of ours: one line for the operator, the traceback kept for us
        say('internal error (%s: %s); the details are in %s' % (exc.__class__.__name__, str(exc)[:300],
                                                                _keep_traceback()))
        return EXIT_ERROR


def say(message):
    """An error as one line on stderr, whatever the message carries (newlines, escapes from a host name)."""
    print('bjeic-ops: %s' % printable(message).replace('\n', '\\n'), file=sys.stderr)


def _keep_traceback():
    import traceback
    from .paths import state_home
    directory = os.path.join(state_home(), 'bjeic-ops')
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        path = os.path.join(directory, 'crash.log')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, 'a') as handle:
            handle.write('--- %s bjeic-ops %s\n%s' % (datetime.now().isoformat(), ' '.join(sys.argv[1:2]),
                                                      traceback.format_exc()))
        return path
    except OSError:
        return 'nowhere (the state directory cannot be written)'


if __name__ == '__main__':
    sys.exit(main())
