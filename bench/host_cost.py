#!/usr/bin/env python3
"""Where a host's cost goes: the controller's CPU and the host's own CPU of one round over N lab hosts, for steps
that each add one layer of the daily inspection, side by side in one run (order rotating, cold SSH each time).

  raw        ansible.builtin.raw `true` without become: the SSH connection alone
  ping       ansible.builtin.ping with become: + sudo, Python, the AnsiballZ payload, ansible.module_utils.basic
  inspect    bjeic.ops.linux_inspect as one task with become: + the inspection itself
  role       playbooks/daily_inspection.yml: + the role (argument-spec check, the OS-family include, the report step)
             and the summary play
  floor      bench/floor.sh: the inspection's commands over plain ssh with sudo, all hosts in parallel

The controller's CPU is ansible-playbook's own and its children's (wait4: workers, ssh clients); the hosts' CPU is
the lab containers' cgroup (cpuacct of libpod_parent: sshd, sudo, Python, the module). Every host runs on this
machine, so both count against the same two cores.

    .venv/bin/python bench/host_cost.py --hosts 20 --repeat 3
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
import labctl  # noqa: E402
from benchlib import HOSTS_CPU, hosts_cpu, rotated, run_timed, write_report  # noqa: E402

BIN = os.path.dirname(sys.executable)


def one_task(module, args=None, become=True):
    return [{'name': 'Cost of %s' % module, 'hosts': 'linux', 'gather_facts': False, 'become': become,
             'tasks': [{'name': module, module: args or {}}]}]


STEPS = {
    'raw': one_task('ansible.builtin.raw', 'true', become=False),
    'ping': one_task('ansible.builtin.ping'),
    'inspect': one_task('bjeic.ops.linux_inspect'),
    'role': os.path.join(ROOT, 'playbooks', 'daily_inspection.yml'),
    'floor': None,
}


def measure(command, env):
    before = hosts_cpu()
    wall, cpu = run_timed(command, env, cold_ssh=True)
    return wall, cpu, hosts_cpu() - before


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=20)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'host_cost.json'))
    args = parser.parse_args(argv)
    if not os.path.exists(HOSTS_CPU):
        raise SystemExit('%s is missing: this benchmark reads the lab hosts\' CPU from cgroup v1' % HOSTS_CPU)
    subprocess.run([os.path.join(ROOT, 'lab', 'build-image.sh')], check=True)
    names = ['cost%02d' % i for i in range(args.hosts)]
    work = tempfile.mkdtemp(prefix='bjeic-bench-cost-')
    try:
        hosts = labctl.up(names)
        inventory = os.path.join(work, 'hosts.ini')
        with open(inventory, 'w') as handle:   # the interpreter named, as a fleet's inventory does
            handle.write(labctl.inventory(hosts).replace(
                'ansible_become=true', 'ansible_become=true\nansible_python_interpreter=/usr/bin/python3'))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), BJEIC_OPS_RECORD='false')
        commands = {}
        for step, playbook in STEPS.items():
            if step == 'floor':
                commands[step] = [os.path.join(HERE, 'floor.sh')] + [str(h['port']) for h in hosts]
                continue
            if isinstance(playbook, list):
                path = os.path.join(work, step + '.yml')
                with open(path, 'w') as handle:
                    json.dump(playbook, handle)
                playbook = path
            commands[step] = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, playbook]
        samples = rotated(commands, args.repeat, lambda command: measure(command, env))
    finally:
        labctl.down(names)
    results = dict((step, dict(zip(('wall', 'controller_cpu', 'hosts_cpu'),
                                   (statistics.median(s[i] for s in values) for i in range(3)))))
                   for step, values in samples.items())
    write_report(args.json, hosts=args.hosts, repeat=args.repeat, results=results)
    print('| step | wall s | controller CPU s (per host) | hosts\' CPU s (per host) |')
    print('| --- | ---: | ---: | ---: |')
    for step, r in results.items():
        print('| %s | %.2f | %.2f (%.3f) | %.2f (%.3f) |' % (step, r['wall'], r['controller_cpu'],
                                                       r['controller_cpu'] / args.hosts, r['hosts_cpu'],
                                                       r['hosts_cpu'] / args.hosts))
    return 0


if __name__ == '__main__':
    sys.exit(main())
