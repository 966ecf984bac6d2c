"""The acceptance documents' pieces without a playbook: schema 7's migration keeps what a version-6 store holds, the
ingestor keeps what a task sent (masked), the labels have no silently overridden key, the handbook names the
watch's own checks and refuses bad settings in one sentence, and the acceptance rules hold on store records."""
import ast
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, insert, text

from bjeic_ops import BjeicOpsError, acceptance, handbook, i18n
from bjeic_ops import store as store_module
from bjeic_ops.ingest import NO_LOG, Ingestor
from bjeic_ops.redact import MASK, Redactor
from bjeic_ops.store import COMPLETE, SCHEMA_VERSION, Store, runs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_version_6_store_gains_task_arguments_and_documents_and_keeps_its_rows(tmp_path):
    url = 'sqlite:///%s' % (tmp_path / 'v6.sqlite')
    engine = create_engine(url)
    with engine.begin() as conn:   # the store as version 6 made it: no documents, host_results without args
        store_module.metadata.create_all(conn, tables=[t for n, t in store_module.metadata.tables.items()
                                                       if n not in ('documents', 'host_results')])
        conn.execute(text('CREATE TABLE host_results (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, host VARCHAR(255) '
                          'NOT NULL, task VARCHAR(500), module VARCHAR(200), status VARCHAR(20) NOT NULL, changed BOOLEAN '
                          'NOT NULL, msg TEXT, duration INTEGER, at DATETIME NOT NULL)'))
        conn.execute(insert(store_module.schema_version).values(version=6))
        conn.execute(insert(runs).values(id=1, playbook='p.yml', controller='c', state=COMPLETE, check_mode=False,
                                         started_at=datetime(2026, 1, 1)))
        conn.execute(text("INSERT INTO host_results (run_id, host, task, status, changed, at) VALUES "
                          "(1, 'web01', 'Inspect', 'ok', 0, '2026-01-01 00:00:00')"))
    engine.dispose()
    store = Store(url)
    assert store.version() == SCHEMA_VERSION
    [old] = store.host_results(1)
    assert (old['host'], old['args']) == ('web01', None)
    assert store.documents() == []
    store.add_document('monthly', '2026-01', 'pdf', '/x.pdf', 'a' * 64, 10)
    assert store.documents('monthly')[0]['subject'] == '2026-01'


def test_the_ingestor_keeps_task_arguments_masked_and_says_when_they_were_not_logged(tmp_path):
    store = Store('sqlite:///%s' % (tmp_path / 's.sqlite'))
    run = store.begin_run('p.yml')
    ingest = Ingestor(store, run, redactor=Redactor(['s3cret-value']))
    for host, res in (
            ('a', {'changed': True, 'invocation': {'module_args': {'dest': '/etc/x', 'api_token': 'tok-123',
                                                                   'content': 'key=s3cret-value'}}}),
            ('b', {'censored': "the output has been hidden due to the fact that 'no_log: true' was specified"}),
            ('c', {'results': [{'invocation': {'module_args': {'name': 'one'}}}, {'invocation': {'module_args': {'name': 'two'}}}]}),
            ('d', {'msg': 'raw output'})):
        ingest({'event': 'runner_on_ok', 'event_data': {'host': host, 'task': 't', 'task_action': 'copy', 'res': res}})
    ingest.flush()
    args = dict((r['host'], r['args']) for r in store.operations([run]))
    assert args['a'] == {'dest': '/etc/x', 'api_token': MASK, 'content': 'key=%s' % MASK}
    assert args['b'] == NO_LOG and args['d'] is None
    assert args['c'] == {'loop': [{'name': 'one'}, {'name': 'two'}]}


def test_no_label_is_silently_overridden():
    """A dict literal with a key twice keeps the last: a label added under a key already taken would change an old
    document's words without a sound."""
    tree = ast.parse(open(i18n.__file__, encoding='utf-8').read())
    labels = next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'LABELS')
    keys = [k.value for k in labels.keys]
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_phrases_render_in_both_languages():
    phrase = i18n.Phrase('obs_missing', i18n.Phrase('obs_days', 28, 30), '2026-11-03')
    assert phrase.text('zh') == '28 / 30 天;缺:2026-11-03'
    assert phrase.text('en') == '28 of 30 days; missing: 2026-11-03'


def test_the_handbook_names_the_watch_modules_own_checks():
    source = open(os.path.join(ROOT, 'collections/ansible_collections/bjeic/ops/plugins/modules/linux_watch.py')).read()
    checks = next(ast.literal_eval(n.value) for n in ast.parse(source).body
                  if isinstance(n, ast.Assign) and getattr(n.targets[0], 'id', '') == 'CHECKS')
    windows = open(os.path.join(ROOT, 'collections/ansible_collections/bjeic/ops/plugins/modules/win_watch.ps1')).read()
    windows_checks = re.findall(r"'(sec\.[a-z_]+)'", re.search(r'\$checkIds = @\(([^)]*)\)', windows).group(1))
    assert handbook.SECURITY_CHECKS == checks + tuple(c for c in windows_checks if c not in checks)
    assert set(windows_checks) & set(checks) == {'sec.listening_new', 'sec.account_new', 'sec.firewall_drift'}
    for check in handbook.SECURITY_CHECKS:
        assert check in handbook.ACTIONS and 'means_' + check in i18n.LABELS


