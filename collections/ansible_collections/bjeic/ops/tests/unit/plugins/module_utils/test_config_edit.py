"""Configuration edits on real files' contents: login.defs and PAM stacks captured from Debian 12,
a written RHEL 9 system-auth sample, and sshd_config managed blocks."""
import os

import pytest

from ansible_collections.bjeic.ops.plugins.module_utils import config_edit as edit

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures')


def fixture(*name):
    with open(os.path.join(FIXTURES, *name)) as handle:
        return handle.read()


def test_login_defs_value_is_read_and_set_in_place():
    text = fixture('login.defs.debian12')
    assert edit.kv_get(text, 'PASS_MAX_DAYS') == '99999'
    changed = edit.kv_set(text, 'PASS_MAX_DAYS', '90')
    assert edit.kv_get(changed, 'PASS_MAX_DAYS') == '90'
    # Only that line changed; the commented documentation is untouched.
    diff = [(a, b) for a, b in zip(text.splitlines(), changed.splitlines()) if a != b]
    assert diff == [('PASS_MAX_DAYS\t99999', 'PASS_MAX_DAYS\t90')]


def test_equals_files_append_a_missing_key():
    text = '# deny = 3\n# unlock_time = 600\n'
    changed = edit.kv_set(text, 'deny', '5', '=')
    assert changed.endswith('deny = 5\n') and edit.kv_get(changed, 'deny', '=') == '5'
    assert edit.kv_get(text, 'deny', '=') is None        # a commented line is not a value


@pytest.mark.parametrize('current, op, wanted, ok', [
    ('99999', 'le', '90', False), ('60', 'le', '90', True), ('0', 'ge', '1', False), ('027', 'eq', '027', True),
    (None, 'ge', '1', False), ('abc', 'le', '3', False), ('0', 'pos_le', '300', False), ('300', 'pos_le', '300', True)])
def test_compare(current, op, wanted, ok):
    assert edit.compare(current, op, wanted) is ok


def test_faillock_wraps_debian_pam_unix_and_keeps_later_modules_reachable():
    text = fixture('pam', 'debian12-common-auth')
    changed = edit.pam_add_faillock_auth(text)
    rules = [(r[2], r[3], r[4]) for r in edit.pam_parse(changed)]
    assert rules == [
        ('required', 'pam_faillock.so', ['preauth']),
        ('[success=2 default=ignore]', 'pam_unix.so', ['nullok']),
        ('[default=die]', 'pam_faillock.so', ['authfail']),
        ('requisite', 'pam_deny.so', []),
        ('required', 'pam_faillock.so', ['authsucc']),
        ('required', 'pam_permit.so', []),
        ('optional', 'pam_cap.so', []),
    ]
    # success=2 from pam_unix skips authfail and pam_deny and lands on authsucc, as before on pam_permit.
    index = [r[3] for r in edit.pam_parse(changed)].index('pam_unix.so')
    assert rules[index + 2 + 1][2] == ['authsucc']


def test_faillock_on_rhel_sufficient_pam_unix():
    changed = edit.pam_add_faillock_auth(fixture('pam', 'rhel9-system-auth'))
    modules = [(r[3], r[4]) for r in edit.pam_parse(changed) if r[1] == 'auth']
    assert modules == [('pam_env.so', []), ('pam_faillock.so', ['preauth']), ('pam_unix.so', ['nullok']),
                       ('pam_faillock.so', ['authfail']), ('pam_deny.so', [])]


def test_faillock_refuses_a_layout_it_does_not_understand():
    with pytest.raises(edit.EditError, match='exactly one'):
        edit.pam_add_faillock_auth('auth required pam_deny.so\n')
    odd = 'auth [success=3 default=ignore] pam_unix.so\nauth requisite pam_deny.so\n'
    with pytest.raises(edit.EditError):
        edit.pam_add_faillock_auth(odd)


def test_pwhistory_goes_before_pam_unix_without_changing_its_jump():
    text = fixture('pam', 'debian12-common-password')
    line = edit.pam_rule('password', 'required', 'pam_pwhistory.so', ('remember=5', 'use_authtok'))
    changed = edit.pam_insert_before(text, 'password', 'pam_unix.so', line)
    rules = [(r[2], r[3]) for r in edit.pam_parse(changed)]
    assert rules[:2] == [('required', 'pam_pwhistory.so'), ('[success=1 default=ignore]', 'pam_unix.so')]
    assert edit.pam_arg(edit.pam_find(changed, 'password', 'pam_pwhistory.so')[0][2], 'remember') == '5'
    again = edit.pam_set_arg(changed, 'password', 'pam_pwhistory.so', 'remember', '8')
    assert edit.pam_arg(edit.pam_find(again, 'password', 'pam_pwhistory.so')[0][2], 'remember') == '8'


def test_sshd_block_goes_first_and_replaces_an_older_one():
    original = 'Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n'
    once = edit.sshd_managed_block(original, 'mlps3', [('PermitRootLogin', 'no'), ('MaxAuthTries', '4')])
    assert once.splitlines()[1:3] == ['PermitRootLogin no', 'MaxAuthTries 4']
    assert once.endswith(original)
    twice = edit.sshd_managed_block(once, 'mlps3', [('PermitRootLogin', 'no')])
    assert twice.count('BEGIN bjeic.ops') == 1 and 'MaxAuthTries' not in twice
    assert edit.sshd_remove_block(twice, 'mlps3') == original


def test_parse_sshd_T():
    config = edit.parse_sshd_T('port 22\nciphers aes128-ctr,aes256-ctr\nlisten 0.0.0.0:22\nlisten [::]:22\n')
    assert config['ciphers'] == 'aes128-ctr,aes256-ctr'
    assert config['listen'] == '0.0.0.0:22\n[::]:22'
