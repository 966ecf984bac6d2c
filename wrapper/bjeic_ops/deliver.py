"""The deliverable set of a period (成果交付): every document the contract is accepted on, in numbered folders with
Chinese names, an index page, a sha256 manifest (`sha256sum -c SHA256SUMS` verifies it), and optionally an ISO 9660
image with Joliet and Rock Ridge names for the DVD (xorriso).

The set is written into a sibling directory and renamed into place when whole: a failure (a full disk, Chromium
gone) leaves no half-set behind and an existing directory is never touched. Each document is recorded in the
store's `documents` table with its sha256 - the acceptance report's evidence that the month's report was produced.
"""
import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from datetime import timedelta

from . import BjeicOpsError, acceptance, backup_record, export, ledger, operations, render, reports
from .i18n import label
from .reports import Report, Section
from .times import as_utc, day, local, month_bounds, months_of, now

MANIFEST = 'SHA256SUMS'
LEDGER_KINDS = ledger.KINDS


class DeliveryError(BjeicOpsError):
    pass


def plan(store, since, until, lang, inventory=None, stage=False, handbook_settings=None):
    """[(folder label, file stem, kind, subject, builder)]: what the set holds, before anything is written.
    A builder returns a Report (a document) or [(sheet, rows)] (a ledger workbook)."""
    t = lambda key: label(key, lang)   # noqa: E731 - names read like the folders they make
    period_text = '%s_%s' % (day(since), day(until - timedelta(seconds=1)))
    items = [('dir_acceptance', '%s %s' % (t('title_stage_acceptance' if stage else 'title_acceptance'), period_text),
              'acceptance', period_text, lambda: acceptance.acceptance(store, since, until, stage, inventory))]
    for month in months_of(since, until):
        items.append(('dir_monthly', '%s %s' % (t('title_monthly'), month), 'monthly', month,
                      lambda month=month: reports.monthly(store, month, inventory)))
    for incident in store.incidents(since, until):
        number = incident['id']
        items.append(('dir_fault', '%s #%d %s' % (t('title_fault'), number, incident['host']), 'fault', str(number),
                      lambda number=number: reports.fault(store, number)))
        items.append(('dir_fault', '%s #%d %s' % (t('title_operations'), number, incident['host']), 'operations',
                      'incident %d' % number, lambda number=number: operations.for_incident(store, number)))
    for watch in store.watches():
        if since <= as_utc(watch['started_at']) < until:
            items.append(('dir_duty', '%s #%d %s' % (t('title_duty'), watch['id'], watch['name']), 'duty',
                          str(watch['id']), lambda number=watch['id']: reports.duty(store, number)))
    if handbook_settings is not None and inventory:
        from . import handbook
        items.append(('dir_duty', '%s %s' % (t('title_duty_handbook'), handbook_settings.get('watch') or ''),
                      'duty_handbook', handbook_settings.get('watch') or '',
                      lambda: handbook.handbook(store, inventory, handbook_settings)))
    # The change and backup records a month each: a year of them is 128,000 changes and 104,000 backups, which as one
    # document was 43 MB and 72 MB of HTML (and thousands of PDF pages in one Chromium tab).
    for month, start, end in month_slices(since, until):
        items.append(('dir_changes', '%s %s' % (t('sheet_changes'), month), 'changes', month,
                      lambda start=start, end=end: reports.records_report(
                          'sheet_changes', [reports.change_row(c) for c in reports.changes_between(store, start, end)])))
    drills = reports.drills_between(store, since, until)
    items.append(('dir_drills', '%s %s' % (t('sheet_drills'), period_text), 'drills', period_text,
                  lambda: reports.records_report('sheet_drills', [
                      {'id': d['id'], 'drill': d['name'], 'drill_kind': d['kind'], 'host': d['host'],
                       'outcome': d['outcome'], 'started': local(d['started']), 'finished': local(d['finished']),
                       'operator': d['operator'], 'run_id': d['run_id']} for d in drills])))
    for month, start, end in month_slices(since, until):
        items.append(('dir_backups', '%s %s' % (t('sheet_backups'), month), 'backups', month,
                      lambda start=start, end=end: reports.records_report(
                          'sheet_backups', backup_record.rows(store, start, end))))
    items.append(('dir_ledgers', '%s %s' % (t('dir_ledgers'), day(now())), 'ledgers', day(now()),
                  lambda: [('sheet_' + kind, ledger.rows(store.ledger(kind), kind)) for kind in LEDGER_KINDS]))
    return items


def month_slices(since, until):
    """(YYYY-MM, start, end) for each local month [since, until) touches, cut to [since, until)."""
    return [(month, max(since, month_bounds(month)[0]), min(until, month_bounds(month)[1]))
            for month in months_of(since, until)]


