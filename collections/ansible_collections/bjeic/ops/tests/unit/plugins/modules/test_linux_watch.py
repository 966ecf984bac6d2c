"""linux_watch's comparison with a baseline, and its setuid search."""
from ansible_collections.bjeic.ops.plugins.modules import linux_watch


BASE = {'listening': ['tcp/0.0.0.0:22'], 'processes': {'tcp/0.0.0.0:22': 'sshd'},
        'accounts': {'root': {'uid': 0, 'gid': 0, 'home': '/root', 'shell': '/bin/bash'},
                     'app': {'uid': 1000, 'gid': 1000, 'home': '/srv/app', 'shell': '/bin/sh'}},
        'privileged_groups': {'sudo': ['ops']},
        'setuid': {'/usr/bin/passwd': {'mode': '4755', 'uid': 0, 'gid': 0, 'sha256': 'aa'}},
        'firewall': {'nftables': ['table inet filter {', 'tcp dport 22 accept']}}


def test_watch_compare_reports_each_kind_of_change():
    now = {'listening': ['tcp/0.0.0.0:22', 'tcp/0.0.0.0:4444'], 'processes': {'tcp/0.0.0.0:4444': 'nc'},
           'accounts': dict(BASE['accounts'], toor={'uid': 0, 'gid': 0, 'home': '/', 'shell': '/bin/sh'},
                            app={'uid': 0, 'gid': 1000, 'home': '/srv/app', 'shell': '/bin/sh'}),
           'privileged_groups': {'sudo': ['ops', 'app']},
           'setuid': {'/usr/bin/passwd': {'mode': '4755', 'uid': 0, 'gid': 0, 'sha256': 'bb'},
                      '/tmp/.x': {'mode': '4755', 'uid': 0, 'gid': 0, 'sha256': 'cc'}},
           'firewall': {'nftables': ['table inet filter {', 'tcp dport 22 accept', 'tcp dport 4444 accept']}}
    found = dict(((f['check'], f['subject']), f['severity']) for f in linux_watch.compare(BASE, now, set(linux_watch.CHECKS)))
    assert found == {
        ('sec.listening_new', 'tcp/0.0.0.0:4444'): 'warning',
        ('sec.account_new', 'toor'): 'critical',            # a second user id 0
        ('sec.account_new', 'app'): 'critical',             # became user id 0
        ('sec.account_new', 'group:sudo'): 'critical',
        ('sec.setuid_changed', '/tmp/.x'): 'critical',
        ('sec.setuid_changed', '/usr/bin/passwd'): 'critical',   # content changed
        ('sec.firewall_drift', 'nftables'): 'warning',
    }
    assert linux_watch.compare(BASE, BASE, set(linux_watch.CHECKS)) == []
    drift = linux_watch.compare(BASE, now, {'sec.firewall_drift'})[0]['value']
    assert drift == {'added': ['tcp dport 4444 accept'], 'removed': []}


def test_setuid_search_finds_bits_and_stays_on_its_file_system(tmp_path):
    plain, suid = tmp_path / 'plain', tmp_path / 'suid'
    plain.write_text('x')
    suid.write_text('y')
    suid.chmod(0o4755)
    found, truncated = linux_watch.setuid_files([str(tmp_path)])
    assert list(found) == [str(suid)] and found[str(suid)]['mode'] == '4755' and not truncated
