# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Shared code of the bjeic.ops Windows modules: the result contract (findings, ledger items and keys,
# rollback handles: the twin of module_utils/contract.py), threshold grading (the same rules), root-only record directories written
# atomically, and what the management channel (WinRM, its listeners, become) depends on.
# Windows PowerShell 5.1 compatible: no ternary, no null-coalescing, no -AsHashtable.

Set-StrictMode -Version 2.0

function New-BjeicOpsFinding {
    <# A finding of the result contract: {check, severity, subject, value, threshold, message}. #>
    param(
        [Parameter(Mandatory = $true)][string]$Check,
        [Parameter(Mandatory = $true)][ValidateSet('critical', 'warning', 'info')][string]$Severity,
        [Parameter(Mandatory = $true)][AllowEmptyString()][string]$Subject,
        [Parameter(Mandatory = $true)][string]$Message,
        [object]$Value = $null,
        [object]$Threshold = $null
    )
    [ordered]@{
        check = $Check
        severity = $Severity
        subject = $Subject
        value = $Value
        threshold = $Threshold
        message = $Message
    }
}

function New-BjeicOpsUnavailable {
    <# What a module could not observe: an info finding whose check id ends in .unavailable. #>
    param(
        [Parameter(Mandatory = $true)][string]$Check,
        [Parameter(Mandatory = $true)][string]$Subject,
        [Parameter(Mandatory = $true)][string]$Message
    )
    New-BjeicOpsFinding -Check $Check -Severity info -Subject $Subject -Message $Message
}

function New-BjeicOpsFindingList {
    <# The findings of one module run (the twin of contract.Findings): a finding is kept when its check is in Keep (every
    check when Keep is not given), ends in .unavailable, or is in Always. Add with Add-BjeicOpsFinding; read .items. #>
    param([AllowNull()][AllowEmptyCollection()][string[]]$Keep = $null, [string[]]$Always = @())
    return @{ items = (New-Object -TypeName System.Collections.Generic.List[object]); keep = $Keep; always = @($Always) }
}

