"""Reading a YAML (or JSON) file an operator gave, with one sentence for whatever is wrong with it."""
import yaml

from . import BjeicOpsError


class AnsibleTagsIgnored(yaml.SafeLoader):
    """The safe loader, taking Ansible's own tags (!vault, !unsafe) as values it does not read."""


AnsibleTagsIgnored.add_multi_constructor('!', lambda loader, suffix, node: None)


def read(path, what, error=BjeicOpsError, loader=yaml.SafeLoader):
    """The file's data; `error(what: reason)` when it cannot be read, is not UTF-8 or is not YAML."""
    try:
        with open(path, encoding='utf-8') as handle:
            return yaml.load(handle, Loader=loader)   # noqa: S506 - always a SafeLoader
    except OSError as exc:
        raise error('%s: %s' % (what, exc.strerror))
    except UnicodeDecodeError:
        raise error('%s: not UTF-8 text' % what)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' at line %d, column %d' % (mark.line + 1, mark.column + 1) if mark else ''
        raise error('%s: not valid YAML or JSON%s (%s)' % (what, where, getattr(exc, 'problem', None) or exc))
