#!powershell

# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils.BjeicOps
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

# ---------------------------------------------------------------- reading and writing each kind of setting

function Read-SecurityPolicy {
    <# [System Access] of the local security policy, as secedit exports it (UTF-16 with BOM). #>
    $file = Join-Path -Path $work -ChildPath ('export-' + [Guid]::NewGuid().ToString('N') + '.inf')
    $output = & secedit.exe /export /cfg $file /areas SECURITYPOLICY /quiet 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "secedit /export failed with exit code ${LASTEXITCODE}: $output"
    }
    $values = @{}
    $section = ''
    foreach ($line in [IO.File]::ReadAllLines($file)) {
        $trimmed = $line.Trim()
        if ($trimmed.StartsWith('[')) {
            $section = $trimmed
        }
        elseif ($section -eq '[System Access]' -and $trimmed.Contains('=')) {
            $parts = $trimmed.Split([char[]]'=', 2)
            $values[$parts[0].Trim()] = $parts[1].Trim()
        }
    }
    return @{ values = $values; file = $file }
}

function Write-SecurityPolicy {
    <# Configure [System Access] keys with secedit; only the keys given are touched. #>
    param([System.Collections.IDictionary]$Value)
    $id = [Guid]::NewGuid().ToString('N')
    $inf = Join-Path -Path $work -ChildPath "configure-$id.inf"
    $lines = @('[Unicode]', 'Unicode=yes', '[System Access]')
    foreach ($key in $Value.Keys) {
        $lines += "$key = $($Value[$key])"
    }
    $lines += @('[Version]', 'signature="$CHICAGO$"', 'Revision=1')
    [IO.File]::WriteAllLines($inf, [string[]]$lines, [Text.Encoding]::Unicode)
    $log = Join-Path -Path $work -ChildPath "configure-$id.log"
    $output = & secedit.exe /configure /db (Join-Path -Path $work -ChildPath "configure-$id.sdb") /cfg $inf /areas SECURITYPOLICY /log $log /quiet 2>&1
    if ($LASTEXITCODE -ne 0) {
        $detail = ''
        if (Test-Path -LiteralPath $log) {
            $detail = (Get-Content -LiteralPath $log | Select-Object -Last 5) -join ' '
        }
        throw "secedit /configure failed with exit code ${LASTEXITCODE}: $output $detail"
    }
}

function Read-AuditPolicy {
    <# Subcategory GUID -> setting value (0 none, 1 success, 2 failure, 3 both) from auditpol /backup, which is not localised. #>
    $file = Join-Path -Path $work -ChildPath ('audit-' + [Guid]::NewGuid().ToString('N') + '.csv')
    $output = & auditpol.exe /backup "/file:$file" 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "auditpol /backup failed with exit code ${LASTEXITCODE}: $output"
    }
    $values = @{}
    foreach ($row in @(Import-Csv -LiteralPath $file)) {
        $guid = $row.'Subcategory GUID'
        if ($guid) {
            $values[$guid.ToUpperInvariant()] = [int]$row.'Setting Value'
        }
    }
    return @{ values = $values; file = $file }
}

function Write-AuditPolicy {
    param([string]$Guid, [int]$Value)
    $success = 'disable'
    $failure = 'disable'
    if ($Value -band 1) {
        $success = 'enable'
    }
    if ($Value -band 2) {
        $failure = 'enable'
    }
    $output = & auditpol.exe /set "/subcategory:$Guid" "/success:$success" "/failure:$failure" 2>&1
    if ($LASTEXITCODE -ne 0) {
        throw "auditpol /set /subcategory:$Guid failed with exit code ${LASTEXITCODE}: $output"
    }
}

function Read-RegistryValue {
    param([string]$Path, [string]$Name)
    $entry = @{ existed = $false; value = $null; value_kind = $null; key_existed = (Test-Path -LiteralPath $Path) }
    if ($entry.key_existed) {
        $key = Get-Item -LiteralPath $Path
        if ($key.GetValueNames() -contains $Name) {
            $entry.existed = $true
            $entry.value = $key.GetValue($Name, $null, 'DoNotExpandEnvironmentNames')
            $entry.value_kind = "$($key.GetValueKind($Name))"
        }
    }
    return $entry
}

function Write-RegistryValue {
    param([string]$Path, [string]$Name, [object]$Value, [string]$Kind = 'DWord')
    if (-not (Test-Path -LiteralPath $Path)) {
        New-Item -Path $Path -Force | Out-Null
    }
    New-ItemProperty -LiteralPath $Path -Name $Name -Value $Value -PropertyType $Kind -Force | Out-Null
}

