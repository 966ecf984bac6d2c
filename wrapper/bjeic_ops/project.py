"""Where the project is: the directory holding ansible.cfg, playbooks/ and the bjeic.ops collection.

In order: BJEIC_OPS_PROJECT (a checkout or copy of your own); the copy an installed wheel carries
(bjeic_ops/project, see setup.py); the checkout this package runs from (pip install -e).
"""
import os

from . import BjeicOpsError

PACKAGED = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'project')
CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _is_project(path):
    return os.path.isfile(os.path.join(path, 'ansible.cfg')) and os.path.isdir(os.path.join(path, 'playbooks'))


def root():
    explicit = os.environ.get('BJEIC_OPS_PROJECT')
    if explicit:
        if not _is_project(explicit):
            raise BjeicOpsError('BJEIC_OPS_PROJECT=%s holds no ansible.cfg and playbooks/: give the project '
                                'directory' % explicit)
        return os.path.abspath(explicit)
    for candidate in (PACKAGED, CHECKOUT):
        if _is_project(candidate):
            return candidate
    raise BjeicOpsError('cannot find the bjeic-ops project (ansible.cfg and playbooks/): reinstall bjeic-ops, or '
                        'set BJEIC_OPS_PROJECT to a checkout')


def collection_module_utils(name):
    """A module_utils module of the project's collection (plain Python), for the defaults the documents quote: the
    modules are the source of their own thresholds."""
    import importlib
    import sys
    collections = os.path.join(root(), 'collections')
    if collections not in sys.path:
        sys.path.append(collections)
    return importlib.import_module('ansible_collections.bjeic.ops.plugins.module_utils.%s' % name)
