# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Options, attributes and notes shared by oracle_ledger, mysql_ledger and mssql_ledger.
    DOCUMENTATION = r'''
options:
  name:
    description:
      - Label of the instance in the ledger key C(db:NAME@SERVER), where SERVER is the host name the server
        reports. Set it when a host runs several instances; each engine has a default (see the module).
    type: str
  login_host:
    description: Host name or address of the database server.
    type: str
    default: localhost
  login_user:
    description: The monitoring account. Read-only privileges are enough; each module lists the ones it needs.
    type: str
  login_password:
    description: Password of O(login_user). Keep it in Ansible Vault; it is never logged or returned.
    type: str
  connect_timeout:
    description: Seconds to wait for the connection before reporting C(db.unreachable).
    type: int
    default: 10
  log_window_hours:
    description: Errors in the alert / error log within this many hours are reported.
    type: float
    default: 24
  thresholds:
    description:
      - Override finding thresholds, per check id, C({warning, critical}).
      - C(db.tablespace_free) (free % at or below, counting what autoextend can still add; default 15 / 5) and
        C(db.log_errors) (error entries in the window at or above; default 1 / 20).
    type: dict
    default: {}
  backup_max_age_hours:
    description:
      - Hours after which the newest backup is stale, reported as C(db.backup_stale) - warning past the limit, critical at twice it.
        Keys C(full) (default 192, a weekly full), C(incremental) (newest full or incremental/differential backup,
        default 26) and C(log) (archive / transaction log backup, default 0). 0 switches a check off.
    type: dict
    default: {}
  releases:
    description:
      - The release lines of the engines (the latest patch of each line, the end of its support, and the source of
        each fact), for patch advice - C(db.version_outdated) (warning; critical four or more patches behind),
        C(db.version_unsupported) (critical), C(db.version_unknown) and C(db.advice_stale) (info, facts older than 90
        days). The C(db_ledger) role passes its C(files/db_releases.yml) (or the file named by
        C(db_ledger_releases_file)); empty gives no advice.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing is changed.
notes:
  - Runs wherever its Python driver is installed - the controller (C(delegate_to) localhost), a jump host or
    the database host. Facts that only the database host can see (CPU and memory for MySQL, a MariaDB error log
    file, the data file system's free space) are read when it runs there, and reported as C(db.unavailable)
    otherwise.
  - An unreachable server gives the finding C(db.unreachable) (critical) and no ledger item; the task does not
    fail, so the next instance is still read.
  - Findings - C(db.tablespace_free), C(db.archive_off) (warning), C(db.log_errors), C(db.backup_stale),
    C(db.unreachable), C(db.unavailable) (info - something could not be read, and why), and with O(releases) the patch
    advice C(db.version_outdated), C(db.version_unsupported), C(db.version_unknown), C(db.advice_stale).
'''
