#!/usr/bin/env python3
"""Test packages for the patching tests, built here with the real tools, in two versions, and the
local repositories that serve them (an apt flat repository and a dnf repository with updateinfo).

  testrepo.py build OUT     builds OUT/debs and OUT/rpms (every package, every version)
  testrepo.py stage OUT old|new [--keep-old-rpms]
                            fills OUT/apt/{main,security} and OUT/rpm with that stage's packages

Stage `old`: bjeic-demo-lib 1.0, bjeic-demo-app 1.0 (needs lib >= 1.0), bjeic-demo-tool 1.0.
Stage `new`: lib 1.1, app 1.1 (needs lib >= 1.1 and the new bjeic-demo-extra), tool 1.1 published
as a security update (apt: a repository labelled like Debian-Security; dnf: an updateinfo advisory
of type security). Like Debian's archive, the apt repositories of stage `new` no longer carry the
old versions; the dnf repository keeps them (as RHEL's do) unless told otherwise.
"""
import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile

PACKAGES = {
    # name: {version: requirements}
    'bjeic-demo-lib': {'1.0': [], '1.1': []},
    'bjeic-demo-app': {'1.0': [('bjeic-demo-lib', '1.0')], '1.1': [('bjeic-demo-lib', '1.1'), ('bjeic-demo-extra', None)]},
    'bjeic-demo-extra': {'1.0': []},
    'bjeic-demo-tool': {'1.0': [], '1.1': []},
}
RELEASE = '1'
STAGES = {
    'old': {'main': [('bjeic-demo-lib', '1.0'), ('bjeic-demo-app', '1.0')], 'security': [('bjeic-demo-tool', '1.0')]},
    'new': {'main': [('bjeic-demo-lib', '1.1'), ('bjeic-demo-app', '1.1'), ('bjeic-demo-extra', '1.0')],
            'security': [('bjeic-demo-tool', '1.1')]},
}
SECURITY_ADVISORY = ('bjeic-demo-tool', '1.1')


def payload(name, version):
    """The files a package installs: a versioned data file and a small command."""
    short = name.replace('bjeic-demo-', '')
    return {
        'usr/share/bjeic-demo/%s.txt' % short: '%s %s\n' % (name, version),
        'usr/bin/%s' % name: '#!/bin/sh\necho "%s %s"\n' % (name, version),
    }


