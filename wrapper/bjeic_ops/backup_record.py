"""The backup record (数据备份记录): the backups bjeic.ops took, as rows for `bjeic-ops backups` and its exports, and
per set for the monthly report (taken / verified / failed)."""
from collections import OrderedDict

from .times import local


def rows(store, since=None, until=None, host=None, set_name=None):
    out = []
    for b in store.backups(since, until, host, set_name):
        if b['check_mode']:
            continue
        out.append({'id': b['id'], 'set_name': b['set_name'], 'host': b['host'], 'backup_kind': b['kind'],
                    'method': b['method'], 'started': local(b['started']), 'finished': local(b['finished']),
                    'backup_seconds': b['seconds'], 'size': b['size'], 'items': b['items'], 'sha256': b['sha256'],
                    'backup_verified': 'yes' if b['verified'] else 'no', 'backup_state': b['state'],
                    'pruned': len(b['pruned'] or []), 'backup_file': b['path'], 'error': b['error'],
                    'operator': b['operator'], 'ticket': b['ticket'], 'run_id': b['run_id']})
    return out


def per_set(store, since, until):
    """{set@host: taken, verified, failed, last} for a period."""
    sets = OrderedDict()
    for b in store.backups(since, until):
        if b['check_mode']:
            continue
        row = sets.setdefault((b['set_name'], b['host']), {'set_name': b['set_name'], 'host': b['host'],
                                                          'taken': 0, 'verified_count': 0, 'failed_count': 0,
                                                          'last': None})
        if b['state'] == 'taken':
            row['taken'] += 1
            row['verified_count'] += 1 if b['verified'] else 0
        if b['state'] == 'failed' or (b['state'] == 'taken' and not b['verified']):
            row['failed_count'] += 1
        row['last'] = local(b['finished'] or b['at'])
    return list(sets.values())
