#!/usr/bin/env python3
"""Independent scanners before and after `linux_harden mode=enforce`, on a fresh lab host.

Lynis (hardening index, 0-100) and OpenSCAP with the SCAP Security Guide's Debian content
(XCCDF score of a profile, ANSSI NP-T-28 high by default), both from Debian's packages, installed on the lab host from the lab
image's local repository. The same host is scanned, hardened with the default baseline, scanned
again, rolled back and scanned a third time (rollback should give the first figures back).

    .venv/bin/python bench/harden_scanners.py [--profile xccdf_org.ssgproject.content_profile_standard]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'integration'))
import labctl  # noqa: E402

BIN = os.path.dirname(sys.executable)
HOST = 'scan1'


def ansible(inventory, module, args='', check=True):
    """Run one module on the scan host through the wrapper (ansible-runner) and return its result."""
    from runner_runs import run_module
    if isinstance(args, str):
        args = dict(pair.split('=', 1) for pair in args.split()) if args else {}
    outcome = run_module(module, args, inventory, host_pattern=HOST)
    result = outcome.results[-1].result if outcome.results else {'failed': True, 'msg': outcome.status}
    if check and (result.get('failed') or result.get('unreachable')):
        raise RuntimeError('%s %s failed: %s' % (module, args, result.get('msg') or result.get('stderr')))
    return result


def lynis(inventory):
    ansible(inventory, 'ansible.builtin.shell', {'_raw_params': 'lynis audit system --quick --no-colors >/dev/null 2>&1'},
            check=False)
    out = ansible(inventory, 'ansible.builtin.shell', {'_raw_params': 'grep ^hardening_index= /var/log/lynis-report.dat'})
    return int(out['stdout'].split('=')[1])


# Debian 12's ssg-debian (0.1.65) has Debian 10 and 11 content only, and its Benchmark is bound to
# cpe:/o:debian:debian_linux:11, which makes every rule "notapplicable" on Debian 12. The copy we
# evaluate drops that one platform element; each rule keeps its own applicability checks.
PLATFORM_FREE = ('sed \'s#<xccdf-1.2:platform idref="cpe:/o:debian:debian_linux:11"/>##\' %s > /tmp/ssg-any.xml')


def oscap(inventory, datastream, profile):
    script = (PLATFORM_FREE % datastream + '; oscap xccdf eval --profile %s --results /tmp/oscap.xml /tmp/ssg-any.xml '
              '> /tmp/oscap.txt 2>&1; for r in pass fail notapplicable; do grep -c "^Result[[:space:]]*$r$" /tmp/oscap.txt; done; '
              'grep -o "<score[^>]*>[0-9.]*</score>" /tmp/oscap.xml | grep -o ">[0-9.]*<" | tr -d "<>"; '
              'grep -B2 "^Result[[:space:]]*fail$" /tmp/oscap.txt | sed -n "s/^Title[[:space:]]*//p"') % profile
    # oscap writes "Result<CR><TAB>pass" (a carriage return for its progress line): match any space.
    lines = ansible(inventory, 'ansible.builtin.shell', {'_raw_params': script}, check=False)['stdout'].splitlines()
    return {'pass': int(lines[0]), 'fail': int(lines[1]), 'notapplicable': int(lines[2]), 'score': float(lines[3]),
            'failing': lines[4:]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default='xccdf_org.ssgproject.content_profile_anssi_np_nt28_high')
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'harden_scanners.json'))
    args = parser.parse_args(argv)
    subprocess.run([os.path.join(ROOT, 'lab', 'build-image.sh')], check=True)
    try:
        hosts = labctl.up([HOST], systemd=True)
        with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as handle:
            handle.write(labctl.inventory(hosts))
            inventory = handle.name
        ansible(inventory, 'ansible.builtin.shell', {'_raw_params': 'DEBIAN_FRONTEND=noninteractive apt-get install '
                '-y -q --no-install-recommends lynis openscap-scanner ssg-debian'})
        # Debian 12's ssg-debian (0.1.65) carries Debian 10 and 11 content only: take the newest.
        found = ansible(inventory, 'ansible.builtin.shell', {'_raw_params': 'ls /usr/share/xml/scap/ssg/content/'
                        'ssg-debian*-ds.xml | sort -V | tail -1'})['stdout'].strip()
        if not found:
            raise RuntimeError('ssg-debian installed no data stream on the lab host')
        figures = {}
        for stage in ('before', 'after enforce', 'after rollback'):
            if stage == 'after enforce':
                enforced = ansible(inventory, 'bjeic.ops.linux_harden', 'mode=enforce')
                backup_id = enforced['backup_id']
                figures['controls'] = enforced['summary']
            elif stage == 'after rollback':
                ansible(inventory, 'bjeic.ops.linux_harden', 'mode=rollback backup_id=%s' % backup_id)
            figures[stage] = {'lynis_hardening_index': lynis(inventory), 'openscap': oscap(inventory, found, args.profile)}
            print('%s: %s' % (stage, figures[stage]), file=sys.stderr)
        os.unlink(inventory)
    finally:
        labctl.down([HOST])
    report = {'profile': args.profile, 'datastream': found, 'figures': figures}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, 'w') as handle:
        json.dump(report, handle, indent=2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
