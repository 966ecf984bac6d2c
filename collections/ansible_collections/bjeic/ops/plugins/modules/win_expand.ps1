#!powershell

# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils.BjeicOps

# The Windows twin of linux_expand: after the cloud platform enlarged a disk, rescan the storage
# (Update-HostStorageCache) and grow each volume's partition to what it asks, at most to the supported
# maximum (Get-PartitionSupportedSize). NTFS and ReFS grow with their partition, online. Every target is
# planned first and refused before anything changes; growing is one-way, and the change record says so.

$spec = @{
    options = @{
        targets = @{
            type = 'list'; elements = 'dict'; default = @()
            options = @{
                drive = @{ type = 'str'; required = $true }
                size = @{ type = 'str'; default = 'fill' }
                fstype = @{ type = 'str' }
            }
        }
        rescan = @{ type = 'bool'; default = $true }
        cloud_change = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$hostname = [System.Net.Dns]::GetHostName()
$oneWay = 'growing a partition or volume is one-way: it is never shrunk back; the host backups and snapshots are the way back'
$MiB = [double]1048576
$GiB = 1024 * $MiB
$TiB = 1024 * $GiB
$slack = 64 * $MiB     # a gap smaller than this between a partition and its supported maximum is alignment
$module.Result.changed = $false
$module.Result.targets = @()
$module.Result.steps = @()
$module.Result.changes = @()
$module.Result.findings = @()
$module.Result.ledger = @()
$module.Result.rollback = $null
$module.Result.cloud_change = $module.Params.cloud_change
$module.Result.diff = @{ before = ''; after = '' }

function ConvertTo-ByteSize {
    <# fill, +50G (grow by), 120G (grow to) -> @(mode, bytes); binary units as on Linux. #>
    param([string]$Text)
    if ($Text -eq 'fill') {
        return @('fill', $null)
    }
    if ($Text -notmatch '^(\+)?(\d+(\.\d+)?)\s*([KMGT])(i?B)?$') {
        throw "size '$Text' is not fill, +SIZE or SIZE (SIZE like 50G, 512M, 2T; binary units)"
    }
    $scale = [math]::Pow(1024, ' KMGT'.IndexOf($Matches[4].ToUpper()))
    $amount = [long]([double]$Matches[2] * $scale)
    if ($Matches[1]) {
        return @('grow_by', $amount)
    }
    return @('grow_to', $amount)
}

function Get-HumanSize {
    param([double]$Bytes)
    if ($Bytes -ge $TiB) { return '{0:N1} TiB' -f ($Bytes / $TiB) }
    if ($Bytes -ge $GiB) { return '{0:N1} GiB' -f ($Bytes / $GiB) }
    return '{0:N1} MiB' -f ($Bytes / $MiB)
}

function Get-ExpandPlan {
    <# The step that grows one drive, or $null when it is already as asked; throws a refusal. #>
    param([System.Collections.IDictionary]$Target)
    $letter = $Target.drive.TrimEnd(':', '\').ToUpper()
    if ($letter -notmatch '^[A-Z]$') {
        throw "drive '$($Target.drive)' is not a drive letter like D or D:"
    }
    $partition = Get-Partition -DriveLetter $letter -ErrorAction SilentlyContinue
    if (-not $partition) {
        throw "there is no partition with drive letter ${letter}:"
    }
    $volume = Get-Volume -DriveLetter $letter
    if ($Target.fstype -and $volume.FileSystemType -ne $Target.fstype) {
        throw "${letter}: is $($volume.FileSystemType), not $($Target.fstype) as the inventory says"
    }
    if (@('NTFS', 'ReFS') -notcontains [string]$volume.FileSystemType) {
        throw "${letter}: is $($volume.FileSystemType), which cannot grow online (NTFS and ReFS can)"
    }
    $parsed = ConvertTo-ByteSize -Text $Target.size
    $mode = $parsed[0]
    $amount = $parsed[1]
    $supported = Get-PartitionSupportedSize -DriveLetter $letter
    $current = [long]$partition.Size
    $maximum = [long]$supported.SizeMax
    $entry = [ordered]@{
        drive = $letter; size = $Target.size; fstype = [string]$volume.FileSystemType
        disk = [int]$partition.DiskNumber; partition = [int]$partition.PartitionNumber
        before = $current; after = $current; maximum = $maximum
    }
    if ($mode -eq 'grow_to' -and $current -ge $amount - $slack) {
        return $entry, $null
    }
    if ($mode -eq 'fill') {
        $wanted = $maximum
    }
    elseif ($mode -eq 'grow_by') {
        $wanted = $current + $amount
    }
    else {
        $wanted = $amount
    }
    if ($wanted -gt $maximum + $slack) {
        throw "${letter}: $($Target.size) asked, but the partition can grow only to $(Get-HumanSize $maximum) (now $(Get-HumanSize $current)): enlarge the disk on the cloud platform first"
    }
    $wanted = [math]::Min($wanted, $maximum)
    if ($wanted - $current -lt $slack) {
        if ($mode -eq 'grow_by') {
            throw "${letter}: $($Target.size) asked, but the partition already fills what the disk offers: enlarge the disk on the cloud platform first"
        }
        return $entry, $null
    }
    $entry.after = $wanted
    $step = [ordered]@{ step = 'grow_partition'; object = "${letter}:"; before = $current; after = $wanted }
    return $entry, $step
}

if ($module.Params.rescan) {
    # Only makes Windows read the size the platform gave each disk; it changes nothing on them.
    Update-HostStorageCache
}

$plans = @()
foreach ($target in $module.Params.targets) {
    try {
        $plans += , @(Get-ExpandPlan -Target $target)
    }
    catch {
        $module.FailJson("expand on ${hostname}: $($_.Exception.Message); nothing was changed")
    }
}

foreach ($plan in $plans) {
    $entry = $plan[0]
    $step = $plan[1]
    $module.Result.targets += $entry
    if (-not $step) {
        continue
    }
    if (-not $module.CheckMode) {
        try {
            Resize-Partition -DriveLetter $entry.drive -Size $step.after -ErrorAction Stop
        }
        catch {
            $module.FailJson("expand on ${hostname}: growing $($entry.drive): failed: $($_.Exception.Message)")
        }
        $now = [long](Get-Partition -DriveLetter $entry.drive).Size
        if ($now -lt $step.after - $slack) {
            $module.FailJson("expand on ${hostname}: $($entry.drive): is $(Get-HumanSize $now) after Resize-Partition, not the $(Get-HumanSize $step.after) planned")
        }
        $step.after = $now
        $entry.after = $now
        $volume = Get-Volume -DriveLetter $entry.drive
        $pct = [math]::Round(100.0 * ($volume.Size - $volume.SizeRemaining) / $volume.Size, 1)
        $module.Result.findings += New-BjeicOpsFinding -Check 'expand.fs_grown' -Severity info -Subject "$($entry.drive):" -Value $pct -Message "$($entry.drive): is now $(Get-HumanSize $volume.Size), $pct% used"
    }
    $module.Result.changed = $true
    $module.Result.steps += $step
    $module.Result.changes += [ordered]@{
        object = $step.object; action = 'grow partition'
        before = (Get-HumanSize $step.before); after = (Get-HumanSize $step.after)
        rollback = @{ irreversible = $oneWay }
    }
    $module.Result.diff.before += "grow_partition $($step.object): $(Get-HumanSize $step.before)`n"
    $module.Result.diff.after += "grow_partition $($step.object): $(Get-HumanSize $step.after)`n"
}

foreach ($number in @($module.Result.targets | ForEach-Object { $_.disk } | Sort-Object -Unique)) {
    $disk = Get-Disk -Number $number
    if ($disk.SerialNumber) {
        # The host's own word on a cloud disk's size: the cloud ledger shows it beside the platform's.
        $serial = $disk.SerialNumber.Trim()
        $attrs = [ordered]@{
            type = 'disk'; id = $serial; host = $hostname; device = "disk $number"
            size_bytes = [long]$disk.Size; cloud_change = $module.Params.cloud_change
        }
        $module.Result.ledger += New-BjeicOpsLedgerItem -Kind cloud -Key (Get-BjeicOpsLedgerKey -Prefix 'self' -Name "disk:$serial") -Attrs $attrs
    }
}
if ($module.Result.changed) {
    $module.Result.rollback_unavailable = $oneWay
}
$module.Result.summary = @{
    critical = 0; warning = 0; info = @($module.Result.findings).Count
}
$module.ExitJson()
