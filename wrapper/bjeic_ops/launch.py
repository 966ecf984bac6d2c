"""bjeic-ops-ansible-playbook: ansible-playbook with secret environment variables that never reach a file.

ansible-runner writes the environment it starts a process with into its `command` artifact. So `bjeic-ops run`
starts this launcher instead, with the secret variables (`--secret-env`, and kept variables whose names look
secret) in a named pipe (mode 0600) named by BJEIC_OPS_ENV_PIPE; the launcher reads them once, adds them to
its environment and becomes ansible-playbook (exec: same process, so cancelling the run still stops it).
Not meant to be run by hand.
"""
import json
import os
import sys

PIPE_VARIABLE = 'BJEIC_OPS_ENV_PIPE'


def main():
    pipe = os.environ.pop(PIPE_VARIABLE, None)
    if pipe:
        with open(pipe, 'rb') as handle:
            os.environ.update(json.load(handle))
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    program = beside if os.access(beside, os.X_OK) else 'ansible-playbook'
    try:
        os.execvp(program, [program] + sys.argv[1:])
    except OSError as exc:
        # In ansible's own words, so that the run's reason names it.
        print('[ERROR]: cannot start ansible-playbook (%s): install ansible-core beside bjeic-ops (%s)'
              % (exc.strerror, os.path.dirname(sys.executable)), file=sys.stderr)
        sys.exit(127)


if __name__ == '__main__':
    main()
