"""Debian's Chromium, headless, driven by ChromeDriver: reports are checked as rendered pages, not as text."""
import contextlib
import os
import shutil
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'
# No background fetches: this machine's network is closed and a report must not need one.
FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1280,1000')


def screenshot_dir():
    """Where the test run keeps its screenshots (BJEIC_TEST_SCREENSHOTS, else .test-artifacts/ in the checkout)."""
    path = os.environ.get('BJEIC_TEST_SCREENSHOTS') or os.path.join(ROOT, '.test-artifacts', 'screenshots')
    os.makedirs(path, exist_ok=True)
    return path


@contextlib.contextmanager
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    assert os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER), \
        'Chromium and ChromeDriver are missing: scripts/bootstrap --test installs them (chromium, chromium-driver)'
    profile = tempfile.mkdtemp(prefix='bjeic-chromium-')
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + ('--user-data-dir=' + profile,):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield Page(driver)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    def __init__(self, driver):
        self.driver = driver

    def open(self, path, screenshot=None):
        self.driver.get('file://' + os.path.abspath(str(path)))
        if screenshot:
            self.shoot(screenshot)
        return self

    def shoot(self, name):
        """A full-page screenshot: the window is made as tall as the document first."""
        height = self.js('return document.documentElement.scrollHeight')
        self.driver.set_window_size(1280, min(max(height, 600), 16000))
        target = os.path.join(screenshot_dir(), name + '.png')
        assert self.driver.save_screenshot(target), target
        self.driver.set_window_size(1280, 1000)
        return target

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def texts(self, selector):
        return self.js('return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText.trim())', selector)

    def rows(self, section):
        """Visible data rows of a report section: [{'tone': class, 'cells': [text]}]."""
        return self.js('''return Array.from(document.querySelectorAll('#sec-' + arguments[0] + ' table.data tbody tr'))
            .filter(r => r.getBoundingClientRect().height > 0)
            .map(r => ({tone: r.className, cells: Array.from(r.cells).map(c => c.innerText.trim()),
                        background: getComputedStyle(r.cells[0]).backgroundColor}))''', section)

    def kpi(self, key):
        return self.js('''const e = document.querySelector('.kpi[data-key="' + arguments[0] + '"]');
            return e && {text: e.querySelector('.value').innerText, tone: e.className,
                         colour: getComputedStyle(e.querySelector('.value')).color}''', key)

    def layout_problems(self):
        """What a reader would see as broken: overflow to the side, empty sections, fetched resources."""
        return self.js('''const problems = [];
            if (document.documentElement.scrollWidth > window.innerWidth + 1) problems.push('page wider than window');
            for (const s of document.querySelectorAll('section'))
                if (s.getBoundingClientRect().height < 20) problems.push('collapsed section ' + s.id);
            for (const r of performance.getEntriesByType('resource')) problems.push('fetched ' + r.name);
            for (const e of document.querySelectorAll('[src], link[href], script')) problems.push('external ' + e.outerHTML);
            return problems''')
