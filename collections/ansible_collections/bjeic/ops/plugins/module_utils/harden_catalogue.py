# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The MLPS 2.0 level-3 baseline for Linux (GB/T 22239-2019, 8.1.4 安全计算环境) as data.

One entry per control: id (also the finding's check id), title, clause, tags, severity of a
failure, the engine `kind` that checks and applies it, and its parameters. Values in braces
(`{password_max_days}`) are settings the user can override (DEFAULT_SETTINGS). `families`
limits a control to debian or redhat hosts; paths that differ by family are dicts keyed by family.
Controls with `enforce: false` are audited only (no safe automatic fix).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Clauses of GB/T 22239-2019 level 3, 8.1.4 (security computing environment).
CLAUSES = {
    '8.1.4.1a': '身份鉴别 a) 身份标识唯一，口令复杂度并定期更换',
    '8.1.4.1b': '身份鉴别 b) 登录失败处理、连接超时自动退出',
    '8.1.4.1c': '身份鉴别 c) 远程管理防止鉴别信息被窃听',
    '8.1.4.2b': '访问控制 b) 重命名或删除默认账户，修改默认口令',
    '8.1.4.2c': '访问控制 c) 删除或停用多余、过期账户',
    '8.1.4.2d': '访问控制 d) 授予管理用户所需最小权限',
    '8.1.4.3a': '安全审计 a) 启用安全审计功能，覆盖每个用户',
    '8.1.4.3c': '安全审计 c) 保护审计记录',
    '8.1.4.4a': '入侵防范 a) 最小安装原则',
    '8.1.4.4b': '入侵防范 b) 关闭不需要的系统服务和高危端口',
    '8.1.4.4c': '入侵防范 c) 限制管理终端（登录提示与远程管理）',
}

DEFAULT_SETTINGS = {
    'password_min_length': 8,
    'password_min_classes': 3,
    'password_max_days': 90,
    'password_min_days': 1,
    'password_warn_age': 7,
    'password_history': 5,
    'lockout_attempts': 5,
    'lockout_seconds': 600,
    'session_timeout': 600,
    'ssh_client_alive_interval': 300,
    'ssh_client_alive_count_max': 3,
    'ssh_max_auth_tries': 4,
    'umask': '027',
    'banner_text': ('本系统仅限授权用户使用，所有操作均被记录审计。\n'
                    'Authorized use only. All activity is logged and audited.'),
    'apply_to_existing_users': False,
}

SSH_CIPHERS = ('aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-ctr',
               'chacha20-poly1305@openssh.com')
SSH_MACS = ('hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512', 'hmac-sha2-256')
SSH_KEX = ('sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org',
           'ecdh-sha2-nistp521', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp256',
           'diffie-hellman-group-exchange-sha256', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512')

# Server packages of plain-text or obsolete remote services, and the units that run them.
INSECURE_PACKAGES = ('telnetd', 'inetutils-telnetd', 'telnetd-ssl', 'telnet-server', 'rsh-server', 'rsh-redone-server',
                     'xinetd', 'openbsd-inetd', 'inetutils-inetd', 'tftpd-hpa', 'tftp-server', 'nis', 'ypserv',
                     'talkd', 'talk-server', 'vsftpd')
INSECURE_UNITS = ('telnet.socket', 'rsh.socket', 'rlogin.socket', 'rexec.socket', 'xinetd.service',
                  'inetd.service', 'openbsd-inetd.service', 'inetutils-inetd.service', 'tftp.socket',
                  'tftpd-hpa.service', 'ypserv.service', 'ypbind.service', 'nis.service', 'vsftpd.service')

NETWORK_SYSCTLS = (
    ('net.ipv4.conf.all.accept_redirects', '0'),
    ('net.ipv4.conf.default.accept_redirects', '0'),
    ('net.ipv4.conf.all.send_redirects', '0'),
    ('net.ipv4.conf.default.send_redirects', '0'),
    ('net.ipv4.conf.all.accept_source_route', '0'),
    ('net.ipv4.conf.default.accept_source_route', '0'),
    ('net.ipv4.conf.all.log_martians', '1'),
    ('net.ipv4.icmp_echo_ignore_broadcasts', '1'),
    ('net.ipv4.tcp_syncookies', '1'),
    ('net.ipv6.conf.all.accept_redirects', '0'),
    ('net.ipv6.conf.default.accept_redirects', '0'),
)

AUDIT_WATCHES = ('/etc/passwd', '/etc/shadow', '/etc/group', '/etc/gshadow', '/etc/sudoers', '/etc/sudoers.d')

PAM_PASSWORD = {'debian': '/etc/pam.d/common-password', 'redhat': '/etc/pam.d/system-auth'}
PAM_AUTH = {'debian': ['/etc/pam.d/common-auth'], 'redhat': ['/etc/pam.d/system-auth', '/etc/pam.d/password-auth']}
PAM_ACCOUNT = {'debian': ['/etc/pam.d/common-account'], 'redhat': ['/etc/pam.d/system-auth', '/etc/pam.d/password-auth']}

CONTROLS = (
    # ------------------------------------------------------------ identification and authentication
    {'id': 'pwd.complexity', 'title': 'Password complexity (pam_pwquality)', 'clause': '8.1.4.1a',
     'tags': ['password', 'pam'], 'severity': 'warning', 'kind': 'pwquality',
     'params': {'package': {'debian': 'libpam-pwquality', 'redhat': 'libpwquality'},
                'path': '/etc/security/pwquality.conf',
                'entries': [('minlen', 'ge', '{password_min_length}'), ('minclass', 'ge', '{password_min_classes}'),
                            ('retry', 'le', '3')]}},
    {'id': 'pwd.max_days', 'title': 'Password maximum age', 'clause': '8.1.4.1a', 'tags': ['password'],
     'severity': 'warning', 'kind': 'kv',
     'params': {'path': '/etc/login.defs', 'entries': [('PASS_MAX_DAYS', 'le', '{password_max_days}')]}},
    {'id': 'pwd.min_days', 'title': 'Password minimum age', 'clause': '8.1.4.1a', 'tags': ['password'],
     'severity': 'info', 'kind': 'kv',
     'params': {'path': '/etc/login.defs', 'entries': [('PASS_MIN_DAYS', 'ge', '{password_min_days}')]}},
    {'id': 'pwd.warn_age', 'title': 'Password expiry warning', 'clause': '8.1.4.1a', 'tags': ['password'],
     'severity': 'info', 'kind': 'kv',
     'params': {'path': '/etc/login.defs', 'entries': [('PASS_WARN_AGE', 'ge', '{password_warn_age}')]}},
    {'id': 'pwd.existing_users', 'title': 'Password ageing of existing users', 'clause': '8.1.4.1a',
     'tags': ['password', 'accounts'], 'severity': 'warning', 'kind': 'user_ageing', 'params': {}},
    {'id': 'pwd.history', 'title': 'Password history (pam_pwhistory)', 'clause': '8.1.4.1a',
     'tags': ['password', 'pam'], 'severity': 'warning', 'kind': 'pwhistory',
     'params': {'remember': '{password_history}'}},
    {'id': 'auth.faillock', 'title': 'Lock accounts after failed logins (pam_faillock)', 'clause': '8.1.4.1b',
     'tags': ['pam', 'login'], 'severity': 'warning', 'kind': 'faillock',
     'params': {'path': '/etc/security/faillock.conf',
                'entries': [('deny', 'le', '{lockout_attempts}'), ('unlock_time', 'ge', '{lockout_seconds}')]}},
    {'id': 'session.tmout', 'title': 'Shell idle timeout (TMOUT)', 'clause': '8.1.4.1b', 'tags': ['session'],
     'severity': 'warning', 'kind': 'file',
     'params': {'path': '/etc/profile.d/bjeic-mlps3-tmout.sh', 'mode': 0o644,
                'content': 'TMOUT={session_timeout}\nreadonly TMOUT\nexport TMOUT\n'}},
    {'id': 'ssh.client_alive', 'title': 'SSH drops dead sessions', 'clause': '8.1.4.1b', 'tags': ['ssh', 'session'],
     'severity': 'warning', 'kind': 'sshd',
     'params': {'settings': [('ClientAliveInterval', 'pos_le', '{ssh_client_alive_interval}'),
                             ('ClientAliveCountMax', 'le', '{ssh_client_alive_count_max}')]}},
    {'id': 'ssh.crypto', 'title': 'SSH strong ciphers, MACs and key exchange', 'clause': '8.1.4.1c',
     'tags': ['ssh', 'crypto'], 'severity': 'warning', 'kind': 'sshd',
     'params': {'settings': [('Ciphers', 'subset', SSH_CIPHERS), ('MACs', 'subset', SSH_MACS),
                             ('KexAlgorithms', 'subset', SSH_KEX)]}},
    {'id': 'ssh.protocol', 'title': 'SSH protocol 2 only', 'clause': '8.1.4.1c', 'tags': ['ssh'],
     'severity': 'critical', 'kind': 'ssh_protocol', 'params': {}},
    {'id': 'ssh.max_auth_tries', 'title': 'SSH authentication attempts per connection', 'clause': '8.1.4.1b',
     'tags': ['ssh', 'login'], 'severity': 'warning', 'kind': 'sshd',
     'params': {'settings': [('MaxAuthTries', 'le', '{ssh_max_auth_tries}')]}},
    {'id': 'ssh.empty_passwords', 'title': 'SSH refuses empty passwords', 'clause': '8.1.4.1a', 'tags': ['ssh'],
     'severity': 'critical', 'kind': 'sshd', 'params': {'settings': [('PermitEmptyPasswords', 'eq', 'no')]}},
    {'id': 'ssh.root_login', 'title': 'No direct root login over SSH', 'clause': '8.1.4.2b', 'tags': ['ssh', 'accounts'],
     'severity': 'warning', 'kind': 'sshd', 'guard': 'root_login',
     'params': {'settings': [('PermitRootLogin', 'eq', 'no')]}},
    {'id': 'ssh.password_auth', 'title': 'SSH key authentication only (opt-in)', 'clause': '8.1.4.1c',
     'tags': ['ssh', 'strict'], 'severity': 'info', 'kind': 'sshd', 'guard': 'password_auth', 'optional': True,
     'params': {'settings': [('PasswordAuthentication', 'eq', 'no'), ('KbdInteractiveAuthentication', 'eq', 'no')]}},
    {'id': 'ssh.banner', 'title': 'Login banner', 'clause': '8.1.4.4c', 'tags': ['ssh'], 'severity': 'info',
     'kind': 'sshd', 'params': {'settings': [('Banner', 'eq', '/etc/issue.net')],
                                'file': {'path': '/etc/issue.net', 'mode': 0o644, 'content': '{banner_text}\n'}}},
    {'id': 'acct.uid0', 'title': 'root is the only UID 0 account', 'clause': '8.1.4.1a', 'tags': ['accounts'],
     'severity': 'critical', 'kind': 'uid0', 'enforce': False, 'params': {}},
    {'id': 'acct.empty_password', 'title': 'No account without a password', 'clause': '8.1.4.1a',
     'tags': ['accounts'], 'severity': 'critical', 'kind': 'empty_password', 'params': {}},
    # ------------------------------------------------------------ access control
    {'id': 'acct.system_nologin', 'title': 'System accounts cannot log in', 'clause': '8.1.4.2c', 'tags': ['accounts'],
     'severity': 'warning', 'kind': 'system_accounts', 'params': {}},
    {'id': 'perm.account_files', 'title': 'Permissions of passwd, shadow, group, gshadow', 'clause': '8.1.4.2d',
     'tags': ['files'], 'severity': 'critical', 'kind': 'modes',
     'params': {'files': {
         'debian': [('/etc/passwd', 0o644, 'root', 'root'), ('/etc/group', 0o644, 'root', 'root'),
                    ('/etc/shadow', 0o640, 'root', 'shadow'), ('/etc/gshadow', 0o640, 'root', 'shadow')],
         'redhat': [('/etc/passwd', 0o644, 'root', 'root'), ('/etc/group', 0o644, 'root', 'root'),
                    ('/etc/shadow', 0o000, 'root', 'root'), ('/etc/gshadow', 0o000, 'root', 'root')]}}},
    {'id': 'umask.default', 'title': 'Default umask', 'clause': '8.1.4.2d', 'tags': ['files'], 'severity': 'info',
     'kind': 'kv', 'params': {'path': '/etc/login.defs', 'entries': [('UMASK', 'eq', '{umask}')],
                              'file': {'path': '/etc/profile.d/bjeic-mlps3-umask.sh', 'mode': 0o644,
                                       'content': 'umask {umask}\n'}}},
    # ------------------------------------------------------------ security audit
    {'id': 'audit.auditd', 'title': 'auditd installed and enabled', 'clause': '8.1.4.3a', 'tags': ['audit'],
     'severity': 'warning', 'kind': 'service',
     'params': {'package': {'debian': 'auditd', 'redhat': 'audit'}, 'units': ['auditd.service'], 'state': 'enabled'}},
    {'id': 'audit.rules', 'title': 'Audit rules for identity files and privileged commands', 'clause': '8.1.4.3a',
     'tags': ['audit'], 'severity': 'warning', 'kind': 'audit_rules',
     'params': {'path': '/etc/audit/rules.d/bjeic-mlps3.rules', 'watches': AUDIT_WATCHES}},
    {'id': 'log.rsyslog', 'title': 'rsyslog installed and enabled', 'clause': '8.1.4.3c', 'tags': ['audit', 'logging'],
     'severity': 'warning', 'kind': 'service',
     'params': {'package': {'debian': 'rsyslog', 'redhat': 'rsyslog'}, 'units': ['rsyslog.service'], 'state': 'enabled'}},
    # ------------------------------------------------------------ intrusion prevention
    {'id': 'svc.insecure', 'title': 'No plain-text remote services (telnet, rsh, inetd, tftp, NIS)',
     'clause': '8.1.4.4b', 'tags': ['services'], 'severity': 'critical', 'kind': 'insecure_services',
     'params': {'packages': INSECURE_PACKAGES, 'units': INSECURE_UNITS}},
    {'id': 'core.restrict', 'title': 'Core dumps restricted', 'clause': '8.1.4.4a', 'tags': ['kernel'],
     'severity': 'info', 'kind': 'sysctl',
     'params': {'path': '/etc/sysctl.d/90-bjeic-mlps3-core.conf', 'entries': [('fs.suid_dumpable', '0')],
                'file': {'path': '/etc/security/limits.d/90-bjeic-mlps3-core.conf', 'mode': 0o644,
                         'content': '* hard core 0\n'}}},
    {'id': 'net.sysctl', 'title': 'Network kernel settings (redirects, source routing, syncookies)',
     'clause': '8.1.4.4b', 'tags': ['kernel', 'network'], 'severity': 'warning', 'kind': 'sysctl',
     'params': {'path': '/etc/sysctl.d/90-bjeic-mlps3-net.conf', 'entries': NETWORK_SYSCTLS}},
)

BASELINES = {'mlps3': CONTROLS}
