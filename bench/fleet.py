#!/usr/bin/env python3
"""Fleet inspection speed: bjeic.ops against stock Ansible and against plain ssh, side by side.

For each fleet size N (lab hosts over SSH on 127.0.0.1) and each repeat, in one run:
  a        playbooks/daily_inspection.yml with the project's ansible.cfg (one module call per host), recorded
           into a store by the bjeic.ops.store callback the project's ansible.cfg enables
  a_nocb   the same, the callback turned off (BJEIC_OPS_RECORD=false): what recording costs
  a_stock  the same playbook with stock Ansible settings (bench/stock/ansible.cfg): the "before"
  b        bench/stock/inspection.yml (gather_facts + one command task per check), stock settings
  b_tuned  the same stock playbook with the project's ansible.cfg (what settings alone give)
  c        the same commands over plain ssh, all hosts in parallel (bench/floor.sh): the floor
  duty     playbooks/special_duty.yml, the hourly round of a special-period watch (the inspection with tighter
           thresholds, then linux_watch: ports, accounts, setuid files, firewall against the watch's baseline)
  a_base   with --baseline REV: a as it was at commit REV (its playbook, collection and ansible.cfg, from a git
           worktree; the installed wrapper records it), to measure a change before and after, side by side
  duty_base  with --baseline REV: duty as it was at commit REV
Every run starts with cold SSH connections (a fresh ControlPath directory). Reports the median
wall time, controller CPU seconds, and the ratios a/b and a/c; fits time = k0 + k1 * N to
estimate the contract's 285 hosts.

    .venv/bin/python bench/fleet.py --sizes 5 10 20 40 --repeat 3
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
import labctl  # noqa: E402  (the lab tool lives beside the project, not in a package)
from benchlib import add_baseline, head_commit, hosts_cpu, remove_baseline  # noqa: E402

BIN = os.path.dirname(sys.executable)
METHODS = ('a', 'a_nocb', 'a_stock', 'b', 'b_tuned', 'c', 'a_base', 'duty', 'duty_base')
BASELINE = {}    # with --baseline: {'rev': ..., 'dir': the worktree}


def command_for(method, inventory, ports):
    project_cfg = os.path.join(ROOT, 'ansible.cfg')
    stock_cfg = os.path.join(HERE, 'stock', 'ansible.cfg')
    daily = os.path.join(ROOT, 'playbooks', 'daily_inspection.yml')
    stock = os.path.join(HERE, 'stock', 'inspection.yml')
    playbook = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory]
    return {
        'a': (playbook + [daily], project_cfg),
        'a_nocb': (playbook + [daily], project_cfg),
        'a_stock': (playbook + [daily], stock_cfg),
        'b': (playbook + [stock], stock_cfg),
        'b_tuned': (playbook + [stock], project_cfg),
        'c': ([os.path.join(HERE, 'floor.sh')] + [str(p) for p in ports], None),
        'a_base': (playbook + [os.path.join(BASELINE.get('dir', ''), 'playbooks', 'daily_inspection.yml')],
                   os.path.join(BASELINE.get('dir', ''), 'ansible.cfg')),
        'duty': (playbook + [os.path.join(ROOT, 'playbooks', 'special_duty.yml'), '-e', 'special_duty_watch=bench'],
                 project_cfg),
        'duty_base': (playbook + [os.path.join(BASELINE.get('dir', ''), 'playbooks', 'special_duty.yml'),
                                  '-e', 'special_duty_watch=bench'], os.path.join(BASELINE.get('dir', ''), 'ansible.cfg')),
    }[method]


def timed(command, config, env_extra=None):
    """(wall seconds, controller CPU seconds, peak RSS MiB of the largest process of the run, the lab hosts' CPU
    seconds or None)."""
    with tempfile.TemporaryDirectory(prefix='bjeic-bench-cp-') as control_dir, \
            tempfile.TemporaryFile('w+') as output:
        env = dict(os.environ, ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir, ANSIBLE_FORCE_COLOR='0', **(env_extra or {}))
        if config:
            env['ANSIBLE_CONFIG'] = config
        started, hosts_before = time.perf_counter(), hosts_cpu()
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)   # this run's own usage, its descendants included
        wall = time.perf_counter() - started
        hosts_after = hosts_cpu()
        process.returncode = os.waitstatus_to_exitcode(status)
        # End the ssh masters this run left, so the next run starts cold and they cost nothing.
        subprocess.run(['pkill', '-f', control_dir], capture_output=True)
        if process.returncode != 0:
            output.seek(0)
            raise RuntimeError('%s failed (%d): %s' % (' '.join(command[:3]), process.returncode, output.read()[-4000:]))
    hosts = hosts_after - hosts_before if hosts_before is not None and hosts_after is not None else None
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0, hosts


ENVIRONMENT = {'a_nocb': {'BJEIC_OPS_RECORD': 'false'}}


def fit(points):
    """Least squares time = k0 + k1 * n."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    k1 = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x in xs)
    return mean_y - k1 * mean_x, k1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', type=int, nargs='+', default=[5, 10, 20, 40])
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'fleet.json'))
    parser.add_argument('--baseline', metavar='REV', help='also run a as it was at this commit (method a_base)')
    parser.add_argument('--stock-max', type=int, default=None, metavar='N',
                        help='run the stock methods (b, b_tuned, a_stock) only up to N hosts: one stock run of 80 '
                             'hosts takes minutes')
    args = parser.parse_args(argv)
    if args.baseline:
        for method, base in (('a', 'a_base'), ('duty', 'duty_base')):
            if method in args.methods and base not in args.methods:
                args.methods.append(base)
        rev, directory = add_baseline(args.baseline)
        BASELINE.update(rev=rev, dir=directory)
    elif 'a_base' in args.methods or 'duty_base' in args.methods:
        parser.error('methods a_base and duty_base need --baseline REV')

    subprocess.run([os.path.join(ROOT, 'lab', 'build-image.sh')], check=True)
    # Runs the callback records go to a store of this benchmark, not to anyone's default store.
    scratch = tempfile.mkdtemp(prefix='bjeic-bench-store-')
    os.environ['BJEIC_OPS_STORE'] = 'sqlite:///%s' % os.path.join(scratch, 'store.sqlite')
    os.environ['BJEIC_OPS_SPOOL'] = os.path.join(scratch, 'spool')
    names = ['bench%02d' % i for i in range(1, max(args.sizes) + 1)]
    results = {}
    try:
        print('starting %d lab hosts' % len(names), file=sys.stderr)
        hosts = labctl.up(names)
        for size in args.sizes:
            subset = hosts[:size]
            with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as handle:
                handle.write(labctl.inventory(subset))
                inventory = handle.name
            ports = [h['port'] for h in subset]
            methods = [m for m in args.methods
                       if args.stock_max is None or size <= args.stock_max or m not in ('b', 'b_tuned', 'a_stock')]
            samples = {m: [] for m in methods}
            for repeat in range(args.repeat):
                # Rotate the order so that no method always runs first (cache warmth, noise).
                order = methods[repeat % len(methods):] + methods[:repeat % len(methods)]
                for method in order:
                    command, config = command_for(method, inventory, ports)
                    samples[method].append(timed(command, config, ENVIRONMENT.get(method)))
                    print('N=%d %s run %d: %.2fs' % (size, method, repeat + 1, samples[method][-1][0]), file=sys.stderr)
            os.unlink(inventory)
            results[size] = {m: {'wall': statistics.median(s[0] for s in v), 'cpu': statistics.median(s[1] for s in v),
                                 'peak_mib': max(s[2] for s in v),
                                 'hosts_cpu': statistics.median(s[3] for s in v) if None not in [s[3] for s in v]
                                 else None} for m, v in samples.items()}
    finally:
        labctl.down(names)
        if BASELINE:
            remove_baseline(BASELINE['dir'])

    machine = '%d CPUs, %s, Python %s, %s' % (os.cpu_count(), platform.machine(), platform.python_version(),
                                             platform.platform())
    report = {'machine': machine, 'repeat': args.repeat, 'results': results,
              'date': time.strftime('%Y-%m-%d', time.gmtime()),
              'commit': head_commit()}
    if BASELINE:
        report['baseline'] = BASELINE['rev']
    if 'a' in args.methods and len(args.sizes) >= 2:
        k0, k1 = fit([(n, r['a']['wall']) for n, r in results.items()])
        c0, c1 = fit([(n, r['a']['cpu']) for n, r in results.items()])
        report['estimate_285'] = {'wall': k0 + k1 * 285, 'seconds_per_host': k1, 'fixed_seconds': k0,
                                  'cpu_seconds': c0 + c1 * 285, 'cpu_seconds_per_host': c1}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, 'w') as handle:
        json.dump(report, handle, indent=2)
    print(markdown(report))
    return 0


