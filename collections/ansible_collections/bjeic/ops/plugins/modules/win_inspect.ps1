#!powershell

# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils.BjeicOps
#AnsibleRequires -PowerShell ..module_utils.BjeicOpsWinHost

# Daily inspection of a Windows Server host in one call: the Windows twin of linux_inspect, with the
# same check ids where the meaning is the same. Read-only. CIM classes and event log queries are used,
# never the screen text of localised tools (a Chinese Windows prints Chinese).

$checkIds = @('fs.usage', 'swap.usage', 'mem.usage', 'cpu.usage', 'svc.failed', 'svc.down', 'login.failed',
    'tmp.usage', 'log.errors', 'backup.stale', 'backup.missing', 'backup.failed', 'reboot.pending', 'ntp.unsynced')

$spec = @{
    options = @{
        thresholds = @{ type = 'dict'; default = @{} }
        window_hours = @{ type = 'int'; default = 24 }
        services = @{ type = 'list'; elements = 'str'; default = @() }
        checks = @{ type = 'list'; elements = 'str'; default = @(); choices = $checkIds }
        skip_checks = @{ type = 'list'; elements = 'str'; default = @(); choices = $checkIds }
        log_sample_lines = @{ type = 'int'; default = 10 }
        temp_paths = @{ type = 'list'; elements = 'path'; default = @('C:\Windows\Temp') }
        backup_max_age_hours = @{ type = 'float'; default = 26 }
        ignore_services = @{ type = 'list'; elements = 'str'; default = @('gupdate', 'gupdatem', 'edgeupdate', 'sppsvc',
                'RemoteRegistry', 'MapsBroker', 'tiledatamodelsvc', 'CDPSvc', 'WbioSrvc', 'TrustedInstaller') }
        cloud_identity = @{ type = 'bool'; default = $true }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)

$defaultThresholds = @{
    'fs.usage' = @{ warning = 80.0; critical = 90.0 }
    'swap.usage' = @{ warning = 50.0; critical = 80.0 }
    'mem.usage' = @{ warning = 85.0; critical = 95.0 }
    'cpu.usage' = @{ warning = 80.0; critical = 95.0 }
    'login.failed' = @{ warning = 5.0; critical = 30.0 }
    'tmp.usage' = @{ warning = 1024.0; critical = 4096.0 }
    'log.errors' = @{ warning = 10.0; critical = 100.0 }
    'backup.stale' = @{ warning = 1.0; critical = 2.0 }
}

$mib = 1024 * 1024
$gib = 1024 * $mib
$invariant = [Globalization.CultureInfo]::InvariantCulture

if ($module.Params.window_hours -le 0) {
    $module.FailJson("window_hours must be a positive number of hours, got $($module.Params.window_hours)")
}
if ($module.Params.log_sample_lines -lt 0 -or $module.Params.log_sample_lines -gt 100) {
    $module.FailJson("log_sample_lines must be between 0 and 100, got $($module.Params.log_sample_lines)")
}
try {
    $thresholds = Merge-BjeicOpsThreshold -Default $defaultThresholds -Given $module.Params.thresholds
}
catch {
    $module.FailJson($_.Exception.Message)
}

$enabled = @($checkIds)
if ($module.Params.checks.Count -gt 0) {
    $enabled = @($module.Params.checks)
}
$enabled = @($enabled | Where-Object { $_ -notin $module.Params.skip_checks })

$hostname = [System.Net.Dns]::GetHostName()
$now = [DateTime]::UtcNow
$since = $now.AddHours(-$module.Params.window_hours)
$findings = New-BjeicOpsFindingList -Keep $enabled -Always @('inspect.error')
$attrs = [ordered]@{}
$state = [ordered]@{}
# Shared by the gatherers, whatever scope the module wrapper gives this script.
$insp = @{ os = $null; network = $null; cloud = $null }

function Add-Finding {
    param([System.Collections.IDictionary]$Finding)
    Add-BjeicOpsFinding -List $findings -Finding $Finding
}

function Add-Graded {
    <# A finding when the value crosses its check's levels; the message gets {0} value, {1} severity, {2} threshold. #>
    param([string]$Check, [string]$Subject, [double]$Value, [string]$Format)
    Add-BjeicOpsGraded -List $findings -Check $Check -Subject $Subject -Value $Value -Levels $thresholds[$Check] -Format $Format
}

# ---------------------------------------------------------------- identity

function Get-Identity {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $cs = Get-CimInstance -ClassName Win32_ComputerSystem
    $processors = @(Get-CimInstance -ClassName Win32_Processor)
    $fqdn = $hostname
    if ($cs.PartOfDomain) {
        $fqdn = "$($cs.DNSHostName).$($cs.Domain)"
    }
    $attrs.hostname = $hostname
    $attrs.fqdn = $fqdn
    $attrs.os = [ordered]@{ name = $os.Caption; version = $os.Version; build = $os.BuildNumber; id = 'windows';
        pretty_name = "$($os.Caption) ($($os.Version))"
    }
    $attrs.kernel = $os.Version
    $attrs.arch = $os.OSArchitecture
    $attrs.cpu = [ordered]@{ count = [int]$cs.NumberOfLogicalProcessors; model = "$($processors[0].Name)".Trim();
        sockets = $processors.Count
    }
    $attrs.memory_bytes = [int64]$cs.TotalPhysicalMemory
    $attrs.domain = [ordered]@{ name = $cs.Domain; joined = [bool]$cs.PartOfDomain }
    $attrs.boot_time = ConvertTo-BjeicOpsIsoTime $os.LastBootUpTime
    $attrs.disks = @(Get-CimInstance -ClassName Win32_DiskDrive | Sort-Object -Property Index | ForEach-Object {
            [ordered]@{ name = $_.DeviceID; model = $_.Model; size_bytes = [int64]$_.Size; serial = "$($_.SerialNumber)".Trim() }
        })
    $attrs.addresses = @(Get-NetIPAddress -ErrorAction SilentlyContinue | Where-Object { $_.AddressState -eq 'Preferred' } |
            Sort-Object -Property @('InterfaceAlias', 'IPAddress') | ForEach-Object {
                $family = 'inet'
                if ("$($_.AddressFamily)" -eq 'IPv6') {
                    $family = 'inet6'
                }
                [ordered]@{ interface = $_.InterfaceAlias; family = $family; address = $_.IPAddress; prefix = [int]$_.PrefixLength }
            })
    $state.inspected_at = ConvertTo-BjeicOpsIsoTime $now
    $state.uptime_seconds = [int64]($now - ([DateTime]$os.LastBootUpTime).ToUniversalTime()).TotalSeconds
    $insp.os = $os
}

# ---------------------------------------------------------------- volumes, memory, page file, CPU

function Get-VolumeUsage {
    $filesystems = @()
    $usage = @()
    foreach ($volume in @(Get-CimInstance -ClassName Win32_Volume -Filter 'DriveType=3' | Sort-Object -Property Name)) {
        if (-not $volume.Capacity -or "$($volume.Name)".StartsWith('\\?\')) {
            continue   # no size, or a volume without a drive letter or mount path (system reserved)
        }
        $mount = "$($volume.Name)".TrimEnd('\')
        $size = [int64]$volume.Capacity
        $used = $size - [int64]$volume.FreeSpace
        $pct = [Math]::Round(100.0 * $used / $size, 1)
        $filesystems += [ordered]@{ mountpoint = $mount; device = $volume.DeviceID; fstype = $volume.FileSystem;
            label = $volume.Label; size_bytes = $size; readonly = $false
        }
        $usage += [ordered]@{ mountpoint = $mount; used_bytes = $used; used_pct = $pct }
        Add-Graded -Check 'fs.usage' -Subject $mount -Value $pct -Format (
            "$mount is {0}% full ({1} at {2}%): " + ('{0:N1} GiB free of {1:N1} GiB' -f (
                    ($size - $used) / $gib, $size / $gib)))
    }
    $attrs.filesystems = $filesystems
    $state.filesystems = $usage
}

function Get-MemoryAndCpu {
    $total = [int64]$insp.os.TotalVisibleMemorySize * 1024
    $available = [int64]$insp.os.FreePhysicalMemory * 1024
    $state.memory_available_bytes = $available
    if ($total -gt 0) {
        Add-Graded -Check 'mem.usage' -Subject $hostname -Value ([Math]::Round(100.0 * ($total - $available) / $total, 1)) `
            -Format 'memory is {0}% used ({1} at {2}%)'
    }
    $pageFiles = @(Get-CimInstance -ClassName Win32_PageFileUsage)
    $allocated = [int64](($pageFiles | Measure-Object -Property AllocatedBaseSize -Sum).Sum)
    $current = [int64](($pageFiles | Measure-Object -Property CurrentUsage -Sum).Sum)
    $attrs.swap_bytes = $allocated * $mib
    $state.swap_used_bytes = $current * $mib
    $attrs.page_files = @($pageFiles | ForEach-Object { $_.Name })
    if ($allocated -gt 0) {
        Add-Graded -Check 'swap.usage' -Subject $hostname -Value ([Math]::Round(100.0 * $current / $allocated, 1)) `
            -Format 'the page file is {0}% used ({1} at {2}%)'
    }
    # Three samples a second apart of the formatted counter class (not localised, unlike Get-Counter paths).
    $samples = @()
    foreach ($index in 1..3) {
        $processor = Get-CimInstance -ClassName Win32_PerfFormattedData_PerfOS_Processor -Filter "Name='_Total'"
        $samples += [double]$processor.PercentProcessorTime
        if ($index -lt 3) {
            Start-Sleep -Seconds 1
        }
    }
    $cpu = [Math]::Round(($samples | Measure-Object -Average).Average, 1)
    $queue = (Get-CimInstance -ClassName Win32_PerfFormattedData_PerfOS_System).ProcessorQueueLength
    $state.cpu_pct = $cpu
    $state.processor_queue = [int]$queue
    Add-Graded -Check 'cpu.usage' -Subject $hostname -Value $cpu `
        -Format ("CPU is {0}% busy over 3 s ({1} at {2}%), processor queue $queue on " + $attrs.cpu.count + ' CPUs')
}

# ---------------------------------------------------------------- services

function Get-ServiceState {
    $all = @(Get-CimInstance -ClassName Win32_Service)
    $byName = @{}
    foreach ($service in $all) {
        $byName[$service.Name.ToLowerInvariant()] = $service
    }
    $failed = @()
    foreach ($service in $all) {
        # A trigger-start service that stopped cleanly (exit code 0) is not a failure.
        if ($service.StartMode -eq 'Auto' -and $service.State -ne 'Running' -and $service.ExitCode -ne 0 -and
            $service.Name -notin $module.Params.ignore_services) {
            $failed += $service.Name
            Add-Finding (New-BjeicOpsFinding -Check 'svc.failed' -Severity warning -Subject $service.Name -Value $service.ExitCode `
                    -Message "service $($service.Name) ($($service.DisplayName)) starts automatically but is $($service.State.ToLower()) (exit code $($service.ExitCode))")
        }
    }
    $state.failed_units = $failed
    $state.services = [ordered]@{}
    foreach ($name in $module.Params.services) {
        $service = $byName[$name.ToLowerInvariant()]
        if ($null -eq $service) {
            $state.services[$name] = 'not-found'
            Add-Finding (New-BjeicOpsFinding -Check 'svc.down' -Severity critical -Subject $name `
                    -Message "service $name is not installed on $hostname")
        }
        else {
            $state.services[$name] = $service.State
            if ($service.State -ne 'Running') {
                Add-Finding (New-BjeicOpsFinding -Check 'svc.down' -Severity critical -Subject $name -Value $service.State `
                        -Message "service $name ($($service.DisplayName)) is $($service.State.ToLower()), start mode $($service.StartMode)")
            }
        }
    }
}

