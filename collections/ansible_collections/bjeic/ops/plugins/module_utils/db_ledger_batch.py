# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database ledger of many instances in one call (bjeic.ops.db_ledger): each instance read exactly as its
engine's ledger module reads it (db_common.read_instance), several at once on threads, the results grouped by the
inventory host each instance belongs to - so the role gives every host its own result, as the per-instance modules
did, without a Python process and a driver import per instance."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils.db_probe import ENGINES
from ansible_collections.bjeic.ops.plugins.module_utils.parallel import run_all

SHARED = ('releases',)     # given once for the call, not per instance


def instance_options():
    """The options of an `instances` entry: every engine's ledger options (defaults and requirements left to each
    engine's own validation, which knows them), plus the engine and the inventory host."""
    options = dict(engine=dict(type='str', required=True, choices=sorted(ENGINES)), host=dict(type='str'))
    for engine in ENGINES.values():
        for name, spec in engine.argument_spec().items():
            if name not in SHARED:
                option = dict((key, value) for key, value in spec.items() if key not in ('default', 'required'))
                aliases = set(options.get(name, {}).get('aliases', [])) | set(option.get('aliases', []))
                if aliases:                  # ca_cert is ssl_ca too for MySQL
                    option['aliases'] = sorted(aliases)
                options[name] = option
    return options


def describe(entry, index):
    return 'host %s, instance %s (%s)' % (entry.get('host') or '-', entry.get('name') or '#%d' % index,
                                          entry['engine'])


def engine_params(entry, releases):
    """(engine module, validated parameters) of one entry, or (engine, error text): the entry's options that its
    engine has (the others dropped, as the per-engine tasks ignored them), with that engine's defaults and rules."""
    engine = ENGINES[entry['engine']]
    spec = engine.argument_spec()
    given = dict((name, value) for name, value in entry.items() if name in spec and value is not None)
    given['releases'] = releases or {}
    checked = ArgumentSpecValidator(spec, **engine.ARGUMENT_RULES).validate(given)
    if checked.error_messages:
        return engine, '; '.join(checked.error_messages)
    return engine, checked.validated_parameters


def read_all(instances, releases, parallel, timeout, read=common.read_instance):
    """{host: {'results': [one result per instance, in the order given], 'failed': bool, 'msg': str}}."""
    jobs = []
    for index, entry in enumerate(instances):
        engine, params = engine_params(entry, releases)
        jobs.append(dict(index=index, entry=entry, engine=engine, params=params))

    def work(job):
        if not isinstance(job['params'], dict):
            return dict(failed=True, msg='%s: %s' % (describe(job['entry'], job['index']), job['params']))
        return read(job['params'], job['engine'])

    def late(job, started):
        waited = '%d s' % (time.time() - started) if started else 'its turn, other instances taking all the time'
        return dict(failed=True, msg='%s: not read: no complete answer within %s (timeout %d s)' % (
            describe(job['entry'], job['index']), waited, timeout))

    def crashed(job, exc):
        where = describe(job['entry'], job['index'])
        return dict(failed=True, msg='%s: reading it failed: %s' % (where, common.error_text(exc)))
    results = run_all(jobs, parallel, work, lambda job: timeout, late, crashed)
    hosts = {}
    for job, result in zip(jobs, results):
        hosts.setdefault(job['entry'].get('host') or '', []).append(result)
    return dict((host, host_result(found)) for host, found in hosts.items())


def host_result(results):
    """One host's result from its instances' results, shaped as a loop's: results[], failed when any failed."""
    failed = [r for r in results if r.get('failed')]
    if failed:
        message = '%d of %d instance(s) could not be read: %s' % (len(failed), len(results),
                                                                  '; '.join(r['msg'] for r in failed))
    else:
        message = '; '.join(r['msg'] for r in results)
    return dict(changed=False, failed=bool(failed), results=results, msg=message)


def counts(hosts):
    results = [r for host in hosts.values() for r in host['results']]
    return dict(instances=len(results), hosts=len(hosts),
                read=sum(1 for r in results if r.get('available')),
                unreachable=sum(1 for r in results if r.get('available') is False),
                failed=sum(1 for r in results if r.get('failed')))
