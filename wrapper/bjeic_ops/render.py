"""Render a `reports.Report` as one self-contained HTML file (inline CSS and SVG, no script, no fetch) or XLSX."""
import json
import os

import jinja2

from . import charts, export
from .i18n import Phrase, label

# Columns whose values are words of ours (severity, states) and so are translated too.
TRANSLATED = {'severity', 'status', 'state', 'change', 'clock', 'action', 'line', 'incident_status', 'sla',
              'meets_target', 'run_state', 'outcome', 'role', 'verdict', 'obligation', 'counted', 'report_kind',
              'task_status', 'what_to_do', 'meaning', 'document', 'covered', 'changed', 'check_mode', 'item'}
TEMPLATES = os.path.join(os.path.dirname(__file__), 'templates')


def cell(column, value, lang):
    if value is None:
        return ''
    if isinstance(value, Phrase):
        return value.text(lang)
    if hasattr(value, 'strftime'):
        return value.strftime('%Y-%m-%d %H:%M')
    if column in TRANSLATED and isinstance(value, str):
        return label(value, lang)
    if isinstance(value, float):
        return ('%.2f' % value).rstrip('0').rstrip('.')
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def chart_markup(chart, title, lang):
    if chart['type'] == 'stacked':
        return charts.stacked_bars(title, chart['categories'],
                                   [(name, label(name, lang), values) for name, values in chart['series']])
    return charts.horizontal_bars(title, chart['items'], target=chart.get('target'))


def html(report, lang='zh'):
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                     undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    template = environment.get_template('report.html.j2')
    return template.render(report=report, lang=lang, t=lambda key: label(key, lang),
                           cell=lambda column, value: cell(column, value, lang),
                           chart=lambda section: chart_markup(section.chart, label(section.title, lang), lang))


def write_html(path, report, lang='zh'):
    text = html(report, lang).encode('utf-8')
    export.atomic_write(path, lambda handle: handle.write(text), binary=True)


def write_xlsx(path, report, lang='zh'):
    """A summary sheet (title, meta, figures), then one sheet per section with a table; the trend as a bar chart."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    workbook = Workbook()
    summary = workbook.active
    summary.title = label('sheet_summary', lang)
    export.append_row(summary, [label(report.title, lang), report.subtitle])
    summary['A1'].font = Font(bold=True, size=14)
    for key, value in report.meta:
        export.append_row(summary, [label(key, lang), cell(key, value, lang)])
    for section in report.sections:
        for key, value, _tone in section.kpis:
            export.append_row(summary, [label(key, lang), cell(key, value, lang)])
    summary.column_dimensions['A'].width = 28
    summary.column_dimensions['B'].width = 40
    for section in report.sections:
        if not section.columns:
            continue
        sheet = export.table_sheet(workbook, label(section.title, lang), section.columns,
                                   [[cell(c, row.get(c), lang) for c in section.columns] for row in section.rows], lang)
        if section.chart and section.chart['type'] == 'stacked' and section.rows:
            bar = BarChart()
            bar.type, bar.grouping, bar.overlap = 'col', 'stacked', 100
            bar.title = label(section.title, lang)
            data = Reference(sheet, min_col=2, max_col=len(section.columns), min_row=1, max_row=len(section.rows) + 1)
            bar.add_data(data, titles_from_data=True)
            bar.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(section.rows) + 1))
            sheet.add_chart(bar, 'G2')
    export.atomic_write(path, workbook.save, binary=True)


def write_pdf(path, report, lang='zh', printer=None):
    from . import pdf
    pdf.write(path, html(report, lang), '%s %s' % (label(report.title, lang), report.subtitle), lang, printer)


def write(path, report, fmt, lang='zh', printer=None):
    if fmt == 'pdf':
        write_pdf(path, report, lang, printer)
    else:
        {'xlsx': write_xlsx}.get(fmt, write_html)(path, report, lang)
