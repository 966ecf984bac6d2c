"""Reading an Ansible inventory (static or dynamic) the way Ansible itself does: `ansible-inventory --list`."""
import json
import os
import subprocess
import sys

from . import BjeicOpsError


def inventory_list(inventory, timeout=600):
    """The inventory as `ansible-inventory -i INVENTORY --list` prints it (groups, and hostvars under _meta)."""
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i', inventory, '--list']
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BjeicOpsError('cannot run ansible-inventory: %s' % exc)
    if done.returncode != 0:
        raise BjeicOpsError('ansible-inventory -i %s --list failed: %s' % (inventory, (done.stderr or '').strip()[-800:]))
    return json.loads(done.stdout)