function Read-ServiceState {
    param([string]$Name)
    $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='$($Name -replace "'", "''")'"
    if ($null -eq $service) {
        return $null
    }
    $delayed = (Read-RegistryValue -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$Name" -Name 'DelayedAutostart').value
    return @{ start_mode = "$($service.StartMode)"; state = "$($service.State)"; delayed = $delayed }
}

function Read-FirewallProfile {
    param([string]$FirewallProfile)
    $local = Get-NetFirewallProfile -Profile $FirewallProfile -PolicyStore PersistentStore
    $active = Get-NetFirewallProfile -Profile $FirewallProfile -PolicyStore ActiveStore
    return @{ local = "$($local.Enabled)"; effective = "$($active.Enabled)" }
}

function Test-WinRmAllowed {
    <# Is every WinRM listener port allowed in by an enabled rule of this firewall profile? #>
    param([string]$FirewallProfile)
    foreach ($port in $channel.winrm_ports) {
        $allowed = $false
        foreach ($filter in @(Get-NetFirewallPortFilter -PolicyStore ActiveStore -Protocol TCP)) {
            if (-not (@($filter.LocalPort) -contains "$port" -or @($filter.LocalPort) -contains 'Any')) {
                continue
            }
            $rule = $filter | Get-NetFirewallRule
            if ("$($rule.Enabled)" -eq 'True' -and "$($rule.Direction)" -eq 'Inbound' -and "$($rule.Action)" -eq 'Allow' -and
                ("$($rule.Profile)" -eq 'Any' -or "$($rule.Profile)" -match $FirewallProfile)) {
                $allowed = $true
                break
            }
        }
        if (-not $allowed) {
            return $port
        }
    }
    return $null
}

# ---------------------------------------------------------------- judging a control

function Test-Value {
    param([object]$Current, [object]$Want, [string]$Test)
    if ($null -eq $Current -or "$Current" -eq '') {
        return $false
    }
    if ($Test -eq 'notequal') {
        return "$Current" -ne "$Want"
    }
    $number = [int64]0
    if (-not [int64]::TryParse("$Current", [ref]$number)) {
        return $false
    }
    switch ($Test) {
        'eq' {
            return $number -eq [int64]$Want
        }
        'atleast' {
            return $number -ge [int64]$Want
        }
        'range' {
            return $number -ge 1 -and $number -le [int64]$Want
        }
    }
    throw "unknown test $Test"
}

function Get-ControlState {
    <# @{values = {setting: current}; failing = [settings not compliant]} for one control. #>
    param([System.Collections.IDictionary]$Control, [hashtable]$Policy, [hashtable]$Audit)
    $values = [ordered]@{}
    $failing = @()
    foreach ($setting in $Control.settings) {
        switch ($Control.kind) {
            'secedit' {
                $current = $Policy.values[$setting.key]
                $values[$setting.key] = $current
                if (-not (Test-Value -Current $current -Want $setting.want -Test $setting.test)) {
                    $failing += $setting
                }
            }
            'registry' {
                $current = (Read-RegistryValue -Path $setting.path -Name $setting.name).value
                $values[$setting.name] = $current
                if (-not (Test-Value -Current $current -Want $setting.want -Test $setting.test)) {
                    $failing += $setting
                }
            }
            'audit' {
                $current = $Audit.values[$setting.guid.ToUpperInvariant()]
                $values[$setting.name] = $current
                if ($null -eq $current -or ([int]$current -band $setting.want) -ne $setting.want) {
                    $failing += $setting
                }
            }
            'service' {
                $current = Read-ServiceState -Name $setting.name
                if ($null -eq $current) {
                    $values[$setting.name] = 'not installed'
                }
                else {
                    $values[$setting.name] = "$($current.start_mode)/$($current.state)"
                    if ($current.start_mode -ne 'Disabled' -or $current.state -ne 'Stopped') {
                        $failing += $setting
                    }
                }
            }
            'firewall' {
                $current = Read-FirewallProfile -FirewallProfile $setting.profile
                $values[$setting.profile] = $current.effective
                if ($current.effective -ne 'True') {
                    $failing += $setting
                }
            }
        }
    }
    return @{ values = $values; failing = $failing }
}

function Format-Want {
    param([System.Collections.IDictionary]$Setting, [string]$Kind)
    switch ($Kind) {
        'audit' {
            return "$($Setting.name) $(@('none', 'success', 'failure', 'success and failure')[$Setting.want])"
        }
        'service' {
            return "$($Setting.name) disabled and stopped"
        }
        'firewall' {
            return "$($Setting.profile) profile on"
        }
    }
    $name = $Setting['key']
    if (-not $name) {
        $name = $Setting['name']
    }
    switch ($Setting.test) {
        'eq' {
            return "$name = $($Setting.want)"
        }
        'atleast' {
            return "$name >= $($Setting.want)"
        }
        'range' {
            return "$name 1..$($Setting.want)"
        }
    }
    return "$name not $($Setting.want)"
}

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
            Write-SecurityPolicy -Value $values
        }
        'registry' {
            foreach ($setting in $Failing) {
                $current = Read-RegistryValue -Path $setting.path -Name $setting.name
                Add-BackupEntry ([ordered]@{ kind = 'registry'; control = $Control.id; path = $setting.path; name = $setting.name;
                        existed = $current.existed; key_existed = $current.key_existed; before = $current.value;
                        value_kind = $current.value_kind; after = $setting.want
                    })
                Write-RegistryValue -Path $setting.path -Name $setting.name -Value $setting.want
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
                Write-AuditPolicy -Guid $setting.guid -Value $after
                Add-Change -Object "auditpol:$($setting.name)" -Action 'set' -Before $before -After $after -Control $Control.id
            }
        }
        'service' {
            foreach ($setting in $Failing) {
                $current = Read-ServiceState -Name $setting.name
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
                $current = Read-FirewallProfile -FirewallProfile $setting.profile
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
            $port = Test-WinRmAllowed -FirewallProfile $setting.profile
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
    $policy = Read-SecurityPolicy
    $audit = Read-AuditPolicy
    # A setting changed again since enforce is someone's later decision: refuse unless forced.
    $conflicts = @()
    foreach ($entry in $entries) {
        $now = $null
        switch ($entry.kind) {
            'secedit' {
                $now = $policy.values[$entry.key]
            }
            'registry' {
                $now = (Read-RegistryValue -Path $entry.path -Name $entry.name).value
            }
            'audit' {
                $now = $audit.values[$entry.guid.ToUpperInvariant()]
            }
            'service' {
                $now = (Read-ServiceState -Name $entry.name).start_mode
            }
            'firewall' {
                $now = (Read-FirewallProfile -FirewallProfile $entry.profile).local
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
                        Write-RegistryValue -Path $entry.path -Name $entry.name -Value $entry.before -Kind $entry.value_kind
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
                    Write-AuditPolicy -Guid $entry.guid -Value $entry.before
                }
                Add-Change -Object "auditpol:$($entry.name)" -Action 'restore' -Before $entry.after -After $entry.before -Control $entry.control
            }
            'service' {
                if (-not $checkMode) {
                    $mode = @{ Auto = 'Automatic'; Manual = 'Manual'; Disabled = 'Disabled' }[$entry.start_mode]
                    Set-Service -Name $entry.name -StartupType $mode
                    if ($null -ne $entry.delayed) {
                        Write-RegistryValue -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$($entry.name)" -Name 'DelayedAutostart' -Value $entry.delayed
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
        Write-SecurityPolicy -Value $secedit
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
    $policy = Read-SecurityPolicy
    $audit = Read-AuditPolicy
    $results = @()
    $diffBefore = [ordered]@{}
    $diffAfter = [ordered]@{}
    foreach ($control in (Select-Control -Catalogue $catalogue)) {
        $result = [ordered]@{ id = $control.id; title = $control.title; clause = $control.clause; severity = $control.severity;
            status = 'pass'; before = $null; after = $null; message = ''
        }
        try {
            $state = Get-ControlState -Control $control -Policy $policy -Audit $audit
            $result.before = $state.values
            $wanted = @($control.settings | ForEach-Object { Format-Want -Setting $_ -Kind $control.kind }) -join '; '
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
                $todo = @($state.failing | ForEach-Object { Format-Want -Setting $_ -Kind $control.kind }) -join '; '
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
                        $policy = Read-SecurityPolicy
                    }
                    if ($control.kind -eq 'audit') {
                        $audit = Read-AuditPolicy
                    }
                    $after = Get-ControlState -Control $control -Policy $policy -Audit $audit
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
