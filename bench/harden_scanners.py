#!/usr/bin/env python3
"""Independent scanners before and after `linux_harden mode=enforce`, on a fresh lab host.

Lynis (hardening index, 0-100) and OpenSCAP with the SCAP Security Guide's Debian content
(XCCDF score of a profile), both from Debian's packages, installed on the lab host from the lab
image's local repository. The same host is scanned, hardened with the default baseline, scanned
again, rolled back and scanned a third time (rollback should give the first figures back).

    .venv/bin/python bench/harden_scanners.py [--profile xccdf_org.ssgproject.content_profile_standard]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'lab'))
import labctl  # noqa: E402

BIN = os.path.dirname(sys.executable)
HOST = 'scan1'


def ansible(inventory, module, args='', check=True):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json')
    done = subprocess.run([os.path.join(BIN, 'ansible'), '-i', inventory, HOST, '-m', module, '-a', args],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    result = json.loads(done.stdout)['plays'][0]['tasks'][0]['hosts'][HOST]
    if check and (result.get('failed') or result.get('unreachable')):
        raise RuntimeError('%s %s failed: %s' % (module, args, result.get('msg') or result.get('stderr')))
    return result


def lynis(inventory):
    out = ansible(inventory, 'ansible.builtin.shell',
                  'lynis audit system --quick --no-colors --no-log --skip-plugins 2>&1 | tail -40', check=False)
    match = re.search(r'Hardening index : (\d+)', out.get('stdout', ''))
    return int(match.group(1)) if match else None


def oscap(inventory, datastream, profile):
    out = ansible(inventory, 'ansible.builtin.shell',
                  'oscap xccdf eval --profile %s --results /tmp/oscap.xml %s >/dev/null 2>&1; '
                  'grep -o "<score[^>]*>[0-9.]*</score>" /tmp/oscap.xml; '
                  'grep -c "<result>pass</result>" /tmp/oscap.xml; grep -c "<result>fail</result>" /tmp/oscap.xml'
                  % (profile, datastream), check=False)
    lines = out.get('stdout', '').splitlines()
    score = re.search(r'>([0-9.]+)<', lines[0]).group(1) if lines else None
    return {'score': float(score) if score else None, 'pass': int(lines[1]) if len(lines) > 1 else None,
            'fail': int(lines[2]) if len(lines) > 2 else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--profile', default='xccdf_org.ssgproject.content_profile_standard')
    parser.add_argument('--json', default=os.path.join(HERE, 'results', 'harden_scanners.json'))
    args = parser.parse_args(argv)
    subprocess.run([os.path.join(ROOT, 'lab', 'build-image.sh')], check=True)
    try:
        hosts = labctl.up([HOST], systemd=True)
        with tempfile.NamedTemporaryFile('w', suffix='.ini', delete=False) as handle:
            handle.write(labctl.inventory(hosts))
            inventory = handle.name
        ansible(inventory, 'ansible.builtin.shell', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q '
                '--no-install-recommends lynis openscap-scanner ssg-debian')
        # Debian 12's ssg-debian (0.1.65) carries Debian 10 and 11 content only: take the newest.
        found = ansible(inventory, 'ansible.builtin.shell', 'ls /usr/share/xml/scap/ssg/content/ssg-debian*-ds.xml '
                        '| sort -V | tail -1')['stdout'].strip()
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
