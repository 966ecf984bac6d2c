#!/usr/bin/env python3
"""Start and stop lab hosts: podman containers from the Debian 12 lab image, reached over SSH
on 127.0.0.1 with a generated key. Used by Molecule scenarios, pytest and the benchmarks.

  labctl.py up NAME [NAME ...] [--systemd] [--tmpfs PATH:SIZE ...] [--variant dnf]
            [--volume SRC:DST[:OPTIONS] ...] [--cap-add CAP ...]         prints hosts as JSON
  labctl.py down NAME [NAME ...]                                     removes the containers
  labctl.py inventory NAME [NAME ...]                                prints an INI inventory
  labctl.py image [--variant dnf]                                    prints (builds) the lab image name

The dnf variant is the lab image with Debian's dnf and rpm installed from its local repository,
committed once per base image: a host where dnf manages packages, for the patching tests.
"""
import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import time

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(LAB_DIR)
STATE_DIR = os.environ.get('BJEIC_LAB_STATE', os.path.join(ROOT, '.lab'))
IMAGE_INPUTS = ('build-image.sh', 'lab-init.sh')


def image_name(variant=None):
    """The lab image, tagged by a hash of what builds it, so a changed recipe means a new image."""
    if os.environ.get('LAB_IMAGE'):
        base = os.environ['LAB_IMAGE']
    else:
        digest = hashlib.sha256()
        for name in IMAGE_INPUTS:
            with open(os.path.join(LAB_DIR, name), 'rb') as handle:
                digest.update(handle.read())
        base = 'localhost/bjeic-lab:bookworm-' + digest.hexdigest()[:12]
    if variant:   # the variant's tag also carries a hash of its own recipe
        recipe = hashlib.sha256(VARIANTS[variant].encode()).hexdigest()[:6]
        return base.replace('bjeic-lab:', 'bjeic-lab-%s:' % variant, 1) + '-' + recipe
    return base


VARIANTS = {
    # variant: the command that turns the base image into it (from the image's local repository only)
    # The test packages are unsigned: gpgcheck is off in this lab image only. releasever is set
    # because a Debian host has no system-release package for dnf to read it from.
    'dnf': 'apt-get install -y -qq dnf dnf-plugins-core rpm >/dev/null && apt-get clean '
           '&& mkdir -p /etc/yum.repos.d && echo 9 >/etc/dnf/vars/releasever '
           '&& sed -i "s/^gpgcheck=.*/gpgcheck=False\\nlocalpkg_gpgcheck=False/" /etc/dnf/dnf.conf',
    # A database host: MariaDB from the image's local repository. policy-rc.d keeps the package
    # scripts from starting the server in the build container; systemd starts it on lab hosts.
    'mariadb': 'printf "#!/bin/sh\\nexit 101\\n" >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d '
               '&& apt-get install -y -qq mariadb-server mariadb-client >/dev/null && apt-get clean '
               '&& rm -f /usr/sbin/policy-rc.d',
}


def ensure_variant(variant):
    """Build the variant image from the base image once (podman commit), then reuse it."""
    image = image_name(variant)
    if podman('image', 'exists', image, check=False).returncode == 0:
        return image
    if podman('image', 'exists', image_name(), check=False).returncode != 0:
        raise LabError('lab image %s is missing: run lab/build-image.sh first' % image_name())
    builder = PREFIX + 'build-' + variant
    podman('rm', '-f', builder, check=False)
    podman('run', '--name', builder, image_name(), 'sh', '-c', VARIANTS[variant])
    try:
        podman('commit', '--quiet', '--change', 'CMD ["/usr/local/sbin/lab-init"]', builder, image)
    finally:
        podman('rm', '-f', builder, check=False)
    return image

PREFIX = 'bjeic-lab-'
KEY = os.path.join(STATE_DIR, 'id_ed25519')
SSH_OPTIONS = ('-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
               '-o ControlMaster=auto -o ControlPersist=60s -o IdentitiesOnly=yes')


class LabError(Exception):
    pass


def podman(*args, check=True):
    env = dict(os.environ, CONTAINERS_CONF=os.environ.get(
        'CONTAINERS_CONF', os.path.join(LAB_DIR, 'containers.conf')))
    result = subprocess.run(('podman',) + args, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise LabError('podman %s failed: %s' % (' '.join(args), result.stderr.strip()))
    return result


def ensure_key():
    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    if not os.path.exists(KEY):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'bjeic-lab',
                        '-f', KEY], check=True)
    return KEY


