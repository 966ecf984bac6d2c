# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore test of one database backup (db_restore_test): the steps of each engine come from its
restore_* file; this file holds what they share (findings, the backup facts, the ledger item)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import socket

from ansible_collections.bjeic.ops.plugins.module_utils import contract
from ansible_collections.bjeic.ops.plugins.module_utils.contract import Findings
from ansible_collections.bjeic.ops.plugins.module_utils.restore_mssql import MssqlRestore
from ansible_collections.bjeic.ops.plugins.module_utils.restore_mysql import MysqlRestore
from ansible_collections.bjeic.ops.plugins.module_utils.restore_oracle import OracleRestore


class RestoreTest(MysqlRestore, OracleRestore, MssqlRestore):
    def __init__(self, module):
        self.module, self.params = module, module.params
        self.host = socket.gethostname()
        self.found = Findings(self.params['name'])
        self.add = self.found.add
        self.backup = {'dump': None, 'restore': None}

    def run(self):
        if self.params['engine'] == 'oracle':
            return self.run_oracle()
        if self.params['engine'] == 'mssql':
            return self.run_mssql()
        return self.run_mysql()

    def fail(self, what, problem):
        self.add('db.restore_failed', 'critical', 'database backup %s: restore test of %s failed: %s'
                 % (self.params['name'], what, problem), value=problem)

    def ledger(self):
        attrs = {'name': self.params['name'], 'engine': self.params['engine'], 'host': self.host,
                 'backup_path': self.params['backup_path'], 'max_age_hours': self.params['max_age_hours'],
                 'state': self.backup}
        return [contract.ledger_item('backup', contract.key('dbbackup', self.params['name'], self.host), attrs)]
