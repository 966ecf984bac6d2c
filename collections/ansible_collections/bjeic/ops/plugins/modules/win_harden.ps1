#!powershell

# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils.BjeicOps
#AnsibleRequires -PowerShell ..module_utils.BjeicOpsWinSetting
#AnsibleRequires -PowerShell ..module_utils.BjeicOpsWinBaseline

# Security hardening of Windows Server to the MLPS 2.0 level-3 baseline: audit, enforce with a backup
# on the host taken before each change, and exact rollback. One engine for every control of the
# catalogue (module_utils/BjeicOpsWinBaseline.psm1). Never disables what the management channel needs.

$spec = @{
    options = @{
        mode = @{ type = 'str'; choices = @('audit', 'enforce', 'rollback'); default = 'audit' }
        baseline = @{ type = 'str'; choices = @('mlps3'); default = 'mlps3' }
        controls = @{ type = 'list'; elements = 'str'; default = @() }
        exclude_controls = @{ type = 'list'; elements = 'str'; default = @() }
        settings = @{ type = 'dict'; default = @{} }
        management_users = @{ type = 'list'; elements = 'str'; default = @() }
        backup_id = @{ type = 'str' }
        backup_root = @{ type = 'path' }
        force = @{ type = 'bool'; default = $false }
    }
    required_if = @(, @('mode', 'rollback', @('backup_id')))
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$hostname = [System.Net.Dns]::GetHostName()
$checkMode = $module.CheckMode
$invariant = [Globalization.CultureInfo]::InvariantCulture

$module.Result.changed = $false
$module.Result.controls = @()
$module.Result.findings = @()
$module.Result.changes = @()
$module.Result.ledger = @()
$module.Result.backup_id = $null
$module.Result.rollback = $null
$module.Result.summary = @{}

$principal = New-Object -TypeName Security.Principal.WindowsPrincipal -ArgumentList ([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    $module.FailJson("win_harden must run as an administrator of $hostname (secedit and auditpol need it)")
}

$defaults = Get-BjeicOpsWinDefaultSetting
$unknown = @($module.Params.settings.Keys | Where-Object { -not $defaults.ContainsKey($_) } | Sort-Object)
if ($unknown.Count) {
    $module.FailJson("settings: unknown keys $($unknown -join ', '); known: $(($defaults.Keys | Sort-Object) -join ', ')")
}
$settings = @{}
foreach ($key in $defaults.Keys) {
    $settings[$key] = $defaults[$key]
}
foreach ($key in $module.Params.settings.Keys) {
    $settings[$key] = $module.Params.settings[$key]
}
$channel = Get-BjeicOpsManagementChannel
$module.Result.management_users = @(@($channel.account) + $module.Params.management_users | Sort-Object -Unique)
$backupRoot = $module.Params.backup_root
if (-not $backupRoot) {
    $backupRoot = Get-BjeicOpsRecordRoot -Kind 'harden'
}
$work = $module.Tmpdir   # removed when the module exits, FailJson included

# ---------------------------------------------------------------- the backup

# One holder the functions share, whatever scope the module wrapper gives this script.
$run = @{ backup = $null }

function Open-Backup {
    <# The backup directory and its manifest, made before the first change; Policy and Audit are copied in whole. #>
    param([hashtable]$Policy, [hashtable]$Audit)
    if ($run.backup) {
        return
    }
    $id = New-BjeicOpsRecordId
    $directory = Join-Path -Path $backupRoot -ChildPath $id
    New-Item -Path $directory -ItemType Directory | Out-Null
    Copy-Item -LiteralPath $Policy.file -Destination (Join-Path -Path $directory -ChildPath 'secedit-before.inf')
    Copy-Item -LiteralPath $Audit.file -Destination (Join-Path -Path $directory -ChildPath 'auditpol-before.csv')
    $run.backup = [ordered]@{
        id = $id; host = $hostname; baseline = $module.Params.baseline; state = 'open'
        created = [DateTime]::UtcNow.ToString('o', $invariant); closed = $null
        entries = New-Object -TypeName System.Collections.ArrayList
    }
    Save-Backup
}

function Save-Backup {
    Write-BjeicOpsJson -Path (Join-Path -Path (Join-Path -Path $backupRoot -ChildPath $run.backup.id) -ChildPath 'manifest.json') `
        -InputObject $run.backup
}

function Add-BackupEntry {
    <# Record what is about to be replaced, and write the manifest, before the change is made. #>
    param([System.Collections.IDictionary]$Entry)
    [void]$run.backup.entries.Add($Entry)
    Save-Backup
}

# ---------------------------------------------------------------- enforcing a control

$changes = New-Object -TypeName System.Collections.Generic.List[object]

function Add-Change {
    param([string]$Object, [string]$Action, [object]$Before, [object]$After, [string]$Control)
    $changes.Add([ordered]@{ object = $Object; action = $Action; before = $Before; after = $After; control = $Control })
}

function Set-Control {
    <# Bring the failing settings of one control to the baseline, backing each one up first. #>
    param([System.Collections.IDictionary]$Control, [object[]]$Failing, [hashtable]$Policy, [hashtable]$Audit)
    Open-Backup -Policy $Policy -Audit $Audit
    switch ($Control.kind) {
        'secedit' {
            $values = [ordered]@{}
            foreach ($setting in $Failing) {
                $before = $Policy.values[$setting.key]
                Add-BackupEntry ([ordered]@{ kind = 'secedit'; control = $Control.id; key = $setting.key; before = $before;
                        after = "$($setting.want)"
                    })
                $values[$setting.key] = $setting.want
                Add-Change -Object "secedit:System Access/$($setting.key)" -Action 'set' -Before $before -After "$($setting.want)" -Control $Control.id
            }
            Write-BjeicOpsSecurityPolicy -WorkDir $work -Value $values
        }
        'registry' {
            foreach ($setting in $Failing) {
                $current = Read-BjeicOpsRegistryValue -Path $setting.path -Name $setting.name
                Add-BackupEntry ([ordered]@{ kind = 'registry'; control = $Control.id; path = $setting.path; name = $setting.name;
                        existed = $current.existed; key_existed = $current.key_existed; before = $current.value;
                        value_kind = $current.value_kind; after = $setting.want
                    })
                Write-BjeicOpsRegistryValue -Path $setting.path -Name $setting.name -Value $setting.want
                Add-Change -Object "$($setting.path)\$($setting.name)" -Action 'set' -Before $current.value -After $setting.want -Control $Control.id
            }
        }
        'audit' {
            foreach ($setting in $Failing) {
                $before = [int]$Audit.values[$setting.guid.ToUpperInvariant()]
                $after = $before -bor $setting.want   # add what the baseline asks; never stop auditing something
                Add-BackupEntry ([ordered]@{ kind = 'audit'; control = $Control.id; guid = $setting.guid; name = $setting.name;
                        before = $before; after = $after
                    })
                Write-BjeicOpsAuditPolicy -Guid $setting.guid -Value $after
                Add-Change -Object "auditpol:$($setting.name)" -Action 'set' -Before $before -After $after -Control $Control.id
            }
        }
        'service' {
            foreach ($setting in $Failing) {
                $current = Read-BjeicOpsServiceState -Name $setting.name
                Add-BackupEntry ([ordered]@{ kind = 'service'; control = $Control.id; name = $setting.name;
                        start_mode = $current.start_mode; delayed = $current.delayed; was_running = $current.state -eq 'Running';
                        after = 'Disabled'
                    })
                Set-Service -Name $setting.name -StartupType Disabled
                if ($current.state -ne 'Stopped') {
                    Stop-Service -Name $setting.name -Force
                }
                Add-Change -Object "service:$($setting.name)" -Action 'disable' -Before "$($current.start_mode)/$($current.state)" `
                    -After 'Disabled/Stopped' -Control $Control.id
            }
        }
        'firewall' {
            foreach ($setting in $Failing) {
                $current = Read-BjeicOpsFirewallState -FirewallProfile $setting.profile
                Add-BackupEntry ([ordered]@{ kind = 'firewall'; control = $Control.id; profile = $setting.profile;
                        before = $current.local; after = 'True'
                    })
                Set-NetFirewallProfile -Profile $setting.profile -Enabled True
                Add-Change -Object "firewall:$($setting.profile)" -Action 'enable' -Before $current.local -After 'True' -Control $Control.id
            }
        }
    }
}

