"""Write tables (lists of flat dicts) as CSV, JSON or XLSX, with Chinese or English headers."""
import csv
import json
import os
import tempfile

from .i18n import label

FORMATS = ('table', 'csv', 'json', 'xlsx')


def _cell(value):
    if value is None:
        return ''
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if hasattr(value, 'strftime'):
        return value.strftime('%Y-%m-%d %H:%M:%S')
    return value


def columns_of(rows):
    columns = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    return columns


def atomic_write(path, write, binary=False):
    """Write through a temporary file in the same directory, then rename: no half-written export."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.bjeic-ops-')
    try:
        with os.fdopen(fd, 'wb' if binary else 'w', **({} if binary else {'encoding': 'utf-8-sig', 'newline': ''})) as handle:
            write(handle)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_csv(path, rows, lang='zh'):
    columns = columns_of(rows)

    def write(handle):
        writer = csv.writer(handle)
        writer.writerow([label(c, lang) for c in columns])
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])
    atomic_write(path, write)  # utf-8-sig: Excel opens Chinese CSV correctly


def write_json(path, rows):
    data = json.dumps(rows, ensure_ascii=False, indent=2, sort_keys=False, default=_cell).encode('utf-8')
    atomic_write(path, lambda handle: handle.write(data), binary=True)


def table_sheet(workbook, title, columns, values, lang='zh'):
    """A sheet with a bold, frozen header of column labels and `values` (lists of cells), columns sized to fit."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title[:31])
    sheet.append([label(c, lang) for c in columns])
    for header in sheet[1]:
        header.font = Font(bold=True)
        header.fill = PatternFill('solid', fgColor='DDEBF7')
    for row in values:
        sheet.append(row)
    sheet.freeze_panes = 'A2'
    for index, column in enumerate(columns, start=1):
        longest = max([len(str(label(column, lang))) * 2] + [len(str(row[index - 1])) for row in values[:500]])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, longest + 2))
    return sheet


def write_xlsx(path, sheets, lang='zh'):
    """sheets: [(title label name, rows)]. One sheet each, frozen header row, sized columns."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        columns = columns_of(rows)
        table_sheet(workbook, label(title, lang), columns, [[_cell(row.get(c)) for c in columns] for row in rows], lang)
    if not sheets:
        workbook.create_sheet('empty')
    atomic_write(path, workbook.save, binary=True)
