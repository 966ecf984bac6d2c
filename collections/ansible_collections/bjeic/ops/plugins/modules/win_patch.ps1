#!powershell

# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ..module_utils.BjeicOps

# Windows patching as a recorded transaction: the installed update set (Get-HotFix and the DISM
# package list, not the Windows Update history, which forgets and can be cleared) before and after,
# kept on the host; rollback removes through DISM exactly the packages the transaction added.
# The installation itself is ansible.windows.win_updates, run by the role between `begin` and `finish`.

$spec = @{
    options = @{
        state = @{ type = 'str'; choices = @('planned', 'applied', 'rolled_back'); default = 'planned' }
        stage = @{ type = 'str'; choices = @('begin', 'finish') }
        transaction_id = @{ type = 'str' }
        outcome = @{ type = 'str'; choices = @('ok', 'failed'); default = 'ok' }
        category_names = @{ type = 'list'; elements = 'str'; default = @('SecurityUpdates', 'CriticalUpdates', 'UpdateRollups') }
        accept_list = @{ type = 'list'; elements = 'str'; default = @() }
        reject_list = @{ type = 'list'; elements = 'str'; default = @() }
        search = @{ type = 'bool'; default = $true }
        record_root = @{ type = 'path' }
    }
    required_if = @(
        @('state', 'applied', @('stage')),
        @('stage', 'finish', @('transaction_id')),
        @('state', 'rolled_back', @('transaction_id'))
    )
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$hostname = [System.Net.Dns]::GetHostName()
$invariant = [Globalization.CultureInfo]::InvariantCulture
# The Windows Update category names win_updates takes, as the update agent's category GUIDs.
$categoryIds = @{
    CriticalUpdates = 'e6cf1350-c01b-414d-a61f-263d14d133b4'; SecurityUpdates = '0fa1201d-4330-4fa8-8ae9-b877473b6441'
    UpdateRollups = '28bc880e-0592-4cbf-8f95-c79b17911d5f'; Updates = 'cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83'
    DefinitionUpdates = 'e0789628-ce08-4437-be74-2495b842f43b'; FeaturePacks = 'b54e7d24-7add-428f-8b75-90a396fa584f'
    ServicePacks = '68c5b0a3-d1a6-4553-ae49-01d3a7827828'; Tools = 'b4832bd8-e735-4761-8daf-37f882276dab'
    Connectors = '434de588-ed14-48f5-8eed-a15e09a991f6'
    DeveloperKits = 'e140075d-8433-45c3-ad87-e72345b36078'; Guidance = '9511d615-35b2-47bb-927f-f73d8e9260bb'
    Application = '5c9376ab-8ce6-464a-b136-22113dd69801'
}
foreach ($name in $module.Params.category_names) {
    if (-not $categoryIds.ContainsKey($name)) {
        $module.FailJson("category_names: unknown category '$name'; known: $(($categoryIds.Keys | Sort-Object) -join ', ')")
    }
}

$recordRoot = $module.Params.record_root
if (-not $recordRoot) {
    $recordRoot = Get-BjeicOpsRecordRoot -Kind 'patch'
}
$module.Result.changed = $false
$module.Result.findings = @()
$module.Result.changes = @()
$module.Result.packages = @()
$module.Result.rollback = $null
$module.Result.transaction_id = $null
$module.Result.reboot_required = $false

# ---------------------------------------------------------------- the installed set

function Get-InstalledSet {
    <# KBs from Get-HotFix and update packages from DISM; the package names are what rollback removes. #>
    $hotfixes = @(Get-HotFix | ForEach-Object { "$($_.HotFixID)".ToUpperInvariant() } | Where-Object { $_ } | Sort-Object -Unique)
    $skip = @('Foundation', 'LanguagePack', 'FeaturePack', 'OnDemandPack')
    $packages = @(Get-WindowsPackage -Online | Where-Object {
            "$($_.PackageState)" -in @('Installed', 'InstallPending') -and "$($_.ReleaseType)" -notin $skip
        } | ForEach-Object { $_.PackageName } | Sort-Object -Unique)
    return [ordered]@{ hotfixes = $hotfixes; packages = $packages; read_at = [DateTime]::UtcNow.ToString('o', $invariant) }
}

function Get-PackageKb {
    <# The KB a DISM package belongs to: in its name (Package_for_KB5034439~...), else in its description. #>
    param([string]$PackageName)
    if ($PackageName -match '(KB\d{6,8})') {
        return $Matches[1].ToUpperInvariant()
    }
    try {
        $detail = Get-WindowsPackage -Online -PackageName $PackageName
        if ("$($detail.Description) $($detail.SupportInformation)" -match '(?:KB|kbid=)(\d{6,8})') {
            return "KB$($Matches[1])"
        }
    }
    catch {
        return $null
    }
    return $null
}

function Test-RebootPending {
    <# A restart pending because of updates (component servicing or Windows Update). #>
    return @(Get-BjeicOpsPendingReboot -UpdatesOnly).Count -gt 0
}

# ---------------------------------------------------------------- transactions on the host

function Get-TransactionPath {
    param([string]$Id)
    return Join-Path -Path (Join-Path -Path $recordRoot -ChildPath $Id) -ChildPath 'transaction.json'
}

function Get-Transaction {
    <# All transaction records, oldest first; a corrupt one is named, not skipped. #>
    $records = @()
    foreach ($directory in @(Get-ChildItem -LiteralPath $recordRoot -Directory -ErrorAction SilentlyContinue | Sort-Object -Property Name)) {
        $path = Join-Path -Path $directory.FullName -ChildPath 'transaction.json'
        if (Test-Path -LiteralPath $path) {
            $records += Read-BjeicOpsJson -Path $path
        }
    }
    return $records
}

function Find-Transaction {
    param([string]$Id)
    if ($Id -eq 'latest') {
        $applied = @(Get-Transaction | Where-Object { $_.state -in @('applied', 'failed') })
        if (-not $applied.Count) {
            throw ("there is no applied patch transaction on $hostname to roll back")
        }
        return $applied[-1]
    }
    $path = Get-TransactionPath -Id $Id
    if (-not (Test-Path -LiteralPath $path)) {
        $known = @(Get-Transaction | ForEach-Object { "$($_.id) ($($_.state))" })
        throw ("no patch transaction $Id on $hostname; transactions there: $($known -join ', ')")
    }
    return Read-BjeicOpsJson -Path $path
}

function Save-Transaction {
    param([object]$Transaction)
    $directory = Join-Path -Path $recordRoot -ChildPath $Transaction.id
    if (-not (Test-Path -LiteralPath $directory)) {
        New-Item -Path $directory -ItemType Directory | Out-Null
    }
    Write-BjeicOpsJson -Path (Get-TransactionPath -Id $Transaction.id) -InputObject $Transaction
}

# ---------------------------------------------------------------- planned

function Test-Selected {
    <# accept_list and reject_list as win_updates reads them: a KB id or a regular expression on the title. #>
    param([string]$Title, [string[]]$Kb)
    $matchesAny = {
        param([string[]]$Patterns)
        foreach ($pattern in $Patterns) {
            if ($Kb -contains $pattern.ToUpperInvariant() -or $Title -match $pattern) {
                return $true
            }
        }
        return $false
    }
    if ($module.Params.accept_list.Count -and -not (& $matchesAny $module.Params.accept_list)) {
        return $false
    }
    return -not (& $matchesAny $module.Params.reject_list)
}

function Get-AvailableUpdate {
    <# Updates the configured source (WSUS or Windows Update) offers in the chosen categories. #>
    $session = New-Object -ComObject Microsoft.Update.Session
    $searcher = $session.CreateUpdateSearcher()
    $result = $searcher.Search("IsInstalled=0 and IsHidden=0 and Type='Software'")
    $wanted = @($module.Params.category_names | ForEach-Object { $categoryIds[$_] })
    $available = @()
    foreach ($update in $result.Updates) {
        $categories = @($update.Categories | ForEach-Object { $_.CategoryID })
        if (-not @($categories | Where-Object { $_ -in $wanted }).Count) {
            continue
        }
        $kbs = @($update.KBArticleIDs | ForEach-Object { "KB$_" })
        if (-not (Test-Selected -Title $update.Title -Kb $kbs)) {
            continue
        }
        $available += [ordered]@{ kb = $kbs; title = $update.Title; severity = $update.MsrcSeverity;
            categories = @($update.Categories | ForEach-Object { $_.Name }); size_bytes = [int64]$update.MaxDownloadSize;
            security = $categories -contains $categoryIds.SecurityUpdates
        }
    }
    return $available
}

function Invoke-Plan {
    $installed = Get-InstalledSet
    $findings = @()
    $transactions = @(Get-Transaction)
    $unfinished = @($transactions | Where-Object { $_.state -eq 'applying' })
    foreach ($transaction in $unfinished) {
        $findings += New-BjeicOpsFinding -Check 'patch.unfinished_transaction' -Severity critical -Subject $transaction.id `
            -Message "patch transaction $($transaction.id) began at $($transaction.started) and never finished: roll it back (state=rolled_back, transaction_id=$($transaction.id)) before patching again"
    }
    $available = @()
    if ($module.Params.search) {
        try {
            $available = Get-AvailableUpdate
        }
        catch {
            $findings += New-BjeicOpsUnavailable -Check 'patch.unavailable' -Subject $hostname `
                -Message "cannot search for updates (WSUS or Windows Update; over WinRM the search may need become): $($_.Exception.Message)"
        }
    }
    $security = @($available | Where-Object { $_.security })
    if ($available.Count) {
        $findings += New-BjeicOpsFinding -Check 'patch.updates_available' -Severity info -Subject $hostname -Value $available.Count `
            -Message "$($available.Count) update(s) available in $($module.Params.category_names -join ', ')"
    }
    if ($security.Count) {
        $severity = 'warning'
        if (@($security | Where-Object { $_.severity -eq 'Critical' }).Count) {
            $severity = 'critical'
        }
        $findings += New-BjeicOpsFinding -Check 'patch.security_updates' -Severity $severity -Subject $hostname -Value $security.Count `
            -Message "$($security.Count) security update(s) not installed: $(($security | ForEach-Object { ($_.kb -join '/') + ' ' + $_.severity }) -join ', ')"
    }
    $pending = Test-RebootPending
    if ($pending) {
        $findings += New-BjeicOpsFinding -Check 'patch.reboot_required' -Severity warning -Subject $hostname -Value $true `
            -Message 'a restart is pending: updates installed earlier are not in effect until the host restarts'
    }
    $last = $null
    if ($transactions.Count) {
        $last = $transactions[-1].id
    }
    # The same ledger item as linux_patch: the monthly report's patch status reads it.
    $module.Result.ledger = @(New-BjeicOpsLedgerItem -Kind os -Key (Get-BjeicOpsLedgerKey -Prefix patch -Name $hostname) -Attrs @{
            hostname = $hostname; backend = 'windows'; last_transaction = $last; hotfixes = $installed.hotfixes
            state = @{ pending = $available.Count; pending_security = $security.Count; unfinished_transactions = $unfinished.Count }
        })
    $module.Result.installed = $installed
    $module.Result.available = $available
    $module.Result.reboot_required = $pending
    $module.Result.findings = $findings
}

# ---------------------------------------------------------------- applied: begin and finish

function Invoke-Begin {
    $unfinished = @(Get-Transaction | Where-Object { $_.state -eq 'applying' })
    if ($unfinished.Count) {
        throw ("patching refused on ${hostname}: transaction $($unfinished[0].id) never finished; roll it back first (state=rolled_back, transaction_id=$($unfinished[0].id))")
    }
    $id = New-BjeicOpsRecordId
    $module.Result.transaction_id = $id
    if ($module.CheckMode) {
        $module.Result.msg = 'check mode: the transaction would begin here'
        return
    }
    $transaction = [ordered]@{
        id = $id; host = $hostname; state = 'applying'; started = [DateTime]::UtcNow.ToString('o', $invariant); finished = $null
        selection = [ordered]@{ category_names = $module.Params.category_names; accept_list = $module.Params.accept_list;
            reject_list = $module.Params.reject_list
        }
        before = Get-InstalledSet; after = $null; added_packages = @(); added_hotfixes = @(); rolled_back = $null
    }
    Save-Transaction -Transaction $transaction   # before anything is installed: a killed run leaves 'applying'
    $module.Result.msg = "transaction $id begun: $($transaction.before.hotfixes.Count) KB(s), $($transaction.before.packages.Count) package(s) recorded"
}

function Invoke-Finish {
    $transaction = Find-Transaction -Id $module.Params.transaction_id
    $module.Result.transaction_id = $transaction.id
    if ($transaction.state -ne 'applying') {
        $module.Result.msg = "transaction $($transaction.id) is already $($transaction.state)"
        return
    }
    $after = Get-InstalledSet
    $addedPackages = @($after.packages | Where-Object { $_ -notin $transaction.before.packages })
    $addedHotfixes = @($after.hotfixes | Where-Object { $_ -notin $transaction.before.hotfixes })
    $packages = @()
    $changes = @()
    foreach ($package in $addedPackages) {
        $kb = Get-PackageKb -PackageName $package
        $packages += [ordered]@{ name = $kb; package = $package; before = $null; after = 'installed' }
        $changes += [ordered]@{ object = "$kb $package".Trim(); action = 'install'; before = $null; after = $package }
    }
    $state = 'applied'
    if ($module.Params.outcome -eq 'failed') {
        $state = 'failed'
    }
    if (-not $module.CheckMode) {
        $transaction.after = $after
        $transaction.added_packages = $addedPackages
        $transaction.added_hotfixes = $addedHotfixes
        $transaction.state = $state
        $transaction.finished = [DateTime]::UtcNow.ToString('o', $invariant)
        Save-Transaction -Transaction $transaction
    }
    $module.Result.changed = $addedPackages.Count -gt 0
    $module.Result.packages = $packages
    $module.Result.changes = $changes
    $module.Result.added_hotfixes = $addedHotfixes
    $module.Result.reboot_required = Test-RebootPending
    if ($addedPackages.Count) {
        $module.Result.rollback = New-BjeicOpsRollback -Id $transaction.id -Module 'bjeic.ops.win_patch' -Arguments @{
            state = 'rolled_back'; transaction_id = $transaction.id
        }
    }
    $module.Result.msg = "transaction $($transaction.id) $state`: $($addedPackages.Count) package(s) added ($($addedHotfixes -join ', '))"
}

# ---------------------------------------------------------------- rolled_back

function Invoke-Rollback {
    $transaction = Find-Transaction -Id $module.Params.transaction_id
    $module.Result.transaction_id = $transaction.id
    if ($transaction.state -eq 'rolled-back') {
        $module.Result.msg = "transaction $($transaction.id) was already rolled back on $($transaction.rolled_back)"
        return
    }
    $current = Get-InstalledSet
    $toRemove = @($transaction.added_packages)
    if ($transaction.state -eq 'applying') {
        # Killed between begin and finish: what it added is what is here now and was not before.
        $toRemove = @($current.packages | Where-Object { $_ -notin $transaction.before.packages })
    }
    $toRemove = @($toRemove | Where-Object { $_ -in $current.packages })
    $changes = @()
    $failures = @()
    $restart = $false
    foreach ($package in $toRemove) {
        $kb = Get-PackageKb -PackageName $package
        if (-not $module.CheckMode) {
            try {
                $removal = Remove-WindowsPackage -Online -PackageName $package -NoRestart -ErrorAction Stop
                if ($removal.RestartNeeded) {
                    $restart = $true
                }
            }
            catch {
                # A servicing stack update is permanent; DISM says so in its error.
                $failures += "$kb $package`: $($_.Exception.Message)"
                continue
            }
        }
        $changes += [ordered]@{ object = "$kb $package".Trim(); action = 'remove'; before = $package; after = $null }
    }
    $module.Result.changes = $changes
    $module.Result.packages = @($changes | ForEach-Object { [ordered]@{ name = $_.object; before = 'installed'; after = $null } })
    $module.Result.changed = $changes.Count -gt 0
    $module.Result.reboot_required = $restart -or (Test-RebootPending)
    if ($failures.Count) {
        throw ("rollback of transaction $($transaction.id) on $hostname removed $($changes.Count) package(s) but not $($failures.Count): $($failures -join '; '). The transaction stays $($transaction.state); restart and run the rollback again, or remove these by hand")
    }
    if (-not $module.CheckMode) {
        $transaction.state = 'rolled-back'
        $transaction.rolled_back = [DateTime]::UtcNow.ToString('o', $invariant)
        Save-Transaction -Transaction $transaction
    }
    $module.Result.msg = "transaction $($transaction.id) rolled back: $($changes.Count) package(s) removed; restart to complete: $($module.Result.reboot_required)"
}

try {
    switch ($module.Params.state) {
        'planned' {
            Invoke-Plan
        }
        'applied' {
            if ($module.Params.stage -eq 'begin') {
                Invoke-Begin
            }
            else {
                Invoke-Finish
            }
        }
        'rolled_back' {
            Invoke-Rollback
        }
    }
}
catch {
    # The functions throw what they refuse (no FailJson inside this try: its exit would be caught here).
    $module.FailJson("win_patch $($module.Params.state) on ${hostname}: $($_.Exception.Message)", $_)
}
$module.ExitJson()