function Get-Refusal {
    <# Why enforcing this control would cut the management channel, or $null. #>
    param([System.Collections.IDictionary]$Control, [object[]]$Failing)
    if ($Control.kind -eq 'service') {
        $protected = @($Failing | Where-Object { $_.name -in $channel.services } | ForEach-Object { $_.name })
        if ($protected.Count) {
            return "insecure_services names $($protected -join ', '), which the management channel needs (WinRM, become, RDP, OpenSSH)"
        }
    }
    if ($Control.kind -eq 'firewall') {
        foreach ($setting in $Failing) {
            $port = Test-BjeicOpsWinRmAllowed -FirewallProfile $setting.profile -Ports $channel.winrm_ports
            if ($null -ne $port) {
                return "turning the $($setting.profile) profile on would block WinRM on port ${port}: no enabled inbound allow rule covers it; add one first"
            }
        }
    }
    if ($Control.id -eq 'acct.guest' -and ($module.Result.management_users | Where-Object { $_ -match '(^|\\)Guest$' })) {
        return 'the Guest account is named as a management user'
    }
    return $null
}

# ---------------------------------------------------------------- rollback

function Invoke-Rollback {
    $directory = Join-Path -Path $backupRoot -ChildPath $module.Params.backup_id
    $manifestPath = Join-Path -Path $directory -ChildPath 'manifest.json'
    if (-not (Test-Path -LiteralPath $manifestPath)) {
        $known = @(Get-ChildItem -LiteralPath $backupRoot -Directory -ErrorAction SilentlyContinue | ForEach-Object { $_.Name } | Sort-Object)
        $module.FailJson("no hardening backup $($module.Params.backup_id) under $backupRoot on $hostname; backups there: $($known -join ', ')")
    }
    try {
        $manifest = Read-BjeicOpsJson -Path $manifestPath
    }
    catch {
        $module.FailJson("rollback of $($module.Params.backup_id) on $hostname refused: $($_.Exception.Message); nothing was changed", $_)
    }
    $module.Result.backup_id = $manifest.id
    if ($manifest.state -eq 'rolled-back') {
        $module.Result.msg = "backup $($manifest.id) was already rolled back on $($manifest.closed)"
        return
    }
    $entries = @($manifest.entries)
    [array]::Reverse($entries)
    $policy = Read-BjeicOpsSecurityPolicy -WorkDir $work
    $audit = Read-BjeicOpsAuditPolicy -WorkDir $work
    # A setting changed again since enforce is someone's later decision: refuse unless forced.
    $conflicts = @()
    foreach ($entry in $entries) {
        $now = $null
        switch ($entry.kind) {
            'secedit' {
                $now = $policy.values[$entry.key]
            }
            'registry' {
                $now = (Read-BjeicOpsRegistryValue -Path $entry.path -Name $entry.name).value
            }
            'audit' {
                $now = $audit.values[$entry.guid.ToUpperInvariant()]
            }
            'service' {
                $now = (Read-BjeicOpsServiceState -Name $entry.name).start_mode
            }
            'firewall' {
                $now = (Read-BjeicOpsFirewallState -FirewallProfile $entry.profile).local
            }
        }
        if ("$now" -ne "$($entry.after)") {
            $conflicts += "$($entry.kind) $($entry.key)$($entry.name)$($entry.guid)$($entry.profile) is '$now', enforce left '$($entry.after)'"
        }
    }
    if ($conflicts.Count -and -not $module.Params.force) {
        $module.FailJson("rollback of $($manifest.id) refused, nothing was changed: changed since enforce - $($conflicts -join '; '). Run with force=true to restore anyway")
    }
    $secedit = [ordered]@{}
    foreach ($entry in $entries) {
        switch ($entry.kind) {
            'secedit' {
                if ($null -ne $entry.before) {
                    $secedit[$entry.key] = $entry.before
                }
                Add-Change -Object "secedit:System Access/$($entry.key)" -Action 'restore' -Before $entry.after -After $entry.before -Control $entry.control
            }
            'registry' {
                if (-not $checkMode) {
                    if ($entry.existed) {
                        Write-BjeicOpsRegistryValue -Path $entry.path -Name $entry.name -Value $entry.before -Kind $entry.value_kind
                    }
                    else {
                        Remove-ItemProperty -LiteralPath $entry.path -Name $entry.name -ErrorAction SilentlyContinue
                        if (-not $entry.key_existed -and -not (Get-Item -LiteralPath $entry.path).GetValueNames().Count -and
                            -not @(Get-ChildItem -LiteralPath $entry.path).Count) {
                            Remove-Item -LiteralPath $entry.path
                        }
                    }
                }
                Add-Change -Object "$($entry.path)\$($entry.name)" -Action 'restore' -Before $entry.after -After $entry.before -Control $entry.control
            }
            'audit' {
                if (-not $checkMode) {
                    Write-BjeicOpsAuditPolicy -Guid $entry.guid -Value $entry.before
                }
                Add-Change -Object "auditpol:$($entry.name)" -Action 'restore' -Before $entry.after -After $entry.before -Control $entry.control
            }
            'service' {
                if (-not $checkMode) {
                    $mode = @{ Auto = 'Automatic'; Manual = 'Manual'; Disabled = 'Disabled' }[$entry.start_mode]
                    Set-Service -Name $entry.name -StartupType $mode
                    if ($null -ne $entry.delayed) {
                        Write-BjeicOpsRegistryValue -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$($entry.name)" -Name 'DelayedAutostart' -Value $entry.delayed
                    }
                    if ($entry.was_running) {
                        Start-Service -Name $entry.name
                    }
                }
                Add-Change -Object "service:$($entry.name)" -Action 'restore' -Before 'Disabled' -After $entry.start_mode -Control $entry.control
            }
            'firewall' {
                if (-not $checkMode) {
                    Set-NetFirewallProfile -Profile $entry.profile -Enabled $entry.before
                }
                Add-Change -Object "firewall:$($entry.profile)" -Action 'restore' -Before 'True' -After $entry.before -Control $entry.control
            }
        }
    }
    if ($secedit.Count -and -not $checkMode) {
        Write-BjeicOpsSecurityPolicy -WorkDir $work -Value $secedit
    }
    if (-not $checkMode) {
        $manifest.state = 'rolled-back'
        $manifest.closed = [DateTime]::UtcNow.ToString('o', $invariant)
        Write-BjeicOpsJson -Path $manifestPath -InputObject $manifest
    }
    $module.Result.changed = $changes.Count -gt 0
    $module.Result.msg = "restored $($changes.Count) setting(s) from backup $($manifest.id)"
    $module.Diff.before = @{ settings = @($changes | ForEach-Object { "$($_.object) = $($_.before)" }) }
    $module.Diff.after = @{ settings = @($changes | ForEach-Object { "$($_.object) = $($_.after)" }) }
}

