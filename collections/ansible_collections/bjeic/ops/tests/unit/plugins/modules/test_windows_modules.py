"""The Windows modules, checked without Windows: every .ps1/.psm1 parses (tree-sitter-powershell), each module
has the Ansible.Basic structure, its $spec equals its documentation option for option, the shared functions it
calls are exported, and the data the modules share with the Linux side (check ids, thresholds, cloud vendors)
agree. There is no PowerShell binary here (see README, Windows); tests/windows/ runs them on a real host."""
import glob
import os
import re

import pytest
import yaml

from ansible_collections.bjeic.ops.tests.unit.plugins.modules import pstree
from ansible_collections.bjeic.ops.plugins.module_utils import cloud_identity
from ansible_collections.bjeic.ops.plugins.modules import linux_inspect, linux_watch

COLLECTION = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
PLUGINS = os.path.join(COLLECTION, 'plugins')
MODULES = sorted(os.path.basename(p)[:-4] for p in glob.glob(os.path.join(PLUGINS, 'modules', 'win_*.ps1')))
POWERSHELL = sorted(glob.glob(os.path.join(PLUGINS, 'modules', '*.ps1')) + glob.glob(os.path.join(PLUGINS, 'module_utils', '*.psm1')))
SPEC_KEYS = ('type', 'elements', 'default', 'choices', 'required', 'no_log')


def read(path):
    with open(path, encoding='utf-8') as handle:
        return handle.read()


def source(module):
    return read(os.path.join(PLUGINS, 'modules', module + '.ps1'))


def documentation(module):
    namespace = {}
    exec(compile(read(os.path.join(PLUGINS, 'modules', module + '.py')), module, 'exec'), namespace)
    return yaml.safe_load(namespace['DOCUMENTATION']), namespace


def test_there_are_windows_modules():
    assert MODULES == ['win_expand', 'win_harden', 'win_inspect', 'win_patch', 'win_watch']


@pytest.mark.parametrize('path', POWERSHELL, ids=os.path.basename)
def test_every_powershell_file_parses(path):
    assert pstree.syntax_errors(read(path)) == []


def test_the_parser_does_report_a_syntax_error():
    # So that the test above can fail: an unclosed hashtable and a stray brace are errors.
    assert pstree.syntax_errors('$spec = @{ options = @{ name = @{ type = "str" }\n$module = 1\n')
    assert pstree.syntax_errors('function Get-X {\n    if ($true) {\n}\n')


@pytest.mark.parametrize('module', MODULES)
def test_module_structure(module):
    text = source(module)
    lines = text.splitlines()
    assert lines[0] == '#!powershell'
    assert '#AnsibleRequires -CSharpUtil Ansible.Basic' in lines
    assert '$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)' in text
    assert text.rstrip().endswith('$module.ExitJson()')
    spec = pstree.assignments(text)['$spec']
    assert spec['supports_check_mode'] is True
    for line in lines:
        match = re.match(r'#AnsibleRequires -PowerShell \.\.module_utils\.(\w+)$', line)
        if line.startswith('#AnsibleRequires -PowerShell'):
            assert match, line
            assert os.path.exists(os.path.join(PLUGINS, 'module_utils', match.group(1) + '.psm1')), line


@pytest.mark.parametrize('module', MODULES)
def test_spec_and_documentation_agree_option_for_option(module):
    spec = pstree.assignments(source(module))['$spec']['options']
    docs = documentation(module)[0]['options']
    assert sorted(spec) == sorted(docs)
    for name in spec:
        for key in SPEC_KEYS:
            want = docs[name].get(key)
            got = spec[name].get(key)
            if key == 'default' and want is None:
                assert got is None, (name, key)
            elif key in ('required', 'no_log'):
                assert bool(got) == bool(want), (name, key)
            else:
                assert got == want, (name, key, got, want)


def test_secret_options_are_no_log():
    for module in MODULES:
        for name, option in pstree.assignments(source(module))['$spec']['options'].items():
            if re.search(r'pass|secret|token|key$', name):
                assert option.get('no_log') is True, (module, name)


def test_required_if_names_real_options():
    for module in MODULES:
        spec = pstree.assignments(source(module))['$spec']
        for condition in spec.get('required_if', []):
            option, _value, needs = condition
            assert option in spec['options'] and all(n in spec['options'] for n in needs), (module, condition)


