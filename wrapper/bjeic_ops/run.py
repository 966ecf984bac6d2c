"""Run the project's playbooks through ansible-runner's Python API with the project's ansible.cfg.

`execute()` streams every event into the store (bjeic_ops.store) through an Ingestor.
Results come from runner events (event_data.res), never from parsing printed text.
"""
import errno
import os
import shlex
import signal
import sys
import uuid
from dataclasses import dataclass, field

from ansible_runner.interface import init_runner

from . import BjeicOpsError, artifacts, launch, project, recorder, runenv
from .ingest import Ingestor
from .inventory import CheckedInventory
from .paths import keep_artifacts
from .redact import Redactor, secret_values
from .vocab import COMPLETE, INCOMPLETE, SEVERITY_RANK


# Exit codes: ansible-playbook's own (2: a host failed, 4: a host unreachable, passed through as they come), plus
# one for --fail-on.
EXIT_OK, EXIT_ERROR = 0, 1
EXIT_USAGE = 5                  # as ansible's "bad or incomplete options"
EXIT_INTERRUPTED = 99
EXIT_FINDINGS = 10
NO_HOSTS = 'no_hosts'           # runner status of a run that reached no host: never a ledger or a report
RUN_TOKEN = 'BJEIC_OPS_RUN_TOKEN'   # in the environment of every process of one run: what stop_leftovers looks for


class PlaybookNotFound(BjeicOpsError):
    pass


@dataclass
class RunOptions:
    playbook: str
    inventory: str
    limit: str = None
    check: bool = False
    diff: bool = False
    extravars: dict = field(default_factory=dict)
    operator: str = None
    ticket: str = None
    secret_env: tuple = ()          # names of environment variables whose values are secrets (passed, masked)
    pass_env: tuple = ()            # names of other environment variables the run needs
    fail_on: str = None             # critical or warning
    cancel: object = None           # callable -> True to stop the run (the CLI wires signals to it)
    verbosity: int = 0


@dataclass
class RunOutcome:
    run_id: int
    state: str
    status: str
    rc: int
    exit_code: int
    stats: object
    reason: str = None


def resolve_playbook(playbook):
    """A path as given (absolute, or relative to the current directory), else a name under playbooks/
    (daily_inspection.yml, drills/restore.yml)."""
    playbooks = os.path.join(project.root(), 'playbooks')
    candidates = [os.path.abspath(playbook)]
    if not os.path.isabs(playbook) and not os.path.normpath(playbook).startswith('playbooks' + os.sep):
        candidates.append(os.path.join(playbooks, playbook))
    path = next((candidate for candidate in candidates if os.path.isfile(candidate)), None)
    if path is None:
        raise PlaybookNotFound('no playbook at %s (give a path, or a name under %s)'
                               % (' nor '.join(dict.fromkeys(candidates)), playbooks))
    _check_playbook_yaml(path)
    return path


def _check_playbook_yaml(path):
    """Refuse a playbook that is not YAML before anything is recorded; ansible-playbook would exit 4, which
    also means 'a host was unreachable'. Ansible's own tags (!vault, !unsafe) are accepted unread."""
    from . import yamlfile
    plays = yamlfile.read(path, 'the playbook %s' % path, PlaybookNotFound, yamlfile.AnsibleTagsIgnored)
    if not isinstance(plays, list) or not plays:
        raise PlaybookNotFound('the playbook %s is not a list of plays; nothing was run' % path)


def environment():
    # The ansible commands installed beside this interpreter come first, so a virtual
    # environment works without being activated.
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get('PATH', '')])
    return {'ANSIBLE_CONFIG': os.path.join(project.root(), 'ansible.cfg'), 'PATH': path,
            # The inventory was checked before the run; a source that stops parsing during it fails the run
            # instead of running on fewer hosts.
            'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'True'}


def run_redactor(options, store):
    """Every secret a run knows of: extra vars under secret names, the named secret variables, controller
    variables the run keeps whose names look secret, and the store URL's password."""
    values = list(secret_values(options.extravars))
    kept = [name for name in os.environ if name in options.secret_env or runenv.passed(name)
            or name in options.pass_env]
    values += [os.environ[name] for name in runenv.secret_names(kept, options.secret_env) if os.environ.get(name)]
    password = _url_password(store.url)
    if password:
        values.append(password)
    return Redactor(values)


def _url_password(url):
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).password
    except Exception:  # not a URL SQLAlchemy can read: there is no password in it to hide
        return None


