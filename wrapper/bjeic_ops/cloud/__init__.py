"""The cloud resource ledger (云资源台账): platform exports, lifecycle records, reconciliation and right-sizing.

Two sources feed ledger items of kind `cloud`:
- hosts report themselves (`bjeic.ops.linux_inspect`, `bjeic.ops.win_inspect`, key `self:vm:ID`);
- a cloud platform's export (CSV, XLSX, JSON) or any Ansible inventory (`ansible-inventory --list`),
  read through a mapping file and stored as one complete run `cloud-import:SOURCE` (keys `TYPE:ID`).
The newest import of each source is that platform's current export. Requests, changes and reclaims are
recorded in the store (`cloud_events`) with ticket, reason, operator and time.
"""
from .common import (
    ACTIONS, CloudError, LIST_ATTRS, MAX_ERRORS_SHOWN, NUMERIC, SELF_PREFIX, STOPPED, TYPES, UNATTACHED,
    UNITS_PER_GIB)
from .mapping import Mapping, build_items, import_export, inventory_records, load_mapping, lookup, read_records
from .view import Estate, gather, history_rows, lifecycle_state, resource_rows, spec_of
from .lifecycle import record, resolve
from .reconcile import has_critical, reconcile
from .sizing import (
    CPU_SIZES, MEMORY_SIZES_GIB, SizingPolicy, host_series, optimize, optimize_table, p95, recommend)
from .words import WORD_COLUMNS, localize

__all__ = ['ACTIONS', 'CloudError', 'LIST_ATTRS', 'MAX_ERRORS_SHOWN', 'NUMERIC', 'SELF_PREFIX', 'STOPPED', 'TYPES', 'UNATTACHED', 'UNITS_PER_GIB', 'Mapping', 'build_items', 'import_export', 'inventory_records', 'load_mapping', 'lookup', 'read_records', 'Estate', 'gather', 'history_rows', 'lifecycle_state', 'resource_rows', 'spec_of', 'record', 'resolve', 'has_critical', 'reconcile', 'CPU_SIZES', 'MEMORY_SIZES_GIB', 'SizingPolicy', 'host_series', 'optimize', 'optimize_table', 'p95', 'recommend', 'WORD_COLUMNS', 'localize']
