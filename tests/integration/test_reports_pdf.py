"""Documents as PDF, read back: Chromium prints the monthly report and a listing; pdftotext finds the Chinese titles
and table text, pdfinfo the page count and A4, pdffonts the embedded CJK font, and a table that runs over pages has
its header row on each; the first page is kept as an image (pdftoppm) with the test's screenshots."""
import os
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from bjeic_ops import render, reports
from bjeic_ops.store import COMPLETE, Store, runs
from browser import screenshot_dir

pytestmark = pytest.mark.skipif(not (shutil.which('pdftotext') and os.path.exists('/usr/bin/chromedriver')),
                                reason='needs poppler-utils and chromium-driver (scripts/bootstrap --test installs them)')
DAY = datetime(2026, 10, 1, 2, 0, tzinfo=timezone.utc)


def poppler(tool, *args):
    return subprocess.run([tool] + [str(a) for a in args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp('pdf')
    store = Store('sqlite:///%s' % (path / 'store.sqlite'))
    run_id = store.begin_run('playbooks/harden.yml', operator='li.na', ticket='CHG-2026-300')
    store.write_batch({'changes': [
        {'run_id': run_id, 'host': 'web%02d' % (i % 40), 'task': 'Enforce', 'module': 'bjeic.ops.linux_harden',
         'object': '/etc/ssh/sshd_config.d/%03d.conf' % i, 'action': '加固 edit', 'operator': 'li.na',
         'ticket': 'CHG-2026-300', 'at': DAY + timedelta(hours=1, seconds=i)} for i in range(160)]})
    store.finish_run(run_id, COMPLETE, 'successful', 0)
    with store.engine.begin() as conn:
        conn.execute(update(runs).where(runs.c.id == run_id).values(started_at=DAY, finished_at=DAY + timedelta(hours=2)))
    return store, path


def test_the_monthly_report_as_pdf(store):
    store, path = store
    out = path / 'monthly.pdf'
    render.write_pdf(out, reports.monthly(store, '2026-10'), 'zh')
    info = poppler('pdfinfo', out)
    pages = int(next(line.split()[1] for line in info.splitlines() if line.startswith('Pages:')))
    assert pages >= 3, info
    assert '(A4)' in next(line for line in info.splitlines() if line.startswith('Page size:'))
    # Every font is embedded with a Unicode map (searchable, copyable). Chromium's PDF backend writes the CFF-based
    # Noto CJK as Type 3 glyph programs - still vector outlines, embedded; pdffonts then shows no font name.
    fonts = poppler('pdffonts', out).splitlines()[2:]
    assert fonts and all(line.split()[-5:-3] == ['yes', 'no'] and line.split()[-3] == 'yes' for line in fonts), fonts
    first = poppler('pdftotext', '-layout', '-f', 1, '-l', 1, out, '-')
    assert '运维服务月报' in first and '第1页,共%d页' % pages in first.replace(' ', '')
    # The 160 change records run over pages; each page of that table starts with its header row again.
    table_pages = [n for n in range(1, pages + 1) if 'CHG-2026-300' in poppler('pdftotext', '-layout', '-f', n, '-l', n, out, '-')]
    assert len(table_pages) >= 2
    for n in table_pages:
        text = poppler('pdftotext', '-layout', '-f', n, '-l', n, out, '-')
        assert '工单号' in text and '操作人' in text, (n, text[:500])
    assert 'sshd_config.d/159.conf' in poppler('pdftotext', out, '-')
    subprocess.run(['pdftoppm', '-png', '-r', '60', '-f', '1', '-l', '1', str(out),
                    os.path.join(screenshot_dir(), 'monthly-pdf')], check=True)


def test_a_listing_as_pdf_and_a_clear_error_without_chromium(store, cli, tmp_path):
    out = tmp_path / 'changes.pdf'
    done = cli('changes', '--format', 'pdf', '--out', out)
    assert 'wrote' in done.stdout and poppler('pdftotext', out, '-').count('变更记录单') >= 1
    cli.env['BJEIC_OPS_CHROMIUM'] = '/nonexistent/chromium'
    failed = cli('changes', '--format', 'pdf', '--out', tmp_path / 'x.pdf', check=False)
    assert failed.returncode == 1 and 'needs Chromium and ChromeDriver' in failed.stderr and 'Traceback' not in failed.stderr
    assert not (tmp_path / 'x.pdf').exists()


def test_the_acceptance_report_and_duty_handbook_as_pdf(store, tmp_path):
    """The new documents print too, one Chromium for both (pdf.Printer): Chinese titles, the obligations table and
    the handbook's thresholds and contacts are text in the PDF."""
    from bjeic_ops import acceptance, handbook, pdf
    store, _path = store
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('[linux]\nweb01 ansible_connection=local\nweb02 ansible_connection=local\n')
    settings = handbook.load_settings(os.path.join(os.path.dirname(__file__), '..', '..', 'duty.example.yml'))
    since, until = acceptance.period('2026-10-01', '2026-10-31')
    with pdf.Printer() as printer:
        render.write_pdf(tmp_path / 'acceptance.pdf', acceptance.acceptance(store, since, until, stage=True), 'zh', printer)
        render.write_pdf(tmp_path / 'handbook.pdf', handbook.handbook(store, str(inventory), settings), 'zh', printer)
    text = poppler('pdftotext', '-layout', tmp_path / 'acceptance.pdf', '-').replace(' ', '')
    assert '阶段性验收报告' in text and '合同义务逐项核对' in text and '阶段内尚未达到' in text
    assert '变更工单' in text and '无工单的变更' not in text      # the 160 changes all carry CHG-2026-300
    text = poppler('pdftotext', '-layout', tmp_path / 'handbook.pdf', '-').replace(' ', '')
    assert '特殊时期值班巡检手册' in text and '2027年春节特殊时期安全值守' in text
    assert '138-0000-0003' in text and '与值守基线比对' in text and 'web02' in text
    subprocess.run(['pdftoppm', '-png', '-r', '60', '-f', '1', '-l', '1', str(tmp_path / 'handbook.pdf'),
                    os.path.join(screenshot_dir(), 'duty-handbook-pdf')], check=True)
