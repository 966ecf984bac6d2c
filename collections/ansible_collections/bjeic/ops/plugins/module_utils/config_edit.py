# -*- coding: utf-8 -*-
# Copyright: bjeic.ops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edits of configuration text: key/value files, PAM stacks, an sshd_config managed block.

Pure functions (text in, text out), so they are unit-tested on real files' contents.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

MANAGED_BEGIN = '# BEGIN bjeic.ops %s (managed: edit the baseline, not this block)'
MANAGED_END = '# END bjeic.ops %s'


class EditError(ValueError):
    """The text is not in a shape we can edit safely; the message says what was expected."""


# ---------------------------------------------------------------- key/value files

def _kv_pattern(key, separator):
    if separator == '=':
        return re.compile(r'^\s*%s\s*=\s*(.*?)\s*$' % re.escape(key))
    return re.compile(r'^\s*%s\s+(.*?)\s*$' % re.escape(key))


def kv_get(text, key, separator=' '):
    """The value of the last uncommented `key` line (later lines win), or None."""
    pattern = _kv_pattern(key, separator)
    value = None
    for line in text.splitlines():
        match = pattern.match(line)
        if match:
            value = match.group(1)
    return value


def kv_set(text, key, value, separator=' '):
    """Every uncommented `key` line set to `value`; appended when there is none."""
    pattern = _kv_pattern(key, separator)
    wanted = '%s = %s' % (key, value) if separator == '=' else '%s\t%s' % (key, value)
    lines = text.splitlines()
    found = False
    for index, line in enumerate(lines):
        if pattern.match(line):
            lines[index] = wanted
            found = True
    if not found:
        lines.append(wanted)
    return '\n'.join(lines) + '\n'


def compare(current, op, wanted):
    """Does `current` (text or None) satisfy `op` (eq, le, pos_le, ge) against `wanted`?"""
    if current is None:
        return False
    if op == 'eq':
        return str(current).strip() == str(wanted)
    try:
        number = float(str(current).split()[0])
    except (ValueError, IndexError):
        return False
    if op == 'le':
        return number <= float(wanted)
    if op == 'pos_le':  # on, and at most: 0 turns ClientAliveInterval off
        return 0 < number <= float(wanted)
    return number >= float(wanted)


# ---------------------------------------------------------------- PAM

PAM_LINE = re.compile(r'^\s*(-?)(auth|account|password|session)\s+(\[[^\]]*\]|\S+)\s+(\S+)(.*)$')


def pam_parse(text):
    """[(index, type, control, module, args)] of the rule lines of a PAM file."""
    rules = []
    for index, line in enumerate(text.splitlines()):
        match = PAM_LINE.match(line)
        if match:
            rules.append((index, match.group(2), match.group(3), match.group(4), match.group(5).split()))
    return rules


def pam_find(text, kind, module):
    """Rules of `kind` using `module` (pam_faillock.so): [(index, control, args)]."""
    return [(index, control, args) for index, rtype, control, mod, args in pam_parse(text)
            if rtype == kind and mod.rsplit('/', 1)[-1] == module]


def pam_rule(kind, control, module, args=()):
    return '%s\t%s\t%s' % (kind, control, ' '.join((module,) + tuple(args)))


def pam_insert_before(text, kind, anchor_module, new_line):
    """Insert `new_line` before the first `kind` rule of `anchor_module`."""
    rules = pam_find(text, kind, anchor_module)
    if not rules:
        raise EditError('no "%s ... %s" rule to anchor on' % (kind, anchor_module))
    lines = text.splitlines()
    lines.insert(rules[0][0], new_line)
    return '\n'.join(lines) + '\n'


def pam_insert_first(text, kind, new_line):
    """Insert `new_line` before the first rule of `kind` (or at the end when there is none)."""
    rules = [r for r in pam_parse(text) if r[1] == kind]
    lines = text.splitlines()
    lines.insert(rules[0][0] if rules else len(lines), new_line)
    return '\n'.join(lines) + '\n'


JUMP = re.compile(r'success=(\d+)')


