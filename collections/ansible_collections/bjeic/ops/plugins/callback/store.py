# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record plain ansible-playbook and AWX runs in the bjeic-ops store."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: store
type: notification
short_description: Record every run in the bjeic-ops store (results, ledgers, findings, change records)
version_added: 0.3.0
description:
  - Records a run of C(ansible-playbook), or of an AWX / Automation Controller job, into the same store
    C(bjeic-ops run) writes, through the same ingestion code (host results, findings, ledger items, change
    records with their rollback handles, drill records).
  - Records the operator, the ticket, check mode, the limit and the inventory as C(bjeic-ops run) does, and for
    an AWX job its id, template and launching user.
  - Runs started by C(bjeic-ops run) are recorded by it, not by this plugin, so each run is recorded once.
  - When the store cannot be opened or written (a database down, a full disk, a lock), the play goes on and the
    run is kept in a spool file (mode 0600, secrets masked); C(bjeic-ops spool replay) puts it in the store
    later, once, and the plugin says so at the end of the play. A play killed half-way is an incomplete run.
requirements:
  - the bjeic-ops Python package on the controller (the collection's project ships it; in AWX, the execution
    environment built from the project's ee/ carries it)
options:
  store:
    description:
      - The store, as an SQLAlchemy URL (C(sqlite:///PATH), C(postgresql+psycopg://USER@HOST/DB)).
      - Default is the SQLite store C(bjeic-ops) uses, C($XDG_DATA_HOME/bjeic-ops/store.sqlite).
      - In AWX, give it with the C(bjeic-ops store) credential type (ee/awx/credential_type.yml) so that no
        password sits in a job template.
    type: str
    env:
      - name: BJEIC_OPS_STORE
    ini:
      - section: bjeic_ops
        key: store
  spool_dir:
    description:
      - Where runs are spooled while the store cannot take them. Default C($XDG_STATE_HOME/bjeic-ops/spool).
      - In AWX, a directory that outlives the job's container (a volume of the container group), or a spooled
        run is lost with the container; the end of the job output says when that happened.
    type: str
    env:
      - name: BJEIC_OPS_SPOOL
    ini:
      - section: bjeic_ops
        key: spool_dir
  operator:
    description:
      - Who runs the play, recorded on every change. Default the AWX user who launched the job, else the
        controller login.
    type: str
    env:
      - name: BJEIC_OPS_OPERATOR
  ticket:
    description:
      - The change ticket recorded with every change. Also taken from the extra var C(bjeic_ops_ticket).
    type: str
    env:
      - name: BJEIC_OPS_TICKET
  record:
    description:
      - Record runs. Turn off only for test runs that must not reach a store (Molecule against throw-away hosts).
    type: bool
    default: true
    env:
      - name: BJEIC_OPS_RECORD
'''

import atexit
import getpass
import os
import socket
from datetime import datetime, timezone

from ansible import context
from ansible.plugins.callback import CallbackBase

try:
    from bjeic_ops import recorder as bjeic_recorder
    from bjeic_ops.paths import store_url as bjeic_store_url
    from bjeic_ops.store import INCOMPLETE
    IMPORT_ERROR = None
except ImportError as exc:  # the collection without its Python package: said at the start of the play
    IMPORT_ERROR = exc

AWX_VARS = (('awx_job_id', 'job_id'), ('awx_job_template_name', 'job_template'), ('awx_user_name', 'launched_by'),
            ('awx_job_launch_type', 'launch_type'), ('awx_inventory_name', 'inventory'),
            ('awx_project_revision', 'project_revision'), ('awx_workflow_job_id', 'workflow_job_id'))


def utc_now():
    return datetime.now(timezone.utc).isoformat()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'notification'
    CALLBACK_NAME = 'bjeic.ops.store'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.recorder = None
        self.playbook = None
        self.active = True
        self.started = {}    # (host, task uuid) -> time the task started on the host, for durations
        atexit.register(self._interrupted)

    # ------------------------------------------------------------ the run
    def v2_playbook_on_start(self, playbook):
        if os.environ.get('BJEIC_OPS_RUN_ID'):
            self.active = False        # bjeic-ops run records this run itself
        elif not self.get_option('record'):
            self.active = False
        elif IMPORT_ERROR is not None:
            self.active = False
            self._display.warning('bjeic.ops.store: this run is NOT recorded: the bjeic-ops Python package is not '
                                  'installed beside ansible on this controller (%s)' % IMPORT_ERROR)
        self.playbook = playbook._file_name

    def v2_playbook_on_play_start(self, play):
        if not self.active:
            return
        if self.recorder is None:
            self._begin(play.get_variable_manager().extra_vars)
        hosts = play.hosts if isinstance(play.hosts, list) else [play.hosts]
        self._event('playbook_on_play_start', play_pattern=','.join(str(h) for h in hosts))

    def _begin(self, extra_vars):
        extra_vars = dict(extra_vars or {})
        awx = dict((key, extra_vars[name]) for name, key in AWX_VARS if extra_vars.get(name) is not None)
        if not awx and os.environ.get('JOB_ID'):
            awx = {'job_id': os.environ['JOB_ID']}
        operator = self.get_option('operator') or awx.get('launched_by') or getpass.getuser()
        ticket = self.get_option('ticket') or extra_vars.get('bjeic_ops_ticket')
        cli = context.CLIARGS
        inventory = cli.get('inventory') or ()
        meta = bjeic_recorder.RunMeta(
            playbook=self._recorded_path(self.playbook), inventory=','.join(os.path.abspath(i) if os.path.exists(i)
                                                                            else i for i in inventory) or None,
            limit=cli.get('subset') or None, check_mode=bool(cli.get('check')), operator=str(operator),
            ticket=str(ticket) if ticket else None, extra_vars=extra_vars,
            origin={'via': 'awx' if awx else 'ansible-playbook', 'awx': awx or None, 'diff': bool(cli.get('diff')),
                    'controller': socket.gethostname()})
        url = self.get_option('store') or bjeic_store_url()
        spool = self.get_option('spool_dir')
        self.recorder = bjeic_recorder.Recorder(url, meta, os.path.expanduser(spool) if spool else None)

    @staticmethod
    def _recorded_path(path):
        relative = os.path.relpath(path, os.getcwd())
        return path if relative.startswith('..') else relative

    def v2_playbook_on_stats(self, stats):
        if self.recorder is None:
            return
        hosts = sorted(stats.processed.keys())
        failures = sum(stats.summarize(h)['failures'] for h in hosts)
        unreachable = sum(stats.summarize(h)['unreachable'] for h in hosts)
        self._event('playbook_on_stats')
        said = self.recorder.finish(*bjeic_recorder.status_of(failures, unreachable))
        if said:
            self._display.warning('bjeic.ops.store: ' + said)

    def _interrupted(self):
        """At exit without a play recap (Ctrl-C, an error that ended ansible-playbook): an incomplete run."""
        if self.recorder is not None and not self.recorder.finished:
            said = self.recorder.finish(INCOMPLETE, 'canceled', None,
                                        'ansible-playbook ended before the play finished (interrupted or failed)')
            if said:
                self._display.warning('bjeic.ops.store: ' + said)

    # ------------------------------------------------------------ tasks and results, as ansible-runner's events
    @staticmethod
    def _task_name(task):
        return task.name or task.action     # as ansible-runner names a task in its events

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._event('playbook_on_task_start', task=self._task_name(task))

    def v2_playbook_on_handler_task_start(self, task):
        self._event('playbook_on_task_start', task=self._task_name(task))

    def v2_runner_on_start(self, host, task):
        if self.recorder is not None:
            self.started[(host.get_name(), task._uuid)] = datetime.now(timezone.utc)

    def v2_runner_on_ok(self, result):
        self._result('runner_on_ok', result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result('runner_on_failed', result, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result):
        self._result('runner_on_skipped', result)

    def v2_runner_on_unreachable(self, result):
        self._result('runner_on_unreachable', result)

    def _result(self, kind, result, ignore_errors=False):
        if self.recorder is None:
            return
        host, task = result.host.get_name(), result.task
        started = self.started.pop((host, task._uuid), None)
        duration = (datetime.now(timezone.utc) - started).total_seconds() if started else None
        self._event(kind, host=host, task=self._task_name(task), task_action=task.action, res=dict(result.result),
                    duration=duration, ignore_errors=bool(ignore_errors or task.ignore_errors))

    def _event(self, kind, **data):
        if self.recorder is not None:
            self.recorder.event({'event': kind, 'created': utc_now(), 'event_data': data})
