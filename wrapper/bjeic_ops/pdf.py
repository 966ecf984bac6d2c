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


def print_html(document, title, lang='zh'):
    """The PDF bytes of an HTML document (a str)."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        raise PdfError('--format pdf needs Chromium and ChromeDriver on this controller (Debian: apt-get install '
                       'chromium chromium-driver); the HTML format needs neither')
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise PdfError('--format pdf needs the selenium package (pip install selenium)')
    work = tempfile.mkdtemp(prefix='bjeic-pdf-')
    try:
        page = os.path.join(work, 'document.html')
        with open(page, 'w', encoding='utf-8') as handle:
            handle.write(document)
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + ('--user-data-dir=' + os.path.join(work, 'profile'),):
            options.add_argument(flag)
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        try:
            driver.get('file://' + page)
            answer = driver.execute_cdp_cmd('Page.printToPDF', {
                'paperWidth': 8.27, 'paperHeight': 11.69, 'printBackground': True, 'preferCSSPageSize': True,
                'displayHeaderFooter': True, 'headerTemplate': HEADER % html.escape(title),
                'footerTemplate': FOOTER % PAGE_NUMBER[lang]})
        finally:
            driver.quit()
        return base64.b64decode(answer['data'])
    except PdfError:
        raise
    except Exception as exc:   # WebDriver errors: Chromium could not start or print
        raise PdfError('Chromium could not print the document: %s' % str(exc).splitlines()[0][:300])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write(path, document, title, lang='zh'):
    data = print_html(document, title, lang)
    export.atomic_write(path, lambda handle: handle.write(data), binary=True)