def pam_add_faillock_auth(text):
    """Wrap the pam_unix auth rule with pam_faillock preauth / authfail / authsucc.

    Expects the Debian and RHEL shape `auth [success=N default=ignore] pam_unix.so` (Debian) or
    `auth sufficient pam_unix.so` (RHEL). The success jump grows by one for the authfail rule and
    now lands on authsucc, placed just before the rule it landed on, so every later module
    (pam_permit, pam_cap, ...) still runs.
    """
    rules = pam_find(text, 'auth', 'pam_unix.so')
    if len(rules) != 1:
        raise EditError('expected exactly one "auth ... pam_unix.so" rule, found %d' % len(rules))
    index, control, _args = rules[0]
    lines = text.splitlines()
    preauth = pam_rule('auth', 'required', 'pam_faillock.so', ('preauth',))
    authfail = pam_rule('auth', '[default=die]', 'pam_faillock.so', ('authfail',))
    jump = JUMP.search(control)
    if jump:
        skip = int(jump.group(1))
        auth_rules = [r for r in pam_parse(text) if r[1] == 'auth']   # jumps count rules, not lines
        position = [r[0] for r in auth_rules].index(index)
        if position + skip + 1 >= len(auth_rules):
            raise EditError('pam_unix success=%d jumps past the last auth rule' % skip)
        target = auth_rules[position + skip + 1][0]   # the line pam_unix jumps to on success
        lines[index] = lines[index].replace(jump.group(0), 'success=%d' % (skip + 1), 1)
        lines.insert(target, pam_rule('auth', 'required', 'pam_faillock.so', ('authsucc',)))
        lines.insert(index + 1, authfail)
        lines.insert(index, preauth)
    elif control == 'sufficient':
        lines.insert(index + 1, authfail)
        lines.insert(index, preauth)
        # authsucc is redundant after a sufficient pam_unix (success ends the stack); RHEL's own
        # authselect with-faillock places authfail right after pam_unix the same way.
    else:
        raise EditError('pam_unix auth control %s is neither success=N nor sufficient' % control)
    return '\n'.join(lines) + '\n'


def pam_set_arg(text, kind, module, name, value):
    """Set `name=value` on every `kind` rule of `module` (added when missing)."""
    lines = text.splitlines()
    for index, _control, args in pam_find(text, kind, module):
        line = lines[index]
        pattern = re.compile(r'(\s)%s=\S*' % re.escape(name))
        if pattern.search(line):
            lines[index] = pattern.sub(r'\g<1>%s=%s' % (name, value), line)
        else:
            lines[index] = line.rstrip() + ' %s=%s' % (name, value)
    return '\n'.join(lines) + '\n'


def pam_arg(args, name):
    for arg in args:
        if arg.startswith(name + '='):
            return arg.split('=', 1)[1]
    return None


# ---------------------------------------------------------------- sshd_config

def sshd_managed_block(text, name, settings):
    """`text` with a managed block of `settings` [(Keyword, value)] at the top.

    sshd takes the first value it reads for a keyword, so a block at the very top (before any
    Include) wins over the rest of the file and its drop-ins. An older block is replaced.
    """
    text = sshd_remove_block(text, name)
    block = [MANAGED_BEGIN % name] + ['%s %s' % (key, value) for key, value in settings] + [MANAGED_END % name]
    return '\n'.join(block) + '\n' + text


def sshd_split_block(text, name):
    """(lines inside the managed block `name`, the text outside it)."""
    begin, end = MANAGED_BEGIN % name, MANAGED_END % name
    inside_lines, outside, inside = [], [], False
    for line in text.splitlines(True):
        stripped = line.rstrip('\n')
        if stripped == begin:
            inside = True
        elif inside and stripped == end:
            inside = False
        elif inside:
            inside_lines.append(stripped)
        else:
            outside.append(line)
    return inside_lines, ''.join(outside)


def sshd_remove_block(text, name):
    return sshd_split_block(text, name)[1]


def parse_sshd_T(text):
    """`sshd -T` output -> {keyword: value} (keywords are lower case; repeated ones joined by newline)."""
    config = {}
    for line in text.splitlines():
        key, _sep, value = line.strip().partition(' ')
        if not key:
            continue
        config[key] = config[key] + '\n' + value if key in config else value
    return config
