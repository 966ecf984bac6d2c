# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Thresholds: {warning, critical} per check id, merged over a module's defaults and checked.

A finding is {check, severity, subject, value, threshold, message} (contract.py builds and grades them).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ThresholdError(ValueError):
    """A user-supplied threshold is malformed; the message says which and why."""


def stale_severity(age_hours, max_age_hours):
    """Severity of a backup `age_hours` old against its RPO: None within it, warning past it,
    critical at twice it or more."""
    if age_hours <= max_age_hours:
        return None
    return 'critical' if age_hours >= 2 * max_age_hours else 'warning'


def merge_thresholds(defaults, overrides):
    """Defaults updated with user overrides, validated.

    `overrides` may give only one of warning/critical for a check. Unknown
    check ids and non-numeric values raise ThresholdError.
    """
    merged = dict((check, dict(levels)) for check, levels in defaults.items())
    for check, levels in (overrides or {}).items():
        if check not in defaults:
            raise ThresholdError('thresholds: unknown check id %r; known ids with thresholds: %s'
                                 % (check, ', '.join(sorted(defaults))))
        if not isinstance(levels, dict) or not set(levels) <= {'warning', 'critical'}:
            raise ThresholdError('thresholds.%s must be a dict with keys warning and/or critical, got %r'
                                 % (check, levels))
        for level, number in levels.items():
            try:
                merged[check][level] = float(number)
            except (TypeError, ValueError):
                raise ThresholdError('thresholds.%s.%s must be a number, got %r' % (check, level, number))
    for check, levels in merged.items():
        low_is_bad = levels.get('_direction') == 'below'
        warning, critical = levels['warning'], levels['critical']
        if (critical > warning) if low_is_bad else (critical < warning):
            raise ThresholdError('thresholds.%s: critical (%s) is less severe than warning (%s)'
                                 % (check, critical, warning))
    return merged


def public_thresholds(levels):
    """Thresholds as returned to the user (without internal keys)."""
    return dict((check, dict((k, v) for k, v in lv.items() if not k.startswith('_')))
                for check, lv in levels.items())
