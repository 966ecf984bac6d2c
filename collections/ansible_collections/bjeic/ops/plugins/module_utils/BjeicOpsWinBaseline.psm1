# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The MLPS 2.0 level-3 (GB/T 22239-2019, 8.1.4 安全计算环境) baseline for Windows Server as data: one
# engine (win_harden) checks and applies every control. Each control has a kind and its settings:
#   secedit   [System Access] keys of the local security policy (secedit /export, /configure)
#   registry  HKLM values (DWord)
#   audit     advanced audit policy subcategories by GUID (names are localised); want is a bit mask,
#             1 success, 2 failure, 3 both
#   service   services to disable (from the insecure_services setting)
#   firewall  Windows Firewall profiles on (never without an allow rule for the WinRM listener)
# Tests: want = the value to set; test = eq (equal), atleast (>= want), range (1 .. want, 0 and -1 fail),
# notequal (audit only: anything but want passes).

Set-StrictMode -Version 2.0

function Get-BjeicOpsWinDefaultSetting {
    <# The tunable numbers of the baseline (win_harden's settings option), with their defaults. #>
    @{
        min_password_length = 8
        max_password_age_days = 90
        min_password_age_days = 1
        password_history = 5
        lockout_threshold = 5
        lockout_duration_minutes = 10
        lockout_window_minutes = 10
        inactivity_timeout_seconds = 600
        security_log_max_bytes = 1073741824
        insecure_services = @('TlntSvr', 'SimpTcp', 'SSDPSRV', 'upnphost', 'Browser', 'RemoteAccess', 'FTPSVC')
    }
}

