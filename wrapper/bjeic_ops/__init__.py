"""bjeic-ops: the Python side of the bjeic.ops collection.

Public modules: `bjeic_ops.run` (playbooks through ansible-runner) and `bjeic_ops.contract`
(the result contract every bjeic.ops module returns).
"""
import logging

__version__ = '0.4.0'

logging.getLogger(__name__).addHandler(logging.NullHandler())


class BjeicOpsError(Exception):
    """Base of every error the wrapper raises; the message is meant for an operator."""
