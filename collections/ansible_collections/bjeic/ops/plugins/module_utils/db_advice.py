# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Database patch advice (数据库补丁更新建议): an instance's version against the release data the project ships
(roles/db_ledger/files/db_releases.yml, replaceable by the user) - the release line it is on, the latest patch of
that line, how far behind it is, whether the line is still supported - as findings:

    db.version_outdated      behind the latest patch of its line (warning; critical four or more patches behind)
    db.version_unsupported   its line is past the end of support (critical)
    db.version_unknown       its line is not in the data (info: the data says nothing, so no advice is given)
    db.advice_stale          the facts of its line are older than STALE_DAYS (info: advice from old data says so)

Each finding's value carries the facts and the source the data names for them, so `bjeic-ops db advise` and the
reports show why.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings

STALE_DAYS = 90
BEHIND_CRITICAL = 4          # patches (release updates, cumulative updates) behind: critical from here
ENGINES = ('mysql', 'mariadb', 'oracle', 'mssql')
LINE_KEYS = {'latest', 'latest_date', 'end_of_support', 'as_of', 'source'}


class AdviceError(ValueError):
    """The release data is malformed; the message names the place."""


def check_data(data):
    """The release data as loaded from YAML, checked: {as_of: date, engines: {engine: {lines: {line: {...}}}}}."""
    if not isinstance(data, dict) or not isinstance(data.get('engines'), dict):
        raise AdviceError('releases: give as_of and engines (see roles/db_ledger/files/db_releases.yml)')
    as_of = as_date(data.get('as_of'), 'releases.as_of')
    for engine, entry in data['engines'].items():
        if engine not in ENGINES:
            raise AdviceError('releases.engines.%s: unknown engine; known: %s' % (engine, ', '.join(ENGINES)))
        lines = (entry or {}).get('lines')
        if not isinstance(lines, dict) or not lines:
            raise AdviceError('releases.engines.%s.lines must map each release line to its facts' % engine)
        for line, facts in lines.items():
            where = 'releases.engines.%s.lines.%s' % (engine, line)
            if not isinstance(facts, dict) or not facts.get('source'):
                raise AdviceError('%s needs a source: every fact names where it comes from' % where)
            unknown = sorted(set(facts) - LINE_KEYS)
            if unknown:
                raise AdviceError('%s: unknown key(s) %s; known: %s' % (where, ', '.join(unknown), ', '.join(sorted(LINE_KEYS))))
            if facts.get('end_of_support') is not None:
                as_date(facts['end_of_support'], where + '.end_of_support')
            if facts.get('latest') is not None and version_tuple(str(facts['latest'])) is None:
                raise AdviceError('%s.latest %r is not a version' % (where, facts['latest']))
    return as_of


def as_date(value, where):
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.datetime.strptime(str(value), '%Y-%m-%d').date()
    except ValueError:
        raise AdviceError('%s must be a date YYYY-MM-DD, got %r' % (where, value))


def version_tuple(text):
    """(19, 28, 0, 0, 0) from '19.28.0.0.0', (10, 11, 6) from '10.11.6-MariaDB-log'; None for no version."""
    match = re.match(r'^\s*(\d+(?:\.\d+)*)', text or '')
    return tuple(int(part) for part in match.group(1).split('.')) if match else None


def placed(facts):
    """(engine of the data, release line, version, patch index) of an instance's facts, or None when its version
    cannot be read. The patch index counts patches within the line (comparable with the latest one's)."""
    engine = facts.get('engine')
    if engine == 'mysql':
        engine = 'mariadb' if 'mariadb' in str(facts.get('product') or facts.get('version_string') or '').lower() else 'mysql'
        version = str(facts.get('version') or '')
        numbers = version_tuple(version)
        if not numbers or len(numbers) < 3:
            return None
        return engine, '%d.%d' % numbers[:2], version, numbers[2]
    if engine == 'oracle':
        version = str(facts.get('version_full') or facts.get('version') or '')
        numbers = version_tuple(version)
        if not numbers or len(numbers) < 2:
            return None
        if numbers[0] >= 23:      # 23.26.1: the RU's year and its refresh in that year
            return engine, str(numbers[0]), version, numbers[1] * 4 + (numbers[2] if len(numbers) > 2 else 0)
        return engine, str(numbers[0]), version, numbers[1]
    if engine == 'mssql':
        version = str(facts.get('version') or '')
        numbers = version_tuple(version)
        if not numbers:
            return None
        return engine, str(numbers[0]), version, cumulative_update(facts.get('level'))
    return None


