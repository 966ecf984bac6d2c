"""Turn ansible-runner events into store rows as they arrive (streaming: memory stays flat).

Only the result contract is read from a result (`ledger`, `findings`, `changes`, `rollback`,
`drill`, `backups`, `probes`) plus Ansible's own `changed`, `diff` and `msg`; printed text is never parsed.
"""
import difflib
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import contract
from .redact import Redactor
from .store import StoreError
from .times import now

EVENT_STATUS = {'runner_on_ok': 'ok', 'runner_on_failed': 'failed',
                'runner_on_unreachable': 'unreachable', 'runner_on_skipped': 'skipped'}
OBJECT_KEYS = ('dest', 'path', 'name', 'key', 'pkg', 'src', 'unit')
MAX_TEXT = 64 * 1024
MAX_ARGS = 16 * 1024      # a task's arguments beyond this are kept as cut text
NO_LOG = 'no_log'         # host_results.args of a task Ansible censored


@dataclass
class RunStats:
    """What a progress display needs; updated per event."""
    hosts_planned: set = field(default_factory=set)
    hosts_seen: set = field(default_factory=set)
    hosts_failed: set = field(default_factory=set)
    hosts_unreachable: set = field(default_factory=set)
    hosts_targeted: set = field(default_factory=set)     # hosts a task ran on or tried to (not only skipped)
    changed: int = 0
    findings: dict = field(default_factory=lambda: {'critical': 0, 'warning': 0, 'info': 0})
    current_task: str = ''
    reasons: dict = field(default_factory=dict)          # host -> 'task: message' of its failure, for the operator

    @property
    def hosts_total(self):
        return len(self.hosts_planned | self.hosts_seen)


