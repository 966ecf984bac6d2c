"""The hardening catalogue is data: check it is whole, and that selection by id and tag works."""
import re

import pytest
import yaml

from ansible_collections.bjeic.ops.plugins.module_utils import harden_auth, harden_engine, harden_host
from ansible_collections.bjeic.ops.plugins.module_utils import harden_catalogue as catalogue
from ansible_collections.bjeic.ops.plugins.modules import linux_harden


def test_every_control_has_a_known_clause_kind_and_unique_id():
    ids = [c['id'] for c in catalogue.CONTROLS]
    assert len(ids) == len(set(ids))
    for control in catalogue.CONTROLS:
        assert control['clause'] in catalogue.CLAUSES, control['id']
        assert control['kind'] in harden_engine.KINDS, control['id']
        assert control['severity'] in ('critical', 'warning', 'info'), control['id']
        assert re.match(r'^[a-z]+\.[a-z0-9_]+$', control['id'])


def test_every_placeholder_is_a_setting_and_every_setting_is_documented():
    placeholders = set()

    def walk(value):
        if isinstance(value, str):
            placeholders.update(re.findall(r'{(\w+)}', value))
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
    for control in catalogue.CONTROLS:
        walk(control['params'])
    assert placeholders <= set(catalogue.DEFAULT_SETTINGS)
    documented = yaml.safe_load(linux_harden.DOCUMENTATION)['options']['settings']['description'][0]
    for key in catalogue.DEFAULT_SETTINGS:
        assert 'C(%s)' % key in documented, key


def test_the_requested_controls_are_all_there():
    ids = set(control['id'] for control in catalogue.CONTROLS)
    assert {'pwd.complexity', 'pwd.max_days', 'pwd.min_days', 'pwd.history', 'auth.faillock', 'session.tmout',
            'ssh.client_alive', 'ssh.root_login', 'ssh.max_auth_tries', 'ssh.crypto', 'ssh.empty_passwords',
            'ssh.protocol', 'ssh.banner', 'svc.insecure', 'audit.auditd', 'audit.rules', 'log.rsyslog',
            'umask.default', 'perm.account_files', 'acct.uid0', 'acct.empty_password', 'acct.system_nologin',
            'core.restrict', 'net.sysctl'} <= ids


def select(include=(), exclude=()):
    return [c['id'] for c in harden_engine.select_controls(list(catalogue.CONTROLS), list(include), list(exclude), 'debian')]


def test_selection_by_id_and_tag_and_opt_in():
    everything = select()
    assert 'ssh.password_auth' not in everything            # opt-in: only when named by id
    assert 'ssh.password_auth' not in select(['ssh'])
    assert select(['ssh.password_auth']) == ['ssh.password_auth']
    assert set(select(['password'])) == {'pwd.complexity', 'pwd.max_days', 'pwd.min_days', 'pwd.warn_age',
                                         'pwd.existing_users', 'pwd.history'}
    assert not [c for c in select(exclude=['ssh']) if c.startswith('ssh.')]
    with pytest.raises(ValueError, match='unknown control ids or tags: nope'):
        select(['nope'])


def test_fill_replaces_settings_everywhere():
    filled = harden_host.fill({'a': ['{umask}', ('x', '{session_timeout}')]}, dict(catalogue.DEFAULT_SETTINGS))
    assert filled == {'a': ['027', ['x', '600']]}


def test_authselect_backups_cover_link_targets(tmp_path):
    profile = tmp_path / 'authselect-system-auth'
    profile.write_text('auth sufficient pam_unix.so\n')
    link = tmp_path / 'system-auth'
    link.symlink_to(profile)
    files = harden_auth.authselect_files([str(link)])
    assert str(link) in files and str(profile) in files and files[-1] == '/etc/authselect/authselect.conf'