def cumulative_update(level):
    """The CU number of 'RTM CU26' (0 for none: the release itself or a GDR of it)."""
    match = re.search(r'CU(\d+)', str(level or ''))
    return int(match.group(1)) if match else 0


def latest_index(engine, latest):
    """The patch index of the data's latest patch, as placed() counts it for an instance."""
    if engine == 'mssql':
        return cumulative_update(latest)
    numbers = version_tuple(str(latest))
    if engine == 'oracle':
        if numbers[0] >= 23:
            return numbers[1] * 4 + (numbers[2] if len(numbers) > 2 else 0)
        return numbers[1]
    return numbers[2] if len(numbers) > 2 else 0


def patches_behind(engine, version, index, latest):
    """How many patches the instance is behind the latest of its line. SQL Server counts cumulative updates; an
    older build on the latest CU is one security update (GDR) behind."""
    behind = latest_index(engine, latest) - index
    if engine == 'mssql' and behind == 0 and version_tuple(version) < version_tuple(str(latest)):
        return 1
    return behind


def advise(facts, data, subject, today=None):
    """(findings, advice) of one instance's facts against the release data (already checked by check_data); the
    advice - {engine, line, version, latest, behind, end_of_support, supported, source, as_of, stale} or None when the
    version or its line is unknown - goes into the ledger item's state, for `bjeic-ops db advise`."""
    today = today or datetime.date.today()
    found = Findings(subject)
    as_of = as_date(data['as_of'], 'releases.as_of')
    where = placed(facts)
    if where is None:
        found.add('db.version_unknown', 'info', '%s: its version %r cannot be read, so no patch advice is given'
                  % (subject, facts.get('version')))
        return found.items, None
    engine, line, version, index = where
    lines = ((data['engines'].get(engine) or {}).get('lines') or {})
    release = lines.get(line)
    if release is None:
        found.add('db.version_unknown', 'info', '%s: %s %s is on release line %s, which the release data (as of %s) '
                  'does not list: add it to give advice' % (subject, engine, version, line, as_of),
                  value={'engine': engine, 'line': line, 'version': version})
        return found.items, None
    if release.get('as_of'):
        as_of = as_date(release['as_of'], 'as_of')
    age = (today - as_of).days
    if age > STALE_DAYS:
        found.add('db.advice_stale', 'info', '%s: the release facts of %s %s are from %s, %d days old: the advice may be '
                  'out of date; replace db_releases.yml with newer facts' % (subject, engine, line, as_of, age),
                  value={'engine': engine, 'line': line, 'as_of': str(as_of), 'days': age})
    supported = not (release.get('end_of_support') and as_date(release['end_of_support'], 'end_of_support') < today)
    value = {'engine': engine, 'line': line, 'version': version, 'latest': release.get('latest'),
             'end_of_support': str(release['end_of_support']) if release.get('end_of_support') else None,
             'supported': supported, 'source': release['source'], 'as_of': str(as_of), 'stale': age > STALE_DAYS,
             'behind': None}
    if not supported:
        found.add('db.version_unsupported', 'critical', '%s: %s %s is on line %s, out of support since %s (%s): plan '
                  'the upgrade to a supported line' % (subject, engine, version, line, value['end_of_support'],
                                                       release['source']), value=value)
    if release.get('latest') is None:
        return found.items, value
    behind = patches_behind(engine, version, index, release['latest'])
    value['behind'] = behind
    if behind > 0:
        found.add('db.version_outdated', 'critical' if behind >= BEHIND_CRITICAL else 'warning',
                  '%s: %s %s is %d patch(es) behind the latest of line %s, %s%s (%s)' % (
                      subject, engine, version, behind, line, release['latest'],
                      ' of %s' % release['latest_date'] if release.get('latest_date') else '', release['source']),
                  value=value, threshold=BEHIND_CRITICAL)
    elif behind < 0:
        found.add('db.version_unknown', 'info', '%s: %s %s is newer than the latest patch the release data knows '
                  '(%s, as of %s): the data is out of date' % (subject, engine, version, release['latest'], as_of),
                  value=value)
    return found.items, value