# ---------------------------------------------------------------- audit and enforce

function Select-Control {
    param([object[]]$Catalogue)
    $known = @($Catalogue | ForEach-Object { $_.id }) + @($Catalogue | ForEach-Object { $_.tags }) | Sort-Object -Unique
    foreach ($name in @($module.Params.controls) + @($module.Params.exclude_controls)) {
        if ($name -notin $known) {
            $module.FailJson("unknown control or tag '$name'; known: $($known -join ', ')")
        }
    }
    $chosen = @($Catalogue | Where-Object {
            $control = $_
            ($module.Params.controls.Count -eq 0 -or $control.id -in $module.Params.controls -or
            @($control.tags | Where-Object { $_ -in $module.Params.controls }).Count) -and
            $control.id -notin $module.Params.exclude_controls -and
            -not @($control.tags | Where-Object { $_ -in $module.Params.exclude_controls }).Count
        })
    return $chosen
}

function Invoke-Harden {
    param([bool]$Enforce)
    $catalogue = Get-BjeicOpsWinBaseline -Setting $settings
    $protected = @($settings.insecure_services | Where-Object { $_ -in $channel.services })
    if ($Enforce -and $protected.Count) {
        $module.FailJson("enforce refused, nothing was changed: insecure_services names $($protected -join ', '), which the management channel needs")
    }
    $policy = Read-BjeicOpsSecurityPolicy -WorkDir $work
    $audit = Read-BjeicOpsAuditPolicy -WorkDir $work
    $results = @()
    $diffBefore = [ordered]@{}
    $diffAfter = [ordered]@{}
    foreach ($control in (Select-Control -Catalogue $catalogue)) {
        $result = [ordered]@{ id = $control.id; title = $control.title; clause = $control.clause; severity = $control.severity;
            status = 'pass'; before = $null; after = $null; message = ''
        }
        try {
            $state = Get-BjeicOpsControlState -Control $control -Policy $policy -Audit $audit
            $result.before = $state.values
            $wanted = @($control.settings | ForEach-Object { Format-BjeicOpsWant -Setting $_ -Kind $control.kind }) -join '; '
            if (-not $state.failing.Count) {
                $result.message = "meets the baseline: $wanted"
            }
            elseif (-not $Enforce -or $control.Contains('audit_only')) {
                $result.status = 'fail'
                $result.message = "baseline: $wanted"
                if ($control.Contains('audit_only')) {
                    $result.message += " ($($control.reason))"
                }
            }
            else {
                $refusal = Get-Refusal -Control $control -Failing $state.failing
                $todo = @($state.failing | ForEach-Object { Format-BjeicOpsWant -Setting $_ -Kind $control.kind }) -join '; '
                if ($refusal) {
                    $result.status = 'skipped'
                    $result.message = "not enforced: $refusal"
                }
                elseif ($checkMode) {
                    $result.status = 'fail'
                    $result.message = "would set $todo"
                    $module.Result.changed = $true
                    $diffBefore[$control.id] = $state.values
                    $diffAfter[$control.id] = $todo
                }
                else {
                    Set-Control -Control $control -Failing $state.failing -Policy $policy -Audit $audit
                    if ($control.kind -eq 'secedit') {
                        $policy = Read-BjeicOpsSecurityPolicy -WorkDir $work
                    }
                    if ($control.kind -eq 'audit') {
                        $audit = Read-BjeicOpsAuditPolicy -WorkDir $work
                    }
                    $after = Get-BjeicOpsControlState -Control $control -Policy $policy -Audit $audit
                    $result.after = $after.values
                    $diffBefore[$control.id] = $state.values
                    $diffAfter[$control.id] = $after.values
                    if ($after.failing.Count) {
                        $result.status = 'error'
                        $result.message = "set $todo, but the effective value is still $(($after.values.GetEnumerator() | ForEach-Object { "$($_.Key)=$($_.Value)" }) -join ', '): a domain Group Policy overrides it; change the GPO"
                    }
                    else {
                        $result.status = 'fixed'
                        $result.message = "set $todo"
                        if ($control.Contains('note')) {
                            $result.message += " ($($control.note))"
                        }
                    }
                }
            }
        }
        catch {
            $result.status = 'error'
            $result.message = "$($_.Exception.Message)"
        }
        $results += $result
    }
    $module.Diff.before = $diffBefore
    $module.Diff.after = $diffAfter
    return $results
}

