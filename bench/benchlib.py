"""What the benchmarks share: a command timed with the CPU it and its children used, commands run in rotating
order, the lab hosts' CPU, and the results file with the machine and date."""
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
HOSTS_CPU = '/sys/fs/cgroup/cpuacct/libpod_parent/cpuacct.usage'   # the lab hosts' CPU (cgroup v1, cgroupfs)


def hosts_cpu():
    """CPU seconds the lab containers have used so far, or None where this cgroup file does not exist."""
    try:
        with open(HOSTS_CPU) as handle:
            return int(handle.read()) / 1e9
    except OSError:
        return None


def run_timed(command, env, cold_ssh=False):
    """(wall seconds, CPU seconds of the command and its children) of one run; a failed run stops the benchmark
    with the end of its output. cold_ssh: a fresh ControlPath directory, and the ssh masters the run left ended."""
    with tempfile.TemporaryDirectory(prefix='bjeic-bench-cp-') as control_dir, tempfile.TemporaryFile('w+') as out:
        if cold_ssh:
            env = dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=control_dir)
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        if cold_ssh:
            subprocess.run(['pkill', '-f', control_dir], capture_output=True)
        if os.waitstatus_to_exitcode(status) != 0:
            out.seek(0)
            raise SystemExit('%s failed: %s' % (command[-1], out.read()[-3000:]))
    return wall, usage.ru_utime + usage.ru_stime


def rotated(commands, repeat, measure, label=''):
    """{name: [measure(command), one per repeat]}, the order rotating between repeats so that no command always runs
    first (cache warmth, noise); each run's wall time (the first figure measure returns) on stderr."""
    samples = {name: [] for name in commands}
    order = list(commands)
    for index in range(repeat):
        for name in order[index % len(order):] + order[:index % len(order)]:
            samples[name].append(measure(commands[name]))
            print('%s%s run %d: %.2f s' % (label, name, index + 1, samples[name][-1][0]), file=sys.stderr)
    return samples


def write_report(path, **figures):
    """The results file: the figures with the machine and the date."""
    machine = '%d CPUs, %s, Python %s, %s' % (
        os.cpu_count(), platform.machine(), platform.python_version(), platform.platform())
    report = dict(machine=machine, date=time.strftime('%Y-%m-%d', time.gmtime()), **figures)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        json.dump(report, handle, indent=2)
    return report


def add_baseline(rev):
    """A worktree of the project at commit `rev` (its playbooks, collection and ansible.cfg), to run what was there
    side by side with HEAD: (short commit, directory). remove_baseline() takes it away."""
    short = subprocess.run(['git', 'rev-parse', '--short', rev + '^{commit}'], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.strip()
    directory = tempfile.mkdtemp(prefix='bjeic-bench-%s-' % short)
    subprocess.run(['git', 'worktree', 'add', '--detach', directory, short], cwd=ROOT, check=True, capture_output=True)
    return short, directory


def remove_baseline(directory):
    subprocess.run(['git', 'worktree', 'remove', '--force', directory], cwd=ROOT, capture_output=True)


def head_commit():
    return subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
