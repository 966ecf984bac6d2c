"""Platform exports into the cloud ledger: the mapping file, reading CSV, XLSX, JSON or an inventory,
every row checked before one import run is stored."""
import csv
import json
import os
from dataclasses import dataclass, field, fields

from ..inventory import inventory_list
from .common import CloudError, LIST_ATTRS, MAX_ERRORS_SHOWN, NUMERIC, TYPES, UNITS_PER_GIB


# ---------------------------------------------------------------- mapping

@dataclass
class Mapping:
    """How one platform's export becomes ledger items; read from a YAML file (see docs/cloud.md)."""
    source: str
    fields: dict                                     # ledger attribute -> column name or dotted path
    type: str = None                                 # every record is this type ...
    type_field: str = None                           # ... or this column names it,
    type_values: dict = field(default_factory=dict)  # through this map (platform word -> type)
    values: dict = field(default_factory=dict)       # attribute -> {platform word: ledger word}
    units: dict = field(default_factory=dict)        # *_gib attribute -> unit the export gives it in (MiB ...)
    sheet: str = None                                # xlsx: the sheet (default: the first)
    records: str = None                              # json: dotted path to the list of records


def load_mapping(path):
    from .. import yamlfile
    data = yamlfile.read(path, 'cannot read mapping %s' % path, CloudError)
    if not isinstance(data, dict):
        raise CloudError('mapping %s must be a YAML mapping with source and fields' % path)
    known = set(f.name for f in fields(Mapping))
    unknown = sorted(set(data) - known)
    if unknown:
        raise CloudError('mapping %s: unknown key(s) %s; known: %s' % (path, ', '.join(map(str, unknown)),
                                                                      ', '.join(sorted(known))))
    missing = [name for name in ('source', 'fields') if name not in data]
    if missing:
        raise CloudError('mapping %s: %s missing (see docs/cloud.md)' % (path, ' and '.join(missing) + ' is'
                                                                       if len(missing) == 1 else ' and '.join(missing) + ' are'))
    mapping = Mapping(**data)
    problems = []
    if not mapping.source or not isinstance(mapping.source, str):
        problems.append('source (the platform name, e.g. ctyun-gov) is missing')
    if not isinstance(mapping.fields, dict) or 'id' not in mapping.fields:
        problems.append('fields must map at least id to the column holding the resource id')
    if bool(mapping.type) == bool(mapping.type_field):
        problems.append('give either type (one of %s) or type_field with type_values' % ', '.join(TYPES))
    if mapping.type and mapping.type not in TYPES:
        problems.append('type %r is not one of %s' % (mapping.type, ', '.join(TYPES)))
    for attr, unit in (mapping.units or {}).items():
        if not attr.endswith('_gib') or unit not in UNITS_PER_GIB:
            problems.append('units: %s: %s must be a *_gib attribute given in one of %s'
                            % (attr, unit, ', '.join(UNITS_PER_GIB)))
    bad = sorted(v for v in (mapping.type_values or {}).values() if v not in TYPES)
    if bad:
        problems.append('type_values map to %s; allowed: %s' % (', '.join(map(str, bad)), ', '.join(TYPES)))
    if problems:
        raise CloudError('mapping %s: %s' % (path, '; '.join(problems)))
    return mapping


# ---------------------------------------------------------------- reading exports

def read_records(path, mapping):
    """[(where, record dict)] from a CSV, XLSX or JSON export; `where` names the row for messages."""
    if not os.path.isfile(path):
        raise CloudError('no such export file: %s' % path)
    suffix = os.path.splitext(path)[1].lower()
    try:
        if suffix == '.csv':
            with open(path, encoding='utf-8-sig', newline='') as handle:
                return [('row %d' % (n + 2), row) for n, row in enumerate(csv.DictReader(handle))]
        if suffix in ('.xlsx', '.xlsm'):
            return _xlsx_records(path, mapping.sheet)
        if suffix == '.json':
            with open(path, encoding='utf-8') as handle:
                data = json.load(handle)
            records = lookup(data, mapping.records) if mapping.records else data
            if not isinstance(records, list):
                raise CloudError('%s: %s is not a list of records' % (path, mapping.records or 'the top level'))
            return [('record %d' % (n + 1), r) for n, r in enumerate(records)]
    except (UnicodeDecodeError, ValueError, csv.Error) as exc:
        raise CloudError('cannot read %s: %s' % (path, exc))
    raise CloudError('%s: unknown export format %r; give a .csv, .xlsx or .json file' % (path, suffix))


