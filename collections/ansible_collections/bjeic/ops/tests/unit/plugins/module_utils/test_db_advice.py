"""Patch advice: instances of each engine, shaped as the ledgers read them, against the release data the role ships
(roles/db_ledger/files/db_releases.yml): behind by how many patches, out of support, a line the data does not know,
a version newer than the data knows, facts that have grown old; and a malformed data file refused in one sentence.
The real MariaDB's version is advised in tests/integration/test_mysql_ledger.py."""
import datetime
import os

import pytest
import yaml

from ansible_collections.bjeic.ops.plugins.module_utils import db_advice

RELEASES = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'roles', 'db_ledger', 'files',
                        'db_releases.yml')
FRESH = datetime.date(2026, 9, 1)       # within 90 days of the file's as_of (2026-08-22)
SUMMER = datetime.date(2026, 7, 1)      # within 90 days of every line's facts (Oracle 19c's are from 2026-05-08)
LATER = datetime.date(2026, 12, 6)


@pytest.fixture(scope='module')
def data():
    with open(RELEASES) as handle:
        releases = yaml.safe_load(handle)
    assert db_advice.check_data(releases) == datetime.date(2026, 8, 22)
    return releases


def checks(found):
    return [(f['check'], f['severity']) for f in found]


def test_every_line_names_its_source_and_the_supported_ones_their_end(data):
    for engine, entry in data['engines'].items():
        for line, facts in entry['lines'].items():
            assert facts['source'] and facts.get('end_of_support'), (engine, line)


@pytest.mark.parametrize('facts, expected, behind', [
    ({'engine': 'mysql', 'product': 'MariaDB', 'version': '10.11.15'}, [('db.version_outdated', 'warning')], 3),
    ({'engine': 'mysql', 'product': 'MariaDB', 'version': '10.11.13'}, [('db.version_outdated', 'critical')], 5),
    ({'engine': 'mysql', 'product': 'MariaDB', 'version': '11.4.12'}, [], 0),
    ({'engine': 'mysql', 'product': 'MySQL', 'version': '8.4.9'}, [('db.version_outdated', 'warning')], 2),
    ({'engine': 'oracle', 'version': '19.0.0.0.0', 'version_full': '19.28.0.0.0'}, [('db.version_outdated', 'warning')], 3),
    ({'engine': 'oracle', 'version': '19.0.0.0.0', 'version_full': '19.21.0.0.0'}, [('db.version_outdated', 'critical')], 10),
    ({'engine': 'mssql', 'version': '16.0.4215.2', 'level': 'RTM CU23'}, [('db.version_outdated', 'warning')], 3),
    ({'engine': 'mssql', 'version': '15.0.4455.2', 'level': 'RTM CU32'}, [('db.version_outdated', 'warning')], 1),
    ({'engine': 'mssql', 'version': '15.0.4480.2', 'level': 'RTM CU32'}, [], 0),
], ids=['mariadb-3', 'mariadb-5', 'mariadb-current', 'mysql-84', 'oracle-19.28', 'oracle-19.21', 'mssql-2022-cu23',
        'mssql-2019-gdr', 'mssql-2019-current'])
def test_how_far_behind_the_latest_patch_of_its_line(data, facts, expected, behind):
    found, advice = db_advice.advise(facts, data, 'db:x@db01', SUMMER)
    assert checks(found) == expected
    assert advice['behind'] == behind and advice['supported'] is True and advice['stale'] is False
    if expected:
        assert advice['latest'] in found[0]['message'] and 'endoflife.date' in found[0]['message']


def test_a_line_past_its_end_of_support(data):
    found, advice = db_advice.advise({'engine': 'mysql', 'product': 'MySQL', 'version': '8.0.40'}, data, 'db:a@h', FRESH)
    assert checks(found) == [('db.version_unsupported', 'critical'), ('db.version_outdated', 'critical')]
    assert advice['supported'] is False and advice['end_of_support'] == '2026-04-30'
    found, dummy = db_advice.advise({'engine': 'mssql', 'version': '13.0.6500.1', 'level': 'SP3'}, data, 'db:b@h', FRESH)
    assert checks(found) == [('db.version_unsupported', 'critical')]      # 2016: extended support ended 2026-07-14


def test_what_the_data_does_not_know_is_said_not_guessed(data):
    found, advice = db_advice.advise({'engine': 'oracle', 'version': '12.2.0.1.0'}, data, 'db:o@h', FRESH)
    assert checks(found) == [('db.version_unknown', 'info')] and advice is None
    found, advice = db_advice.advise({'engine': 'mysql', 'product': 'MariaDB', 'version': '10.11.19'}, data, 'd', FRESH)
    assert checks(found) == [('db.version_unknown', 'info')] and 'newer than the latest' in found[0]['message']
    assert advice['behind'] == -1
    found, advice = db_advice.advise({'engine': 'oracle', 'version': '23.0.0.0.0', 'version_full': '23.26.1.0.0'},
                                     data, 'db:o@h', FRESH)
    assert checks(found) == [] and advice['latest'] is None and advice['behind'] is None   # no RU level recorded
    found, advice = db_advice.advise({'engine': 'mssql', 'version': None}, data, 'db:m@h', FRESH)
    assert checks(found) == [('db.version_unknown', 'info')] and advice is None


def test_old_facts_are_said_to_be_old(data):
    found, advice = db_advice.advise({'engine': 'mysql', 'product': 'MariaDB', 'version': '11.4.12'}, data, 'd', LATER)
    assert checks(found) == [('db.advice_stale', 'info')] and advice['stale'] is True
    assert '106 days old' in found[0]['message']
    # a line checked later than the file (Oracle 19c's facts are from May) is judged by its own date
    found, dummy = db_advice.advise({'engine': 'oracle', 'version_full': '19.31.0.0.0'}, data, 'd', datetime.date(2026, 8, 10))
    assert checks(found) == [('db.advice_stale', 'info')] and '2026-05-08' in found[0]['message']


@pytest.mark.parametrize('change, message', [
    (lambda d: d.pop('as_of'), 'releases.as_of must be a date'),
    (lambda d: d['engines'].update(sybase={'lines': {'16': {'source': 'x'}}}), 'releases.engines.sybase: unknown engine'),
    (lambda d: d['engines']['mysql']['lines']['8.4'].pop('source'), 'releases.engines.mysql.lines.8.4 needs a source'),
    (lambda d: d['engines']['mysql']['lines']['8.4'].update(eol='2032'), r'unknown key\(s\) eol'),
    (lambda d: d['engines']['mysql']['lines']['8.4'].update(end_of_support='soon'), 'end_of_support must be a date'),
    (lambda d: d['engines']['mysql']['lines']['8.4'].update(latest='latest'), "latest 'latest' is not a version"),
])
def test_a_malformed_data_file_is_refused_naming_the_place(data, change, message):
    import copy
    broken = copy.deepcopy(data)
    change(broken)
    with pytest.raises(db_advice.AdviceError, match=message):
        db_advice.check_data(broken)
