"""What the cloud ledger's parts share: resource types, actions, units, the error."""

from .. import BjeicOpsError
from ..ledger import GIB


TYPES = ('vm', 'disk', 'secgroup', 'backup')
ACTIONS = ('request', 'change', 'reclaim')
SELF_PREFIX = 'self:'
NUMERIC = {'cpu_count': int, 'memory_gib': float, 'size_gib': float}
LIST_ATTRS = ('addresses', 'secgroups')
STOPPED = ('stopped', 'shutoff', 'shutdown')     # platform states of a VM that is not running
UNATTACHED = ('available', 'unattached', 'detached')
MAX_ERRORS_SHOWN = 20
# How many of a unit make one GiB (cloud consoles mix binary and decimal units).
UNITS_PER_GIB = {'B': GIB, 'KiB': 1024 ** 2, 'MiB': 1024, 'GiB': 1, 'TiB': 1 / 1024.0,
                 'MB': GIB / 1000.0 ** 2, 'GB': GIB / 1000.0 ** 3, 'TB': GIB / 1000.0 ** 4}


class CloudError(BjeicOpsError):
    pass
