"""The words the record is made of, defined once: severities, ledger kinds, run states.

The target side defines the same words for the modules (plugins/module_utils/contract.py); the unit tests
hold the two to each other.
"""
SEVERITIES = ('critical', 'warning', 'info')                  # most severe first
SEVERITY_RANK = dict((name, rank) for rank, name in enumerate(SEVERITIES))
LEDGER_KINDS = ('os', 'db', 'network', 'cloud', 'backup')
RUNNING, COMPLETE, INCOMPLETE = 'running', 'complete', 'incomplete'
# Why a probe found a database down (module_utils/contract.PROBE_ERRORS says the same).
PROBE_ERRORS = ('refused', 'timeout', 'auth', 'dns', 'network', 'tls', 'query', 'driver', 'error')