class Ingestor:
    """event_handler for ansible-runner: buffers rows and writes them in batches."""

    def __init__(self, store, run_id, redactor=None, operator=None, ticket=None, check_mode=False,
                 observer=None, batch_rows=200, batch_seconds=1.0, keep_events_on_disk=False):
        self.store = store
        self.run_id = run_id
        self.redactor = redactor or Redactor()
        self.operator = operator
        self.ticket = ticket
        self.check_mode = check_mode
        self.observer = observer
        self.stats = RunStats()
        self.batch_rows = batch_rows
        self.batch_seconds = batch_seconds
        self.keep_events_on_disk = keep_events_on_disk
        self._buffer = self._empty()
        self._buffered = 0
        self._last_flush = time.monotonic()
        self.on_play_start = None  # set by the runner: callable(pattern) -> host names
        self.failure = None        # StoreError: the store stopped taking rows; the run is to be stopped

    def __call__(self, event):
        """Never raises: an exception here would escape into ansible-runner's loop and leave ansible-playbook
        running unwatched. A store that cannot be written is kept in `failure` for the run to stop on."""
        if self.failure is not None:
            return self.keep_events_on_disk
        try:
            return self._event(event)
        except StoreError as exc:
            self.failure = exc
        except Exception as exc:  # a malformed event must stop the run, said in words, not kill the runner
            self.failure = StoreError('an event could not be recorded (%s: %s)' % (exc.__class__.__name__, exc))
        self._buffer, self._buffered = self._empty(), 0
        return self.keep_events_on_disk

    @staticmethod
    def _empty():
        return {'host_results': [], 'findings': [], 'ledger_items': [], 'changes': [], 'drills': [], 'backups': [],
                'probes': []}

    def _event(self, event):
        kind = event.get('event')
        data = event.get('event_data') or {}
        if kind == 'playbook_on_play_start' and self.on_play_start:
            self.stats.hosts_planned |= self.on_play_start(data.get('play_pattern', 'all'))
        elif kind == 'playbook_on_task_start':
            self.stats.current_task = data.get('task', '')
        status = EVENT_STATUS.get(kind)
        if status and data.get('host'):
            # When it happened: the event's own time (a replayed spool is stored with the times of the run).
            self._host_result(data, status, parse_time(event.get('created')) or now())
            if self.observer:
                self.observer.update(self.stats)
        # A new task (or the end) means the previous task's results are whole: store them now,
        # so a long task that follows (or a kill -9 during it) does not leave them in memory.
        boundary = kind in ('playbook_on_task_start', 'playbook_on_play_start', 'playbook_on_stats')
        if boundary or self._buffered >= self.batch_rows or time.monotonic() - self._last_flush >= self.batch_seconds:
            self.flush()
        # Returning False keeps the event out of the artifact directory: results live in the
        # store, redacted; job_events on disk would hold them unredacted.
        return self.keep_events_on_disk

    def _host_result(self, data, status, at):
        host = data['host']
        res = data.get('res') or {}
        module = data.get('task_action') or ''
        self.stats.hosts_seen.add(host)
        if status != 'skipped':
            self.stats.hosts_targeted.add(host)
        if status == 'failed' and not data.get('ignore_errors'):
            self.stats.hosts_failed.add(host)
        elif status == 'unreachable':
            self.stats.hosts_unreachable.add(host)
        if host in self.stats.hosts_failed | self.stats.hosts_unreachable and host not in self.stats.reasons:
            message = res.get('msg')
            if isinstance(res.get('results'), list):   # a loop: 'One or more items failed' - say the item's reason
                failed = [r for r in res['results'] if isinstance(r, dict) and r.get('failed') and r.get('msg')]
                message = failed[0]['msg'] if failed else message
            words = self.redactor.text(str(message or '')).strip().splitlines()
            self.stats.reasons[host] = '%s: %s' % (data.get('task', '') or '?', (words[0] if words else '')[:300])
        changed = bool(res.get('changed'))
        self.stats.changed += changed
        self._add('host_results', {
            'run_id': self.run_id, 'host': host, 'task': data.get('task', '')[:500], 'module': module[:200],
            'status': status, 'changed': changed, 'msg': self.redactor.text(str(res.get('msg', '')))[:MAX_TEXT],
            'duration': int(float(data.get('duration') or 0) * 1000), 'at': at, 'args': self._arguments(res)})
        for item in _results_of(res):
            self._contract(host, data, module, item, at)

    def _arguments(self, res):
        """What the task sent to the host, for the operation report: the module's arguments as Ansible echoed them
        (no_log parameters already replaced by Ansible), secrets masked again by name and value. A no_log task's
        arguments are not known here: NO_LOG says so. A loop keeps each item's arguments."""
        if 'censored' in res:
            return NO_LOG
        if isinstance(res.get('results'), list):
            args = [((item.get('invocation') or {}).get('module_args') if isinstance(item, dict) else None)
                    for item in res['results']]
            args = {'loop': args} if any(a is not None for a in args) else None
        else:
            args = (res.get('invocation') or {}).get('module_args')
        if args is None:
            return None
        args = self.redactor.data(args)
        text = json.dumps(args, ensure_ascii=False, sort_keys=True, default=str)
        return args if len(text) <= MAX_ARGS else text[:MAX_ARGS] + ' …'

    def _contract(self, host, data, module, res, at):
        problems = contract.validate(res)
        if problems:
            res = self._refuse(host, data, module, res, at, problems)
        clean = self.redactor.data
        for item in res.get('findings') or []:
            severity = item.get('severity', 'info')
            self.stats.findings[severity] = self.stats.findings.get(severity, 0) + 1
            self._add('findings', {
                'run_id': self.run_id, 'host': host, 'check_id': item.get('check', '?'), 'severity': severity,
                'subject': str(item.get('subject', ''))[:1000], 'value': clean(item.get('value')),
                'threshold': clean(item.get('threshold')), 'message': self.redactor.text(str(item.get('message', ''))),
                'at': at})
        for item in res.get('ledger') or []:
            self._add('ledger_items', {
                'run_id': self.run_id, 'host': host, 'kind': item.get('kind'), 'key': item.get('key'),
                'attrs': clean(item.get('attrs') or {}), 'seen_at': at})
        drill = res.get('drill')
        if isinstance(drill, dict) and not self.check_mode:
            self._add('drills', {
                'run_id': self.run_id, 'host': host, 'name': str(drill.get('name', ''))[:500],
                'kind': str(drill.get('kind', 'other'))[:50], 'outcome': str(drill.get('outcome', 'failed'))[:20],
                'started': parse_time(drill.get('started')), 'finished': parse_time(drill.get('finished')),
                'timings': clean(drill.get('timings')), 'objectives': clean(drill.get('objectives')),
                'steps': clean(drill.get('steps')), 'operator': self.operator, 'at': at})
        for backup in res.get('backups') or []:
            if not self.check_mode and backup.get('state') in ('taken', 'failed'):
                self._add('backups', {
                    'run_id': self.run_id, 'host': host, 'set_name': str(backup['set'])[:200],
                    'kind': str(backup['kind'])[:20], 'method': str(backup.get('method') or '')[:50] or None,
                    'path': backup.get('path'), 'started': parse_time(backup.get('started')),
                    'finished': parse_time(backup.get('finished')), 'seconds': backup.get('seconds'),
                    'size': backup.get('size'), 'items': backup.get('files', backup.get('tables')),
                    'sha256': backup.get('sha256'), 'verified': backup.get('verified'), 'pruned': clean(backup.get('pruned')),
                    'state': backup['state'], 'error': self.redactor.text(str(backup.get('error') or '')) or None,
                    'operator': self.operator, 'ticket': self.ticket, 'at': at})
        for probe in res.get('probes') or []:
            self._add('probes', self._probe(host, probe, at))
        if res.get('changed') and not self.check_mode:
            for record in change_records(module, res):
                record.update(run_id=self.run_id, host=host, task=data.get('task', '')[:500], module=module[:200],
                              operator=self.operator, ticket=self.ticket, at=at,
                              before=clean(record['before']), after=clean(record['after']),
                              diff=self.redactor.text(record['diff'] or '')[:MAX_TEXT] or None,
                              rollback=clean(record['rollback']))
                self._add('changes', record)

    def _probe(self, host, probe, at):
        """A probe's row: it belongs to the host it names (db_probe on the controller probes every database host's
        instances), else to the task's host. A probe is a fact whatever the run's mode: check runs keep theirs."""
        latency = probe.get('latency_ms')
        return {'run_id': self.run_id, 'instance': probe['instance'][:200], 'host': str(probe.get('host') or host)[:255],
                'engine': str(probe.get('engine') or '')[:20] or None, 'target': str(probe.get('target') or '')[:500] or None,
                'at': parse_time(probe.get('at')) or at, 'up': probe['up'],
                'latency_ms': int(latency) if isinstance(latency, (int, float)) and 0 <= latency < 2 ** 31 else None,
                'error_class': None if probe['up'] else probe.get('error_class'),
                'error': None if probe['up'] else (self.redactor.text(str(probe.get('error') or ''))[:1000] or None),
                'version': str(probe.get('version') or '')[:200] or None}

    def _refuse(self, host, data, module, res, at, problems):
        """A result that breaks the contract is not stored half-read (a finding without a check id, a ledger
        item without a key): one critical finding names the task, the module and what is wrong, and the parts
        at fault are left out. A change is still recorded (it happened), from Ansible's own diff if need be."""
        task = data.get('task', '') or '?'
        self.stats.findings['critical'] = self.stats.findings.get('critical', 0) + 1
        self._add('findings', {
            'run_id': self.run_id, 'host': host, 'check_id': 'contract.invalid', 'severity': 'critical',
            'subject': ('%s (%s)' % (task, module or '?'))[:1000], 'value': None, 'threshold': None,
            'message': self.redactor.text('task "%s" (module %s) returned a result that breaks the result contract, '
                                          'so its %s were not recorded: %s' % (
                                              task, module or '?', ', '.join(sorted(contract.keys_at_fault(problems))),
                                              '; '.join(problems[:5]))),
            'at': at})
        at_fault = contract.keys_at_fault(problems)
        return {key: value for key, value in res.items() if key not in at_fault}

    def _add(self, table, row):
        self._buffer[table].append(row)
        self._buffered += 1

    def flush(self):
        if self._buffered:
            self.store.write_batch(self._buffer)
        self._buffer = self._empty()
        self._buffered = 0
        self._last_flush = time.monotonic()

    def close(self):
        """Write what is left; a failure lands in `failure` like one during the run."""
        if self.failure is None:
            try:
                self.flush()
            except StoreError as exc:
                self.failure = exc


