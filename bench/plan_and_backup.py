#!/usr/bin/env python3
"""Patch planning and backup checks against the stock way, side by side on N lab hosts.

Every host (Debian 12, apt, with python3-apt as Ansible's apt modules need it - fetched on the controller with
apt-get download, as the lab image does not carry it) has the patching test packages installed from the lab's local repository (lab/testrepo.py,
stage `old`), the repository then moved to stage `new` (three updates, one of them a security update), and a backup
set of seven nightly archives (tar + gzip of /etc, one a day, the newest today). In one run, order rotating, cold SSH
each time:

  plan_a    bjeic.ops.linux_patch state=planned: the updates with their current and candidate versions, which are
            security updates, whether a reboot would be needed - one call
  plan_b    stock: ansible.builtin.package_facts, then ansible.builtin.apt upgrade=dist in check mode (what would
            change), then the security repository's packages (apt-get -s upgrade with only the security source)
  backup_a  bjeic.ops.backup_check on the set: age of the newest, sizes against the one before, every archive read
            through (gzip and tar integrity) - one call
  backup_b  stock: ansible.builtin.find the archives, ansible.builtin.stat each, ansible.builtin.command tar -tzf each
  ping      ansible.builtin.ping with become: one module call that does nothing - the least any module-per-host way
            can cost, so plan_a/ping says how much of plan_a is the planning itself

    .venv/bin/python bench/plan_and_backup.py --hosts 20 --repeat 3
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
import testrepo  # noqa: E402
from benchlib import rotated, run_timed, write_report  # noqa: E402

BIN = os.path.dirname(sys.executable)
REPO_MOUNT = '/srv/test-repo'
APT_SOURCES = ('deb [trusted=yes] file:%s/apt/main ./\\ndeb [trusted=yes] file:%s/apt/security ./\\n'
               % (REPO_MOUNT, REPO_MOUNT))
SECURITY_LIST = 'deb [trusted=yes] file:%s/apt/security ./\\n' % REPO_MOUNT
BACKUP_SETUP = ('mkdir -p /backup/etc && for d in 0 1 2 3 4 5 6; do f=/backup/etc/etc-$d.tar.gz; '
                'tar -czf $f -C / etc 2>/dev/null; touch -d "$d days ago" $f; done')


def play(name, tasks):
    return [{'name': name, 'hosts': 'linux', 'gather_facts': False, 'become': True, 'tasks': tasks}]


PLAYBOOKS = {
    'plan_a': play('Patch plan', [{'name': 'Plan', 'bjeic.ops.linux_patch': {'state': 'planned', 'backend': 'apt'}}]),
    'plan_b': play('Patch plan, stock', [
        {'name': 'Installed packages', 'ansible.builtin.package_facts': {'manager': 'apt'}},
        {'name': 'What an upgrade would change', 'ansible.builtin.apt': {'upgrade': 'dist', 'update_cache': True},
         'check_mode': True},
        {'name': 'Security updates', 'ansible.builtin.command': {
            'argv': ['apt-get', '-s', '-o', 'Dir::Etc::SourceList=/etc/apt/security.list', '-o',
                     'Dir::Etc::SourceParts=-', 'upgrade']}, 'changed_when': False}]),
    'ping': play('The least a module per host costs', [{'name': 'Ping', 'ansible.builtin.ping': {}}]),
    'backup_a': play('Backup check', [{'name': 'Check', 'bjeic.ops.backup_check': {
        'sets': [{'name': 'etc', 'path': '/backup/etc/etc-*.tar.gz', 'max_age_hours': 26}]}}]),
    'backup_b': play('Backup check, stock', [
        {'name': 'Find the archives', 'ansible.builtin.find': {'paths': '/backup/etc', 'patterns': 'etc-*.tar.gz'},
         'register': 'found'},
        {'name': 'Stat each', 'ansible.builtin.stat': {'path': '{{ item.path }}', 'checksum_algorithm': 'sha256'},
         'loop': '{{ found.files }}', 'loop_control': {'label': '{{ item.path }}'}},
        {'name': 'Read each through', 'ansible.builtin.command': {'argv': ['tar', '-tzf', '{{ item.path }}']},
         'loop': '{{ found.files }}', 'loop_control': {'label': '{{ item.path }}'}, 'changed_when': False}]),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=20)
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'plan_and_backup.json'))
    args = parser.parse_args(argv)
    subprocess.run([os.path.join(ROOT, 'lab', 'build-image.sh')], check=True)
    work = tempfile.mkdtemp(prefix='bjeic-bench-plan-')
    repo = os.path.join(work, 'repo')
    testrepo.build(repo)
    testrepo.stage(repo, 'old')
    debs = os.path.join(work, 'debs')
    os.makedirs(debs)
    subprocess.run(['apt-get', 'download', 'python3-apt', 'python-apt-common', 'distro-info-data'], cwd=debs,
                   check=True, capture_output=True)
    names = ['plan%02d' % i for i in range(args.hosts)]
    try:
        hosts = labctl.up(names, volumes=['%s:%s:ro' % (repo, REPO_MOUNT), '%s:/srv/debs:ro' % debs])
        for host in hosts:
            labctl.sh(host['name'], "dpkg -i /srv/debs/*.deb >/dev/null && printf '%s' > /etc/apt/sources.list.d/test.list "
                      "&& printf '%s' > /etc/apt/security.list && apt-get update -qq && apt-get install -y -qq "
                      "bjeic-demo-app bjeic-demo-tool >/dev/null && apt-get clean && %s"
                      % (APT_SOURCES, SECURITY_LIST, BACKUP_SETUP))
        testrepo.stage(repo, 'new')
        for host in hosts:
            labctl.sh(host['name'], 'apt-get update -qq')
        inventory = os.path.join(work, 'hosts.ini')
        with open(inventory, 'w') as handle:
            handle.write(labctl.inventory(hosts).replace(
                'ansible_become=true', 'ansible_become=true\nansible_python_interpreter=/usr/bin/python3'))
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), BJEIC_OPS_RECORD='false')
        commands = {}
        for name, playbook in PLAYBOOKS.items():
            path = os.path.join(work, name + '.yml')
            with open(path, 'w') as handle:
                json.dump(playbook, handle)
            commands[name] = [os.path.join(BIN, 'ansible-playbook'), '-i', inventory, path]
        samples = rotated(commands, args.repeat, lambda command: run_timed(command, env, cold_ssh=True))
    finally:
        labctl.down(names)
    results = dict((name, {'wall': statistics.median(s[0] for s in values), 'cpu': statistics.median(s[1] for s in values)})
                   for name, values in samples.items())
    write_report(args.json, hosts=args.hosts, repeat=args.repeat, results=results)
    ping = results['ping']
    print('| job | bjeic.ops | stock | ratio | ping (one module that does nothing) | ping / stock |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for job, label in (('plan', 'patch planning'), ('backup', 'backup check')):
        a, b = results[job + '_a'], results[job + '_b']
        print('| %s | %.2f (%.1f) | %.2f (%.1f) | %.2f | %.2f (%.1f) | %.2f |' % (
            label, a['wall'], a['cpu'], b['wall'], b['cpu'], a['wall'] / b['wall'], ping['wall'], ping['cpu'],
            ping['wall'] / b['wall']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
