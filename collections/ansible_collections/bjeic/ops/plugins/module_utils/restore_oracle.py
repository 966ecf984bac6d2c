# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Oracle restore validation through RMAN on the database host.

RESTORE ... VALIDATE reads every backup piece that a restore would use and checks its blocks,
without writing a data file: the closest proof short of a restore that a backup restores.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re
import time

ERROR = re.compile(r'^\s*((?:RMAN|ORA)-\d{5}):?\s*(.*)$')


def script(targets, archivelog_hours):
    """The RMAN command file; archive logs are validated for the last `archivelog_hours` (older ones may be
    deleted by the retention policy and would fail the whole validation)."""
    commands = []
    for target in targets:
        if target == 'archivelog':
            commands.append("RESTORE ARCHIVELOG FROM TIME 'SYSDATE-%s' VALIDATE;" % round(archivelog_hours / 24.0, 4))
        else:
            commands.append('RESTORE %s VALIDATE;' % target.upper())
    return '\n'.join(commands + ['EXIT;']) + '\n'


def errors_of(output):
    """[(code, text)] of the RMAN- and ORA- lines of RMAN's output, in order, without repeats."""
    found = []
    for line in output.splitlines():
        match = ERROR.match(line)
        if match and (match.group(1), match.group(2).strip()) not in found:
            found.append((match.group(1), match.group(2).strip()))
    return found


def environment(oracle_home, oracle_sid):
    env = {'ORACLE_HOME': oracle_home, 'ORACLE_SID': oracle_sid, 'NLS_LANG': 'AMERICAN_AMERICA.AL32UTF8',
           'NLS_DATE_FORMAT': 'YYYY-MM-DD HH24:MI:SS'}
    return env, os.path.join(oracle_home, 'bin', 'rman')


def validate(module, oracle_home, oracle_sid, targets, archivelog_hours):
    """Run RMAN; returns {ok, rc, errors, finished} (errors as 'CODE: text')."""
    env, rman = environment(oracle_home, oracle_sid)
    if not os.access(rman, os.X_OK):
        return {'ok': False, 'rc': None, 'errors': ['rman not found at %s: check oracle_home' % rman]}
    rc, out, err = module.run_command([rman, 'target', '/'], data=script(targets, archivelog_hours), environ_update=env)
    errors = ['%s: %s' % pair for pair in errors_of(out + '\n' + err)]
    return {'ok': rc == 0 and not errors, 'rc': rc, 'errors': errors[:20],
            'finished': 'Finished restore' in out}


class OracleRestore(object):
    """The Oracle step of a RestoreTest (restore_test.py): RMAN RESTORE ... VALIDATE on this host."""

    def run_oracle(self):
        params = self.params
        if self.module.check_mode:
            self.backup['restore'] = {'ok': None, 'skipped': 'check mode'}
            return
        started = time.time()
        outcome = validate(self.module, params['oracle_home'], params['oracle_sid'], params['validate'],
                           params['archivelog_hours'])
        outcome.update(kind='rman validate', targets=params['validate'], seconds=round(time.time() - started, 3))
        self.backup['restore'] = outcome
        if not outcome['ok']:
            problem = 'RMAN validation of %s failed (rc %s): %s' % (
                ', '.join(params['validate']), outcome['rc'], '; '.join(outcome['errors'][:5]) or 'no error line')
            self.fail('ORACLE_SID %s' % params['oracle_sid'], problem)
