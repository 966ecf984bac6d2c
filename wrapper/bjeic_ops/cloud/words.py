"""The cloud views' own words (lifecycle states, actions, problems, resource types) in the document's
language; JSON keeps the codes."""

from ..i18n import label


WORD_COLUMNS = {'lifecycle': 'lc_', 'event': 'act_', 'problem': 'rc_', 'severity': '', 'resource_type': 'rt_',
                'last_action': 'act_'}


def localize(rows, lang='zh'):
    out = []
    for row in rows:
        row = dict(row)
        for column, prefix in WORD_COLUMNS.items():
            if row.get(column):
                row[column] = label(prefix + row[column], lang)
        if isinstance(row.get('in_export'), bool):
            row['in_export'] = label('yes' if row['in_export'] else 'no', lang)
        out.append(row)
    return out