def deliver(store, since, until, out, lang='zh', fmt='pdf', iso=None, inventory=None, stage=False,
            handbook_settings=None, operator=None, progress=print):
    out = os.path.abspath(out)
    if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
        raise DeliveryError('%s already exists and is not empty: give a new directory for the delivery set' % out)
    if iso and os.path.exists(iso):
        raise DeliveryError('%s already exists: give a new file for the ISO image' % iso)
    if iso and not shutil.which('xorriso'):
        raise DeliveryError('--iso needs xorriso on this controller (Debian: apt-get install xorriso)')
    parent = os.path.dirname(out)
    if not os.path.isdir(parent):
        raise DeliveryError('cannot write the delivery set: the directory %s does not exist' % parent)
    items = plan(store, since, until, lang, inventory, stage, handbook_settings)
    folders = {}
    for key, *_rest in items:
        folders.setdefault(key, '%02d %s' % (len(folders) + 1, label(key, lang)))
    work = tempfile.mkdtemp(prefix='.%s.partial-' % os.path.basename(out), dir=parent)
    written = []   # (relative path, kind, subject, title)
    try:
        printer = _printer(fmt)
        with printer:
            for number, (key, stem, kind, subject, build) in enumerate(items, 1):
                folder = os.path.join(work, folders[key])
                os.makedirs(folder, exist_ok=True)
                progress('[%d/%d] %s' % (number, len(items), stem))
                document = build()
                if isinstance(document, Report):
                    name = safe_name(stem) + '.' + fmt
                    render.write(os.path.join(folder, name), document, fmt, lang, printer if fmt == 'pdf' else None)
                else:
                    name = safe_name(stem) + '.xlsx'
                    export.write_xlsx(os.path.join(folder, name), document, lang)
                written.append((os.path.join(folders[key], name), kind, subject, stem))
            index = index_report(work, written, since, until, lang)
            for index_fmt in ('html',) + ((fmt,) if fmt != 'html' else ()):
                name = safe_name(label('title_index', lang)) + '.' + index_fmt
                render.write(os.path.join(work, name), index, index_fmt, lang, printer if index_fmt == 'pdf' else None)
                written.insert(0, (name, 'index', None, label('title_index', lang)))
        write_manifest(work)
        os.chmod(work, 0o755)
        if os.path.exists(out):
            os.rmdir(out)   # an empty directory given as --out is replaced by the whole set
        os.rename(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if iso:
        make_iso(out, iso, since)
    warning = record(store, [(os.path.join(out, relative), kind, subject) for relative, kind, subject, _t in written],
                     operator)
    return written, warning


def record(store, documents, operator=None):
    """Each document in the store with its sha256; a store that cannot be written now is said, not fatal: the
    documents are on disk and their manifest verifies them."""
    from .store import StoreError
    try:
        for path, kind, subject in documents:
            store.add_document(kind, subject, path.rsplit('.', 1)[-1], path, sha256_of(path), os.path.getsize(path),
                               operator)
    except StoreError as exc:
        return 'not recorded in the store (%s)' % exc
    return None


def _printer(fmt):
    if fmt == 'pdf':
        from . import pdf
        return pdf.Printer()
    return contextlib.nullcontext()


def safe_name(text):
    """A file name from a document title: no path separators or characters Windows refuses on the DVD."""
    cleaned = ''.join('_' if c in '/\\:*?"<>|' or ord(c) < 32 else c for c in text).strip(' .')
    return cleaned[:100] or 'document'


def index_report(root, written, since, until, lang):
    rows = []
    for number, (relative, kind, _subject, title) in enumerate(written, 1):
        path = os.path.join(root, relative)
        rows.append({'number': number, 'document': 'doc_' + kind, 'title': title, 'file': relative,
                     'size': os.path.getsize(path), 'sha256': sha256_of(path)})
    period_text = '%s – %s' % (day(since), day(until - timedelta(seconds=1)))
    return Report('index', 'title_index', period_text, [('period', period_text), ('documents', len(rows)),
                                                        ('manifest', MANIFEST)],
                  [Section('sec_index', ident='index', columns=['number', 'document', 'title', 'file', 'size',
                                                                'sha256'], rows=rows, note='note_index')])


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(root):
    """SHA256SUMS in `sha256sum` format (UTF-8 names, relative to the set), every file but itself."""
    lines = []
    for folder, _dirs, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            if relative != MANIFEST:
                lines.append('%s  %s\n' % (sha256_of(path), relative))
    with open(os.path.join(root, MANIFEST), 'w', encoding='utf-8') as handle:
        handle.writelines(lines)


def make_iso(root, iso, since):
    """An ISO 9660 image of the set with Rock Ridge (POSIX names) and Joliet (Windows names, long UCS-2), written
    next to its destination and renamed when xorriso has finished."""
    volume = 'BJEIC_%s' % local(since).strftime('%Y%m%d')
    partial = iso + '.partial'
    command = ['xorriso', '-as', 'mkisofs', '-quiet', '-R', '-J', '-joliet-long', '-input-charset', 'utf-8',
               '-V', volume, '-o', partial, root]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        if os.path.exists(partial):
            os.unlink(partial)
        raise DeliveryError('xorriso could not make %s: %s' % (iso, (done.stderr.strip().splitlines() or ['?'])[-1]))
    os.rename(partial, iso)
