#!powershell

# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils.BjeicOps
#AnsibleRequires -PowerShell ..module_utils.BjeicOpsWinHost

# Security watch of a Windows Server host against the baseline taken when the watch began: the Windows twin of
# linux_watch, with the same check ids where the meaning is the same. Read-only but for its own baseline file under
# %ProgramData%\bjeic-ops\watch (Administrators and SYSTEM only). CIM classes, cmdlets and the registry are read,
# never the screen text of localised tools; groups are named by their well-known SID, not their localised name.

$checkIds = @('sec.listening_new', 'sec.account_new', 'sec.service_new', 'sec.task_new', 'sec.autostart_new',
    'sec.firewall_drift')

$spec = @{
    options = @{
        watch = @{ type = 'str'; default = 'default' }
        baseline = @{ type = 'str'; default = 'keep'; choices = @('keep', 'reset') }
        checks = @{ type = 'list'; elements = 'str'; default = @(); choices = $checkIds }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

# Groups whose new members matter, by well-known SID: Administrators, Remote Desktop Users, Backup Operators.
$watchedGroups = @(
    @('S-1-5-32-544', 'Administrators'), @('S-1-5-32-555', 'Remote Desktop Users'), @('S-1-5-32-551', 'Backup Operators')
)
# The autostart places read: the machine's Run keys (64- and 32-bit views) and each loaded user hive's.
$runKeys = @('SOFTWARE\Microsoft\Windows\CurrentVersion\Run', 'SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce',
    'SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Run', 'SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\RunOnce')
# Firewall rules as the firewall service keeps them (the local store and the group policy one): one line per rule.
$firewallKeys = @('HKLM:\SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\FirewallRules',
    'HKLM:\SOFTWARE\Policies\Microsoft\WindowsFirewall\FirewallRules')
$shown = 5

if ($module.Params.watch -notmatch '^[A-Za-z0-9_.-]{1,100}$') {
    $module.FailJson("watch '$($module.Params.watch)': use letters, digits, '.', '_' and '-' only (it names the baseline file)")
}
$enabled = @($checkIds)
if ($module.Params.checks.Count -gt 0) {
    $enabled = @($module.Params.checks)
}
$hostname = [System.Net.Dns]::GetHostName()
$findings = New-BjeicOpsFindingList -Keep $enabled -Always @('sec.baseline_captured')
$problems = New-Object -TypeName System.Collections.Generic.List[string]

function Add-Watch {
    param([string]$Check, [string]$Severity, [string]$Subject, [string]$Message, [object]$Value = $null)
    Add-BjeicOpsFinding -List $findings -Finding (New-BjeicOpsFinding -Check $Check -Severity $Severity -Subject $Subject `
            -Message $Message -Value $Value)
}

# ---------------------------------------------------------------- what the watch observes

function Get-ListeningSocket {
    <# socket (tcp/0.0.0.0:4444, as linux_watch names it) -> its process. #>
    $sockets = [ordered]@{}
    foreach ($socket in @(Get-BjeicOpsListeningSocket)) {
        $sockets["$($socket.proto)/$($socket.address):$($socket.port)"] = $socket.process
    }
    return $sockets
}

function Get-LocalAccount {
    $accounts = [ordered]@{}
    foreach ($account in @(Get-CimInstance -ClassName Win32_UserAccount -Filter 'LocalAccount=TRUE' | Sort-Object -Property Name)) {
        $accounts[$account.Name] = [ordered]@{ sid = $account.SID; disabled = [bool]$account.Disabled;
            lockout = [bool]$account.Lockout; password_required = [bool]$account.PasswordRequired
        }
    }
    return $accounts
}

function Get-GroupMember {
    $members = [ordered]@{}
    foreach ($group in $watchedGroups) {
        $found = Get-CimInstance -ClassName Win32_Group -Filter "LocalAccount=TRUE AND SID='$($group[0])'"
        if (-not $found) {
            continue
        }
        $names = @(Get-CimAssociatedInstance -InputObject $found -Association Win32_GroupUser |
                ForEach-Object { "$($_.Domain)\$($_.Name) ($($_.SID))" } | Sort-Object)
        $members[$group[0]] = $names
    }
    return $members
}

function Get-ServiceEntry {
    $services = [ordered]@{}
    foreach ($service in @(Get-CimInstance -ClassName Win32_Service | Sort-Object -Property Name)) {
        $services[$service.Name] = [ordered]@{ path = "$($service.PathName)"; start_mode = "$($service.StartMode)";
            account = "$($service.StartName)"
        }
    }
    return $services
}

function Get-TaskEntry {
    $tasks = [ordered]@{}
    foreach ($task in @(Get-ScheduledTask -ErrorAction Stop | Sort-Object -Property @('TaskPath', 'TaskName'))) {
        $actions = @($task.Actions | ForEach-Object {
                if ($_.PSObject.Properties['Execute']) { (("$($_.Execute) $($_.Arguments)").Trim()) } else { "$($_.CimClass.CimClassName)" }
            })
        $tasks["$($task.TaskPath)$($task.TaskName)"] = [ordered]@{ actions = $actions; user = "$($task.Principal.UserId)";
            run_level = "$($task.Principal.RunLevel)"; enabled = ("$($task.State)" -ne 'Disabled')
        }
    }
    return $tasks
}

function Get-AutostartEntry {
    $entries = [ordered]@{}
    $hives = @(@('HKLM', 'HKLM:\'))
    foreach ($hive in @(Get-ChildItem -LiteralPath 'Registry::HKEY_USERS' -ErrorAction SilentlyContinue)) {
        if ($hive.PSChildName -match '^S-1-5-21-[0-9-]+$') {   # loaded user profiles, not their _Classes hives
            $hives += , @("HKU\$($hive.PSChildName)", "Registry::HKEY_USERS\$($hive.PSChildName)\")
        }
    }
    foreach ($hive in $hives) {
        foreach ($key in $runKeys) {
            $item = Get-Item -LiteralPath ($hive[1] + $key) -ErrorAction SilentlyContinue
            if (-not $item) {
                continue
            }
            foreach ($name in @($item.GetValueNames() | Sort-Object)) {
                $entries["$($hive[0])\$key\$name"] = "$($item.GetValue($name, $null, 'DoNotExpandEnvironmentNames'))"
            }
        }
    }
    $startup = Join-Path -Path $env:ProgramData -ChildPath 'Microsoft\Windows\Start Menu\Programs\StartUp'
    foreach ($file in @(Get-ChildItem -LiteralPath $startup -File -ErrorAction SilentlyContinue | Sort-Object -Property Name)) {
        $hash = (Get-FileHash -LiteralPath $file.FullName -Algorithm SHA256).Hash.ToLowerInvariant()
        $entries["StartUp\$($file.Name)"] = "sha256:$hash"
    }
    return $entries
}

function Get-FirewallLine {
    $lines = @()
    foreach ($path in $firewallKeys) {
        $item = Get-Item -LiteralPath $path -ErrorAction SilentlyContinue
        if (-not $item) {
            continue
        }
        $store = 'local'
        if ($path -like '*Policies*') {
            $store = 'policy'
        }
        foreach ($name in @($item.GetValueNames() | Sort-Object)) {
            $lines += "$store $name $($item.GetValue($name))"
        }
    }
    $profiles = Get-BjeicOpsFirewallProfile
    foreach ($name in $profiles.Keys) {
        $lines += "profile $name enabled=$($profiles[$name].enabled) inbound=$($profiles[$name].inbound)"
    }
    return , @($lines | Sort-Object)
}

function Get-Observation {
    <# Everything the watch compares, as plain data (the baseline has this shape too). A part that cannot be read
    is said in $problems and left empty, so the rest of the watch still runs. #>
    $now = [ordered]@{ listening = [ordered]@{}; accounts = [ordered]@{}; groups = [ordered]@{}; services = [ordered]@{};
        tasks = [ordered]@{}; autostart = [ordered]@{}; firewall = @()
    }
    $parts = @(
        @('listening', ${function:Get-ListeningSocket}, 'sec.listening_new'),
        @('accounts', ${function:Get-LocalAccount}, 'sec.account_new'),
        @('groups', ${function:Get-GroupMember}, 'sec.account_new'),
        @('services', ${function:Get-ServiceEntry}, 'sec.service_new'),
        @('tasks', ${function:Get-TaskEntry}, 'sec.task_new'),
        @('autostart', ${function:Get-AutostartEntry}, 'sec.autostart_new'),
        @('firewall', ${function:Get-FirewallLine}, 'sec.firewall_drift')
    )
    foreach ($part in $parts) {
        if ($part[2] -notin $enabled) {
            continue
        }
        try {
            $now[$part[0]] = & $part[1]
        }
        catch {
            $problems.Add("$($part[0]) could not be read: $($_.Exception.Message)")
        }
    }
    return $now
}

# ---------------------------------------------------------------- comparing with the baseline

function ConvertTo-Map {
    <# A baseline part read back from JSON (a PSCustomObject) as a name -> value map. #>
    param([object]$Value)
    $map = [ordered]@{}
    if ($null -eq $Value) {
        return $map
    }
    if ($Value -is [System.Collections.IDictionary]) {
        foreach ($key in $Value.Keys) {
            $map[$key] = $Value[$key]
        }
        return $map
    }
    foreach ($property in $Value.PSObject.Properties) {
        $map[$property.Name] = $property.Value
    }
    return $map
}

function ConvertTo-Text {
    param([object]$Value)
    return (ConvertTo-Json -InputObject $Value -Depth 5 -Compress)
}

function Compare-Map {
    <# @(added names, removed names, changed names) between two maps, values compared as JSON. #>
    param([System.Collections.IDictionary]$Before, [System.Collections.IDictionary]$After)
    $added = @($After.Keys | Where-Object { -not $Before.Contains($_) } | Sort-Object)
    $removed = @($Before.Keys | Where-Object { -not $After.Contains($_) } | Sort-Object)
    $changed = @($After.Keys | Where-Object { $Before.Contains($_) -and
            (ConvertTo-Text $Before[$_]) -ne (ConvertTo-Text $After[$_]) } | Sort-Object)
    return , @($added, $removed, $changed)
}

function Compare-Entry {
    <# Entries of one part that are new, changed or gone since the baseline: new ones are findings of Check at
    NewSeverity, a change at what Severity says for (before, after), a removal info. #>
    param([string]$Check, [string]$What, [object]$Base, [System.Collections.IDictionary]$Now, [string]$NewSeverity = 'warning',
        [scriptblock]$Severity = { 'warning' })
    $before = ConvertTo-Map $Base
    $diff = Compare-Map $before $Now
    foreach ($name in $diff[0]) {
        Add-Watch $Check $NewSeverity $name "new $What $name since the watch began: $(ConvertTo-Text $Now[$name])" $Now[$name]
    }
    foreach ($name in $diff[2]) {
        Add-Watch $Check (& $Severity $before[$name] $Now[$name]) $name ("$What $name changed since the watch began: " +
            "$(ConvertTo-Text $before[$name]) -> $(ConvertTo-Text $Now[$name])") @{ before = $before[$name]; after = $Now[$name] }
    }
    foreach ($name in $diff[1]) {
        Add-Watch $Check 'info' $name "$What $name is gone since the watch began"
    }
}

function Compare-Group {
    <# New members of the watched groups: critical (a way to administer the host, or to log on to it). #>
    param($Base, $Now)
    $groupsBefore = ConvertTo-Map $Base.groups
    foreach ($group in $watchedGroups) {
        if (-not $Now.groups.Contains($group[0])) {
            continue
        }
        $old = @($groupsBefore[$group[0]])
        $joined = @($Now.groups[$group[0]] | Where-Object { $_ -notin $old })
        if ($joined.Count -gt 0) {
            Add-Watch 'sec.account_new' 'critical' "group:$($group[0])" "$($joined -join ', ') joined $($group[1]) ($($group[0])) since the watch began" $joined
        }
    }
}

# A service whose program or account changed, or a task whose actions or account changed, is a classic way to persist:
# critical; other changes (start mode, enabled) warnings.
$serviceChanged = {
    param($Before, $After)
    if ("$($Before.path)" -ne "$($After.path)" -or "$($Before.account)" -ne "$($After.account)") {
        return 'critical'
    }
    return 'warning'
}
$taskChanged = {
    param($Before, $After)
    if ((ConvertTo-Text @($Before.actions)) -ne (ConvertTo-Text @($After.actions)) -or "$($Before.user)" -ne "$($After.user)") {
        return 'critical'
    }
    return 'warning'
}

function Compare-Firewall {
    param($Base, $Now)
    $before = @($Base.firewall)
    $after = @($Now.firewall)
    $added = @($after | Where-Object { $_ -notin $before })
    $removed = @($before | Where-Object { $_ -notin $after })
    if ($added.Count -gt 0 -or $removed.Count -gt 0) {
        $quoted = @($added | Select-Object -First $shown | ForEach-Object { "+ $_" }) + @($removed | Select-Object -First $shown | ForEach-Object { "- $_" })
        Add-Watch 'sec.firewall_drift' 'warning' 'windows-firewall' ("Windows Firewall rules changed since the watch began: $($added.Count) added, " +
            "$($removed.Count) removed: $($quoted -join '; ')") @{ added = $added; removed = $removed }
    }
}

# ---------------------------------------------------------------- the watch

$now = Get-Observation
foreach ($problem in $problems) {
    Add-BjeicOpsFinding -List $findings -Finding (New-BjeicOpsUnavailable -Check 'sec.unavailable' -Subject $hostname -Message $problem)
}
$watched = [ordered]@{ listening = $now.listening.Count; accounts = $now.accounts.Count; services = $now.services.Count;
    tasks = $now.tasks.Count; autostart = $now.autostart.Count; firewall_rules = @($now.firewall).Count
}
try {
    $root = Join-Path -Path $env:ProgramData -ChildPath 'bjeic-ops\watch'
    if (-not $module.CheckMode) {
        $root = Get-BjeicOpsRecordRoot -Kind watch
    }
}
catch {
    $module.FailJson("Failed to make the baseline directory $root for watch $($module.Params.watch): $($_.Exception.Message) (run as an administrator)", $_)
}
$path = Join-Path -Path $root -ChildPath "$($module.Params.watch).json"
$base = $null
if ($module.Params.baseline -eq 'keep' -and (Test-Path -LiteralPath $path)) {
    try {
        $base = Read-BjeicOpsJson -Path $path
        foreach ($part in @('listening', 'accounts', 'services', 'tasks', 'autostart', 'firewall', 'captured_at')) {
            if (-not $base.PSObject.Properties[$part]) {
                throw "missing $part"
            }
        }
    }
    catch {
        $module.FailJson("The baseline $path of watch $($module.Params.watch) cannot be read ($($_.Exception.Message)): run with baseline=reset to record a new one", $_)
    }
}
$counts = ($watched.Keys | ForEach-Object { "$($watched[$_]) $_" }) -join ', '
if ($null -eq $base) {
    $now.captured_at = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
    $verb = 'would record the'
    if (-not $module.CheckMode) {
        try {
            Write-BjeicOpsJson -Path $path -InputObject $now
        }
        catch {
            $module.FailJson("Failed to record the baseline of watch $($module.Params.watch) at ${path}: $($_.Exception.Message)", $_)
        }
        $verb = 'recorded the'
    }
    Add-BjeicOpsFinding -List $findings -Finding (New-BjeicOpsFinding -Check 'sec.baseline_captured' -Severity info `
            -Subject $hostname -Message "$verb baseline of watch $($module.Params.watch) on ${hostname}: $counts")
    $module.Result.baseline = @{ watch = $module.Params.watch; path = $path; captured_at = $now.captured_at; captured_now = (-not $module.CheckMode) }
    $module.Result.msg = "baseline of watch $($module.Params.watch) recorded"
}
else {
    Compare-Entry 'sec.listening_new' 'listening port' $base.listening $now.listening
    Compare-Entry 'sec.account_new' 'local account' $base.accounts $now.accounts
    Compare-Group $base $now
    Compare-Entry 'sec.service_new' 'service' $base.services $now.services -Severity $serviceChanged
    Compare-Entry 'sec.task_new' 'scheduled task' $base.tasks $now.tasks -Severity $taskChanged
    Compare-Entry 'sec.autostart_new' 'autostart entry' $base.autostart $now.autostart -Severity { 'critical' }
    Compare-Firewall $base $now
    $serious = @($findings.items | Where-Object { $_.severity -ne 'info' }).Count
    $module.Result.baseline = @{ watch = $module.Params.watch; path = $path; captured_at = $base.captured_at; captured_now = $false }
    $module.Result.msg = "$serious change(s) since the baseline of watch $($module.Params.watch) ($($base.captured_at))"
}
$module.Result.changed = $false
$module.Result.findings = @($findings.items)
$module.Result.watched = $watched
$module.ExitJson()