function Add-BjeicOpsFinding {
    <# Add a finding to a list from New-BjeicOpsFindingList, if its check is kept. #>
    param([Parameter(Mandatory = $true)][hashtable]$List, [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Finding)
    $check = [string]$Finding['check']
    if ($null -eq $List.keep -or $check -in $List.keep -or $check.EndsWith('.unavailable') -or $check -in $List.always) {
        $List.items.Add($Finding)
    }
}

function Add-BjeicOpsGraded {
    <# A finding when Value crosses Levels ({warning, critical, _direction}); Format gets {0} the value, {1} the severity,
    {2} the threshold crossed. Writes nothing to the pipeline. #>
    param([Parameter(Mandatory = $true)][hashtable]$List, [string]$Check, [string]$Subject, [double]$Value,
        [System.Collections.IDictionary]$Levels, [string]$Format)
    $grade = Get-BjeicOpsGrade -Value $Value -Levels $Levels
    if ($grade[0]) {
        $message = [string]::Format([Globalization.CultureInfo]::InvariantCulture, $Format, $Value, $grade[0], $grade[1])
        Add-BjeicOpsFinding -List $List -Finding (New-BjeicOpsFinding -Check $Check -Severity $grade[0] -Subject $Subject `
                -Message $message -Value $Value -Threshold $grade[1])
    }
}

function Get-BjeicOpsLedgerKey {
    <# A ledger key in the one grammar of module_utils/contract.py: PREFIX:NAME, or PREFIX:NAME@HOST. #>
    param(
        [Parameter(Mandatory = $true)][string]$Prefix,
        [Parameter(Mandatory = $true)][string]$Name,
        [string]$HostName = ''
    )
    if ($HostName) {
        return "${Prefix}:${Name}@${HostName}"
    }
    return "${Prefix}:${Name}"
}

function New-BjeicOpsLedgerItem {
    <# A ledger item of the result contract: {kind, key, attrs}. #>
    param(
        [Parameter(Mandatory = $true)][ValidateSet('os', 'db', 'network', 'cloud', 'backup')][string]$Kind,
        [Parameter(Mandatory = $true)][ValidatePattern(':')][string]$Key,
        [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Attrs
    )
    [ordered]@{ kind = $Kind; key = $Key; attrs = $Attrs }
}

function New-BjeicOpsRollback {
    <# The handle that undoes a run's change: bjeic-ops rollback runs Module with Arguments on the host. #>
    param(
        [Parameter(Mandatory = $true)][string]$Id,
        [Parameter(Mandatory = $true)][string]$Module,
        [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Arguments
    )
    @{ id = $Id; how = @{ module = $Module; args = $Arguments } }
}

function Get-BjeicOpsGrade {
    <# @(severity, threshold) for a value against {warning, critical, _direction}; @($null, $null) when fine. #>
    param(
        [Parameter(Mandatory = $true)][double]$Value,
        [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Levels
    )
    $below = $Levels.Contains('_direction') -and $Levels['_direction'] -eq 'below'
    foreach ($severity in @('critical', 'warning')) {
        if (-not $Levels.Contains($severity) -or $null -eq $Levels[$severity]) {
            continue
        }
        $level = [double]$Levels[$severity]
        if (($below -and $Value -le $level) -or (-not $below -and $Value -ge $level)) {
            return @($severity, $level)
        }
    }
    return @($null, $null)
}

function Merge-BjeicOpsThreshold {
    <# The defaults with the caller's levels merged over them; unknown ids or bad levels throw a message naming them. #>
    param(
        [Parameter(Mandatory = $true)][System.Collections.IDictionary]$Default,
        [System.Collections.IDictionary]$Given
    )
    $merged = @{}
    foreach ($id in $Default.Keys) {
        $merged[$id] = @{}
        foreach ($key in $Default[$id].Keys) {
            $merged[$id][$key] = $Default[$id][$key]
        }
    }
    if ($null -eq $Given) {
        return $merged
    }
    foreach ($id in $Given.Keys) {
        if (-not $merged.ContainsKey($id)) {
            $known = ($Default.Keys | Sort-Object) -join ', '
            throw "thresholds: unknown check id '$id'; known ids with thresholds: $known"
        }
        $levels = $Given[$id]
        if ($levels -isnot [System.Collections.IDictionary]) {
            throw "thresholds: $id must be a mapping like {warning: 80, critical: 90}"
        }
        foreach ($key in $levels.Keys) {
            if ($key -notin @('warning', 'critical')) {
                throw "thresholds: $id has '$key'; only warning and critical can be set"
            }
            $number = 0.0
            if (-not [double]::TryParse([string]$levels[$key], [Globalization.NumberStyles]::Float,
                    [Globalization.CultureInfo]::InvariantCulture, [ref]$number)) {
                throw "thresholds: $id.$key must be a number, got '$($levels[$key])'"
            }
            $merged[$id][$key] = $number
        }
    }
    return $merged
}

function Get-BjeicOpsRecordRoot {
    <# C:\ProgramData\bjeic-ops\<Kind>, readable by Administrators and SYSTEM only (like /var/lib/bjeic-ops, 0700). #>
    param([Parameter(Mandatory = $true)][string]$Kind)
    $root = Join-Path -Path $env:ProgramData -ChildPath "bjeic-ops\$Kind"
    if (-not (Test-Path -LiteralPath $root)) {
        New-Item -Path $root -ItemType Directory -Force | Out-Null
    }
    $acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
    $acl.SetAccessRuleProtection($true, $false)   # no inherited Users read access
    foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {   # SYSTEM, BUILTIN\Administrators
        $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
        $rule = New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList @(
            $identity, 'FullControl', 'ContainerInherit, ObjectInherit', 'None', 'Allow')
        $acl.AddAccessRule($rule)
    }
    Set-Acl -LiteralPath $root -AclObject $acl
    return $root
}

function New-BjeicOpsRecordId {
    <# A sortable, unique id: 20261201T101500Z-1a2b3c. #>
    $stamp = [DateTime]::UtcNow.ToString('yyyyMMddTHHmmssZ', [Globalization.CultureInfo]::InvariantCulture)
    $suffix = [Guid]::NewGuid().ToString('N').Substring(0, 6)
    return "$stamp-$suffix"
}

function Write-BjeicOpsJson {
    <# Write an object as UTF-8 JSON through a temporary file and a rename: never a half-written record. #>
    param(
        [Parameter(Mandatory = $true)][string]$Path,
        [Parameter(Mandatory = $true)][object]$InputObject
    )
    $temporary = "$Path.tmp-$PID"
    $json = ConvertTo-Json -InputObject $InputObject -Depth 10 -Compress
    [System.IO.File]::WriteAllText($temporary, $json, (New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false))
    if (Test-Path -LiteralPath $Path) {
        [System.IO.File]::Replace($temporary, $Path, $null)
    }
    else {
        [System.IO.File]::Move($temporary, $Path)
    }
}

function Read-BjeicOpsJson {
    <# A record written by Write-BjeicOpsJson; a corrupt file throws a message naming it. #>
    param([Parameter(Mandatory = $true)][string]$Path)
    $text = [System.IO.File]::ReadAllText($Path)
    try {
        return ConvertFrom-Json -InputObject $text
    }
    catch {
        throw "the record $Path is corrupt (not valid JSON): $($_.Exception.Message)"
    }
}

function Get-BjeicOpsPendingReboot {
    <# Why a restart is pending, as a list of reasons (empty: none). -UpdatesOnly leaves out pending file
    renames, which are not an update's doing. #>
    param([switch]$UpdatesOnly)
    $reasons = @()
    if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
        $reasons += 'component servicing (updates or roles installed)'
    }
    if (Test-Path -LiteralPath 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
        $reasons += 'Windows Update'
    }
    if (-not $UpdatesOnly) {
        $renames = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' `
            -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
        if ($renames -and $renames.PendingFileRenameOperations) {
            $reasons += 'pending file renames'
        }
    }
    return , $reasons
}

function Get-BjeicOpsManagementChannel {
    <# What Ansible's connection to this host needs: the services, the WinRM listener ports, and the account. #>
    $ports = @()
    try {
        foreach ($listener in @(Get-ChildItem -Path WSMan:\localhost\Listener -ErrorAction Stop)) {
            $port = $listener.Keys | Where-Object { $_ -like 'Port=*' }
            foreach ($item in @(Get-ChildItem -Path $listener.PSPath -ErrorAction Stop)) {
                if ($item.Name -eq 'Port') {
                    $port = $item.Value
                }
            }
            if ($port) {
                $ports += [int]("$port" -replace '^Port=', '')
            }
        }
    }
    catch {
        $ports = @(5985, 5986)   # listeners unreadable: protect both default ports
    }
    $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
    [ordered]@{
        # WinRM and its dependencies, become (SECLOGON), RDP and OpenSSH (the people's and Ansible's other ways in).
        services = @('WinRM', 'seclogon', 'RpcSs', 'RpcEptMapper', 'DcomLaunch', 'HTTP', 'EventLog', 'TermService',
            'sshd', 'Netlogon', 'LanmanWorkstation', 'Dnscache', 'mpssvc', 'BFE')
        winrm_ports = @($ports | Sort-Object -Unique)
        account = $identity.Name
        account_sid = $identity.User.Value
    }
}

$exported = @(
    'New-BjeicOpsFinding', 'New-BjeicOpsUnavailable', 'New-BjeicOpsFindingList', 'Add-BjeicOpsFinding', 'Add-BjeicOpsGraded', 'Get-BjeicOpsLedgerKey', 'New-BjeicOpsLedgerItem',
    'New-BjeicOpsRollback', 'Get-BjeicOpsGrade', 'Merge-BjeicOpsThreshold',
    'Get-BjeicOpsRecordRoot', 'New-BjeicOpsRecordId', 'Write-BjeicOpsJson', 'Read-BjeicOpsJson', 'Get-BjeicOpsPendingReboot',
    'Get-BjeicOpsManagementChannel'
)
Export-ModuleMember -Function $exported
