"""Build hook only (everything else is in pyproject.toml): a wheel carries the project it runs.

An installed bjeic-ops must run the project's playbooks with the project's ansible.cfg from any directory, so
the wheel takes ansible.cfg, playbooks/, inventories/local/ and the bjeic.ops collection into the package as
bjeic_ops/project/. An editable install (pip install -e) uses the checkout itself and gets no copy.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_FILES = ('ansible.cfg', 'playbooks', os.path.join('inventories', 'local'),
                 os.path.join('collections', 'ansible_collections', 'bjeic', 'ops'))
LEFT_OUT = shutil.ignore_patterns('__pycache__', '*.pyc', 'tests', '.ansible', 'output')


class BuildWithProject(build_py):
    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = os.path.join(self.build_lib, 'bjeic_ops', 'project')
        shutil.rmtree(target, ignore_errors=True)   # nothing left over from an earlier build
        for item in PROJECT_FILES:
            source, dest = os.path.join(HERE, item), os.path.join(target, item)
            if os.path.isdir(source):
                shutil.copytree(source, dest, ignore=LEFT_OUT, dirs_exist_ok=True)
            else:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy2(source, dest)


setup(cmdclass={'build_py': BuildWithProject})