def parse_time(text):
    """An ISO 8601 time from a module result or an event, or None; one without a zone is UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace('Z', '+00:00'))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _results_of(res):
    """A task's result, or each item's result for a loop."""
    if isinstance(res.get('results'), list):
        return [item for item in res['results'] if isinstance(item, dict)]
    return [res]


def change_records(module, res):
    """Change records for one changed result: from its `changes` (the contract), else from `diff`."""
    diffs = res.get('diff') or []
    if isinstance(diffs, dict):
        diffs = [diffs]
    diff_text = '\n'.join(filter(None, (unified_diff(d) for d in diffs))) or None
    rollback = res.get('rollback')
    if res.get('changes'):
        return [{'object': str(c.get('object', ''))[:1000], 'action': str(c.get('action', ''))[:200],
                 'before': c.get('before'), 'after': c.get('after'), 'diff': diff_text,
                 'rollback': c['rollback'] if 'rollback' in c else rollback}
                for c in res['changes']]
    args = (res.get('invocation') or {}).get('module_args') or {}
    target = next((str(res.get(k) or args.get(k)) for k in OBJECT_KEYS if res.get(k) or args.get(k)), '')
    before = [d.get('before') for d in diffs if 'before' in d]
    after = [d.get('after') for d in diffs if 'after' in d]
    return [{'object': target[:1000], 'action': module, 'before': _single(before), 'after': _single(after),
             'diff': diff_text, 'rollback': rollback}]


def _single(values):
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def unified_diff(diff):
    before, after = diff.get('before'), diff.get('after')
    if isinstance(before, str) and isinstance(after, str):
        lines = difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                     diff.get('before_header', 'before'), diff.get('after_header', 'after'))
        return ''.join(lines)[:MAX_TEXT]
    return None