def execute(options, store, observer=None):
    """Run a playbook, stream its events into `store`, return the outcome with an exit code."""
    playbook = resolve_playbook(options.playbook)
    inventory = CheckedInventory(options.inventory, options.limit)
    redactor = run_redactor(options, store)
    artifacts.forget_secrets_of_reaped(store.store_id(), store.reaped)
    run_id = store.begin_run(playbook=_recorded_playbook(playbook), inventory=inventory.path, limit=options.limit,
                             check_mode=options.check, operator=options.operator, ticket=options.ticket,
                             extra_vars=redactor.data(options.extravars),
                             origin={'via': 'bjeic-ops', 'diff': bool(options.diff)})
    ingest = Ingestor(store, run_id, redactor, options.operator, options.ticket, options.check, observer)
    ingest.on_play_start = inventory.hosts
    status, rc, reason = 'error', None, None
    private_dir = log = None
    try:
        private_dir = artifacts.create_run_directory(store.store_id(), run_id)
        log = artifacts.OutputLog(os.path.join(private_dir, 'stdout'), redactor)
        status, rc = _run_ansible(options, playbook, inventory.path, private_dir, redactor, ingest, log)
    except (BjeicOpsError, OSError) as exc:
        status = 'failed'
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            reason = ('stopped: the disk under the run directory %s is full (%s); free space there'
                      % (private_dir or artifacts.artifact_root(), exc.strerror))
        else:
            reason = 'the run could not go on: %s' % _sentence(exc)
    finally:
        ingest.close()
        if log is not None:
            log.close()
    state = COMPLETE if status in ('successful', 'failed') and reason is None else INCOMPLETE
    if ingest.failure is not None:
        state, status = INCOMPLETE, 'failed'
        reason = 'stopped: %s; what it did before is recorded up to there' % ingest.failure
    elif state == COMPLETE and not ingest.stats.hosts_targeted:
        if rc:
            state = INCOMPLETE
            reason = 'ansible-playbook stopped before it reached a host (rc %s)%s' % (
                rc, ': ' + log.last_error if log is not None and log.last_error else '')
        else:
            state, status = INCOMPLETE, NO_HOSTS
            reason = 'no play of %s matched a host of %s%s' % (
                os.path.basename(playbook), inventory.path, ' within --limit %s' % options.limit if options.limit else '')
    elif log is not None and log.failure is not None and reason is None:
        reason = 'the output log could not be written (%s)' % _sentence(log.failure)
    try:
        store.finish_run(run_id, state, status, rc, reason)
    finally:
        if private_dir:
            artifacts.scrub(private_dir, redactor)
        artifacts.prune(keep_artifacts())
    exit_code = _exit_code(state, status, rc)
    if exit_code == EXIT_OK and options.fail_on:
        worst = SEVERITY_RANK[options.fail_on]
        if any(count for severity, count in ingest.stats.findings.items() if SEVERITY_RANK.get(severity, 9) <= worst):
            exit_code = EXIT_FINDINGS
    return RunOutcome(run_id, state, status, rc, exit_code, ingest.stats, reason)


def _recorded_playbook(playbook):
    """Playbooks of the project are recorded by their path under it (playbooks/x.yml), others as given."""
    relative = os.path.relpath(playbook, project.root())
    return playbook if relative.startswith('..') else relative


def _exit_code(state, status, rc):
    if status == 'canceled':
        return EXIT_INTERRUPTED
    if state != COMPLETE or rc is None:      # stopped, no host, or the run could not go on
        return EXIT_ERROR
    return rc


def _sentence(exc):
    if isinstance(exc, OSError) and exc.strerror:
        return '%s%s' % (exc.strerror, ' (%s)' % exc.filename if exc.filename else '')
    return str(exc)


def _run_ansible(options, playbook, inventory, private_dir, redactor, ingest, log):
    """ansible-playbook under ansible-runner, with the environment it needs; extra vars and secret variables
    reach it through pipes, never through a file or the environment ansible-runner records."""
    kept = [name for name in os.environ if name in options.secret_env or name in options.pass_env
            or runenv.passed(name)]
    secrets = runenv.secret_names(kept, options.secret_env)
    pipes = [artifacts.SecretPipe(private_dir, 'extravars.json', options.extravars)]
    try:
        envvars = environment()
        envvars[recorder.RECORDED_BY_WRAPPER] = str(ingest.run_id)   # the store callback leaves this run to us
        envvars[RUN_TOKEN] = token = uuid.uuid4().hex                  # marks this run's processes (stop_leftovers)
        if secrets:
            pipes.append(artifacts.SecretPipe(private_dir, 'environment.json',
                                              {name: os.environ[name] for name in secrets}))
            envvars[launch.PIPE_VARIABLE] = pipes[-1].path
        cmdline = [flag for flag, on in (('--check', options.check), ('--diff', options.diff)) if on]
        cmdline += ['-e', '@' + pipes[0].path, playbook]   # with a `binary`, the runner leaves the playbook to us

        def on_event(event):
            log.write(event)
            return ingest(event)

        def cancel():
            return bool((options.cancel and options.cancel()) or ingest.failure is not None)

        runner = init_runner(
            private_data_dir=private_dir, project_dir=project.root(), inventory=inventory,
            limit=options.limit, cmdline=' '.join(shlex.quote(part) for part in cmdline), quiet=True,
            binary=launcher(), event_handler=on_event, cancel_callback=cancel, envvars=envvars,
            suppress_env_files=True, verbosity=options.verbosity or None)
        runner.config.suppress_output_file = True   # OutputLog writes ansible's output, masked
        runner.config.env = runenv.child_environment(runner.config.env, os.environ,
                                                     set(options.pass_env) - secrets, dropped=secrets)
        try:
            runner.run()
        finally:
            if runner.status not in ('successful', 'failed'):   # it did not end by itself
                stop_leftovers(token)
        return runner.status, runner.rc
    finally:
        for pipe in pipes:
            pipe.close()


def stop_leftovers(token):
    """Kill what is left of a stopped run. ansible-runner stops a cancelled run by killing ansible-playbook's process
    group, but Ansible's workers run in sessions of their own: one that was mid-task goes on (its module included) and
    then blocks forever writing its result to a queue nobody reads. They carry the run's token in their environment."""
    marker = ('%s=%s' % (RUN_TOKEN, token)).encode()
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/environ' % pid, 'rb') as handle:
                if marker in handle.read().split(b'\0') and int(pid) != os.getpid():
                    os.kill(int(pid), signal.SIGKILL)
        except OSError:   # gone meanwhile, or not ours to read
            continue


def launcher():
    """The bjeic-ops-ansible-playbook command installed beside this interpreter (see launch.py)."""
    path = os.path.join(os.path.dirname(sys.executable), 'bjeic-ops-ansible-playbook')
    if not os.access(path, os.X_OK):
        raise BjeicOpsError('%s is missing: reinstall bjeic-ops (pip install .) so that its commands are in place'
                            % path)
    return path