function Get-BjeicOpsWinBaseline {
    <# The controls with the settings filled in. #>
    param([Parameter(Mandatory = $true)][System.Collections.IDictionary]$Setting)
    $lsa = 'HKLM:\SYSTEM\CurrentControlSet\Control\Lsa'
    $rdp = 'HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp'
    $server = 'HKLM:\SYSTEM\CurrentControlSet\Services\LanmanServer\Parameters'
    $system = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System'
    @(
        @{ id = 'pwd.complexity'; title = 'Passwords must meet complexity requirements'; clause = '8.1.4.1a'; severity = 'warning';
            tags = @('password'); kind = 'secedit'; settings = @(@{ key = 'PasswordComplexity'; want = 1; test = 'eq' })
        },
        @{ id = 'pwd.min_length'; title = 'Minimum password length'; clause = '8.1.4.1a'; severity = 'warning';
            tags = @('password'); kind = 'secedit'
            settings = @(@{ key = 'MinimumPasswordLength'; want = $Setting.min_password_length; test = 'atleast' })
        },
        @{ id = 'pwd.max_age'; title = 'Passwords expire'; clause = '8.1.4.1a'; severity = 'warning';
            tags = @('password'); kind = 'secedit'
            settings = @(@{ key = 'MaximumPasswordAge'; want = $Setting.max_password_age_days; test = 'range' })
        },
        @{ id = 'pwd.min_age'; title = 'Minimum password age'; clause = '8.1.4.1a'; severity = 'warning';
            tags = @('password'); kind = 'secedit'
            settings = @(@{ key = 'MinimumPasswordAge'; want = $Setting.min_password_age_days; test = 'atleast' })
        },
        @{ id = 'pwd.history'; title = 'Recent passwords cannot be reused'; clause = '8.1.4.1a'; severity = 'warning';
            tags = @('password'); kind = 'secedit'
            settings = @(@{ key = 'PasswordHistorySize'; want = $Setting.password_history; test = 'atleast' })
        },
        @{ id = 'acct.guest'; title = 'The Guest account is disabled'; clause = '8.1.4.2c'; severity = 'critical';
            tags = @('accounts'); kind = 'secedit'; settings = @(@{ key = 'EnableGuestAccount'; want = 0; test = 'eq' })
        },
        @{ id = 'acct.admin_name'; title = 'The built-in Administrator is renamed'; clause = '8.1.4.2b'; severity = 'warning';
            tags = @('accounts'); kind = 'secedit'; audit_only = $true
            reason = 'audit only: renaming the account the management channel may log in as is done by hand, with the inventory changed at the same time'
            settings = @(@{ key = 'NewAdministratorName'; want = '"Administrator"'; test = 'notequal' })
        },
        @{ id = 'auth.lockout'; title = 'Accounts lock after failed logons'; clause = '8.1.4.1b'; severity = 'warning';
            tags = @('password', 'accounts'); kind = 'secedit'
            settings = @(
                @{ key = 'LockoutBadCount'; want = $Setting.lockout_threshold; test = 'range' },
                @{ key = 'LockoutDuration'; want = $Setting.lockout_duration_minutes; test = 'atleast' },
                @{ key = 'ResetLockoutCount'; want = $Setting.lockout_window_minutes; test = 'atleast' }
            )
        },
        @{ id = 'session.inactivity'; title = 'Idle sessions lock'; clause = '8.1.4.1b'; severity = 'warning';
            tags = @('session'); kind = 'registry'
            settings = @(@{ path = $system; name = 'InactivityTimeoutSecs'; want = $Setting.inactivity_timeout_seconds; test = 'range' })
        },
        @{ id = 'rdp.nla'; title = 'Remote Desktop requires Network Level Authentication over TLS'; clause = '8.1.4.1c';
            severity = 'warning'; tags = @('rdp'); kind = 'registry'
            settings = @(
                @{ path = $rdp; name = 'UserAuthentication'; want = 1; test = 'eq' },
                @{ path = $rdp; name = 'SecurityLayer'; want = 2; test = 'eq' }
            )
        },
        @{ id = 'rdp.encryption'; title = 'Remote Desktop uses high encryption'; clause = '8.1.4.1c'; severity = 'warning';
            tags = @('rdp'); kind = 'registry'; settings = @(@{ path = $rdp; name = 'MinEncryptionLevel'; want = 3; test = 'atleast' })
        },
        @{ id = 'ntlm.v2_only'; title = 'Only NTLMv2 is sent and LM hashes are not stored'; clause = '8.1.4.1c'; severity = 'warning';
            tags = @('auth'); kind = 'registry'
            settings = @(
                @{ path = $lsa; name = 'LmCompatibilityLevel'; want = 5; test = 'eq' },
                @{ path = $lsa; name = 'NoLMHash'; want = 1; test = 'eq' }
            )
        },
        @{ id = 'anon.restrict'; title = 'Anonymous users cannot list accounts and shares'; clause = '8.1.4.2a'; severity = 'warning';
            tags = @('accounts'); kind = 'registry'
            settings = @(
                @{ path = $lsa; name = 'RestrictAnonymous'; want = 1; test = 'eq' },
                @{ path = $lsa; name = 'RestrictAnonymousSAM'; want = 1; test = 'eq' }
            )
        },
        @{ id = 'share.admin_default'; title = 'No automatic administrative shares (C$, ADMIN$)'; clause = '8.1.4.2a';
            severity = 'warning'; tags = @('smb'); kind = 'registry'
            note = 'takes effect when the Server service (LanmanServer) restarts; tools that copy through ADMIN$ stop working'
            settings = @(@{ path = $server; name = 'AutoShareServer'; want = 0; test = 'eq' })
        },
        @{ id = 'smb.v1_off'; title = 'SMBv1 is off'; clause = '8.1.4.4'; severity = 'critical'; tags = @('smb'); kind = 'registry'
            note = 'takes effect when the Server service (LanmanServer) restarts'
            settings = @(@{ path = $server; name = 'SMB1'; want = 0; test = 'eq' })
        },
        @{ id = 'autorun.off'; title = 'AutoRun is off for every drive type'; clause = '8.1.4.4'; severity = 'warning';
            tags = @('kernel'); kind = 'registry'
            settings = @(@{ path = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\Explorer'; name = 'NoDriveTypeAutoRun';
                    want = 255; test = 'eq'
                })
        },
        @{ id = 'log.security_size'; title = 'The Security log is large enough to keep months of events'; clause = '8.1.4.3c';
            severity = 'warning'; tags = @('audit'); kind = 'registry'
            settings = @(@{ path = 'HKLM:\SYSTEM\CurrentControlSet\Services\EventLog\Security'; name = 'MaxSize';
                    want = $Setting.security_log_max_bytes; test = 'atleast'
                })
        },
        @{ id = 'audit.policy'; title = 'Logons, account and policy changes, privilege use and processes are audited';
            clause = '8.1.4.3a'; severity = 'warning'; tags = @('audit'); kind = 'audit'
            settings = @(
                @{ guid = '{0CCE923F-69AE-11D9-BED3-505054503030}'; name = 'Credential Validation'; want = 3 },
                @{ guid = '{0CCE9215-69AE-11D9-BED3-505054503030}'; name = 'Logon'; want = 3 },
                @{ guid = '{0CCE9216-69AE-11D9-BED3-505054503030}'; name = 'Logoff'; want = 1 },
                @{ guid = '{0CCE9217-69AE-11D9-BED3-505054503030}'; name = 'Account Lockout'; want = 3 },
                @{ guid = '{0CCE921B-69AE-11D9-BED3-505054503030}'; name = 'Special Logon'; want = 1 },
                @{ guid = '{0CCE9235-69AE-11D9-BED3-505054503030}'; name = 'User Account Management'; want = 3 },
                @{ guid = '{0CCE9237-69AE-11D9-BED3-505054503030}'; name = 'Security Group Management'; want = 3 },
                @{ guid = '{0CCE922F-69AE-11D9-BED3-505054503030}'; name = 'Audit Policy Change'; want = 3 },
                @{ guid = '{0CCE9230-69AE-11D9-BED3-505054503030}'; name = 'Authentication Policy Change'; want = 1 },
                @{ guid = '{0CCE9228-69AE-11D9-BED3-505054503030}'; name = 'Sensitive Privilege Use'; want = 3 },
                @{ guid = '{0CCE922B-69AE-11D9-BED3-505054503030}'; name = 'Process Creation'; want = 1 },
                @{ guid = '{0CCE9211-69AE-11D9-BED3-505054503030}'; name = 'Security System Extension'; want = 1 },
                @{ guid = '{0CCE9212-69AE-11D9-BED3-505054503030}'; name = 'System Integrity'; want = 3 }
            )
        },
        @{ id = 'svc.insecure'; title = 'Insecure and unneeded services are disabled'; clause = '8.1.4.4'; severity = 'warning';
            tags = @('services'); kind = 'service'; settings = @($Setting.insecure_services | ForEach-Object { @{ name = $_ } })
        },
        @{ id = 'fw.profiles'; title = 'Windows Firewall is on in every profile'; clause = '8.1.4.4'; severity = 'critical';
            tags = @('firewall'); kind = 'firewall'
            settings = @(@{ profile = 'Domain' }, @{ profile = 'Private' }, @{ profile = 'Public' })
        }
    )
}

$exported = @('Get-BjeicOpsWinDefaultSetting', 'Get-BjeicOpsWinBaseline')
Export-ModuleMember -Function $exported