if ($module.Params.mode -eq 'rollback') {
    Invoke-Rollback
    $module.Result.changes = @($changes)
    $module.ExitJson()
}
$enforce = $module.Params.mode -eq 'enforce'
try {
    $results = Invoke-Harden -Enforce $enforce
}
finally {
    # Closed however enforce ends: a run that died half-way still leaves a backup covering what it changed.
    if ($run.backup) {
        $run.backup.state = 'complete'
        $run.backup.closed = [DateTime]::UtcNow.ToString('o', $invariant)
        Save-Backup
    }
}

$summary = [ordered]@{ pass = 0; fail = 0; fixed = 0; skipped = 0; error = 0 }
foreach ($result in $results) {
    $summary[$result.status] += 1
}
$applicable = $summary.pass + $summary.fixed + $summary.fail + $summary.error
$summary.compliance_pct = 100.0
if ($applicable) {
    $summary.compliance_pct = [Math]::Round(100.0 * ($summary.pass + $summary.fixed) / $applicable, 1)
}
$findings = @()
foreach ($result in @($results | Where-Object { $_.status -in @('fail', 'error') })) {
    $severity = 'warning'
    if ($result.status -eq 'fail') {
        $severity = $result.severity
    }
    $findings += New-BjeicOpsFinding -Check $result.id -Severity $severity -Subject $result.title -Value $result.before `
        -Message "$($result.title) [$($result.clause)]: $($result.message)"
}
$statuses = [ordered]@{}
foreach ($result in $results) {
    $status = $result.status
    if ($status -eq 'fixed') {
        $status = 'pass'
    }
    $statuses[$result.id] = $status
}
$backupId = $null
if ($run.backup -and $changes.Count) {
    $backupId = $run.backup.id
    $module.Result.rollback = New-BjeicOpsRollback -Id $backupId -Module 'bjeic.ops.win_harden' -Arguments @{ mode = 'rollback'; backup_id = $backupId }
}
$module.Result.changed = $module.Result.changed -or $changes.Count -gt 0
$module.Result.controls = $results
foreach ($severity in @('critical', 'warning', 'info')) {   # summary's one meaning first: findings by severity
    $summary[$severity] = @($findings | Where-Object { $_.severity -eq $severity }).Count
}
$module.Result.summary = $summary
$module.Result.findings = $findings
$module.Result.changes = @($changes)
$module.Result.backup_id = $backupId
$module.Result.ledger = @(New-BjeicOpsLedgerItem -Kind os -Key (Get-BjeicOpsLedgerKey -Prefix baseline -Name $module.Params.baseline -HostName $hostname) -Attrs @{
        hostname = $hostname; baseline = $module.Params.baseline; controls = $statuses; state = @{ compliance_pct = $summary.compliance_pct }
    })
$errors = @($results | Where-Object { $_.status -eq 'error' })
if ($enforce -and $errors.Count) {
    $where = '(nothing changed)'
    if ($backupId) {
        $where = $backupId
    }
    $module.FailJson("enforce could not fix $($errors.Count) control(s): $(($errors | ForEach-Object { "$($_.id): $($_.message)" }) -join '; '). Everything it changed is in backup $where")
}
$module.ExitJson()