@pytest.mark.parametrize('content, message', [
    ('[1, 2]', 'must be a mapping'),
    ('watch: x\nstaff: []\n', 'unknown duty setting(s) staff'),
    ('contacts: [{role: 值守, phone: "1"}]\n', 'contact 1 needs a name'),
    ('contacts: [{name: 张伟, line: third}]\n', 'line must be one of first, second'),
    ('start: 2027-02-10\nend: 2027-02-09\n', 'is not after start'),
    ('start: tomorrow\n', 'not a date or time'),
    ('watch: [unclosed\n', 'not valid YAML'),
])
def test_bad_duty_settings_are_refused_in_one_sentence(tmp_path, content, message):
    path = tmp_path / 'duty.yml'
    path.write_text(content)
    with pytest.raises(BjeicOpsError) as caught:
        handbook.load_settings(str(path))
    assert message in str(caught.value) and '\n' not in str(caught.value)


def test_the_example_duty_settings_load():
    settings = handbook.load_settings(os.path.join(ROOT, 'duty.example.yml'))
    assert settings['contacts'] and settings['end'] > settings['start']


def duty_round(store, at):
    run = store.begin_run('playbooks/special_duty.yml', started_at=at)
    store.finish_run(run, COMPLETE, 'successful', 0, finished_at=at + timedelta(minutes=3))
    return run


def test_watches_count_once_ended_with_a_complete_round_and_a_stage_report_says_not_yet(tmp_path):
    store = Store('sqlite:///%s' % (tmp_path / 's.sqlite'))
    start = datetime(2026, 10, 1, tzinfo=timezone.utc)
    for n in range(6):
        at = start + timedelta(days=n)
        watch = store.start_watch('watch %d' % n, at=at)
        if n < 5:
            duty_round(store, at + timedelta(minutes=5))       # watch 6 has no round: not counted
        store.stop_watch(watch, at=at + timedelta(hours=2))
    since, until = acceptance.period('2026-10-01T00:00+00:00', '2026-10-31T00:00+00:00')
    report = acceptance.acceptance(store, since, until)
    [row] = [r for r in report.sections[1].rows if r['obligation'] == 'ob_watches']
    assert row['verdict'] == 'met' and row['evidence'] == 'watch#1, watch#2, watch#3, watch#4, watch#5'
    since, until = acceptance.period('2026-10-01T00:00+00:00', '2026-10-03T23:00+00:00')
    for stage, verdict in ((False, 'not_met'), (True, 'not_yet')):
        [row] = [r for r in acceptance.acceptance(store, since, until, stage).sections[1].rows
                 if r['obligation'] == 'ob_watches']
        assert row['verdict'] == verdict and row['observed'].text('en') == '3'   # watches 1-3 started in it


def test_a_period_that_ends_before_it_starts_is_refused():
    with pytest.raises(BjeicOpsError, match='is not after --from'):
        acceptance.period('2026-10-02', '2026-10-01T00:00')


def ingest_at(store, playbook, at, results, ticket=None):
    """One run of `playbook` through the real Ingestor, module results shaped as the modules return them (RETURN),
    dated `at`."""
    run = store.begin_run(playbook, ticket=ticket, started_at=at)
    ingest = Ingestor(store, run, ticket=ticket)
    for host, action, res in results:
        ingest({'event': 'runner_on_ok', 'created': at.isoformat(),
                'event_data': {'host': host, 'task': 't', 'task_action': action, 'res': res}})
    ingest.close()
    store.finish_run(run, COMPLETE, 'successful', 0, finished_at=at + timedelta(minutes=5))
    return run


def baseline(host, passed, failed):
    controls = dict([('c%d' % i, 'pass') for i in range(passed)] + [('f%d' % i, 'fail') for i in range(failed)])
    return (host, 'bjeic.ops.linux_harden', {'changed': False, 'ledger': [
        {'kind': 'os', 'key': 'baseline:mlps3@%s' % host, 'attrs': {'controls': controls}}]})


def backup(host, state, verified):
    return (host, 'bjeic.ops.backup_create', {'changed': True, 'changes': [{'object': 'backup:etc', 'action': 'backup'}],
                                              'backups': [{'set': 'etc', 'kind': 'file', 'state': state,
                                                           'verified': verified, 'path': '/b/etc.tar.zst'}]})