@pytest.mark.parametrize('module', MODULES)
def test_documentation_stubs_have_examples_and_returns(module):
    docs, namespace = documentation(module)
    assert docs['module'] == module
    assert docs['attributes']['check_mode']['support'] == 'full'
    assert docs['attributes']['platform']['platforms'] == 'windows'
    assert yaml.safe_load(namespace['EXAMPLES']) and yaml.safe_load(namespace['RETURN'])


def test_every_shared_function_called_is_defined_and_exported():
    exported, defined = {}, {}
    for path in glob.glob(os.path.join(PLUGINS, 'module_utils', '*.psm1')):
        text = read(path)
        names = pstree.assignments(text).get('$exported')
        assert names, '%s exports through $exported' % path
        assert sorted(names) == sorted(pstree.functions(text)), path   # every function exported, nothing else
        for name in names:
            assert name.split('-', 1)[1].startswith('BjeicOps'), name
            exported[name] = os.path.basename(path)
        defined.update((name, path) for name in pstree.functions(text))
    for module in MODULES:
        text = source(module)
        required = set(re.findall(r'#AnsibleRequires -PowerShell \.\.module_utils\.(\w+)', text))
        for command in set(pstree.commands(text)):
            if 'BjeicOps' in command:
                assert command in exported, (module, command)
                assert exported[command][:-5] in required, (module, command, 'its module_utils is not required')


# What the modules kept for themselves before the shared readers moved to module_utils: none is called any more, and
# every function a module calls that is not a cmdlet of Windows is its own or exported by a module_util it requires.
MOVED = ('Read-SecurityPolicy', 'Write-SecurityPolicy', 'Read-AuditPolicy', 'Write-AuditPolicy', 'Read-RegistryValue',
         'Write-RegistryValue', 'Read-ServiceState', 'Read-FirewallProfile', 'Test-WinRmAllowed', 'Test-Value',
         'Get-ControlState', 'Format-Want', 'ConvertTo-IsoTime', 'Get-EventsOrNone', 'Test-On')


@pytest.mark.parametrize('module', MODULES)
def test_no_module_calls_what_moved_to_the_shared_module_utils(module):
    text = source(module)
    own = set(pstree.functions(text))
    for command in set(pstree.commands(text)):
        assert command not in MOVED or command in own, (module, command)


def test_shared_windows_readers_take_what_they_need_as_parameters():
    # A module_util cannot see a module's variables: nothing in them may name one ($work, $channel, $module ...).
    for name in ('BjeicOps.psm1', 'BjeicOpsWinHost.psm1', 'BjeicOpsWinSetting.psm1'):
        text = read(os.path.join(PLUGINS, 'module_utils', name))
        for variable in ('$work', '$channel', '$module', '$settings', '$enabled', '$thresholds', '$findings', '$insp'):
            assert not re.search(re.escape(variable) + r'\b', text), (name, variable)


def test_win_inspect_check_ids_and_thresholds_match_linux_where_the_meaning_is_the_same():
    names = pstree.assignments(source('win_inspect'))
    windows_ids = names['$checkids']
    shared = set(windows_ids) & set(linux_inspect.CHECK_IDS)
    assert shared == {'fs.usage', 'swap.usage', 'mem.usage', 'svc.failed', 'svc.down', 'login.failed', 'tmp.usage',
                      'log.errors', 'backup.stale', 'backup.missing', 'ntp.unsynced'}
    for check in shared & set(names['$defaultthresholds']):
        assert names['$defaultthresholds'][check] == dict(
            (k, v) for k, v in linux_inspect.DEFAULT_THRESHOLDS[check].items() if not k.startswith('_')), check
    docs = documentation('win_inspect')[0]['options']
    assert docs['checks']['choices'] == windows_ids == docs['skip_checks']['choices']


def test_win_watch_shares_the_linux_watch_ids_where_the_meaning_is_the_same():
    names = pstree.assignments(source('win_watch'))
    windows_ids = names['$checkids']
    assert set(windows_ids) & set(linux_watch.CHECKS) == {'sec.listening_new', 'sec.account_new', 'sec.firewall_drift'}
    assert documentation('win_watch')[0]['options']['checks']['choices'] == windows_ids
    # privileged groups by their well-known SID (a localised Windows names them in its own language)
    assert [g[0] for g in names['$watchedgroups']] == ['S-1-5-32-544', 'S-1-5-32-555', 'S-1-5-32-551']
    text = source('win_watch')
    assert 'Get-BjeicOpsRecordRoot -Kind watch' in text and 'Write-BjeicOpsJson' in text   # root-only, atomic
    for check in windows_ids:   # every check the module knows it also reports
        assert "'%s'" % check in text.split('# ---------------------------------------------------------------- comparing')[1]