def markdown(report):
    lines = ['Machine: %s; median of %d runs; wall seconds (controller CPU seconds).' % (report['machine'], report['repeat']),
             '',
             '| hosts | a: bjeic.ops | a without the store callback | a before tuning | b: stock Ansible | '
             'b with project cfg | c: plain ssh | a/a without callback | peak MiB a / without | a/b | a/c |',
             '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for size, r in sorted(report['results'].items(), key=lambda item: int(item[0])):
        def cell(method):
            return '%.2f (%.1f)' % (r[method]['wall'], r[method]['cpu']) if method in r else '-'

        def ratio(x, y):
            return '%.2f' % (r[x]['wall'] / r[y]['wall']) if x in r and y in r else '-'
        def peaks():
            return '%.0f / %.0f' % (r['a']['peak_mib'], r['a_nocb']['peak_mib']) if 'a' in r and 'a_nocb' in r \
                and 'peak_mib' in r['a'] else '-'
        lines.append('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' % (
            size, cell('a'), cell('a_nocb'), cell('a_stock'), cell('b'), cell('b_tuned'), cell('c'),
            ratio('a', 'a_nocb'), peaks(), ratio('a', 'b'), ratio('a', 'c')))
    if report.get('baseline'):
        lines += ['', 'Before and after: a at %s and a at %s (HEAD), side by side.' % (report['baseline'], report['commit']),
                  '', '| hosts | a at %s | a at %s | after / before | a/b before | a/b after |' % (
                      report['baseline'], report['commit']),
                  '| ---: | ---: | ---: | ---: | ---: | ---: |']
        for size, r in sorted(report['results'].items(), key=lambda item: int(item[0])):
            if 'a_base' in r and 'a' in r:
                lines.append('| %s | %.2f (%.1f) | %.2f (%.1f) | %.2f | %s | %s |' % (
                    size, r['a_base']['wall'], r['a_base']['cpu'], r['a']['wall'], r['a']['cpu'],
                    r['a']['wall'] / r['a_base']['wall'],
                    '%.3f' % (r['a_base']['wall'] / r['b']['wall']) if 'b' in r else '-',
                    '%.3f' % (r['a']['wall'] / r['b']['wall']) if 'b' in r else '-'))
    if any((r.get('a') or {}).get('hosts_cpu') is not None for r in report['results'].values()):
        lines += ['', 'Controller and lab hosts: CPU seconds of the controller (wait4) and of the lab hosts (their cgroup).',
                  '', '| hosts | a wall | a controller CPU (per host) | a hosts\' CPU (per host) | c wall | '
                  'c hosts\' CPU | a/c |', '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
        for size, r in sorted(report['results'].items(), key=lambda item: int(item[0])):
            n, a, c = int(size), r.get('a'), r.get('c')
            if a and c and a.get('hosts_cpu') is not None:
                lines.append('| %d | %.2f | %.1f (%.3f) | %.1f (%.3f) | %.2f | %.1f | %.2f |' % (
                    n, a['wall'], a['cpu'], a['cpu'] / n, a['hosts_cpu'], a['hosts_cpu'] / n, c['wall'],
                    c['hosts_cpu'] or 0, a['wall'] / c['wall']))
    if any('duty' in r for r in report['results'].values()):
        lines += ['', 'The hourly special-duty round (special_duty.yml) beside the daily inspection and the floor.', '',
                  '| hosts | duty | duty at the baseline | duty controller CPU per host | a | c | duty/a | duty/c |',
                  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
        for size, r in sorted(report['results'].items(), key=lambda item: int(item[0])):
            if 'duty' in r:
                lines.append('| %s | %.2f (%.1f) | %s | %.3f | %s | %s | %s | %s |' % (
                    size, r['duty']['wall'], r['duty']['cpu'],
                    '%.2f (%.1f)' % (r['duty_base']['wall'], r['duty_base']['cpu']) if 'duty_base' in r else '-',
                    r['duty']['cpu'] / int(size),
                    '%.2f' % r['a']['wall'] if 'a' in r else '-', '%.2f' % r['c']['wall'] if 'c' in r else '-',
                    '%.2f' % (r['duty']['wall'] / r['a']['wall']) if 'a' in r else '-',
                    '%.2f' % (r['duty']['wall'] / r['c']['wall']) if 'c' in r else '-'))
    estimate = report.get('estimate_285')
    if estimate:
        lines += ['', '285-host estimate for a: %.0f s wall (%.2f s per host + %.1f s fixed), %.0f controller CPU seconds.'
                  % (estimate['wall'], estimate['seconds_per_host'], estimate['fixed_seconds'], estimate['cpu_seconds'])]
    return '\n'.join(lines)


if __name__ == '__main__':
    sys.exit(main())
