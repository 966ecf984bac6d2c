"""The one rule that picks a host's Linux or Windows tasks from its connection."""
import pytest

from ansible_collections.bjeic.ops.plugins.filter.os_family import FilterModule

os_family = FilterModule().filters()['os_family']


@pytest.mark.parametrize('connection, shell_type, family', [
    ('winrm', '', 'windows'), ('psrp', '', 'windows'), ('ansible.builtin.winrm', None, 'windows'),
    ('ansible.builtin.psrp', '', 'windows'), ('ssh', 'powershell', 'windows'),
    ('ssh', '', 'linux'), ('ssh', 'sh', 'linux'), ('', '', 'linux'), (None, None, 'linux'), ('local', '', 'linux'),
    ('community.general.lxc', '', 'linux')])
def test_family_by_connection_and_shell(connection, shell_type, family):
    assert os_family(connection, shell_type) == family


def test_shell_type_is_optional():
    assert os_family('winrm') == 'windows' and os_family('ssh') == 'linux'
