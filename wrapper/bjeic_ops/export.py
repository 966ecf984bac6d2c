"""Write tables (lists of flat dicts) as CSV, JSON or XLSX, with Chinese or English headers.

Values come from hosts and inventories, which an attacker may name: a cell that a spreadsheet would read as
a formula (it begins with =, +, -, @, a tab or a carriage return: OWASP's rule) is written as text. In CSV it
gets a leading apostrophe, which Excel and LibreOffice hide; in XLSX it is a string cell with the quote-prefix
style, so the text is exact and stays text even when someone edits the cell. Numbers stay numbers.
"""
import csv
import json
import os
import re
import tempfile

from . import BjeicOpsError
from .i18n import label

FORMATS = ('table', 'csv', 'json', 'xlsx', 'pdf')
FORMULA_START = ('=', '+', '-', '@', '\t', '\r')
NUMBER = re.compile(r'^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$')


def text_of(value):
    """A value as one cell's content: dates as text, structures as JSON, None as empty."""
    if value is None:
        return ''
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if hasattr(value, 'strftime'):
        return value.strftime('%Y-%m-%d %H:%M:%S')
    return value


def formula_like(value):
    """True for text a spreadsheet would evaluate; a plain number written as text ('-5') is not."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.match(value)


def csv_cell(value):
    value = text_of(value)
    return "'" + value if formula_like(value) else value


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
    if os.path.isdir(path):
        raise BjeicOpsError('cannot write %s: it is a directory; give a file name' % path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix='.bjeic-ops-')
    except OSError as exc:
        raise BjeicOpsError('cannot write %s: %s (%s)' % (path, exc.strerror, directory))
    try:
        with os.fdopen(fd, 'wb' if binary else 'w', **({} if binary else {'encoding': 'utf-8-sig', 'newline': ''})) as handle:
            write(handle)
        os.chmod(tmp, 0o640)
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise BjeicOpsError('cannot write %s: %s' % (path, exc.strerror))
    except BaseException:
        os.unlink(tmp)
        raise


def write_csv(path, rows, lang='zh'):
    columns = columns_of(rows)

    def write(handle):
        writer = csv.writer(handle)
        writer.writerow([label(c, lang) for c in columns])
        for row in rows:
            writer.writerow([csv_cell(row.get(c)) for c in columns])
    atomic_write(path, write)  # utf-8-sig: Excel opens Chinese CSV correctly


def write_json(path, rows):
    data = json.dumps(rows, ensure_ascii=False, indent=2, sort_keys=False, default=text_of).encode('utf-8')
    atomic_write(path, lambda handle: handle.write(data), binary=True)


def table_sheet(workbook, title, columns, values, lang='zh'):
    """A sheet with a bold, frozen header of column labels and `values` (lists of cells), columns sized to fit."""
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(safe_sheet_title(title))
    append_row(sheet, [label(c, lang) for c in columns])
    for header in sheet[1]:
        header.font = Font(bold=True)
        header.fill = PatternFill('solid', fgColor='DDEBF7')
    for row in values:
        append_row(sheet, row)
    sheet.freeze_panes = 'A2'
    for index, column in enumerate(columns, start=1):
        longest = max([len(str(label(column, lang))) * 2] + [len(str(row[index - 1])) for row in values[:500]])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(8, longest + 2))
    return sheet


def append_row(sheet, values):
    """Append one row, every text cell as text: openpyxl would store '=...' as a live formula."""
    from openpyxl.cell import Cell

    cells = []
    for value in values:
        cell = Cell(sheet)
        if isinstance(value, str):
            cell.value = xml_safe(value)
            cell.data_type = 's'      # never 'f' (a formula) or 'e' (an error code such as #REF!)
            cell.quotePrefix = formula_like(value)
        elif value is not None:
            cell.value = value
        cells.append(cell)
    sheet.append(cells)


def xml_safe(text):
    """XLSX is XML: control characters other than tab and newlines cannot be stored; show them instead."""
    return ILLEGAL_XML.sub(lambda match: '\\x%02x' % ord(match.group()), text)


ILLEGAL_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f]')


def safe_sheet_title(title):
    """Excel refuses sheet titles with []:*?/\\ or longer than 31 characters."""
    return re.sub(r'[\[\]:*?/\\]', '_', str(title))[:31] or 'sheet'


def write_xlsx(path, sheets, lang='zh'):
    """sheets: [(title label name, rows)]. One sheet each, frozen header row, sized columns."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        columns = columns_of(rows)
        table_sheet(workbook, label(title, lang), columns, [[text_of(row.get(c)) for c in columns] for row in rows], lang)
    if not sheets:
        workbook.create_sheet('empty')
    atomic_write(path, workbook.save, binary=True)
