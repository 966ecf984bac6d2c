# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# What the Windows modules read of a host the same way (win_inspect, win_watch): listening sockets with their process,
# the firewall's profiles and rules, events of the event log, times in the result contract's form.
# Windows PowerShell 5.1 compatible.

Set-StrictMode -Version 2.0

function ConvertTo-BjeicOpsIsoTime {
    <# A time as UTC ISO 8601 (2026-12-06T02:05:00Z); $null stays $null. #>
    param([object]$Value)
    if ($null -eq $Value) {
        return $null
    }
    return ([DateTime]$Value).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
}

function Get-BjeicOpsEvent {
    <# Get-WinEvent that answers an empty list when nothing matches, and throws only real errors (access denied). #>
    param([hashtable]$Filter, [int]$MaxEvents)
    try {
        return @(Get-WinEvent -FilterHashtable $Filter -MaxEvents $MaxEvents -ErrorAction Stop)
    }
    catch {
        if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') {
            return @()
        }
        throw
    }
}

function Get-BjeicOpsListeningSocket {
    <# Every listening socket, [ordered]@{proto (tcp, tcp6, udp, udp6), address, port, process}, sorted and unique. #>
    $processes = @{}
    foreach ($process in @(Get-Process -ErrorAction SilentlyContinue)) {
        $processes[[int]$process.Id] = $process.ProcessName
    }
    $listening = @()
    foreach ($socket in @(Get-NetTCPConnection -State Listen -ErrorAction SilentlyContinue)) {
        $proto = 'tcp'
        if ($socket.LocalAddress.Contains(':')) {
            $proto = 'tcp6'
        }
        $listening += [ordered]@{ proto = $proto; address = $socket.LocalAddress; port = [int]$socket.LocalPort;
            process = $processes[[int]$socket.OwningProcess]
        }
    }
    foreach ($socket in @(Get-NetUDPEndpoint -ErrorAction SilentlyContinue)) {
        $proto = 'udp'
        if ($socket.LocalAddress.Contains(':')) {
            $proto = 'udp6'
        }
        $listening += [ordered]@{ proto = $proto; address = $socket.LocalAddress; port = [int]$socket.LocalPort;
            process = $processes[[int]$socket.OwningProcess]
        }
    }
    return @($listening | Sort-Object -Property { $_.proto }, { $_.port }, { $_.address } -Unique)
}

function Get-BjeicOpsFirewallProfile {
    <# [ordered]@{profile name: {enabled, inbound, outbound}} of the active firewall policy. #>
    $profiles = [ordered]@{}
    foreach ($fwProfile in @(Get-NetFirewallProfile -PolicyStore ActiveStore)) {
        $profiles["$($fwProfile.Name)"] = [ordered]@{ enabled = "$($fwProfile.Enabled)" -eq 'True';
            inbound = "$($fwProfile.DefaultInboundAction)"; outbound = "$($fwProfile.DefaultOutboundAction)"
        }
    }
    return $profiles
}

function Get-BjeicOpsFirewallRuleLine {
    <# The enabled rules of the active policy, one line each ("Inbound Allow Domain TCP port 5986 (name)"), sorted. #>
    # Two queries for all rules and all port filters, joined on InstanceID (one query per rule takes minutes).
    $ports = @{}
    foreach ($filter in @(Get-NetFirewallPortFilter -PolicyStore ActiveStore)) {
        $ports[$filter.InstanceID] = $filter
    }
    $rules = @()
    foreach ($rule in @(Get-NetFirewallRule -PolicyStore ActiveStore -Enabled True)) {
        $filter = $ports[$rule.InstanceID]
        $protocol = 'any'
        $localPort = 'any'
        if ($filter) {
            $protocol = "$($filter.Protocol)"
            $localPort = "$($filter.LocalPort -join ',')"
        }
        $rules += '{0} {1} {2} {3} port {4} ({5})' -f $rule.Direction, $rule.Action, $rule.Profile, $protocol, $localPort, $rule.DisplayName
    }
    return , @($rules | Sort-Object -Unique)
}

function Get-BjeicOpsCloudPlatform {
    <# The cloud platform this host runs on, from its DMI vendor and model, and its instance id (the SMBIOS UUID):
    @{platform; id; vendor; model} - platform $null on a physical server or an unknown platform. #>
    # DMI vendor words of cloud platforms: the same list as module_utils/cloud_identity.py (a test holds them equal).
    $cloudVendors = @(
        @('openstack', 'openstack'), @('alibaba cloud', 'aliyun'), @('huawei cloud', 'huaweicloud'),
        @('tencent cloud', 'tencentcloud'), @('amazon ec2', 'aws'), @('google compute engine', 'gce'),
        @('ctyun', 'ctyun'), @('easystack', 'easystack'), @('zstack', 'zstack')
    )
    $product = Get-CimInstance -ClassName Win32_ComputerSystemProduct
    $system = Get-CimInstance -ClassName Win32_ComputerSystem
    $words = "$($system.Manufacturer) $($system.Model)".ToLowerInvariant()
    $platform = $null
    foreach ($pair in $cloudVendors) {
        if ($words.Contains($pair[0])) {
            $platform = $pair[1]
            break
        }
    }
    return @{ platform = $platform; id = "$($product.UUID)".ToLowerInvariant(); vendor = $system.Manufacturer;
        model = $system.Model
    }
}

$exported = @(
    'ConvertTo-BjeicOpsIsoTime', 'Get-BjeicOpsEvent', 'Get-BjeicOpsListeningSocket', 'Get-BjeicOpsFirewallProfile',
    'Get-BjeicOpsFirewallRuleLine', 'Get-BjeicOpsCloudPlatform'
)
Export-ModuleMember -Function $exported
