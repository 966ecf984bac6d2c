# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The availability probe (可用性探测) of database instances: connect, one trivial query, the time it took, and
when it fails the class of the failure in one word (contract.PROBE_ERRORS).

Many instances are probed at once, each on its own daemon thread within its own time limit, so one server that
accepts the connection and then says nothing costs its own limit, not the whole round's. The ledger modules report
a probe too (db_common.run_module), built here, so every connection made to a database counts for availability.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import time

from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils import db_common as common
from ansible_collections.bjeic.ops.plugins.module_utils import db_mssql, db_mysql, db_oracle
from ansible_collections.bjeic.ops.plugins.module_utils.parallel import run_all as parallel_run

ENGINES = {'mysql': db_mysql, 'oracle': db_oracle, 'mssql': db_mssql}
DEFAULT_PORTS = {'mysql': 3306, 'oracle': 1521, 'mssql': 1433}


def connection_params(options):
    """The ledger modules' connection parameters from one `instances` entry: the engine's port by default, and
    reads bounded by the connect timeout (a stopped server accepts a connection and then says nothing)."""
    params = dict(options)
    params['login_port'] = options.get('login_port') or DEFAULT_PORTS[options['engine']]
    params['read_timeout'] = options['connect_timeout']
    params.setdefault('login_database', 'master')
    params.setdefault('check_hostname', True)
    return params


def label_of(engine, params):
    return params.get('name') or engine.default_name(params)


def target_of(params):
    where = params.get('login_unix_socket') or params.get('login_host')
    return where if params.get('login_unix_socket') else '%s:%s' % (where, params['login_port'])


def utc_iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, common.utc_now().tzinfo).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def probe_one(options, clock=time.time):
    """Probe one instance: a contract probe, up or down with its class."""
    engine = ENGINES[options['engine']]
    params = connection_params(options)
    started = clock()

    def down(error_class, error):
        return down_probe(options, started, error_class, error, clock)
    if not engine.HAS_DRIVER:
        return down('driver', 'the Python driver %s is not installed on the host that runs the probe' % engine.DRIVER)
    try:
        connection = engine.connect(params)
    except Exception as exc:  # every driver has its own classes; none carries the password
        return down(common.failure_class(exc), common.failure_text(exc))
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(engine.PROBE_SQL)
            row = common.first(common.rows_of(cursor))
        finally:
            cursor.close()
        version = row.get('version') or getattr(connection, 'version', None)
    except Exception as exc:
        return down('query', common.error_text(exc))
    finally:
        close_quietly(connection)
    return contract.probe(label_of(engine, params), engine.ENGINE, target_of(params), True, (clock() - started) * 1000,
                          utc_iso(started), host=options.get('host'),
                          version=str(version) if version is not None else None, server=row.get('server'))


def down_probe(options, started, error_class, error, clock=time.time):
    """The probe of an instance found down, `started` being when the attempt began."""
    engine = ENGINES[options['engine']]
    params = connection_params(options)
    return contract.probe(label_of(engine, params), engine.ENGINE, target_of(params), False,
                          (clock() - started) * 1000, utc_iso(started), host=options.get('host'),
                          error_class=error_class, error=error)


def close_quietly(connection):
    try:
        connection.close()
    except Exception:
        pass


def time_limit(options):
    """Seconds one probe may take: the connect, the greeting and the query, each within the connect timeout."""
    return 3 * options['connect_timeout'] + 1


def probe_all(instances, parallel, probe=probe_one):
    """Probe every instance, `parallel` at a time: one that does not come back within its time limit is reported
    down with class timeout."""
    def late(options, begun):
        # A probe never started (every thread held by servers that hang past their drivers' timeouts) is not
        # a measurement of this instance: it says so.
        error = ('no answer within %d s' % time_limit(options) if begun is not None
                 else 'not probed: the round ran out of time waiting for other instances')
        return down_probe(options, begun or time.time(), 'timeout', error)

    def crashed(options, exc):
        return down_probe(options, time.time(), 'error', common.error_text(exc))
    return parallel_run(instances, parallel, probe, time_limit, late, crashed)


def subject_of(probe):
    """The finding subject of a probe: db:NAME@HOST, HOST the inventory host when known, else the target."""
    return contract.key('db', probe['instance'], probe['host'] or probe['target'].rsplit(':', 1)[0])


def findings(probes, slow_ms):
    found = contract.Findings()
    for probe in probes:
        subject = subject_of(probe)
        if not probe['up']:
            found.add('db.unreachable', 'critical', '%s: down (%s) at %s: %s' % (
                subject, probe['error_class'], probe['target'], probe['error']), subject=subject,
                value=probe['error_class'])
        elif slow_ms and probe['latency_ms'] >= slow_ms:
            found.add('db.probe_slow', 'warning', '%s: answered in %d ms (threshold %d ms)' % (
                subject, probe['latency_ms'], slow_ms), subject=subject, value=probe['latency_ms'], threshold=slow_ms)
    return found
