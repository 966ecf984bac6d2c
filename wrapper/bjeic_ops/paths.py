"""Where the wrapper keeps its data: the store and run artifacts (XDG base directories)."""
import os

from . import BjeicOpsError


class ConfigError(BjeicOpsError):
    pass


def data_home():
    return os.environ.get('XDG_DATA_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'share')


def state_home():
    return os.environ.get('XDG_STATE_HOME') or os.path.join(os.path.expanduser('~'), '.local', 'state')


def store_url(explicit=None):
    """The store URL: --store, else BJEIC_OPS_STORE, else SQLite in the XDG data directory."""
    url = explicit or os.environ.get('BJEIC_OPS_STORE')
    if url:
        return url
    directory = os.path.join(data_home(), 'bjeic-ops')
    os.makedirs(directory, mode=0o700, exist_ok=True)
    return 'sqlite:///' + os.path.join(directory, 'store.sqlite')


def artifact_root():
    """Private directory (0700) for ansible-runner's per-run directories."""
    directory = os.environ.get('BJEIC_OPS_ARTIFACTS') or os.path.join(state_home(), 'bjeic-ops', 'runs')
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    return directory


def keep_artifacts():
    value = os.environ.get('BJEIC_OPS_KEEP_ARTIFACTS', '20')
    if not value.isdigit():
        raise ConfigError('BJEIC_OPS_KEEP_ARTIFACTS must be a whole number of runs, got %r' % value)
    return int(value)
