"""drill_record: timings from the steps, objectives judged, failures never reported as passed."""
import pytest

from ansible_collections.bjeic.ops.plugins.modules.drill_record import build_record, parse_time


def params(steps, objectives=None):
    return {'name': 'cron failure on web01', 'kind': 'service_failure', 'objectives': objectives or {},
            'steps': [dict({'ok': True, 'detail': ''}, **s) for s in steps]}


STEPS = [
    {'name': 'precheck', 'at': '2026-11-26T07:59:50'},
    {'name': 'fault', 'at': '2026-11-26T08:00:00Z'},
    {'name': 'detected', 'at': '2026-11-26T08:00:21.5+00:00'},
    {'name': 'recovered', 'at': '2026-11-26T16:01:04+08:00'},   # another zone, same clock
    {'name': 'verified', 'at': '1795680070'},                    # epoch seconds: 08:01:10Z
]


def test_timings_run_from_the_fault_step():
    record, findings = build_record(params(STEPS, {'detection_seconds': 60, 'recovery_seconds': 300}))
    assert findings == []
    assert record['outcome'] == 'passed'
    assert record['timings'] == {'detection_seconds': 21.5, 'recovery_seconds': 64.0, 'total_seconds': 80.0}
    assert [s['elapsed_seconds'] for s in record['steps']] == [-10.0, 0.0, 21.5, 64.0, 70.0]
    assert record['started'] == '2026-11-26T07:59:50.000000Z' and record['finished'] == '2026-11-26T08:01:10.000000Z'


def test_a_failed_step_fails_the_drill():
    steps = [dict(s) for s in STEPS]
    steps[3].update(ok=False, detail='cron did not start: exit 1')
    record, findings = build_record(params(steps))
    assert record['outcome'] == 'failed'
    assert [(f['check'], f['severity'], f['value']) for f in findings] == [('drill.failed', 'critical', 'recovered')]
    assert 'cron did not start' in findings[0]['message']


def test_a_missed_objective_fails_the_drill_and_says_by_how_much():
    record, findings = build_record(params(STEPS, {'recovery_seconds': 30}))
    assert record['outcome'] == 'failed'
    assert findings[0]['check'] == 'drill.objective_missed'
    assert findings[0]['value'] == 64.0 and findings[0]['threshold'] == 30
    assert 'took 64.0s, the objective is 30' in findings[0]['message']


def test_an_objective_without_its_milestone_is_not_silently_met():
    record, findings = build_record(params([{'name': 'restored', 'at': '2026-11-26T08:00:00Z'}],
                                           {'detection_seconds': 60}))
    assert record['outcome'] == 'failed' and 'no step detected' in findings[0]['message']


def test_without_a_fault_step_the_first_step_starts_the_clock():
    record = build_record(params([{'name': 'copy', 'at': '2026-11-26T08:00:00Z'},
                                  {'name': 'recovered', 'at': '2026-11-26T08:02:00Z'}]))[0]
    assert record['timings'] == {'recovery_seconds': 120.0, 'total_seconds': 120.0}


@pytest.mark.parametrize('text', ['yesterday', '2026-13-01T00:00:00', ''])
def test_unreadable_times_are_refused(text):
    with pytest.raises(ValueError):
        parse_time(text)