def ssh_port(name):
    out = podman('port', PREFIX + name, '22/tcp').stdout.strip()
    return int(out.rsplit(':', 1)[1])


def wait_for_ssh(port, timeout=60):
    """Wait until sshd answers with its banner (a bare TCP accept is not enough)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=2) as sock:
                if sock.recv(4).startswith(b'SSH-'):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise LabError('lab host on 127.0.0.1:%d did not answer SSH within %ds' % (port, timeout))


def host_record(name):
    return {'name': name, 'container': PREFIX + name, 'address': '127.0.0.1',
            'port': ssh_port(name), 'user': 'lab', 'identity_file': KEY}


def up(names, systemd=False, tmpfs=(), variant=None, volumes=(), caps=()):
    ensure_key()
    image = ensure_variant(variant) if variant else image_name()
    hosts = []
    for name in names:
        container = PREFIX + name
        if podman('container', 'exists', container, check=False).returncode != 0:
            args = ['run', '-d', '--name', container, '--hostname', name,
                    '--label', 'bjeic-lab=1', '-p', '127.0.0.1::22',
                    # Firewall rules are part of what hosts report; reading them needs NET_ADMIN
                    # inside the container's own network namespace.
                    '--cap-add', 'NET_ADMIN',
                    '-v', KEY + '.pub:/etc/ssh/lab_authorized_keys:ro']
            for spec in volumes:
                args += ['-v', spec]
            for cap in caps:
                args += ['--cap-add', cap]
            for spec in tmpfs:
                path, _sep, size = spec.partition(':')
                args += ['--mount', 'type=tmpfs,destination=%s,tmpfs-size=%s' % (path, size or '16m')]
            if systemd:
                args += ['--systemd=always', image, '/sbin/init']
            else:
                args += [image]
            podman(*args)
        hosts.append(host_record(name))
    for host in hosts:
        wait_for_ssh(host['port'])
    return hosts


def molecule_instance(host):
    return {'instance': host['name'], 'address': host['address'], 'port': host['port'],
            'user': host['user'], 'identity_file': host['identity_file'], 'become_method': 'sudo'}


def sh(name, command, check=True):
    """Run a shell command on a lab host (podman exec, no SSH); returns its standard output."""
    return podman('exec', PREFIX + name, 'sh', '-c', command, check=check).stdout


def down(names):
    for name in names:
        podman('rm', '-f', '-t', '2', PREFIX + name, check=False)


def inventory(hosts, group='linux'):
    lines = ['[%s]' % group]
    for host in hosts:
        lines.append('%s ansible_host=%s ansible_port=%d ansible_user=%s '
                     'ansible_ssh_private_key_file=%s' % (
                         host['name'], host['address'], host['port'], host['user'],
                         host['identity_file']))
    lines += ['', '[%s:vars]' % group, 'ansible_become=true',
              "ansible_ssh_common_args='%s'" % SSH_OPTIONS, '']
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p_up = sub.add_parser('up')
    p_up.add_argument('names', nargs='+')
    p_up.add_argument('--systemd', action='store_true', help='run systemd as PID 1')
    p_up.add_argument('--tmpfs', action='append', default=[], metavar='PATH:SIZE')
    p_up.add_argument('--molecule', action='store_true', help='print Molecule instance-config entries')
    p_up.add_argument('--variant', choices=sorted(VARIANTS), help='a variant of the lab image (built on first use)')
    p_up.add_argument('--volume', action='append', default=[], metavar='SRC:DST[:OPTIONS]')
    p_up.add_argument('--cap-add', action='append', default=[], metavar='CAP', dest='caps')
    sub.add_parser('down').add_argument('names', nargs='+')
    sub.add_parser('image', help='print the lab image name').add_argument('--variant', choices=sorted(VARIANTS))
    sub.add_parser('inventory').add_argument('names', nargs='+')
    args = parser.parse_args(argv)
    try:
        if args.command == 'up':
            hosts = up(args.names, args.systemd, args.tmpfs, args.variant, args.volume, args.caps)
            if args.molecule:
                hosts = [molecule_instance(host) for host in hosts]
            print(json.dumps(hosts, indent=2))
        elif args.command == 'image':
            print(ensure_variant(args.variant) if args.variant else image_name())
        elif args.command == 'down':
            down(args.names)
        else:
            print(inventory([host_record(name) for name in args.names]))
    except LabError as exc:
        print('labctl: %s' % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
