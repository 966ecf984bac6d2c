#!/usr/bin/python3
"""Compare two /etc snapshots; print the differences and exit 1 when there are any."""
import json
import sys

before, after = (json.load(open(path)) for path in sys.argv[1:3])
problems = ['only before: %s' % p for p in sorted(set(before) - set(after))]
problems += ['only after: %s' % p for p in sorted(set(after) - set(before))]
problems += ['differs: %s %s -> %s' % (p, before[p], after[p]) for p in sorted(set(before) & set(after))
             if before[p] != after[p]]
print('\n'.join(problems) or 'identical: %d entries' % len(before))
sys.exit(1 if problems else 0)
