"""Database patch advice (数据库补丁更新建议) as a listing: every instance of the current db ledger with its version, the
release line it is on, the patch to go to and why - from the advice the db ledger modules store with each reading
(`attrs.state.advice`, made against roles/db_ledger/files/db_releases.yml; module_utils/db_advice.py)."""
from .i18n import Phrase
from .store_schema import instance_of
from .times import day

VERDICTS = ('upgrade_line', 'apply_patch', 'data_behind', 'current', 'no_advice')


def rows(store):
    """One row per instance, the most urgent first (`key` and `stale` are for the caller, not columns)."""
    out = []
    for item in store.ledger('db'):
        attrs = item['attrs']
        advice = (attrs.get('state') or {}).get('advice')
        row = {'instance': instance_of(item['key']), 'host': item['host'], 'key': item['key'],
               'db_engine': ' '.join(filter(None, (attrs.get('product') or attrs.get('engine'), attrs.get('edition')))),
               'db_version': attrs.get('version_full') or attrs.get('version'), 'release_line': None,
               'target_version': None, 'patches_behind': None, 'end_of_support': None, 'verdict': 'no_advice',
               'why': Phrase('why_no_advice'), 'source': None, 'facts_as_of': None, 'seen_at': day(item['seen_at']),
               'stale': False}
        if advice:
            row.update(release_line=advice['line'], patches_behind=advice.get('behind'),
                       end_of_support=advice.get('end_of_support'), source=advice.get('source'),
                       facts_as_of=advice.get('as_of'), db_version=advice.get('version') or row['db_version'],
                       stale=bool(advice.get('stale')))
            verdict, why, target = judge(advice)
            row.update(verdict=verdict, why=why, target_version=target)
        out.append(row)
    return sorted(out, key=lambda r: (VERDICTS.index(r['verdict']), -(r['patches_behind'] or 0), r['key']))


def judge(advice):
    """(verdict, why, target) of one instance's advice."""
    stale = Phrase('why_stale', advice['as_of']) if advice.get('stale') else ''
    if not advice.get('supported', True):
        return 'upgrade_line', Phrase('why_unsupported', advice['line'], advice.get('end_of_support'), stale), \
            Phrase('target_supported_line')
    behind = advice.get('behind')
    if behind is None:
        return 'current', Phrase('why_no_latest', advice['line'], stale), None
    if behind > 0:
        return 'apply_patch', Phrase('why_behind', behind, advice['line'], advice['latest'], stale), advice['latest']
    if behind < 0:
        return 'data_behind', Phrase('why_ahead', advice['latest'], advice['as_of']), None
    return 'current', Phrase('why_current', advice['line'], stale), None
