"""Reading an Ansible inventory (static or dynamic) the way Ansible itself does: `ansible-inventory --list`."""
import json
import os
import subprocess
import sys

from . import BjeicOpsError
from .progress import printable


def inventory_list(inventory, timeout=600):
    """The inventory as `ansible-inventory -i INVENTORY --list` prints it (groups, and hostvars under _meta)."""
    if ',' not in inventory and not os.path.exists(inventory):
        raise BjeicOpsError('no inventory at %s' % os.path.abspath(inventory))
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i', inventory, '--list']
    # A source that does not parse is an error, not an inventory with fewer hosts in it.
    env = dict(os.environ, ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED='True', ANSIBLE_INVENTORY_UNPARSED_FAILED='True')
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BjeicOpsError('cannot run ansible-inventory: %s' % exc)
    if done.returncode != 0:
        errors = [line for line in (done.stderr or '').splitlines() if 'ERROR' in line] or (done.stderr or '?').splitlines()
        raise BjeicOpsError('the inventory %s cannot be read: %s' % (inventory, errors[-1].split(':', 1)[-1].strip()[:300]))
    return json.loads(done.stdout)


class InventoryProblem(BjeicOpsError):
    pass


class CheckedInventory:
    """An inventory parsed in this process the way ansible-playbook will parse it, refused when any source in
    it does not parse (ansible-playbook would only warn and run on fewer hosts, or on none) or when it and the
    limit leave no host. `hosts(pattern)` names the hosts a play's pattern selects, for the progress display."""

    def __init__(self, path, limit=None):
        import contextlib
        import io
        import re
        from ansible.inventory.manager import InventoryManager
        from ansible.parsing.dataloader import DataLoader

        class Recording(InventoryManager):
            """Keeps the files no inventory plugin could parse (ansible itself only warns about them)."""

            def parse_source(self, source, cache=False):
                parsed = super().parse_source(source, cache=cache)
                if not parsed and not os.path.isdir(source):
                    self.__dict__.setdefault('unparsed', []).append(source)
                return parsed

        self.path = os.path.abspath(path)
        if not os.path.exists(self.path):
            raise InventoryProblem('no inventory at %s' % self.path)
        said = io.StringIO()
        with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):   # ansible's warnings, kept for the reason
            self._manager = Recording(loader=DataLoader(), sources=[self.path])
        unparsed = self._manager.__dict__.get('unparsed', [])
        if unparsed:
            reasons = re.findall(r"Failed to parse inventory with '(\w+)' plugin: ([^\n]+)", said.getvalue())
            wanted = 'yaml' if unparsed[0].endswith(('.yml', '.yaml')) else 'ini'
            reason = next((text for plugin, text in reasons if plugin == wanted), reasons[0][1] if reasons else '')
            line = re.search(r'Origin: %s:(\d+)' % re.escape(unparsed[0]), said.getvalue())
            reason = printable(reason.strip().rstrip('.'))
            reason = (reason if len(reason) <= 200 else reason[:200] + '...') + (' (line %s)' % line.group(1) if line else '')
            raise InventoryProblem('the inventory %s cannot be parsed%s%s; nothing was run (`ansible-inventory -i %s '
                                   '--list` shows every plugin\'s complaint)'
                                   % (unparsed[0], ': ' if reason else '', reason, unparsed[0]))
        if limit:
            self._manager.subset(limit)
        if not self.hosts('all'):
            raise InventoryProblem('%s has no host to run on%s; nothing was run'
                                   % (self.path, ' within --limit %s' % limit if limit else ''))

    def hosts(self, pattern):
        import contextlib
        import io
        from ansible.errors import AnsibleError
        try:
            with contextlib.redirect_stderr(io.StringIO()):   # "could not match pattern" is not for the operator
                return {host.name for host in self._manager.get_hosts(pattern or 'all')}
        except AnsibleError:  # an odd pattern must not break the run; the display just shows fewer hosts
            return set()
