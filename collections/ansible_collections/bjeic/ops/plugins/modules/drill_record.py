#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: drill_record
short_description: Record an emergency drill (应急演练) - its steps, timings, objectives and outcome
version_added: 0.1.0
description:
  - Turns the steps a drill playbook carried out, each with the time it ended and whether it
    succeeded, into a drill record - the C(drill) key of the result, which the bjeic-ops wrapper
    stores and reports - and judges it against the drill's objectives.
  - Timings are measured from the step named C(fault) (the fault injected or the disaster declared),
    or from the first step - C(detection_seconds) to the step C(detected), C(recovery_seconds) to
    the step C(recovered) (the recovery time actually achieved), C(total_seconds) to the last step.
  - The drill fails when a step failed or an objective was missed; the task then fails too, unless
    O(fail_on_failure=false), so a drill that did not work is never reported green.
  - "Changes nothing anywhere; usually run with C(delegate_to: localhost)."
author:
  - bjeic.ops maintainers (@bjeic-ops)
attributes:
  check_mode:
    support: full
    description: The record is computed the same way in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
  platform:
    support: full
    platforms: posix
    description: Any host with Python; normally the controller.
options:
  name:
    description: What was drilled, e.g. C(nginx failure on web01).
    type: str
    required: true
  kind:
    description: The kind of drill.
    type: str
    choices: [restore, service_failure, database, other]
    default: other
  steps:
    description: The steps in the order they ran.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Step name; C(fault), C(detected) and C(recovered) mark the timings.
        type: str
        required: true
      at:
        description: When the step ended - ISO 8601 (a time without zone is UTC) or seconds since the epoch.
        type: str
        required: true
      ok:
        description: Whether the step succeeded.
        type: bool
        default: true
      detail:
        description: What the step found or did, in a sentence.
        type: str
        default: ''
  objectives:
    description: Limits in seconds the drill must meet.
    type: dict
    default: {}
    suboptions:
      detection_seconds:
        description: Longest acceptable time from the fault to its detection.
        type: float
      recovery_seconds:
        description: Longest acceptable time from the fault to recovery (the recovery time objective, RTO).
        type: float
  fail_on_failure:
    description: Fail the task when the drill failed.
    type: bool
    default: true
notes:
  - Findings - C(drill.failed) (critical, a step failed), C(drill.objective_missed) (warning).
'''

EXAMPLES = r'''
- name: Record the service failure drill
  bjeic.ops.drill_record:
    name: "nginx failure on {{ inventory_hostname }}"
    kind: service_failure
    steps:
      - {name: fault, at: "{{ drill_fault_at }}", detail: "systemctl stop nginx"}
      - {name: detected, at: "{{ drill_detected_at }}", detail: "daily inspection reported svc.down"}
      - {name: recovered, at: "{{ drill_recovered_at }}", detail: "systemctl start nginx"}
    objectives:
      detection_seconds: 300
      recovery_seconds: 1800
  delegate_to: localhost
  become: false
'''

RETURN = r'''
drill:
  description: The drill record the wrapper stores.
  returned: always
  type: dict
  sample:
    name: nginx failure on web01
    kind: service_failure
    outcome: passed
    started: "2026-11-26T08:00:00Z"
    finished: "2026-11-26T08:01:10Z"
    timings: {detection_seconds: 21.5, recovery_seconds: 64.0, total_seconds: 70.0}
    objectives: {detection_seconds: 300, recovery_seconds: 1800}
    steps:
      - {name: fault, at: "2026-11-26T08:00:00Z", ok: true, detail: systemctl stop nginx, elapsed_seconds: 0.0}
findings:
  description: C(drill.failed) and C(drill.objective_missed) findings (result contract).
  returned: always
  type: list
  elements: dict
'''

import datetime

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.bjeic.ops.plugins.module_utils.contract import finding

MILESTONES = (('detection_seconds', 'detected'), ('recovery_seconds', 'recovered'))


def parse_time(text):
    """A step time as an aware UTC datetime; ValueError when it is neither ISO 8601 nor epoch seconds."""
    text = str(text).strip()
    try:
        return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
    except ValueError:
        pass
    value = datetime.datetime.fromisoformat(text.replace('Z', '+00:00').replace(' ', 'T', 1))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def iso(value):
    return value.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def build_record(params):
    """(drill record, findings) from the module's parameters."""
    steps = []
    for step in params['steps']:
        steps.append(dict(step, at=parse_time(step['at'])))
    names = [s['name'] for s in steps]
    origin = steps[names.index('fault')]['at'] if 'fault' in names else steps[0]['at']
    for step in steps:
        step['elapsed_seconds'] = round((step['at'] - origin).total_seconds(), 3)
    timings = {'total_seconds': round((steps[-1]['at'] - steps[0]['at']).total_seconds(), 3)}
    for timing, milestone in MILESTONES:
        if milestone in names:
            timings[timing] = steps[names.index(milestone)]['elapsed_seconds']
    objectives = dict((k, v) for k, v in (params['objectives'] or {}).items() if v is not None)
    findings = []
    failed_steps = [s for s in steps if not s['ok']]
    for step in failed_steps:
        findings.append(finding('drill.failed', 'critical', params['name'],
                                'drill %s: step %s failed: %s' % (params['name'], step['name'], step['detail'] or 'no detail'),
                                value=step['name']))
    for timing, limit in sorted(objectives.items()):
        took = timings.get(timing)
        if took is None:
            findings.append(finding('drill.objective_missed', 'warning', params['name'],
                                    'drill %s: %s has an objective of %ss but the drill has no step %s to measure it'
                                    % (params['name'], timing, limit, dict(MILESTONES)[timing]), threshold=limit))
        elif took > limit:
            findings.append(finding('drill.objective_missed', 'warning', params['name'],
                                    'drill %s: %s took %.1fs, the objective is %ss' % (params['name'], timing, took, limit),
                                    value=took, threshold=limit))
    record = {
        'name': params['name'], 'kind': params['kind'], 'outcome': 'failed' if findings else 'passed',
        'started': iso(steps[0]['at']), 'finished': iso(steps[-1]['at']), 'timings': timings,
        'objectives': objectives,
        'steps': [dict(s, at=iso(s['at'])) for s in steps],
    }
    return record, findings


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            kind=dict(type='str', choices=['restore', 'service_failure', 'database', 'other'], default='other'),
            steps=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                at=dict(type='str', required=True),
                ok=dict(type='bool', default=True),
                detail=dict(type='str', default=''),
            )),
            objectives=dict(type='dict', default={}, options=dict(
                detection_seconds=dict(type='float'),
                recovery_seconds=dict(type='float'),
            )),
            fail_on_failure=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    if not module.params['steps']:
        module.fail_json(msg='steps is empty: a drill record needs at least one step {name, at}')
    try:
        record, findings = build_record(module.params)
    except ValueError as exc:
        module.fail_json(msg='a step time is neither ISO 8601 nor seconds since the epoch: %s' % exc)
    summary = 'drill %s %s in %.1fs' % (record['name'], record['outcome'], record['timings']['total_seconds'])
    if record['outcome'] == 'failed' and module.params['fail_on_failure']:
        module.fail_json(msg='%s: %s' % (summary, '; '.join(f['message'] for f in findings)), drill=record,
                         findings=findings, changed=False)
    module.exit_json(changed=False, drill=record, findings=findings, msg=summary)


if __name__ == '__main__':
    main()
