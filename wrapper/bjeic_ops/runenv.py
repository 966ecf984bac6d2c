"""The environment ansible-playbook runs with: what a run needs, never the controller's whole environment.

The controller's environment can hold anything (PGPASSWORD, cloud keys, a proxy with a password in it), and
ansible-runner records the environment it starts with. A run gets the variables below, the ones ansible-runner
and the wrapper set, and those the operator names (`--secret-env`, `--pass-env`); the values of the secret ones
are masked wherever the run leaves a record.
"""
from .redact import SECRET_KEY

PASSED = frozenset((
    'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR', 'PYTHONPATH', 'VIRTUAL_ENV',
    'SSH_AUTH_SOCK', 'SSH_AGENT_PID',                                     # keys in an agent, not in files
    'KRB5CCNAME', 'KRB5_CONFIG', 'KRB5_KTNAME', 'KRB5_CLIENT_KTNAME',     # Kerberos for WinRM
    'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE',                # CA bundles for WinRM over HTTPS
))
PASSED_PREFIXES = ('LC_', 'ANSIBLE_')


def passed(name):
    return name in PASSED or name.startswith(PASSED_PREFIXES)


def child_environment(prepared, parent, named=(), dropped=()):
    """The environment for ansible-playbook out of the one ansible-runner `prepared` (the parent's copied,
    plus its own): what the parent had is kept only if it is allowed or `named`, never if `dropped` (the
    secrets, which go through a pipe instead); what the runner or the wrapper added is kept."""
    named, dropped = set(named), set(dropped)
    environment = {name: value for name, value in prepared.items() if name not in dropped and (
        name not in parent or name in named or passed(name) or parent[name] != value)}
    if 'ANSIBLE_HOST_KEY_CHECKING' not in parent:
        # ansible-runner turns host key checking off unless told; ansible.cfg (host_key_checking = True) decides.
        environment.pop('ANSIBLE_HOST_KEY_CHECKING', None)
    return environment


def secret_names(environment, named_secrets=()):
    """Variables of `environment` whose values must be masked in records: those named as secret, and any
    whose name looks like a secret's (ANSIBLE_VAULT_PASSWORD_FILE is a path, but masking a path costs nothing)."""
    return {name for name in environment if name in set(named_secrets) or SECRET_KEY.search(name)}