def test_both_platforms_know_the_same_cloud_vendors():
    vendors = pstree.assignments(read(os.path.join(PLUGINS, 'module_utils', 'BjeicOpsWinHost.psm1')))['$cloudvendors']
    assert [tuple(v) for v in vendors] == list(cloud_identity.CLOUD_VENDORS)


def test_the_role_knows_which_check_ids_are_one_platform_only():
    role_vars = yaml.safe_load(read(os.path.join(PLUGINS, '..', 'roles', 'inspect', 'vars', 'main.yml')))
    windows_ids = set(pstree.assignments(source('win_inspect'))['$checkids'])
    assert set(role_vars['__inspect_linux_only']) == set(linux_inspect.CHECK_IDS) - windows_ids
    assert set(role_vars['__inspect_windows_only']) == windows_ids - set(linux_inspect.CHECK_IDS)


# ---------------------------------------------------------------- the Windows baseline

def baseline_text():
    return read(os.path.join(PLUGINS, 'module_utils', 'BjeicOpsWinBaseline.psm1'))


def baseline_controls():
    """[(id, clause, kind, tags)] of the catalogue, read from its hashtable literals."""
    controls = []
    for node in pstree.walk(pstree.parse(baseline_text()).root_node):
        if node.type != 'hash_literal_expression':
            continue
        keys = {}
        body = next((c for c in node.children if c.type == 'hash_literal_body'), None)
        for entry in (c for c in (body.children if body else []) if c.type == 'hash_entry'):
            keys[entry.children[0].text.decode()] = entry.children[2]
        if 'id' in keys and 'clause' in keys:
            controls.append({'id': pstree.value(keys['id']), 'clause': pstree.value(keys['clause']),
                             'kind': pstree.value(keys['kind']), 'tags': pstree.value(keys['tags']),
                             'settings': keys['settings']})
    return controls


def test_baseline_controls_are_documented_and_mapped_to_clauses():
    controls = baseline_controls()
    ids = [c['id'] for c in controls]
    assert len(ids) == len(set(ids)) == 20
    docs = documentation('win_harden')[0]
    described = ' '.join(docs['description'])
    assert sorted(re.findall(r'C\(([a-z0-9_]+\.[a-z0-9_.]+)\)', described)) == sorted(ids)
    for control in controls:
        assert re.match(r'^8\.1\.4\.[1-4][a-c]?$', control['clause']), control
        assert control['kind'] in ('secedit', 'registry', 'audit', 'service', 'firewall'), control
    documented_tags = set(re.findall(r'C\((\w+)\)', docs['options']['controls']['description'][0]))
    assert set(t for c in controls for t in c['tags']) == documented_tags


def test_audit_subcategories_are_named_by_guid():
    text = baseline_text()
    guids = re.findall(r"guid = '(\{[0-9A-F-]+\})'", text)
    assert len(guids) == 13 and len(set(guids)) == 13
    assert all(re.match(r'^\{0CCE92[0-9A-F]{2}-69AE-11D9-BED3-505054503030\}$', g) for g in guids)
    assert '{0CCE9215-69AE-11D9-BED3-505054503030}' in guids   # Logon


def test_default_settings_are_documented():
    defaults = None
    for node in pstree.walk(pstree.parse(baseline_text()).root_node):
        if node.type == 'hash_literal_expression' and b'min_password_length' in node.text and b'id =' not in node.text:
            defaults = pstree.value(node)
            break
    assert defaults['min_password_length'] == 8 and 'WinRM' not in defaults['insecure_services']
    settings_doc = documentation('win_harden')[0]['options']['settings']['description'][0]
    for key, default in defaults.items():
        assert 'C(%s)' % key in settings_doc, key
        if isinstance(default, int):
            assert 'C(%s) %d' % (key, default) in settings_doc, key


def test_the_management_channel_services_are_never_insecure():
    channel = read(os.path.join(PLUGINS, 'module_utils', 'BjeicOps.psm1'))
    for service in ('WinRM', 'seclogon', 'TermService', 'sshd', 'RpcSs', 'HTTP'):
        assert "'%s'" % service in channel
    assert 'Test-BjeicOpsWinRmAllowed -FirewallProfile $setting.profile -Ports $channel.winrm_ports' in source('win_harden')
