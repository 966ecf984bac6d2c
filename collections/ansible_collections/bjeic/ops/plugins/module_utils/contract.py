# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result contract, built in one place: what every bjeic.ops module returns besides Ansible's own keys.

    findings  [{check, severity, subject, value, threshold, message}]   Findings collects and grades them
    ledger    [{kind, key, attrs}]                                    ledger_item(kind, key(...), attrs)
    changes   [{object, action, before, after}]                       change(...)
    rollback  {id, how: {module, args}} or None                       rollback(...)
    summary   {critical, warning, info}: how many findings of each    Findings.summary()
    probes    [{instance, host, engine, target, up, latency_ms, ...}]  probe(...): a database's availability

Ledger keys have one grammar: PREFIX:NAME[@HOST] (host:web01, netpolicy:web01, backup:etc@web01,
db:orcl@db01, baseline:mlps3@web01, patch:web01, self:vm:i-0abc). The wrapper validates results against the
same definitions (wrapper/bjeic_ops/contract.py) and refuses what breaks them.

Target-side code: Python 3.6+ standard library only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

SEVERITIES = ('critical', 'warning', 'info')
LEDGER_KINDS = ('os', 'db', 'network', 'cloud', 'backup')
C_LOCALE = {'LANG': 'C', 'LC_ALL': 'C'}      # for commands whose output is parsed
# Why a probe found a database down, in one word: the availability record counts and shows these.
PROBE_ERRORS = ('refused', 'timeout', 'auth', 'dns', 'network', 'tls', 'query', 'driver', 'error')


class ContractError(ValueError):
    """A module tried to return something the contract does not allow (a bug of the module)."""


def finding(check, severity, subject, message, value=None, threshold=None):
    if severity not in SEVERITIES:
        raise ContractError('unknown severity %r for %s' % (severity, check))
    if '.' not in check:
        raise ContractError('check id %r must be dotted, like fs.usage' % check)
    return {'check': check, 'severity': severity, 'subject': subject,
            'value': value, 'threshold': threshold, 'message': message}


def unavailable(check, subject, message):
    """An info finding saying that something could not be observed (check id `*.unavailable`)."""
    return finding(check, 'info', subject, message)


def key(prefix, name, host=None):
    """A ledger key in the one grammar: PREFIX:NAME, or PREFIX:NAME@HOST when NAME is one of many on a host."""
    return '%s:%s%s' % (prefix, name, '@%s' % host if host else '')


def ledger_item(kind, item_key, attrs):
    if kind not in LEDGER_KINDS:
        raise ContractError('ledger kind %r is not one of %s' % (kind, ', '.join(LEDGER_KINDS)))
    if ':' not in item_key:
        raise ContractError('ledger key %r must be PREFIX:NAME[@HOST]' % item_key)
    return {'kind': kind, 'key': item_key, 'attrs': attrs}


def change(obj, action, before=None, after=None, irreversible=None):
    """One entry of the change record: what was changed (a path, a package, a setting) and how. `irreversible`,
    the reason it cannot be undone, gives the entry its own `rollback: {irreversible: why}` instead of the run's
    handle."""
    entry = {'object': obj, 'action': action, 'before': before, 'after': after}
    if irreversible:
        entry['rollback'] = {'irreversible': irreversible}
    return entry


def rollback(handle_id, module, args):
    """The handle that undoes this run's change: `bjeic-ops rollback` runs `module` with `args` on the host."""
    return {'id': handle_id, 'how': {'module': module, 'args': args}}


def probe(instance, engine, target, up, latency_ms, at, host=None, version=None, server=None, error_class=None,
          error=None):
    """One availability probe of a database instance: reached and answered (`up`), or not and why (`error_class`
    one of PROBE_ERRORS, `error` the driver's words without secrets). `instance` is the instance's label, `host` the
    inventory host it belongs to when the probe runs elsewhere (the controller probes every instance)."""
    if up == (error_class is not None):
        raise ContractError('a probe of %s is up without an error class, or down with one' % instance)
    if error_class is not None and error_class not in PROBE_ERRORS:
        raise ContractError('probe error class %r is not one of %s' % (error_class, ', '.join(PROBE_ERRORS)))
    return {'instance': instance, 'host': host, 'engine': engine, 'target': target, 'up': bool(up),
            'latency_ms': int(round(latency_ms)), 'at': at, 'version': version, 'server': server,
            'error_class': error_class, 'error': error}


def grade(value, levels):
    """Severity of `value` against {warning, critical[, _direction]}, or None when fine.

    By default higher is worse; `_direction: below` makes lower worse (free space).
    Returns (severity, threshold crossed).
    """
    if value is None:
        return None, None
    if levels.get('_direction') == 'below':
        if value <= levels['critical']:
            return 'critical', levels['critical']
        if value <= levels['warning']:
            return 'warning', levels['warning']
        return None, None
    if value >= levels['critical']:
        return 'critical', levels['critical']
    if value >= levels['warning']:
        return 'warning', levels['warning']
    return None, None


def summary(findings):
    """How many findings of each severity: the one meaning of `summary` (modules may add their own counts)."""
    return dict((severity, sum(1 for item in findings if item['severity'] == severity)) for severity in SEVERITIES)


class Findings(object):
    """The findings of one module run. `subject` is the default subject; `keep(check)`, when given, decides
    which checks are reported (a module asked for some checks only); `*.unavailable` ones always are."""

    def __init__(self, subject=None, keep=None):
        self.subject = subject
        self.keep = keep
        self.items = []

    def add(self, check, severity, message, subject=None, value=None, threshold=None):
        if self.keep is None or self.keep(check) or check.endswith('.unavailable'):
            self.items.append(finding(check, severity, self.subject if subject is None else subject, message,
                                      value=value, threshold=threshold))

    def add_item(self, item):
        """A finding already built (by a parser that returns findings)."""
        self.add(item['check'], item['severity'], item['message'], item['subject'], item['value'], item['threshold'])

    def unavailable(self, check, message, subject=None):
        self.add(check, 'info', message, subject=subject)

    def graded(self, check, value, levels, message, subject=None, **extra):
        """A finding when `value` crosses `levels` ({warning, critical[, _direction]}); `message` is a format
        with %(value)s, %(threshold)s, %(severity)s and the `extra` names. Returns the severity, or None."""
        severity, threshold = grade(value, levels)
        if severity:
            values = dict(extra, value=value, threshold=threshold, severity=severity)
            self.add(check, severity, message % values, subject=subject, value=value, threshold=threshold)
        return severity

    def summary(self):
        return summary(self.items)


def run_c(module, argv, **kwargs):
    """module.run_command with the C locale, for commands whose output is parsed."""
    environ = dict(C_LOCALE)
    environ.update(kwargs.pop('environ_update', None) or {})
    return module.run_command(list(argv), environ_update=environ, **kwargs)