def _xlsx_records(path, sheet):
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException
    from zipfile import BadZipFile
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError) as exc:
        raise CloudError('%s is not a readable XLSX workbook: %s' % (path, exc))
    try:
        if sheet and sheet not in workbook.sheetnames:
            raise CloudError('%s has no sheet %r; sheets: %s' % (path, sheet, ', '.join(workbook.sheetnames)))
        rows = workbook[sheet] if sheet else workbook.worksheets[0]
        values = list(rows.iter_rows(values_only=True))
    finally:
        workbook.close()
    if not values:
        return []
    header = [str(h).strip() if h is not None else '' for h in values[0]]
    return [('row %d' % (n + 2), dict(zip(header, row))) for n, row in enumerate(values[1:])
            if any(cell not in (None, '') for cell in row)]


def inventory_records(inventory):
    """[(where, hostvars + inventory_hostname)] from any Ansible inventory, dynamic ones included."""
    hostvars = (inventory_list(inventory).get('_meta') or {}).get('hostvars') or {}
    if not hostvars:   # ansible-inventory only warns about a source it cannot parse
        raise CloudError('inventory %s lists no hosts: check the path and run ansible-inventory -i %s --list'
                         % (inventory, inventory))
    return [('host %s' % name, dict(hostvars[name], inventory_hostname=name)) for name in sorted(hostvars)]


def lookup(record, path):
    """A column by its exact name, else a dotted path into nested data (openstack.flavor.name)."""
    if isinstance(record, dict) and path in record:
        return record[path]
    value = record
    for part in str(path).split('.'):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _convert(attr, value, mapping):
    if isinstance(value, str):
        value = value.strip()
    if value in (None, ''):
        return None
    if attr in mapping.values:
        value = mapping.values[attr].get(value, value)
    if attr in NUMERIC:
        try:
            number = float(str(value).replace(',', ''))
        except ValueError:
            raise ValueError('%s %r is not a number' % (attr, value))
        if attr in mapping.units:
            number = round(number / UNITS_PER_GIB[mapping.units[attr]], 2)
        return NUMERIC[attr](number) if NUMERIC[attr] is float or number.is_integer() else number
    if attr in LIST_ATTRS:
        items = value if isinstance(value, list) else str(value).replace(';', ',').replace(' ', ',').split(',')
        return sorted(str(item).strip() for item in items if str(item).strip())
    if hasattr(value, 'isoformat'):
        return value.isoformat()
    return value if isinstance(value, (int, float, bool, list, dict)) else str(value)


def build_items(records, mapping):
    """Ledger items {host, kind, key, attrs} for one import; every problem is collected, then raised at once
    so a half-good file is never half imported."""
    problems, items, seen = [], [], {}
    if records:
        columns = set(records[0][1]) if isinstance(records[0][1], dict) else set()
        flat = all(isinstance(v, (str, int, float, type(None))) or hasattr(v, 'isoformat')
                   for _w, r in records[:1] for v in r.values())
        missing = [c for c in list(mapping.fields.values()) + ([mapping.type_field] if mapping.type_field else [])
                   if flat and c not in columns]
        if missing:
            raise CloudError('the export has no column %s; its columns are: %s'
                             % (', '.join(repr(c) for c in missing), ', '.join(sorted(map(str, columns)))))
    for where, record in records:
        try:
            attrs = {}
            for attr, column in mapping.fields.items():
                value = _convert(attr, lookup(record, column), mapping)
                if value is not None:
                    attrs[attr] = value
            kind = mapping.type or mapping.type_values.get(str(lookup(record, mapping.type_field) or '').strip())
            if kind not in TYPES:
                raise ValueError('%s %r is not in type_values' % (mapping.type_field, lookup(record, mapping.type_field)))
            if not attrs.get('id'):
                raise ValueError('no id (column %r is empty)' % mapping.fields['id'])
        except ValueError as exc:
            problems.append('%s: %s' % (where, exc))
            continue
        attrs['id'], attrs['type'], attrs['source'] = str(attrs['id']), kind, mapping.source
        key = '%s:%s' % (kind, attrs['id'])
        if key in seen:
            problems.append('%s: %s is listed twice (first at %s)' % (where, key, seen[key]))
            continue
        seen[key] = where
        items.append({'host': str(attrs.get('name') or attrs['id']), 'kind': 'cloud', 'key': key, 'attrs': attrs})
    if problems:
        shown = problems[:MAX_ERRORS_SHOWN]
        more = len(problems) - len(shown)
        raise CloudError('nothing imported; %d problem(s) in the export:\n  %s%s' % (
            len(problems), '\n  '.join(shown), '\n  ... and %d more' % more if more else ''))
    return items


def import_export(store, mapping, records, path, operator=None):
    """Validate all of an export, then store it as one run; returns (run id, item count)."""
    items = build_items(records, mapping)
    if not items:
        raise CloudError('%s holds no resources; nothing imported (an empty export would mark every resource absent)'
                         % path)
    return store.import_ledger(mapping.source, path, items, operator), len(items)
