"""PowerShell source read with tree-sitter-powershell: syntax errors, and the literal values of top-level
assignments ($spec = @{...}), so tests can hold a Windows module's spec against its documentation without
a PowerShell binary (there is none on this machine)."""
import tree_sitter_powershell
from tree_sitter import Language, Parser

PARSER = Parser(Language(tree_sitter_powershell.language()))
# Expression wrappers the grammar nests around every value; a value is found by descending through them.
WRAPPERS = {'pipeline', 'pipeline_chain', 'logical_expression', 'bitwise_expression', 'comparison_expression',
            'additive_expression', 'multiplicative_expression', 'format_expression', 'range_expression',
            'array_literal_expression', 'unary_expression', 'expression_with_unary_operator', 'statement_list',
            'parenthesized_expression', 'sub_expression'}
SPECIAL = {'$true': True, '$false': False, '$null': None}


class NotALiteral(ValueError):
    pass


def parse(source):
    return PARSER.parse(source if isinstance(source, bytes) else source.encode('utf-8'))


def syntax_errors(source):
    """[(line, column, text)] of ERROR and MISSING nodes; empty when the file parses."""
    problems = []

    def walk(node):
        if node.type == 'ERROR' or node.is_missing:
            problems.append((node.start_point[0] + 1, node.start_point[1], node.text.decode('utf-8', 'replace')[:80]))
            return
        for child in node.children:
            walk(child)
    walk(parse(source).root_node)
    return problems


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def _text(node):
    return node.text.decode('utf-8')


def _named(node):
    return [c for c in node.children if c.type not in (',', ';', '(', ')', '@(', '@{', '}', '=', '\n')]


def value(node, names=None):
    """The Python value of a literal node: hashtables, @() arrays, comma lists, strings, numbers, $true/$false/$null,
    and variables found in `names` (earlier top-level assignments)."""
    names = names or {}
    kind = node.type
    if kind == 'hash_literal_expression':
        body = next((c for c in node.children if c.type == 'hash_literal_body'), None)
        result = {}
        for entry in (c for c in (body.children if body else []) if c.type == 'hash_entry'):
            key_node, val_node = entry.children[0], entry.children[2]
            key = _text(key_node).strip("'\"")
            result[key] = value(val_node, names)
        return result
    if kind == 'array_expression':
        inner = [c for c in node.children if c.type not in ('@(', ')')]
        if not inner:
            return []
        items = value(inner[0], names)
        return items if isinstance(items, list) else [items]
    if kind == 'array_literal_expression' and any(c.type == ',' for c in node.children):
        items = []
        for child in node.children:
            if child.type != ',':
                items.append(value(child, names))
        return items
    if kind == 'string_literal':
        text = _text(node)
        if text[:1] in ("'", '"') and text[-1:] == text[:1]:
            if text[0] == '"' and '$' in text:
                raise NotALiteral('expandable string %s' % text)
            return text[1:-1].replace("''", "'") if text[0] == "'" else text[1:-1]
        raise NotALiteral(text)
    if kind in ('decimal_integer_literal', 'integer_literal'):
        return int(_text(node))
    if kind == 'real_literal':
        return float(_text(node))
    if kind == 'variable':
        name = _text(node).lower()
        if name in SPECIAL:
            return SPECIAL[name]
        if name in names:
            return names[name]
        raise NotALiteral('variable %s' % name)
    if kind == 'expression_with_unary_operator' and node.children and _text(node.children[0]) == ',':
        return [value(node.children[1], names)]   # @(, @(...)): the one-element array idiom
    if kind in WRAPPERS or kind == 'ERROR':
        children = _named(node)
        if len(children) == 1:
            return value(children[0], names)
    raise NotALiteral('%s: %s' % (kind, _text(node)[:60]))


def assignments(source):
    """{'$name': value} of top-level `$name = literal` statements, in order; later ones may use earlier ones."""
    tree = parse(source)
    names = {}
    statements = next((c for c in tree.root_node.children if c.type == 'statement_list'), None)
    for statement in statements.children if statements else []:
        assignment = next((n for n in walk(statement) if n.type == 'assignment_expression'), None)
        if assignment is None or assignment.parent is None:
            continue
        target = _text(assignment.children[0]).strip().lower()
        if not target.startswith('$') or '.' in target or '[' in target:
            continue
        try:
            names[target] = value(assignment.children[2], names)
        except NotALiteral:
            continue
    return names


def functions(source):
    """Names of the functions a file defines."""
    return [_text(n) for n in walk(parse(source).root_node) if n.type == 'function_name']


def commands(source):
    """Names of the commands a file calls (Get-Foo, New-BjeicOpsFinding ...)."""
    return [_text(n) for n in walk(parse(source).root_node) if n.type == 'command_name']