def patch(host, action):
    return (host, 'bjeic.ops.linux_patch', {'changed': True, 'changes': [
        {'object': 'package:openssl', 'action': action, 'before': '3.0.1', 'after': '3.0.2'}]})


def drill(host, outcome):
    return (host, 'bjeic.ops.drill_record', {'changed': False, 'drill': {
        'name': 'web failover', 'kind': 'service_failure', 'outcome': outcome, 'started': '2026-10-05T01:00:00Z',
        'finished': '2026-10-05T01:10:00Z', 'timings': {}, 'objectives': {}, 'steps': []}})


def verdicts(store, start, end):
    since, until = acceptance.period(start, end)
    rows = acceptance.acceptance(store, since, until).sections[1].rows
    return dict((r['obligation'], (r['verdict'], r['evidence'])) for r in rows if r['obligation'] in
                ('ob_hardening', 'ob_patches', 'ob_backups', 'ob_drills'))


def test_hardening_patches_backups_and_drills_met_in_one_month_not_in_another(tmp_path):
    store = Store('sqlite:///%s' % (tmp_path / 's.sqlite'))
    oct1, sep1 = datetime(2026, 10, 1, tzinfo=timezone.utc), datetime(2026, 9, 1, tzinfo=timezone.utc)
    # October: compliance rises 60 -> 90 %, a patch applied and one rolled back, a verified backup, one drill.
    first = ingest_at(store, 'playbooks/harden.yml', oct1, [baseline('web01', 6, 4)])
    last = ingest_at(store, 'playbooks/harden.yml', oct1 + timedelta(days=20), [baseline('web01', 9, 1)])
    patched = ingest_at(store, 'playbooks/patch.yml', oct1 + timedelta(days=2), [patch('web01', 'upgrade')])
    rolled = ingest_at(store, 'playbooks/patch_rollback.yml', oct1 + timedelta(days=3), [patch('web01', 'rollback')])
    ingest_at(store, 'playbooks/backup.yml', oct1 + timedelta(days=4), [backup('web01', 'taken', True)])
    drilled = ingest_at(store, 'playbooks/drills/service_failure.yml', oct1 + timedelta(days=5), [drill('web01', 'passed')])
    # September: compliance falls, only a plan and the commit of August's patch (no patch applied), a backup that
    # failed verification, five drills.
    ingest_at(store, 'playbooks/patch_commit.yml', sep1 + timedelta(days=1), [(
        'web01', 'bjeic.ops.linux_patch', {'changed': True, 'changes': [
            {'object': 'patch transaction T1', 'action': 'committed', 'before': 'applied', 'after': 'committed',
             'rollback': {'irreversible': 'a commit is final'}},
            {'object': 'lvm snapshot vg0/bjeic-patch-T1', 'action': 'released', 'before': 'present', 'after': None,
             'rollback': {'irreversible': 'a released snapshot cannot be taken back'}}]})])
    ingest_at(store, 'playbooks/harden.yml', sep1, [baseline('web01', 9, 1)])
    ingest_at(store, 'playbooks/harden.yml', sep1 + timedelta(days=20), [baseline('web01', 5, 5)])
    ingest_at(store, 'playbooks/patch.yml', sep1 + timedelta(days=2), [('web01', 'bjeic.ops.linux_patch', {
        'changed': False, 'ledger': [{'kind': 'os', 'key': 'patch:web01', 'attrs': {'state': {'pending': 3}}}]})])
    failed = ingest_at(store, 'playbooks/backup.yml', sep1 + timedelta(days=4), [backup('web01', 'taken', False)])
    for n in range(5):
        ingest_at(store, 'playbooks/drills/service_failure.yml', sep1 + timedelta(days=5 + n), [drill('web01', 'failed')])
    october = verdicts(store, '2026-10-01T00:00+00:00', '2026-10-31T00:00+00:00')
    assert october['ob_hardening'] == ('met', 'run#%d, run#%d' % (first, last))
    [applied] = store.changes(run_id=patched)
    [undone] = store.changes(run_id=rolled)
    assert october['ob_patches'] == ('met', 'change#%d, change#%d' % (applied['id'], undone['id']))
    assert october['ob_backups'][0] == 'met'
    [drill_row] = store.drills(run_id=drilled)
    assert october['ob_drills'] == ('met', 'drill#%d (run#%d)' % (drill_row['id'], drilled))
    september = verdicts(store, '2026-09-01T00:00+00:00', '2026-09-30T00:00+00:00')
    assert september['ob_hardening'][0] == 'not_met'
    assert september['ob_patches'] == ('not_met', '')            # planned, nothing applied
    [bad] = [b for b in store.backups() if b['run_id'] == failed]
    assert september['ob_backups'][0] == 'not_met' and 'failed: backup#%d' % bad['id'] in september['ob_backups'][1]
    assert september['ob_drills'][0] == 'not_met'                # five drills: over the plan's four
