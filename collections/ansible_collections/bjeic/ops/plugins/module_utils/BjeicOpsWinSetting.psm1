# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The settings the Windows baseline controls (win_harden): reading and writing each kind - the local security policy
# through secedit, the audit policy through auditpol's backup file (neither localised), registry values, services,
# firewall profiles, and whether WinRM stays reachable - and judging a control's settings against what it wants.
# Windows PowerShell 5.1 compatible.

Set-StrictMode -Version 2.0

function Read-BjeicOpsSecurityPolicy {
    <# [System Access] of the local security policy, as secedit exports it (UTF-16 with BOM), through a file in WorkDir. #>
    param([Parameter(Mandatory = $true)][string]$WorkDir)
    $file = Join-Path -Path $WorkDir -ChildPath ('export-' + [Guid]::NewGuid().ToString('N') + '.inf')
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

function Write-BjeicOpsSecurityPolicy {
    <# Configure [System Access] keys with secedit; only the keys given are touched. #>
    param([Parameter(Mandatory = $true)][string]$WorkDir, [System.Collections.IDictionary]$Value)
    $id = [Guid]::NewGuid().ToString('N')
    $inf = Join-Path -Path $WorkDir -ChildPath "configure-$id.inf"
    $lines = @('[Unicode]', 'Unicode=yes', '[System Access]')
    foreach ($key in $Value.Keys) {
        $lines += "$key = $($Value[$key])"
    }
    $lines += @('[Version]', 'signature="$CHICAGO$"', 'Revision=1')
    [IO.File]::WriteAllLines($inf, [string[]]$lines, [Text.Encoding]::Unicode)
    $log = Join-Path -Path $WorkDir -ChildPath "configure-$id.log"
    $output = & secedit.exe /configure /db (Join-Path -Path $WorkDir -ChildPath "configure-$id.sdb") /cfg $inf /areas SECURITYPOLICY /log $log /quiet 2>&1
    if ($LASTEXITCODE -ne 0) {
        $detail = ''
        if (Test-Path -LiteralPath $log) {
            $detail = (Get-Content -LiteralPath $log | Select-Object -Last 5) -join ' '
        }
        throw "secedit /configure failed with exit code ${LASTEXITCODE}: $output $detail"
    }
}

function Read-BjeicOpsAuditPolicy {
    <# Subcategory GUID -> setting value (0 none, 1 success, 2 failure, 3 both) from auditpol /backup, which is not localised. #>
    param([Parameter(Mandatory = $true)][string]$WorkDir)
    $file = Join-Path -Path $WorkDir -ChildPath ('audit-' + [Guid]::NewGuid().ToString('N') + '.csv')
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

function Write-BjeicOpsAuditPolicy {
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

function Read-BjeicOpsRegistryValue {
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

function Write-BjeicOpsRegistryValue {
    param([string]$Path, [string]$Name, [object]$Value, [string]$Kind = 'DWord')
    if (-not (Test-Path -LiteralPath $Path)) {
        New-Item -Path $Path -Force | Out-Null
    }
    New-ItemProperty -LiteralPath $Path -Name $Name -Value $Value -PropertyType $Kind -Force | Out-Null
}

function Read-BjeicOpsServiceState {
    param([string]$Name)
    $service = Get-CimInstance -ClassName Win32_Service -Filter "Name='$($Name -replace "'", "''")'"
    if ($null -eq $service) {
        return $null
    }
    $delayed = (Read-BjeicOpsRegistryValue -Path "HKLM:\SYSTEM\CurrentControlSet\Services\$Name" -Name 'DelayedAutostart').value
    return @{ start_mode = "$($service.StartMode)"; state = "$($service.State)"; delayed = $delayed }
}

function Read-BjeicOpsFirewallState {
    param([string]$FirewallProfile)
    $local = Get-NetFirewallProfile -Profile $FirewallProfile -PolicyStore PersistentStore
    $active = Get-NetFirewallProfile -Profile $FirewallProfile -PolicyStore ActiveStore
    return @{ local = "$($local.Enabled)"; effective = "$($active.Enabled)" }
}

function Test-BjeicOpsWinRmAllowed {
    <# The first WinRM listener port (of Ports) no enabled rule of this firewall profile allows in, or $null. #>
    param([string]$FirewallProfile, [int[]]$Ports)
    foreach ($port in $Ports) {
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

function Test-BjeicOpsSettingValue {
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

function Get-BjeicOpsControlState {
    <# @{values = {setting: current}; failing = [settings not compliant]} for one control. #>
    param([System.Collections.IDictionary]$Control, [hashtable]$Policy, [hashtable]$Audit)
    $values = [ordered]@{}
    $failing = @()
    foreach ($setting in $Control.settings) {
        switch ($Control.kind) {
            'secedit' {
                $current = $Policy.values[$setting.key]
                $values[$setting.key] = $current
                if (-not (Test-BjeicOpsSettingValue -Current $current -Want $setting.want -Test $setting.test)) {
                    $failing += $setting
                }
            }
            'registry' {
                $current = (Read-BjeicOpsRegistryValue -Path $setting.path -Name $setting.name).value
                $values[$setting.name] = $current
                if (-not (Test-BjeicOpsSettingValue -Current $current -Want $setting.want -Test $setting.test)) {
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
                $current = Read-BjeicOpsServiceState -Name $setting.name
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
                $current = Read-BjeicOpsFirewallState -FirewallProfile $setting.profile
                $values[$setting.profile] = $current.effective
                if ($current.effective -ne 'True') {
                    $failing += $setting
                }
            }
        }
    }
    return @{ values = $values; failing = $failing }
}

function Format-BjeicOpsWant {
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

$exported = @(
    'Read-BjeicOpsSecurityPolicy',
    'Write-BjeicOpsSecurityPolicy',
    'Read-BjeicOpsAuditPolicy',
    'Write-BjeicOpsAuditPolicy',
    'Read-BjeicOpsRegistryValue',
    'Write-BjeicOpsRegistryValue',
    'Read-BjeicOpsServiceState',
    'Read-BjeicOpsFirewallState',
    'Test-BjeicOpsWinRmAllowed',
    'Test-BjeicOpsSettingValue',
    'Get-BjeicOpsControlState',
    'Format-BjeicOpsWant'
)
Export-ModuleMember -Function $exported
