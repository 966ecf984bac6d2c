"""Documents as PDF: the HTML document printed by headless Chromium through its DevTools protocol
(`Page.printToPDF`): A4, the document's title in the header and "第 X 页,共 Y 页" in the footer of every page, the fonts
it uses (Noto CJK for Chinese) embedded, SVG charts kept as vectors, a table that runs over a page with its header
row repeated.

Why Chromium: it is the engine the HTML documents are already rendered and tested in, so the PDF is the page the
customer sees on screen, CJK, SVG and CSS paged media included; a second engine (WeasyPrint, wkhtmltopdf) would
render the same template differently and has weaker SVG. It needs Debian's chromium and chromium-driver on the
controller; nothing is fetched (the document's CSP forbids it, and Chromium runs with its network features off).
"""
import base64
import html
import os
import shutil
import tempfile

from . import BjeicOpsError, export

CHROMIUM = os.environ.get('BJEIC_OPS_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('BJEIC_OPS_CHROMEDRIVER', '/usr/bin/chromedriver')
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync')
HEADER = ('<div style="font-size:8px; width:100%%; padding:0 10mm; color:#555; font-family:\'Noto Sans CJK SC\', '
          'sans-serif;">%s</div>')
FOOTER = ('<div style="font-size:8px; width:100%%; padding:0 10mm; color:#555; text-align:right; font-family:\'Noto Sans '
          'CJK SC\', sans-serif;">%s</div>')
PAGE_NUMBER = {'zh': '第 <span class="pageNumber"></span> 页,共 <span class="totalPages"></span> 页',
               'en': 'page <span class="pageNumber"></span> / <span class="totalPages"></span>'}


class PdfError(BjeicOpsError):
    pass


class Printer:
    """One headless Chromium for a series of documents (a delivery set prints dozens; starting Chromium is most of
    the cost of one). Use as a context manager; `print(document, title, lang)` returns the PDF bytes."""

    def __init__(self):
        self.driver = None
        self.work = None

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.close()

    def _start(self):
        if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
            raise PdfError('--format pdf needs Chromium and ChromeDriver on this controller (Debian: apt-get install '
                           'chromium chromium-driver); the HTML format needs neither')
        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
        except ImportError:
            raise PdfError('--format pdf needs the selenium package (pip install selenium)')
        self.work = tempfile.mkdtemp(prefix='bjeic-pdf-')
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + ('--user-data-dir=' + os.path.join(self.work, 'profile'),):
            options.add_argument(flag)
        try:
            self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        except Exception as exc:   # WebDriver errors: Chromium could not start
            raise PdfError('Chromium could not start: %s' % str(exc).splitlines()[0][:300])

    def print(self, document, title, lang='zh'):
        if self.driver is None:
            self._start()
        page = os.path.join(self.work, 'document.html')
        with open(page, 'w', encoding='utf-8') as handle:
            handle.write(document)
        try:
            self.driver.get('file://' + page)
            answer = self.driver.execute_cdp_cmd('Page.printToPDF', {
                'paperWidth': 8.27, 'paperHeight': 11.69, 'printBackground': True, 'preferCSSPageSize': True,
                'displayHeaderFooter': True, 'headerTemplate': HEADER % html.escape(title),
                'footerTemplate': FOOTER % PAGE_NUMBER[lang]})
        except Exception as exc:   # WebDriver errors: Chromium could not print
            raise PdfError('Chromium could not print the document: %s' % str(exc).splitlines()[0][:300])
        return base64.b64decode(answer['data'])

    def close(self):
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:   # a Chromium already gone is what we wanted  # noqa: BLE001
                pass
            self.driver = None
        if self.work:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None


def print_html(document, title, lang='zh'):
    """The PDF bytes of an HTML document (a str)."""
    with Printer() as printer:
        return printer.print(document, title, lang)


def write(path, document, title, lang='zh', printer=None):
    data = printer.print(document, title, lang) if printer else print_html(document, title, lang)
    export.atomic_write(path, lambda handle: handle.write(data), binary=True)