# ---------------------------------------------------------------- logons and event logs

function Get-Logon {
    try {
        $failedEvents = @(Get-BjeicOpsEvent -Filter @{ LogName = 'Security'; Id = 4625; StartTime = $since.ToLocalTime() } -MaxEvents 20000)
    }
    catch {
        Add-Finding (New-BjeicOpsUnavailable -Check 'login.unavailable' -Subject $hostname `
                -Message "cannot read the Security log (run as an administrator): $($_.Exception.Message)")
        return
    }
    $sources = @{}
    foreach ($record in $failedEvents) {
        $xml = [xml]$record.ToXml()
        $data = @{}
        foreach ($item in $xml.Event.EventData.Data) {
            $data[$item.Name] = $item.'#text'
        }
        $key = "$($data['TargetUserName'])@$($data['IpAddress'])"
        $sources[$key] = 1 + [int]$sources[$key]
    }
    $state.failed_logins = $failedEvents.Count
    $state.failed_login_sources = @($sources.GetEnumerator() | Sort-Object -Property Value -Descending |
            Select-Object -First 10 | ForEach-Object { [ordered]@{ source = $_.Key; count = $_.Value } })
    $top = ($state.failed_login_sources | ForEach-Object { "$($_.source) x$($_.count)" }) -join ', '
    Add-Graded -Check 'login.failed' -Subject $hostname -Value $failedEvents.Count `
        -Format ("{0} failed logons (event 4625) in the last $($module.Params.window_hours)h ({1} at {2}); top: " + $top)
    # Interactive and remote desktop logons (4624 types 2, 10, 11), the newest 50.
    $xpath = "*[System[(EventID=4624) and TimeCreated[timediff(@SystemTime) <= $([int64]($now - $since).TotalMilliseconds)]]]" +
    " and *[EventData[Data[@Name='LogonType']='2' or Data[@Name='LogonType']='10' or Data[@Name='LogonType']='11']]"
    try {
        $recent = @(Get-WinEvent -LogName Security -FilterXPath $xpath -MaxEvents 50 -ErrorAction Stop)
    }
    catch {
        $recent = @()
    }
    $state.recent_logins = @($recent | ForEach-Object {
            $xml = [xml]$_.ToXml()
            $data = @{}
            foreach ($item in $xml.Event.EventData.Data) {
                $data[$item.Name] = $item.'#text'
            }
            [ordered]@{ user = "$($data['TargetDomainName'])\$($data['TargetUserName'])"; host = $data['IpAddress'];
                logon_type = [int]$data['LogonType']; at = ConvertTo-BjeicOpsIsoTime $_.TimeCreated
            }
        })
}

function Get-EventLogError {
    # @(): a function returning an empty or one-element array hands back $null or the element itself.
    $records = @(Get-BjeicOpsEvent -Filter @{ LogName = @('System', 'Application'); Level = @(1, 2); StartTime = $since.ToLocalTime() } `
            -MaxEvents 5000)
    $attrs.log_source = 'event log System, Application (level critical, error)'
    $state.log_error_count = $records.Count
    $samples = @($records | Select-Object -First $module.Params.log_sample_lines | ForEach-Object {
            $text = "$($_.Message)" -split "`r?`n" | Select-Object -First 1
            '{0} {1} {2}/{3}: {4}' -f (ConvertTo-BjeicOpsIsoTime $_.TimeCreated), $_.LogName, $_.ProviderName, $_.Id, $text
        })
    $grade = Get-BjeicOpsGrade -Value $records.Count -Levels $thresholds['log.errors']
    if ($grade[0]) {
        $complete = ''
        if ($records.Count -ge 5000) {
            $complete = 'at least '
        }
        $newest = '-'
        if ($samples.Count) {
            $newest = $samples[0]
        }
        $finding = New-BjeicOpsFinding -Check 'log.errors' -Severity $grade[0] -Subject 'System, Application' -Value $records.Count `
            -Threshold $grade[1] -Message ("$complete$($records.Count) error event(s) in the last $($module.Params.window_hours)h " +
            "in the System and Application logs ($($grade[0]) at $($grade[1])); newest: $newest")
        $finding.samples = $samples
        Add-Finding $finding
    }
}

# ---------------------------------------------------------------- temp folders, reboot, time, backups

function Get-TempUsage {
    $usage = [ordered]@{}
    foreach ($path in $module.Params.temp_paths) {
        if (-not (Test-Path -LiteralPath $path)) {
            continue
        }
        $bytes = (Get-ChildItem -LiteralPath $path -Recurse -Force -File -ErrorAction SilentlyContinue |
                Select-Object -First 200000 | Measure-Object -Property Length -Sum).Sum
        $usage[$path] = [int64]$bytes
        Add-Graded -Check 'tmp.usage' -Subject $path -Value ([Math]::Round($bytes / $mib, 1)) `
            -Format "$path holds {0} MiB ({1} at {2} MiB)"
    }
    $state.tmp_bytes = $usage
}

function Get-PendingReboot {
    $reasons = @(Get-BjeicOpsPendingReboot)
    $state.reboot_pending = $reasons
    if ($reasons.Count) {
        Add-Finding (New-BjeicOpsFinding -Check 'reboot.pending' -Severity warning -Subject $hostname -Value $reasons `
                -Message "a restart is pending ($($reasons -join ', ')): plan one in the next maintenance window")
    }
}

function Get-TimeSync {
    $parameters = Get-ItemProperty -LiteralPath 'HKLM:\SYSTEM\CurrentControlSet\Services\W32Time\Parameters' -ErrorAction SilentlyContinue
    $sync = [ordered]@{ source = 'w32time'; type = $null; servers = $null }
    if ($parameters) {
        $sync.type = $parameters.Type
        $sync.servers = $parameters.NtpServer
    }
    $attrs.time_sync = $sync
    $service = Get-Service -Name W32Time -ErrorAction SilentlyContinue
    if ($null -eq $service -or $service.Status -ne 'Running') {
        $state.clock_synchronized = $false
        Add-Finding (New-BjeicOpsFinding -Check 'ntp.unsynced' -Severity warning -Subject $hostname -Value $false `
                -Message 'the Windows Time service (W32Time) is not running: the clock is not synchronised')
        return
    }
    # The first line of `w32tm /query /status` is the leap indicator in every language; 3 means not synchronised.
    $lines = @(& w32tm.exe /query /status 2>&1)
    if ($LASTEXITCODE -ne 0 -or -not $lines.Count) {
        Add-Finding (New-BjeicOpsUnavailable -Check 'ntp.unavailable' -Subject $hostname -Message "w32tm /query /status failed: $($lines -join ' ')")
        return
    }
    $leap = ("$($lines[0])" -split ':', 2)[1]
    $synchronized = -not ("$leap".Trim().StartsWith('3'))
    $state.clock_synchronized = $synchronized
    if (-not $synchronized) {
        Add-Finding (New-BjeicOpsFinding -Check 'ntp.unsynced' -Severity warning -Subject $hostname -Value $false `
                -Message "the clock is not synchronised (w32tm leap indicator 3; type $($sync.type), servers $($sync.servers))")
    }
}

function Get-WindowsServerBackup {
    if (-not (Get-Command -Name Get-WBSummary -ErrorAction SilentlyContinue)) {
        Import-Module -Name WindowsServerBackup -ErrorAction SilentlyContinue
    }
    if (-not (Get-Command -Name Get-WBSummary -ErrorAction SilentlyContinue)) {
        Add-Finding (New-BjeicOpsUnavailable -Check 'backup.unavailable' -Subject $hostname `
                -Message 'Windows Server Backup is not installed (feature Windows-Server-Backup): skip_checks backup.stale, backup.missing, backup.failed where another tool backs this host up')
        return
    }
    $summary = Get-WBSummary
    $maxAge = [double]$module.Params.backup_max_age_hours
    $evidence = [ordered]@{ tool = 'Windows Server Backup'; versions = [int]$summary.NumberOfVersions; newest = $null;
        age_hours = $null; max_age_hours = $maxAge; last_result = ('0x{0:X8}' -f [int]$summary.LastBackupResultHR)
    }
    $state.backups = @($evidence)
    if ($summary.LastBackupResultHR -ne 0) {
        Add-Finding (New-BjeicOpsFinding -Check 'backup.failed' -Severity critical -Subject 'Windows Server Backup' -Value $evidence.last_result `
                -Message "the last Windows Server Backup at $(ConvertTo-BjeicOpsIsoTime $summary.LastBackupTime) failed with $($evidence.last_result): see Get-WBJob -Previous 1")
    }
    $last = $summary.LastSuccessfulBackupTime
    if ($null -eq $last -or ([DateTime]$last).Year -lt 2000) {
        Add-Finding (New-BjeicOpsFinding -Check 'backup.missing' -Severity critical -Subject 'Windows Server Backup' `
                -Message 'Windows Server Backup has no successful backup on this host: the backup schedule has not run or has always failed')
        return
    }
    $age = [Math]::Round(($now - ([DateTime]$last).ToUniversalTime()).TotalHours, 1)
    $evidence.newest = ConvertTo-BjeicOpsIsoTime $last
    $evidence.age_hours = $age
    if ($maxAge -gt 0) {
        $grade = Get-BjeicOpsGrade -Value ($age / $maxAge) -Levels $thresholds['backup.stale']
        if ($grade[0]) {
            $limit = [Math]::Round($grade[1] * $maxAge, 1)
            Add-Finding (New-BjeicOpsFinding -Check 'backup.stale' -Severity $grade[0] -Subject 'Windows Server Backup' -Value $age `
                    -Threshold $limit -Message "the newest Windows Server Backup version is ${age}h old ($($grade[0]) beyond ${limit}h; max age ${maxAge}h)")
        }
    }
}

