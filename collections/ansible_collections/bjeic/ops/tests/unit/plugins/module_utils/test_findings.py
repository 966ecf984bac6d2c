import pytest

from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding, grade
from ansible_collections.bjeic.ops.plugins.module_utils.findings import ThresholdError, merge_thresholds, public_thresholds

DEFAULTS = {'fs.usage': {'warning': 80.0, 'critical': 90.0},
            'lvm.vg_free': {'warning': 10.0, 'critical': 5.0, '_direction': 'below'}}


@pytest.mark.parametrize('value, expected', [
    (79.9, (None, None)), (80, ('warning', 80.0)), (89.9, ('warning', 80.0)), (90, ('critical', 90.0)), (None, (None, None)),
])
def test_grade_higher_is_worse(value, expected):
    assert grade(value, DEFAULTS['fs.usage']) == expected


@pytest.mark.parametrize('value, expected', [(50, (None, None)), (10, ('warning', 10.0)), (3, ('critical', 5.0))])
def test_grade_lower_is_worse(value, expected):
    assert grade(value, DEFAULTS['lvm.vg_free']) == expected


def test_merge_keeps_the_other_level_and_does_not_touch_defaults():
    merged = merge_thresholds(DEFAULTS, {'fs.usage': {'warning': 70}})
    assert merged['fs.usage'] == {'warning': 70.0, 'critical': 90.0}
    assert DEFAULTS['fs.usage']['warning'] == 80.0


@pytest.mark.parametrize('overrides, message', [
    ({'fs.usag': {'warning': 1}}, "thresholds: unknown check id 'fs.usag'; known ids with thresholds: fs.usage, lvm.vg_free"),
    ({'fs.usage': {'warn': 1}}, "thresholds.fs.usage must be a dict with keys warning and/or critical, got {'warn': 1}"),
    ({'fs.usage': {'warning': 'high'}}, "thresholds.fs.usage.warning must be a number, got 'high'"),
    ({'fs.usage': {'warning': 95}}, 'thresholds.fs.usage: critical (90.0) is less severe than warning (95.0)'),
    ({'lvm.vg_free': {'critical': 20}}, 'thresholds.lvm.vg_free: critical (20.0) is less severe than warning (10.0)'),
])
def test_bad_thresholds_are_refused_with_a_clear_message(overrides, message):
    with pytest.raises(ThresholdError) as error:
        merge_thresholds(DEFAULTS, overrides)
    assert str(error.value) == message


def test_public_thresholds_hide_internal_keys():
    assert public_thresholds(DEFAULTS)['lvm.vg_free'] == {'warning': 10.0, 'critical': 5.0}


def test_finding_shape_and_severity_check():
    item = finding('fs.usage', 'warning', '/var', 'msg', 81.0, 80.0)
    assert set(item) == {'check', 'severity', 'subject', 'value', 'threshold', 'message'}
    with pytest.raises(ValueError):
        finding('fs.usage', 'major', '/var', 'msg')


def test_stale_severity_past_the_rpo_and_at_twice_it():
    from ansible_collections.bjeic.ops.plugins.module_utils.findings import stale_severity
    assert [stale_severity(age, 24) for age in (0, 24, 24.01, 47.99, 48, 100)] == [
        None, None, 'warning', 'warning', 'critical', 'critical']