def run(*args, **kwargs):
    done = subprocess.run(args, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        raise SystemExit('testrepo: %s failed: %s%s' % (' '.join(args), done.stdout[-2000:], done.stderr[-2000:]))
    return done.stdout


def write_tree(root, files):
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(text)
        os.chmod(path, 0o755 if relative.startswith('usr/bin/') else 0o644)


def build_deb(out, name, version, requires):
    with tempfile.TemporaryDirectory() as tree:
        write_tree(tree, payload(name, version))
        depends = ', '.join('%s (>= %s)' % (dep, low) if low else dep for dep, low in requires)
        os.makedirs(os.path.join(tree, 'DEBIAN'))
        control = ['Package: %s' % name, 'Version: %s-%s' % (version, RELEASE), 'Architecture: all',
                   'Maintainer: bjeic.ops tests <ops@example.invalid>', 'Section: misc', 'Priority: optional']
        if depends:
            control.append('Depends: %s' % depends)
        control.append('Description: bjeic.ops patching test package\n %s version %s' % (name, version))
        with open(os.path.join(tree, 'DEBIAN', 'control'), 'w') as handle:
            handle.write('\n'.join(control) + '\n')
        target = os.path.join(out, '%s_%s-%s_all.deb' % (name, version, RELEASE))
        run('dpkg-deb', '--root-owner-group', '-Zgzip', '--build', tree, target)
        return target


SPEC = """Name: {name}
Version: {version}
Release: {release}
Summary: bjeic.ops patching test package
License: GPL-3.0-or-later
BuildArch: noarch
AutoReqProv: no
{requires}
%description
{name} version {version}, a bjeic.ops patching test package.

%install
{install}

%files
{files}
"""


def build_rpm(out, name, version, requires):
    files = payload(name, version)
    with tempfile.TemporaryDirectory() as topdir:
        install = []
        for relative, text in files.items():
            install.append('mkdir -p %%{buildroot}/%s' % os.path.dirname(relative))
            install.append("printf '%%s' '%s' > %%{buildroot}/%s" % (text.replace("'", "'\\''").replace('%', '%%'), relative))
            install.append('chmod %s %%{buildroot}/%s' % ('0755' if relative.startswith('usr/bin/') else '0644', relative))
        spec = SPEC.format(name=name, version=version, release=RELEASE,
                           requires='\n'.join('Requires: %s >= %s' % (dep, low) if low else 'Requires: %s' % dep
                                              for dep, low in requires),
                           install='\n'.join(install), files='\n'.join('/' + f for f in files))
        spec_path = os.path.join(topdir, name + '.spec')
        with open(spec_path, 'w') as handle:
            handle.write(spec)
        run('rpmbuild', '-bb', '--nodeps', '--quiet', '--define', '_topdir %s' % topdir, spec_path)
        built = glob.glob(os.path.join(topdir, 'RPMS', 'noarch', '*.rpm'))
        target = os.path.join(out, os.path.basename(built[0]))
        shutil.copy(built[0], target)
        return target


def build(out):
    for kind, builder in (('debs', build_deb), ('rpms', build_rpm)):
        os.makedirs(os.path.join(out, kind), exist_ok=True)
        for name, versions in PACKAGES.items():
            for version, requires in versions.items():
                builder(os.path.join(out, kind), name, version, requires)


def deb_file(out, name, version):
    return os.path.join(out, 'debs', '%s_%s-%s_all.deb' % (name, version, RELEASE))


def rpm_file(out, name, version):
    return os.path.join(out, 'rpms', '%s-%s-%s.noarch.rpm' % (name, version, RELEASE))


def fill(directory, files):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for path in files:
        shutil.copy(path, directory)


def apt_flat_repo(directory, files, label, suite):
    fill(directory, files)
    packages = run('apt-ftparchive', 'packages', '.', cwd=directory)
    with open(os.path.join(directory, 'Packages'), 'w') as handle:
        handle.write(packages)
    release = run('apt-ftparchive', '-o', 'APT::FTPArchive::Release::Origin=%s' % label,
                  '-o', 'APT::FTPArchive::Release::Label=%s' % label,
                  '-o', 'APT::FTPArchive::Release::Suite=%s' % suite, 'release', '.', cwd=directory)
    with open(os.path.join(directory, 'Release'), 'w') as handle:
        handle.write(release)


UPDATEINFO = """<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="lab@example.invalid" status="stable" type="security" version="1.4">
    <id>LAB-SA-2026:0001</id>
    <title>{name} security update</title>
    <issued date="2026-11-20 00:00:00"/>
    <severity>Important</severity>
    <description>A security fix in {name} (bjeic.ops test advisory).</description>
    <pkglist>
      <collection short="lab">
        <name>lab</name>
        <package name="{name}" version="{version}" release="{release}" epoch="0" arch="noarch">
          <filename>{filename}</filename>
        </package>
      </collection>
    </pkglist>
  </update>
</updates>
"""


def rpm_repo(directory, files, with_advisory):
    fill(directory, files)
    run('createrepo_c', '--quiet', directory)
    if with_advisory:
        name, version = SECURITY_ADVISORY
        path = os.path.join(directory, 'updateinfo.xml')
        with open(path, 'w') as handle:
            handle.write(UPDATEINFO.format(name=name, version=version, release=RELEASE,
                                           filename=os.path.basename(rpm_file('', name, version))))
        run('modifyrepo_c', '--mdtype=updateinfo', path, os.path.join(directory, 'repodata'))
        os.unlink(path)


def stage(out, name, keep_old_rpms=True):
    wanted = STAGES[name]
    apt_flat_repo(os.path.join(out, 'apt', 'main'), [deb_file(out, *p) for p in wanted['main']], 'Lab', 'bookworm')
    apt_flat_repo(os.path.join(out, 'apt', 'security'), [deb_file(out, *p) for p in wanted['security']],
                  'Lab-Security', 'bookworm-security')
    rpms = [rpm_file(out, *p) for p in wanted['main'] + wanted['security']]
    if name == 'new' and keep_old_rpms:
        rpms += [rpm_file(out, *p) for p in STAGES['old']['main'] + STAGES['old']['security']]
    rpm_repo(os.path.join(out, 'rpm'), rpms, with_advisory=(name == 'new'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('build').add_argument('out')
    p_stage = sub.add_parser('stage')
    p_stage.add_argument('out')
    p_stage.add_argument('name', choices=sorted(STAGES))
    p_stage.add_argument('--drop-old-rpms', action='store_true', help='stage new without the old rpm versions')
    args = parser.parse_args(argv)
    if args.command == 'build':
        build(args.out)
    else:
        stage(args.out, args.name, keep_old_rpms=not args.drop_old_rpms)
    return 0


if __name__ == '__main__':
    sys.exit(main())
