"""linux_harden through the wrapper on lab hosts: change records carry the backup as rollback
handle, `bjeic-ops rollback` restores the files exactly, and the management channel survives.
The full baseline (every control, /etc compared entry by entry, lockout with pamtester) is the
Molecule scenario harden_enforce_rollback."""
import json

import pytest

pytestmark = pytest.mark.lab

FILES = ('/etc/login.defs', '/etc/ssh/sshd_config', '/etc/pam.d/common-auth', '/etc/pam.d/common-password',
         '/etc/pam.d/common-account', '/etc/security/faillock.conf', '/etc/profile.d/bjeic-mlps3-tmout.sh')


def on_host(labctl, name, command):
    return labctl.sh(name, command, check=False)


def fingerprint(labctl, name):
    return on_host(labctl, name, 'for f in %s; do if [ -e $f ]; then stat -c "%%n %%a %%U:%%G" $f; sha256sum $f; '
                                 'else echo "$f absent"; fi; done' % ' '.join(FILES))


def test_enforce_is_recorded_and_rolled_back_through_the_wrapper(cli, lab_inventory, labctl):
    before = fingerprint(labctl, 'pytest-sd')
    args = ('-e', 'harden_mode=enforce', '-e', '{"harden_controls": ["password", "ssh", "session", "login"]}')
    cli('run', 'harden.yml', '-i', lab_inventory, '--limit', 'pytest-sd', '--ticket', 'CHG-HARDEN-1', *args)
    records = json.loads(cli('changes', '--host', 'pytest-sd', '--format', 'json').stdout)
    objects = {r['object'] for r in records}
    assert {'/etc/login.defs', '/etc/ssh/sshd_config', '/etc/pam.d/common-auth'} <= objects
    handles = {json.dumps(r['rollback'], sort_keys=True) for r in records}
    assert len(handles) == 1                     # one backup undoes the whole enforce
    handle = records[0]['rollback']
    assert handle['how'] == {'module': 'bjeic.ops.linux_harden', 'args': {'mode': 'rollback', 'backup_id': handle['id']}}
    assert all(r['ticket'] == 'CHG-HARDEN-1' and r['module'] == 'bjeic.ops.linux_harden' for r in records)
    assert 'PermitRootLogin no' in on_host(labctl, 'pytest-sd', 'sshd -T | grep -i permitrootlogin').replace('permitrootlogin', 'PermitRootLogin')

    # The audit findings of the hardened host are in the store, by control id.
    cli('run', 'harden.yml', '-i', lab_inventory, '--limit', 'pytest-sd')
    findings = json.loads(cli('findings', '--format', 'json').stdout)
    assert 'ssh.root_login' not in {f['check'] for f in findings}
    assert 'audit.auditd' in {f['check'] for f in findings}      # not enforced in this run

    done = cli('rollback', records[0]['id'], '--ticket', 'CHG-HARDEN-1-RB')
    assert 'complete (successful' in done.stdout
    assert fingerprint(labctl, 'pytest-sd') == before
    restored = json.loads(cli('changes', '--format', 'json').stdout)[-1]
    assert (restored['ticket'], restored['action']) == ('CHG-HARDEN-1-RB', 'restore')


def test_without_systemd_services_are_skipped_and_files_still_enforced(cli, lab_inventory):
    cli('run', 'harden.yml', '-i', lab_inventory, '--limit', 'pytest-plain', '-e', 'harden_mode=enforce',
        '-e', '{"harden_controls": ["audit.auditd", "pwd.max_days", "ssh.max_auth_tries"]}')
    rows = json.loads(cli('changes', '--host', 'pytest-plain', '--format', 'json').stdout)
    assert {'/etc/login.defs', '/etc/ssh/sshd_config'} <= {r['object'] for r in rows}
    assert not any('auditd' in (r['object'] or '') for r in rows)


def test_refuses_to_cut_root_off_when_root_is_the_management_user(cli, lab_inventory):
    done = cli('run', 'harden.yml', '-i', lab_inventory, '--limit', 'pytest-plain', '-e', 'harden_mode=enforce',
               '-e', '{"harden_controls": ["ssh.root_login"], "harden_management_users": ["root"]}', check=False)
    assert done.returncode == 2
    store = cli.store()
    failed = [r for r in store.host_results(store.list_runs()[0]['id']) if r['status'] == 'failed']
    assert 'enforce refused, nothing was changed: ssh.root_login: Ansible (or the operator) connects as root' in failed[0]['msg']
