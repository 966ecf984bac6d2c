"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads from the internet.

ansible-test runs each sanity test in its own virtual environment and bootstraps pip in it
with get-pip.py; with only the package registries reachable, that download fails. This does
the same job from the interpreter's own ensurepip, then installs what was asked for (pip
pinned to ansible-test's version) from the package index. scripts/test copies it into
~/.ansible/test/cache/get_pip_<version>.py, where ansible-test looks before downloading.
"""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args)