# ---------------------------------------------------------------- network policy and cloud identity

function Get-NetworkPolicy {
    $listening = @(Get-BjeicOpsListeningSocket)
    $profiles = Get-BjeicOpsFirewallProfile
    $insp.network = [ordered]@{ hostname = $hostname; listening = $listening;
        firewall = [ordered]@{ windows_firewall = @(Get-BjeicOpsFirewallRuleLine) }; firewall_profiles = $profiles
    }
    foreach ($name in $profiles.Keys) {
        if (-not $profiles[$name].enabled) {
            Add-Finding (New-BjeicOpsUnavailable -Check 'network.unavailable' -Subject $name `
                    -Message "the Windows Firewall $name profile is off: its rules are listed but not enforced")
        }
    }
}

function Get-CloudIdentity {
    if (-not $module.Params.cloud_identity) {
        return
    }
    $identity = Get-BjeicOpsCloudPlatform
    if ($null -eq $identity.platform -or -not $identity.id) {
        Add-Finding (New-BjeicOpsUnavailable -Check 'cloud.unavailable' -Subject $hostname `
                -Message "no cloud instance identity: vendor '$($identity.vendor)', model '$($identity.model)' is not a cloud platform; set cloud_identity=false on physical servers")
        return
    }
    $insp.cloud = [ordered]@{ type = 'vm'; id = $identity.id; name = $hostname; platform = $identity.platform;
        vendor = $identity.vendor; source = 'dmi'; cpu_count = $attrs.cpu.count; memory_bytes = $attrs.memory_bytes;
        disks = @($attrs.disks | ForEach-Object { [ordered]@{ name = $_.name; serial = $_.serial; size_bytes = $_.size_bytes } });
        addresses = @($attrs.addresses | Where-Object { $_.address -notlike '127.*' -and $_.address -ne '::1' -and $_.address -notlike 'fe80*' } |
                ForEach-Object { $_.address } | Sort-Object)
    }
}

# ---------------------------------------------------------------- main

$gatherers = @(
    @{ name = 'Get-VolumeUsage'; checks = @('fs.usage'); run = ${function:Get-VolumeUsage}; ledger = $true },
    @{ name = 'Get-MemoryAndCpu'; checks = @('mem.usage', 'swap.usage', 'cpu.usage'); run = ${function:Get-MemoryAndCpu}; ledger = $true },
    @{ name = 'Get-ServiceState'; checks = @('svc.failed', 'svc.down'); run = ${function:Get-ServiceState}; ledger = $false },
    @{ name = 'Get-Logon'; checks = @('login.failed'); run = ${function:Get-Logon}; ledger = $true },
    @{ name = 'Get-EventLogError'; checks = @('log.errors'); run = ${function:Get-EventLogError}; ledger = $false },
    @{ name = 'Get-TempUsage'; checks = @('tmp.usage'); run = ${function:Get-TempUsage}; ledger = $false },
    @{ name = 'Get-PendingReboot'; checks = @('reboot.pending'); run = ${function:Get-PendingReboot}; ledger = $true },
    @{ name = 'Get-TimeSync'; checks = @('ntp.unsynced'); run = ${function:Get-TimeSync}; ledger = $true },
    @{ name = 'Get-WindowsServerBackup'; checks = @('backup.stale', 'backup.missing', 'backup.failed'); run = ${function:Get-WindowsServerBackup}; ledger = $false },
    @{ name = 'Get-NetworkPolicy'; checks = @(); run = ${function:Get-NetworkPolicy}; ledger = $true },
    @{ name = 'Get-CloudIdentity'; checks = @(); run = ${function:Get-CloudIdentity}; ledger = $true }
)

try {
    Get-Identity
}
catch {
    $module.FailJson("Failed to read the identity of $hostname (Win32_OperatingSystem, Win32_ComputerSystem): $($_.Exception.Message)", $_)
}
foreach ($gatherer in $gatherers) {
    if (-not (@($gatherer.checks | Where-Object { $_ -in $enabled }).Count -or $gatherer.ledger)) {
        continue
    }
    try {
        & $gatherer.run
    }
    catch {
        # One broken part must not hide the rest of the inspection.
        Add-Finding (New-BjeicOpsFinding -Check 'inspect.error' -Severity warning -Subject $hostname `
                -Message "$($gatherer.name) failed: $($_.Exception.Message)")
    }
}

$order = @{ critical = 0; warning = 1; info = 2 }
$sorted = @($findings.items | Sort-Object -Property { $order[$_.severity] }, { $_.check }, { $_.subject })
$attrs.state = $state
$ledger = @(New-BjeicOpsLedgerItem -Kind os -Key (Get-BjeicOpsLedgerKey -Prefix host -Name $hostname) -Attrs $attrs)
if ($insp.network) {
    $ledger += New-BjeicOpsLedgerItem -Kind network -Key (Get-BjeicOpsLedgerKey -Prefix netpolicy -Name $hostname) -Attrs $insp.network
}
if ($insp.cloud) {
    # `self:` marks the host's own report; the platform's export of the same instance is `vm:ID`.
    $ledger += New-BjeicOpsLedgerItem -Kind cloud -Key (Get-BjeicOpsLedgerKey -Prefix self -Name "vm:$($insp.cloud.id)") -Attrs $insp.cloud
}
$public = @{}
foreach ($id in $thresholds.Keys) {
    $public[$id] = @{ warning = $thresholds[$id].warning; critical = $thresholds[$id].critical }
}
$module.Result.changed = $false
$module.Result.ledger = $ledger
$module.Result.findings = $sorted
$module.Result.summary = [ordered]@{
    critical = @($sorted | Where-Object { $_.severity -eq 'critical' }).Count
    warning = @($sorted | Where-Object { $_.severity -eq 'warning' }).Count
    info = @($sorted | Where-Object { $_.severity -eq 'info' }).Count
}
$module.Result.checks = @($enabled | Sort-Object)
$module.Result.thresholds = $public
$module.ExitJson()
