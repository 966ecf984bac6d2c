"""The record's views of the databases and of itself on the command line: `bjeic-ops availability` (database
availability as time, and the outages), `bjeic-ops db advise` (patch advice per instance) and `bjeic-ops store info |
compact` (what the store holds, and its retention)."""
from datetime import timedelta

from . import BjeicOpsError, advice, availability, forecast
from .reports import outage_row
from .store_schema import RETENTION_DAYS
from .times import as_utc, day, month_bounds, now, parse_local

MIN_DAYS = forecast.MIN_POINTS
READING = {('store', 'info'), 'availability', 'db'}   # `capacity` writes with --record


def add_parsers(sub, output_options, whole_number):
    avl = sub.add_parser('availability', help='database availability (数据库可用性) as time from the probes, and the '
                                              'outages')
    which = avl.add_mutually_exclusive_group()
    which.add_argument('--month', help='YYYY-MM, local (default: the current month)')
    which.add_argument('--from', dest='period_from', metavar='DATE', help='first day, YYYY-MM-DD (local); with --to')
    avl.add_argument('--to', dest='period_to', metavar='DATE', help='last day, YYYY-MM-DD (local)')
    avl.add_argument('--outages', action='store_true', help='list the outages instead of the instances')
    avl.add_argument('--probe-gap', type=whole_number(1, 1440), default=int(availability.MAX_GAP.total_seconds() // 60),
                     metavar='MINUTES', help='a probe covers at most this long after it; beyond is unmeasured '
                                             '(default %(default)s)')
    output_options(avl)
    dbs = sub.add_parser('db', help='databases: patch advice (数据库补丁更新建议)')
    dbs_sub = dbs.add_subparsers(dest='action', required=True)
    adv = dbs_sub.add_parser('advise', help='each instance of the db ledger: its version, the patch to go to, and why')
    output_options(adv)
    cap = sub.add_parser('capacity', help='capacity forecasts (容量预测): when file systems, volume groups and '
                                          'tablespaces reach their thresholds')
    cap.add_argument('--days', type=whole_number(MIN_DAYS, 3660), default=forecast.WINDOW_DAYS,
                     help='daily readings of this many days make the trend (default %(default)s)')
    cap.add_argument('--horizon', type=whole_number(1, 3660), default=forecast.HORIZON_DAYS,
                     help='list (and record) what reaches a threshold within this many days (default %(default)s)')
    cap.add_argument('--all', action='store_true', help='every rising trend, however far its threshold')
    cap.add_argument('--record', action='store_true', help='store capacity.forecast findings as an analysis run (the '
                                                           'daily `capacity` job), so alerts and reports see them')
    output_options(cap)
    sto = sub.add_parser('store', help='what the store holds, and its retention (数据保留)')
    sto_sub = sto.add_subparsers(dest='action', required=True)
    sto_sub.add_parser('info', help='rows per table, schema version, retention and where compaction stopped')
    cmp_ = sto_sub.add_parser('compact', help='thin the ledger\'s run-to-run state older than the retention (nightly job)')
    cmp_.add_argument('--keep-days', type=whole_number(7, 3660), default=RETENTION_DAYS,
                      help='full detail for this many days (default %(default)s)')
    cmp_.add_argument('--vacuum', action='store_true', help='then give the freed space back to the file system '
                                                           '(rewrites an SQLite file: needs as much free space again)')


def window(args):
    """[since, until) of the --month or --from/--to given (default: this month so far)."""
    if args.period_from or args.period_to:
        if not (args.period_from and args.period_to):
            raise BjeicOpsError('give --from and --to together (local dates, YYYY-MM-DD)')
        since = as_utc(parse_local(args.period_from, '--from %s' % args.period_from))
        until = as_utc(parse_local(args.period_to, '--to %s' % args.period_to))
        if len(args.period_to) <= 10:
            until += timedelta(days=1)
        if until <= since:
            raise BjeicOpsError('--to %s is not after --from %s' % (args.period_to, args.period_from))
        return since, until
    return month_bounds(args.month or now().astimezone().strftime('%Y-%m'))


def cmd_availability(args, store, show):
    since, until = window(args)
    gap = timedelta(minutes=args.probe_gap)
    if args.outages:
        rows = [outage_row(o) for o in availability.outages(store, since, until, gap)]
    else:
        rows = [i.row() for i in availability.per_instance(store, since, until, gap)]
    if not rows and args.format == 'table':
        print('no %s between %s and %s: is playbooks/db_probe.yml scheduled (schedules.yml, db-availability)?' % (
            'outage' if args.outages else 'probe', day(since), day(until - timedelta(seconds=1))))
        return 0
    show(rows, args.format, args.out, args.lang)
    return 0


def cmd_store(args, store, show):
    if args.action == 'info':
        marked = store.info('ledger_compacted_until')
        print('store schema %s; ledger state kept in full for %d days; compacted until %s' % (
            store.version(), RETENTION_DAYS, marked or 'never (run `bjeic-ops store compact`)'))
        show([{'table': name, 'rows': count} for name, count in store.table_sizes().items()], 'table', None, 'en')
        return 0
    done = store.compact(keep_days=args.keep_days)
    print('compacted %d day(s) up to %s: %d observation(s) thinned, %d cut to what reports read' % (
        done['days'], day(done['until']), done['thinned'], done['slimmed']))
    if args.vacuum:
        store.vacuum()
        print('space given back to the file system')
    return 0


def cmd_db(args, store, show):
    rows = advice.rows(store)
    if not rows and args.format == 'table':
        print('no database in the ledger: run playbooks/db_ledger.yml (bjeic-ops run db_ledger.yml -i INVENTORY)')
        return 0
    from .i18n import label
    shown = []
    for row in rows:
        row = dict((k, v.text(args.lang) if hasattr(v, 'text') else v) for k, v in row.items() if k not in ('key', 'stale'))
        if args.format != 'json':      # JSON keeps the verdict's code for scripts; documents say it in words
            row['verdict'] = label(row['verdict'], args.lang)
        shown.append(row)
    show(shown, args.format, args.out, args.lang)
    stale = sorted(set(r['facts_as_of'] for r in rows if r['stale']))
    if stale and args.format == 'table':
        print('note: release facts of %s are over 90 days old - replace roles/db_ledger/files/db_releases.yml (or '
              'db_ledger_releases_file) with newer facts' % ', '.join(stale))
    return 0


def cmd_capacity(args, store, show):
    trends = forecast.trends(store, days=args.days)
    if args.record:
        run_id, found = record_forecast(store, forecast.findings(trends, args.horizon))
        print('run %d: %d capacity.forecast finding(s) recorded' % (run_id, len(found)))
    rows = forecast.rows(trends, args.horizon, everything=args.all)
    if not rows and args.format == 'table':
        print('nothing reaches its threshold within %d days (%d objects read over %d days; a forecast needs %d daily '
              'readings that rise steadily)' % (args.horizon, len(trends), args.days, forecast.MIN_POINTS))
        return 0
    show([dict((k, v.text(args.lang) if hasattr(v, 'text') else v) for k, v in r.items()) for r in rows],
         args.format, args.out, args.lang)
    return 0


def record_forecast(store, found):
    """The forecast's findings as a complete run of `analysis:capacity`, through the one ingestor."""
    from .ingest import Ingestor
    from .times import now
    from .vocab import COMPLETE
    run_id = store.begin_run(forecast.ANALYSIS_PLAYBOOK, operator=None)
    ingest = Ingestor(store, run_id)
    hosts = sorted(set(f['host'] for f in found))
    for host in hosts:
        ingest({'event': 'runner_on_ok', 'created': now().isoformat(), 'event_data': {
            'host': host, 'task': 'Capacity forecast', 'task_action': 'bjeic-ops capacity',
            'res': {'changed': False, 'findings': [dict((k, v) for k, v in f.items() if k != 'host')
                                                   for f in found if f['host'] == host]}}})
    ingest.close()
    if ingest.failure is not None:
        store.finish_run(run_id, 'incomplete', status='failed', reason=str(ingest.failure))
        raise ingest.failure
    store.finish_run(run_id, COMPLETE, status='successful', rc=0)
    return run_id, found
