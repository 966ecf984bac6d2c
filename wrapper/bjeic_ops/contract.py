"""The result contract: `ledger`, `findings`, `changes`, `rollback`, `drill`, `backups`, `probes` in a module's result.

The wrapper reads only these keys; `validate()` says what is wrong with a result, so tests
and the store can refuse a malformed one instead of storing half of it.
"""
from .vocab import LEDGER_KINDS, PROBE_ERRORS, SEVERITIES
FINDING_KEYS = ('check', 'severity', 'subject', 'value', 'threshold', 'message')
CHANGE_KEYS = ('object', 'action', 'before', 'after')
DRILL_KEYS = ('name', 'kind', 'outcome', 'started', 'finished', 'timings', 'steps')
DRILL_OUTCOMES = ('passed', 'failed')
BACKUP_KEYS = ('set', 'kind', 'state')
BACKUP_KINDS = ('file', 'mysql', 'oracle', 'mssql')
BACKUP_STATES = ('taken', 'failed', 'planned')


def validate(result):
    """Problems with a module result as a list of sentences, each starting with the key it is about (ledger,
    findings, changes, drill, rollback); empty when the result keeps the contract."""
    problems = []
    for key in ('ledger', 'findings', 'changes'):
        if result.get(key) is not None and not isinstance(result[key], list):
            problems.append('%s must be a list, got %s' % (key, type(result[key]).__name__))
            result = dict(result, **{key: None})
    for index, item in enumerate(result.get('ledger') or []):
        where = 'ledger[%d]' % index
        if not isinstance(item, dict) or set(item) != {'kind', 'key', 'attrs'}:
            problems.append('%s must have exactly the keys kind, key, attrs' % where)
            continue
        if item['kind'] not in LEDGER_KINDS:
            problems.append('%s.kind %r is not one of %s' % (where, item['kind'], ', '.join(LEDGER_KINDS)))
        if not isinstance(item['key'], str) or ':' not in item['key']:
            problems.append('%s.key %r must be a string like host:web01' % (where, item['key']))
        if not isinstance(item['attrs'], dict):
            problems.append('%s.attrs must be a mapping' % where)
    for index, item in enumerate(result.get('findings') or []):
        where = 'findings[%d]' % index
        if not isinstance(item, dict):
            problems.append('%s must be a mapping' % where)
            continue
        missing = [key for key in FINDING_KEYS if key not in item]
        if missing:
            problems.append('%s lacks %s' % (where, ', '.join(missing)))
            continue
        if item['severity'] not in SEVERITIES:
            problems.append('%s.severity %r is not one of %s' % (where, item['severity'], ', '.join(SEVERITIES)))
        if not isinstance(item['check'], str) or '.' not in item['check']:
            problems.append('%s.check %r must be a dotted id like fs.usage' % (where, item['check']))
        if not item['message']:
            problems.append('%s.message is empty' % where)
    for index, item in enumerate(result.get('changes') or []):
        if not isinstance(item, dict):
            problems.append('changes[%d] must be a mapping' % index)
            continue
        missing = [key for key in CHANGE_KEYS if key not in item]
        if missing:
            problems.append('changes[%d] lacks %s' % (index, ', '.join(missing)))
        if 'rollback' in item and not _change_rollback_ok(item['rollback']):
            problems.append('changes[%d].rollback must be null, a handle with an id, or {irreversible: why}' % index)
    drill = result.get('drill')
    if drill is not None:
        missing = [key for key in DRILL_KEYS if not isinstance(drill, dict) or key not in drill]
        if missing:
            problems.append('drill lacks %s' % ', '.join(missing))
        elif drill['outcome'] not in DRILL_OUTCOMES:
            problems.append('drill.outcome %r is not one of %s' % (drill['outcome'], ', '.join(DRILL_OUTCOMES)))
    backups = result.get('backups')
    if backups is not None and not isinstance(backups, list):
        problems.append('backups must be a list, got %s' % type(backups).__name__)
        backups = None
    for index, item in enumerate(backups or []):
        missing = [key for key in BACKUP_KEYS if not isinstance(item, dict) or key not in item]
        if missing:
            problems.append('backups[%d] lacks %s' % (index, ', '.join(missing)))
        elif item['kind'] not in BACKUP_KINDS or item['state'] not in BACKUP_STATES:
            problems.append('backups[%d]: kind %r / state %r is not one of %s / %s' % (
                index, item['kind'], item['state'], ', '.join(BACKUP_KINDS), ', '.join(BACKUP_STATES)))
    problems.extend(_probe_problems(result.get('probes')))
    summary = result.get('summary')
    if summary and not (isinstance(summary, dict) and all(isinstance(summary.get(s), int) for s in SEVERITIES)):
        problems.append('summary must count the findings by severity (%s), then any counts of its own'
                        % ', '.join(SEVERITIES))
    rollback = result.get('rollback')
    if rollback is not None and (not isinstance(rollback, dict) or 'id' not in rollback):
        problems.append('rollback must be null or a mapping with an id')
    return problems


def _probe_problems(probes):
    if probes is None:
        return []
    if not isinstance(probes, list):
        return ['probes must be a list, got %s' % type(probes).__name__]
    problems = []
    for index, item in enumerate(probes):
        where = 'probes[%d]' % index
        if not isinstance(item, dict) or not isinstance(item.get('instance'), str) or not item['instance'] \
                or not isinstance(item.get('up'), bool):
            problems.append('%s needs an instance (a label) and up (true or false)' % where)
        elif not item['up'] and item.get('error_class') not in PROBE_ERRORS:
            problems.append('%s is down with error_class %r, not one of %s' % (where, item.get('error_class'),
                                                                            ', '.join(PROBE_ERRORS)))
    return problems


def _change_rollback_ok(handle):
    """A change may carry its own rollback: a handle, or the reason it cannot be undone (growing a disk)."""
    if handle is None:
        return True
    if not isinstance(handle, dict):
        return False
    if 'irreversible' in handle:
        return isinstance(handle['irreversible'], str) and bool(handle['irreversible'].strip())
    return 'id' in handle


def keys_at_fault(problems):
    """The contract keys the problems are about: {'findings', 'rollback', ...}."""
    return {problem.split('[', 1)[0].split('.', 1)[0].split(' ', 1)[0] for problem in problems}
