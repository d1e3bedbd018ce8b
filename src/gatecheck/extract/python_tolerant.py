"""Python that the running interpreter cannot parse, read with tree-sitter into ``ast`` nodes.

A project on a newer Python than gatecheck's (PEP 695 generics, PEP 701
f-strings, 3.14 t-strings), an old one (Python 2 ``print`` statements,
``0777``), or a file with one syntax error in the middle: ``ast.parse``
refuses the whole file.  `read` parses it with tree-sitter's Python grammar
instead, which is not tied to the host interpreter and recovers from errors,
and converts the tree into the CPython ``ast`` nodes that
`gatecheck.extract.python_sinks.Walker` and
`gatecheck.extract.python_templates.Builder` work on, with CPython's
positions (1-based line, UTF-8 byte column; a string's span covers its
whole implicit concatenation, prefixes and quotes included; parentheses
around an expression are not part of it).  The node types the walker tells
apart are built faithfully; any other construct becomes a `Generic` node
whose children are still walked, so the strings inside it are still found.

Why tree-sitter and not libcst (measured on 4 MB of the standard library and
on fixtures of 3.12-3.14 and Python 2 syntax): tree-sitter parses at 11 MB/s
(``ast.parse``: 8 MB/s), and with this conversion the whole extraction runs
at 2.4 MB/s (5.4 MB/s through ``ast``); libcst parses at 0.9 MB/s before any
conversion.  tree-sitter reads PEP 695, PEP 701, t-strings (raw ones too),
PEP 758 and Python 2, and recovers from a syntax error with a small
``ERROR`` node, so the rest of the file keeps its structure; libcst rejects
the whole file at the first error, and rejects Python 2 and raw t-strings.
tree-sitter's gap, PEP 696 type-parameter defaults (``def f[T = int]``),
yields an ``ERROR`` inside the type parameters that is recognised and not
reported.

Only imported when ``ast.parse`` fails: a run over valid files never loads
tree-sitter.
"""

from __future__ import annotations

import ast
import re
import unicodedata
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeVar, cast

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

__all__ = ["Generic", "Problem", "read"]

#: Converter recursion per nesting level is about two frames; past this depth
#: a subtree is read flat (its strings only), well within the recursion limit.
MAX_DEPTH: Final = 200

_LONE_CR: Final = re.compile(r"\r(?!\n)")
_SKIPPED: Final = frozenset({"comment", "line_continuation"})
_LOAD: Final = ast.Load()

_BINARY: Final[dict[str, type[ast.operator]]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "@": ast.MatMult, "/": ast.Div, "%": ast.Mod,
    "//": ast.FloorDiv, "**": ast.Pow, "|": ast.BitOr, "&": ast.BitAnd, "^": ast.BitXor,
    "<<": ast.LShift, ">>": ast.RShift,
}
_COMPARE: Final[dict[str, type[ast.cmpop]]] = {
    "<": ast.Lt, "<=": ast.LtE, "==": ast.Eq, "!=": ast.NotEq, "<>": ast.NotEq, ">=": ast.GtE,
    ">": ast.Gt, "in": ast.In, "not in": ast.NotIn, "is": ast.Is, "is not": ast.IsNot,
}
_UNARY: Final[dict[str, type[ast.unaryop]]] = {"+": ast.UAdd, "-": ast.USub, "~": ast.Invert}

_STATEMENTS: Final = frozenset({
    "expression_statement", "print_statement", "exec_statement", "return_statement",
    "delete_statement", "raise_statement", "assert_statement", "pass_statement",
    "break_statement", "continue_statement", "global_statement", "nonlocal_statement",
    "import_statement", "import_from_statement", "future_import_statement",
    "type_alias_statement", "if_statement", "for_statement", "while_statement",
    "try_statement", "with_statement", "function_definition", "class_definition",
    "decorated_definition", "match_statement",
})


class Problem(NamedTuple):
    """Where the file is not Python ``read`` can vouch for: 1-based line, UTF-8 byte column."""

    line: int
    column: int
    message: str


class Generic(ast.expr):
    """A construct the walker need not tell apart; its children are walked."""

    _fields = ("children",)
    children: list[ast.AST]


def _group(children: list[ast.AST], at: Node) -> ast.expr:
    node = Generic()
    node.children = children
    return _at(node, at)


def read(text: str, bom: int) -> tuple[ast.Module, list[Problem]]:
    """The module ``text`` holds (without its ``bom`` characters), and its problems in file order.

    Problems are tree-sitter's syntax errors (what it skipped, what it had
    to assume missing), Python 2 constructs, and subtrees nested too deeply
    to be read in full.  Valid Python of any version from 3.0 to 3.14 has
    none.  Raises ``UnicodeEncodeError`` (a ``ValueError``) on lone
    surrogates, as ``ast.parse`` does.
    """
    # A lone CR ends a line for Python, not for tree-sitter; the same number
    # of bytes keeps every byte offset.
    body = text[bom:] if bom else text
    if "\r" in body:
        body = _LONE_CR.sub("\n", body)
    source = body.encode("utf-8")
    tree = _parser().parse(source)
    converter = _Converter(source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes in literal_eval'ed strings
        module = converter.module(tree.root_node)
    problems = converter.problems + _syntax_errors(tree.root_node)
    problems.sort(key=lambda p: (p.line, p.column))
    return module, problems


_PARSER: list[Parser] = []


def _parser() -> Parser:
    if not _PARSER:
        import tree_sitter_python
        from tree_sitter import Language, Parser

        _PARSER.append(Parser(Language(tree_sitter_python.language())))
    return _PARSER[0]


def _syntax_errors(root: Node) -> list[Problem]:
    out: list[Problem] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            what = "a string's closing quote" if node.type == "string_end" else \
                f"'{node.type}'" if not node.is_named else f"{node.type.replace('_', ' ')}"
            out.append(_problem(node, f"expected {what}"))
        elif node.is_error:
            if not _type_parameter_default(node):
                out.append(_problem(_first_wrong(node), "invalid syntax"))
        elif node.has_error:
            stack.extend(node.children)
    return out


def _first_wrong(error: Node) -> Node:
    """Where an ``ERROR`` node goes wrong.  tree-sitter may wrap statements that
    parsed fine in it (the start of the file, then the bad line): inside an
    ``ERROR``, the first child that is no complete statement is the culprit,
    unless an earlier child holds an error of its own."""
    node = error
    while True:
        inner = None
        for child in node.children:
            if child.is_missing:
                return child
            if child.is_error or child.has_error:
                inner = child
                break
            if node.is_error and child.type not in _STATEMENTS and child.type not in _SKIPPED:
                return child
        if inner is None:
            return node
        node = inner


def _type_parameter_default(node: Node) -> bool:
    """``T = int`` in ``[T = int]``: PEP 696 (Python 3.13), which the grammar lacks."""
    parent = node.parent
    return (parent is not None and parent.type == "type_parameter"
            and any(c.type == "=" for c in node.children))


def _problem(node: Node, message: str) -> Problem:
    point = node.start_point
    return Problem(point.row + 1, point.column, message)


_N = TypeVar("_N", bound=ast.AST)


def _at(node: _N, at: Node) -> _N:
    """``node`` with the span of ``at``: CPython's 1-based line and UTF-8 byte column."""
    return _spanning(node, at, at)


def _spanning(node: _N, first: Node, last: Node) -> _N:
    """``node`` from the start of ``first`` to the end of ``last`` (an unbracketed tuple)."""
    start = first.start_point
    end = last.end_point
    located: Any = node
    located.lineno = start.row + 1
    located.col_offset = start.column
    located.end_lineno = end.row + 1
    located.end_col_offset = end.column
    return node


def _kids(node: Node) -> list[Node]:
    return [c for c in node.named_children if c.type not in _SKIPPED]


def _name_text(name: str) -> str:
    return name if name.isascii() else unicodedata.normalize("NFKC", name)


class _Converter:
    """tree-sitter nodes -> ``ast`` nodes, recursively up to `MAX_DEPTH`, flat below."""

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.depth = 0
        self.too_deep = False
        self.statements: dict[str, Callable[[Node], ast.AST | None]] = {
            "expression_statement": self._expression_statement,
            "print_statement": self._print, "exec_statement": self._exec,
            "return_statement": self._return, "delete_statement": self._delete,
            "raise_statement": self._raise, "assert_statement": self._assert,
            "pass_statement": lambda n: _at(ast.Pass(), n),
            "break_statement": lambda n: _at(ast.Break(), n),
            "continue_statement": lambda n: _at(ast.Continue(), n),
            "global_statement": self._global, "nonlocal_statement": self._global,
            "import_statement": self._import, "import_from_statement": self._import_from,
            "future_import_statement": self._import_from,
            "if_statement": self._if, "for_statement": self._for,
            "while_statement": self._while, "try_statement": self._try,
            "with_statement": self._with, "function_definition": self._function,
            "class_definition": self._class, "decorated_definition": self._decorated,
            "match_statement": self._match,
        }
        self.expressions: dict[str, Callable[[Node], ast.expr]] = {
            "identifier": self._name, "string": self._string,
            "concatenated_string": self._string, "call": self._call,
            "attribute": self._attribute, "binary_operator": self._binary,
            "parenthesized_expression": self._parenthesized,
            "integer": self._number, "float": self._number,
            "true": lambda n: self._constant(True, n), "false": lambda n: self._constant(False, n),
            "none": lambda n: self._constant(None, n),
            "ellipsis": lambda n: self._constant(..., n),
            "list": self._list, "tuple": self._tuple, "set": self._set,
            "expression_list": self._tuple, "pattern_list": self._tuple,
            "tuple_pattern": self._tuple, "list_pattern": self._list,
            "dictionary": self._dict, "list_splat": self._starred,
            "list_splat_pattern": self._starred, "parenthesized_list_splat": self._starred,
            "unary_operator": self._unary, "not_operator": self._not,
            "boolean_operator": self._boolean, "comparison_operator": self._compare,
            "conditional_expression": self._conditional,
            "named_expression": self._named, "lambda": self._lambda,
            "await": self._await, "yield": self._yield, "subscript": self._subscript,
            "slice": self._slice, "type": self._type,
            "list_comprehension": self._comprehension,
            "set_comprehension": self._comprehension,
            "generator_expression": self._comprehension,
            "dictionary_comprehension": self._comprehension,
            "keyword_argument": self._generic,
            "generic_type": self._generic_type, "union_type": self._union_type,
            "member_type": self._member_type, "splat_type": self._starred,
        }

    # -- helpers -----------------------------------------------------------------

    def text(self, node: Node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def note(self, node: Node, message: str) -> None:
        self.problems.append(_problem(node, message))

    def field(self, node: Node, name: str) -> Node | None:
        return node.child_by_field_name(name)

    def _constant(self, value: Any, node: Node) -> ast.expr:
        return _at(ast.Constant(value=value), node)

    def _generic(self, node: Node) -> ast.expr:
        """Any construct: its children converted, statements and expressions alike."""
        children: list[ast.AST] = []
        for child in _kids(node):
            converted = self.any(child)
            if converted is not None:
                children.append(converted)
        return _group(children, node)

    def any(self, node: Node) -> ast.AST | None:
        if node.type in _STATEMENTS:
            return self.statement(node)
        return self.expr(node)

    # -- entry points with the depth guard ---------------------------------------

    def module(self, root: Node) -> ast.Module:
        return ast.Module(body=self.block(root), type_ignores=[])

    def block(self, node: Node | None) -> list[ast.stmt]:
        if node is None:
            return []
        out: list[ast.stmt] = []
        for child in _kids(node):
            converted = self.statement(child)
            if converted is not None:
                out.append(cast(ast.stmt, converted))  # a Generic among statements
        return out

    def statement(self, node: Node) -> ast.AST | None:
        handler = self.statements.get(node.type)
        if handler is None:
            return self.expr(node)  # an ERROR, or an expression in one: walked, never a docstring
        if self.depth >= MAX_DEPTH:
            return self._flat(node)
        self.depth += 1
        try:
            return handler(node)
        finally:
            self.depth -= 1

    def expr(self, node: Node) -> ast.expr:
        if self.depth >= MAX_DEPTH:
            return self._flat(node)
        self.depth += 1
        try:
            return self.expressions.get(node.type, self._generic)(node)
        finally:
            self.depth -= 1

    def optional(self, node: Node | None) -> ast.expr | None:
        return None if node is None else self.expr(node)

    def _flat(self, node: Node) -> ast.expr:
        """The strings of a subtree nested too deeply to convert recursively."""
        if not self.too_deep:
            self.too_deep = True
            self.note(node, f"nested more than {MAX_DEPTH} levels deep; "
                            "the strings inside are read without their context")
        strings: list[ast.AST] = []
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type in ("string", "concatenated_string"):
                strings.append(self._string(current, fields=False))
            else:
                stack.extend(reversed(current.named_children))
        return _group(strings, node)

    # -- statements --------------------------------------------------------------

    def _expression_statement(self, node: Node) -> ast.AST | None:
        kids = _kids(node)
        if len(kids) != 1:
            value = _at(ast.Tuple(elts=[self.expr(k) for k in kids], ctx=_LOAD), node)
            return _at(ast.Expr(value=value), node)
        child = kids[0]
        if child.type == "assignment":
            return self._assignment(child, node)
        if child.type == "augmented_assignment":
            op = self.field(child, "operator")
            operator = _BINARY.get(self.text(op)[:-1], ast.Add) if op is not None else ast.Add
            return _at(ast.AugAssign(target=self._target(self.field(child, "left"), child),
                                     op=operator(),
                                     value=self._value(self.field(child, "right"), child)), node)
        if child.type in ("string", "concatenated_string"):
            previous = node.prev_sibling
            if previous is not None and previous.is_error and \
                    previous.end_point.row == node.start_point.row:
                # The value of an assignment the error swallowed (``y = "..."`` after a
                # broken line), not a docstring: a string site like any other.
                return self._generic(node)
        return _at(ast.Expr(value=self.expr(child)), node)

    def _target(self, node: Node | None, parent: Node) -> Any:
        """An expression that is there in valid Python (an empty group if not).

        ``Any``: it is what CPython puts in a target (``Name | Attribute |
        Subscript``) as well, and nothing here reads it as more than an expr.
        """
        return self.expr(node) if node is not None else _group([], parent)

    def _value(self, node: Node | None, parent: Node) -> Any:
        if node is not None and node.type in ("assignment", "augmented_assignment"):
            return self._generic(node)  # not Python; keep what is inside
        return self._target(node, parent)

    def _assignment(self, node: Node, statement: Node) -> ast.stmt:
        annotation = self.field(node, "type")
        if annotation is not None:
            target_node = self.field(node, "left")
            right = self.field(node, "right")
            target = self._target(target_node, node)
            return _at(ast.AnnAssign(
                target=target, annotation=self.expr(annotation),
                value=None if right is None else self._value(right, node),
                simple=int(target_node is not None and target_node.type == "identifier")),
                statement)
        targets = [self._target(self.field(node, "left"), node)]
        right = self.field(node, "right")
        while right is not None and right.type == "assignment" \
                and self.field(right, "type") is None:
            targets.append(self._target(self.field(right, "left"), right))
            right = self.field(right, "right")
        return _at(ast.Assign(targets=targets, value=self._value(right, node)),
                   statement)

    def _print(self, node: Node) -> ast.AST:
        self.note(node, "Python 2 print statement")
        return self._statement_call("print", node)

    def _exec(self, node: Node) -> ast.AST:
        self.note(node, "Python 2 exec statement")
        return self._statement_call("exec", node)

    def _statement_call(self, name: str, node: Node) -> ast.AST:
        args: list[ast.expr] = []
        keywords: list[ast.keyword] = []
        for kid in _kids(node):
            if kid.type == "chevron":
                target = _kids(kid)
                if target:
                    keywords.append(ast.keyword(arg="file", value=self.expr(target[0])))
            else:
                args.append(self.expr(kid))
        func = ast.Name(id=name, ctx=_LOAD)
        start = node.start_point
        func.lineno, func.col_offset = start.row + 1, start.column
        func.end_lineno, func.end_col_offset = start.row + 1, start.column + len(name)
        call = _at(ast.Call(func=func, args=args, keywords=keywords), node)
        return _at(ast.Expr(value=call), node)

    def _return(self, node: Node) -> ast.AST:
        kids = _kids(node)
        return _at(ast.Return(value=self.expr(kids[0]) if kids else None), node)

    def _delete(self, node: Node) -> ast.AST:
        targets: list[ast.expr] = []
        for kid in _kids(node):
            value = self.expr(kid)
            targets.extend(value.elts if isinstance(value, ast.Tuple) else [value])
        return _at(ast.Delete(targets=targets), node)

    def _raise(self, node: Node) -> ast.AST:
        cause = self.field(node, "cause")
        kids = [k for k in _kids(node) if cause is None or k.id != cause.id]
        if kids and kids[0].type == "expression_list":
            self.note(node, "Python 2 raise statement")
        return _at(ast.Raise(exc=self.expr(kids[0]) if kids else None,
                             cause=self.optional(cause)), node)

    def _assert(self, node: Node) -> ast.AST:
        kids = [self.expr(k) for k in _kids(node)]
        if not kids:
            return self._generic(node)
        return _at(ast.Assert(test=kids[0], msg=kids[1] if len(kids) > 1 else None), node)

    def _global(self, node: Node) -> ast.AST:
        names = [_name_text(self.text(k)) for k in _kids(node) if k.type == "identifier"]
        cls = ast.Global if node.type == "global_statement" else ast.Nonlocal
        return _at(cls(names=names), node)

    def _dotted(self, node: Node) -> str:
        if node.type == "dotted_name":
            return ".".join(_name_text(self.text(k)) for k in _kids(node))
        return _name_text(self.text(node))

    def _aliases(self, node: Node) -> list[ast.alias]:
        out: list[ast.alias] = []
        for kid in node.children_by_field_name("name"):
            if kid.type == "aliased_import":
                name = self.field(kid, "name")
                alias = self.field(kid, "alias")
                out.append(_at(ast.alias(
                    name=self._dotted(name) if name is not None else "",
                    asname=_name_text(self.text(alias)) if alias is not None else None), kid))
            else:
                out.append(_at(ast.alias(name=self._dotted(kid), asname=None), kid))
        return out

    def _import(self, node: Node) -> ast.AST:
        return _at(ast.Import(names=self._aliases(node)), node)

    def _import_from(self, node: Node) -> ast.AST:
        names = self._aliases(node)
        if any(k.type == "wildcard_import" for k in node.children):
            names = [ast.alias(name="*", asname=None)]
        if node.type == "future_import_statement":
            return _at(ast.ImportFrom(module="__future__", names=names, level=0), node)
        module_node = self.field(node, "module_name")
        module: str | None = None
        level = 0
        if module_node is not None:
            if module_node.type == "relative_import":
                for kid in module_node.named_children:
                    if kid.type == "import_prefix":
                        level = self.text(kid).count(".")
                    elif kid.type == "dotted_name":
                        module = self._dotted(kid)
            else:
                module = self._dotted(module_node)
        return _at(ast.ImportFrom(module=module, names=names, level=level), node)

    def _if(self, node: Node) -> ast.AST:
        # if / elif ... / else: the elif clauses nest in orelse, built from the end.
        clauses = [c for c in node.children_by_field_name("alternative")]
        orelse: list[ast.stmt] = []
        for clause in reversed(clauses):
            if clause.type == "else_clause":
                orelse = self.block(self.field(clause, "body"))
            else:
                test = self.field(clause, "condition")
                orelse = [_at(ast.If(
                    test=self.expr(test) if test is not None else self._generic(clause),
                    body=self.block(self.field(clause, "consequence")), orelse=orelse), clause)]
        test = self.field(node, "condition")
        return _at(ast.If(test=self.expr(test) if test is not None else self._generic(node),
                          body=self.block(self.field(node, "consequence")), orelse=orelse),
                   node)

    def _else(self, node: Node) -> list[ast.stmt]:
        clause = self.field(node, "alternative")
        if clause is None:
            clause = next((c for c in node.children if c.type == "else_clause"), None)
        return [] if clause is None else self.block(self.field(clause, "body"))

    def _for(self, node: Node) -> ast.AST:
        cls = ast.AsyncFor if node.children and node.children[0].type == "async" else ast.For
        return _at(cls(target=self._target(self.field(node, "left"), node),
                       iter=self._target(self.field(node, "right"), node),
                       body=self.block(self.field(node, "body")), orelse=self._else(node)), node)

    def _while(self, node: Node) -> ast.AST:
        return _at(ast.While(test=self._target(self.field(node, "condition"), node),
                             body=self.block(self.field(node, "body")),
                             orelse=self._else(node)), node)

    def _try(self, node: Node) -> ast.AST:
        handlers: list[ast.ExceptHandler] = []
        orelse: list[ast.stmt] = []
        final: list[ast.stmt] = []
        for kid in _kids(node):
            if kid.type in ("except_clause", "except_group_clause"):
                handlers.append(self._handler(kid))
            elif kid.type == "else_clause":
                orelse = self.block(self.field(kid, "body"))
            elif kid.type == "finally_clause":
                final = self.block(next((c for c in kid.children if c.type == "block"), None))
        return _at(ast.Try(body=self.block(self.field(node, "body")), handlers=handlers,
                           orelse=orelse, finalbody=final), node)

    def _handler(self, node: Node) -> ast.ExceptHandler:
        values = [k for k in _kids(node) if k.type != "block"]
        body = self.block(next((c for c in node.children if c.type == "block"), None))
        kind: ast.expr | None = None
        name: str | None = None
        if len(values) == 1 and values[0].type == "as_pattern":
            parts = _kids(values[0])
            kind = self.expr(parts[0]) if parts else None
            alias = self.field(values[0], "alias")
            alias_kids = _kids(alias) if alias is not None else []
            if alias_kids and alias_kids[0].type == "identifier":
                name = _name_text(self.text(alias_kids[0]))
        elif len(values) == 1:
            kind = self.expr(values[0])
        elif len(values) == 2 and values[1].type == "identifier" \
                and self.text(values[1])[:1].islower():
            # ``except A, e:``: Python 2 binds ``e``.  Python 3.14 (PEP 758) reads two
            # exception types there, but those are class names: ``except A, B:``.
            self.note(node, "Python 2 except clause 'except A, e:'")
            kind = self.expr(values[0])
            name = _name_text(self.text(values[1]))
        elif values:
            # ``except A, B:``: two types in Python 3.14 (PEP 758).
            kind = _spanning(ast.Tuple(elts=[self.expr(v) for v in values], ctx=_LOAD),
                             values[0], values[-1])
        return _at(ast.ExceptHandler(type=kind, name=name, body=body), node)

    def _with(self, node: Node) -> ast.AST:
        items: list[ast.withitem] = []
        clause = next((c for c in node.children if c.type == "with_clause"), None)
        for item in _kids(clause) if clause is not None else []:
            if item.type != "with_item":
                continue
            value = self.field(item, "value")
            if value is None:
                continue
            if value.type == "as_pattern":
                parts = _kids(value)
                alias = self.field(value, "alias")
                alias_kids = _kids(alias) if alias is not None else []
                items.append(ast.withitem(
                    context_expr=self.expr(parts[0]) if parts else self._generic(value),
                    optional_vars=self.expr(alias_kids[0]) if alias_kids else None))
            else:
                items.append(ast.withitem(context_expr=self.expr(value), optional_vars=None))
        cls = ast.AsyncWith if node.children and node.children[0].type == "async" else ast.With
        return _at(cls(items=items, body=self.block(self.field(node, "body"))), node)

    def _function(self, node: Node, decorators: list[ast.expr] | None = None) -> ast.AST:
        name = self.field(node, "name")
        parameters = self.field(node, "parameters")
        returns = self.field(node, "return_type")
        cls = ast.AsyncFunctionDef if node.children and node.children[0].type == "async" \
            else ast.FunctionDef
        return _at(cls(name=_name_text(self.text(name)) if name is not None else "",
                       args=self._arguments(parameters),
                       body=self.block(self.field(node, "body")),
                       decorator_list=decorators or [], returns=self.optional(returns)), node)

    def _class(self, node: Node, decorators: list[ast.expr] | None = None) -> ast.AST:
        name = self.field(node, "name")
        superclasses = self.field(node, "superclasses")
        bases, keywords = self._call_arguments(superclasses) if superclasses is not None \
            else ([], [])
        return _at(ast.ClassDef(name=_name_text(self.text(name)) if name is not None else "",
                                bases=bases, keywords=keywords,
                                body=self.block(self.field(node, "body")),
                                decorator_list=decorators or []), node)

    def _decorated(self, node: Node) -> ast.AST | None:
        decorators: list[ast.expr] = []
        for kid in _kids(node):
            if kid.type == "decorator":
                inner = _kids(kid)
                if inner:
                    decorators.append(self.expr(inner[0]))
        definition = self.field(node, "definition")
        if definition is None:
            return self._generic(node)
        if definition.type == "class_definition":
            return self._class(definition, decorators)
        return self._function(definition, decorators)

    def _match(self, node: Node) -> ast.AST:
        subjects = [self.expr(s) for s in node.children_by_field_name("subject")]
        subject: ast.expr = subjects[0] if len(subjects) == 1 else \
            _at(ast.Tuple(elts=subjects, ctx=_LOAD), node)
        cases: list[ast.match_case] = []
        body = self.field(node, "body")
        for case in body.children_by_field_name("alternative") if body is not None else []:
            patterns = [self._generic(p) for p in _kids(case) if p.type == "case_pattern"]
            guard = self.field(case, "guard")
            guard_kids = _kids(guard) if guard is not None else []
            # The patterns' literals are walked as CPython's MatchValue constants are.
            cases.append(ast.match_case(
                pattern=cast(Any, _group(list(patterns), case)),
                guard=self.expr(guard_kids[0]) if guard_kids else None,
                body=self.block(self.field(case, "consequence"))))
        return _at(ast.Match(subject=subject, cases=cases), node)

    # -- parameters and arguments ------------------------------------------------

    def _arg(self, name: Node, annotation: Node | None, at: Node) -> ast.arg:
        arg = ast.arg(arg=_name_text(self.text(name)), annotation=self.optional(annotation))
        _at(arg, at)
        return arg

    def _arguments(self, node: Node | None) -> ast.arguments:
        posonly: list[ast.arg] = []
        args: list[ast.arg] = []
        kwonly: list[ast.arg] = []
        defaults: list[ast.expr] = []
        kw_defaults: list[ast.expr | None] = []
        vararg: ast.arg | None = None
        kwarg: ast.arg | None = None
        keyword_only = False
        for kid in _kids(node) if node is not None else []:
            kind = kid.type
            if kind == "positional_separator":
                posonly.extend(args)
                args = []
                continue
            if kind == "keyword_separator":
                keyword_only = True
                continue
            default: ast.expr | None = None
            annotation: Node | None = None
            name: Node | None = kid
            if kind in ("default_parameter", "typed_default_parameter"):
                name = self.field(kid, "name")
                default = self.optional(self.field(kid, "value"))
                annotation = self.field(kid, "type")
            elif kind == "typed_parameter":
                annotation = self.field(kid, "type")
                name = next((k for k in _kids(kid) if k.id != (annotation.id if annotation
                                                                else -1)), None)
            splat = name.type if name is not None else ""
            if splat in ("list_splat_pattern", "dictionary_splat_pattern") and name is not None:
                inner = _kids(name)
                arg = self._arg(inner[0] if inner else name, annotation, kid)
                if splat == "list_splat_pattern":
                    vararg, keyword_only = arg, True
                else:
                    kwarg = arg
                continue
            if name is None or name.type != "identifier":
                if kind == "tuple_pattern":  # ``def f((a, b)):``
                    self.note(kid, "Python 2 tuple parameter")
                continue
            arg = self._arg(name, annotation, kid)
            if keyword_only:
                kwonly.append(arg)
                kw_defaults.append(default)
            else:
                args.append(arg)
                if default is not None:
                    defaults.append(default)
        return ast.arguments(posonlyargs=posonly, args=args, vararg=vararg, kwonlyargs=kwonly,
                             kw_defaults=kw_defaults, kwarg=kwarg, defaults=defaults)

    def _call_arguments(self, node: Node) -> tuple[list[ast.expr], list[ast.keyword]]:
        if node.type == "generator_expression":
            return [self.expr(node)], []
        args: list[ast.expr] = []
        keywords: list[ast.keyword] = []
        for kid in _kids(node):
            if kid.type == "keyword_argument":
                name = self.field(kid, "name")
                value = self.field(kid, "value")
                keyword = ast.keyword(arg=_name_text(self.text(name)) if name else None,
                                      value=self._target(value, kid))
                keywords.append(_at(keyword, kid))
            elif kid.type == "dictionary_splat":
                inner = _kids(kid)
                keywords.append(_at(ast.keyword(
                    arg=None, value=self.expr(inner[0]) if inner else self._generic(kid)), kid))
            else:
                args.append(self.expr(kid))
        return args, keywords

    # -- expressions -------------------------------------------------------------

    def _name(self, node: Node) -> ast.expr:
        return _at(ast.Name(id=_name_text(self.text(node)), ctx=_LOAD), node)

    def _number(self, node: Node) -> ast.expr:
        text = self.text(node)
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            self.note(node, f"Python 2 number {text}")
            value = 0
        return self._constant(value, node)

    def _call(self, node: Node) -> ast.expr:
        func = self.field(node, "function")
        arguments = self.field(node, "arguments")
        args, keywords = self._call_arguments(arguments) if arguments is not None else ([], [])
        return _at(ast.Call(func=self._target(func, node), args=args,
                            keywords=keywords), node)

    def _attribute(self, node: Node) -> ast.expr:
        value = self.field(node, "object")
        attr = self.field(node, "attribute")
        return _at(ast.Attribute(value=self._target(value, node),
                                 attr=_name_text(self.text(attr)) if attr is not None else "",
                                 ctx=_LOAD), node)

    def _binary(self, node: Node) -> Any:
        # The left spine of ``a + b + c + ...`` is walked, not recursed into:
        # a statement assembled from hundreds of pieces is one level deep.
        spine: list[Node] = []
        current: Node | None = node
        while current is not None and current.type == "binary_operator":
            spine.append(current)
            current = self.field(current, "left")
        left = self._target(current, node)
        for binary in reversed(spine):
            op = self.field(binary, "operator")
            operator = _BINARY.get(op.type if op is not None else "", ast.Add)
            right = self._target(self.field(binary, "right"), binary)
            left = _at(ast.BinOp(left=left, op=operator(), right=right), binary)
        return left

    def _boolean(self, node: Node) -> ast.expr:
        op_node = self.field(node, "operator")
        op = op_node.type if op_node is not None else "and"
        spine: list[Node] = []
        current: Node | None = node
        while current is not None and current.type == "boolean_operator":
            operator = self.field(current, "operator")
            if operator is None or operator.type != op:
                break
            spine.append(current)
            current = self.field(current, "left")
        values = [self._target(current, node)]
        values.extend(self._target(self.field(b, "right"), b) for b in reversed(spine))
        return _at(ast.BoolOp(op=ast.And() if op == "and" else ast.Or(),
                              values=values), node)

    def _compare(self, node: Node) -> ast.expr:
        operands: list[ast.expr] = []
        ops: list[ast.cmpop] = []
        for kid in node.children:
            if kid.type in _COMPARE:
                if kid.type == "<>":
                    self.note(kid, "Python 2 operator <>")
                ops.append(_COMPARE[kid.type]())
            elif kid.is_named and kid.type not in _SKIPPED:
                operands.append(self.expr(kid))
        if not operands or len(operands) != len(ops) + 1:
            return self._generic(node)
        return _at(ast.Compare(left=operands[0], ops=ops,
                               comparators=operands[1:]), node)

    def _unary(self, node: Node) -> ast.expr:
        op = self.field(node, "operator")
        operand = self._target(self.field(node, "argument"), node)
        operator = _UNARY.get(op.type if op is not None else "", ast.USub)
        return _at(ast.UnaryOp(op=operator(), operand=operand), node)

    def _not(self, node: Node) -> ast.expr:
        operand = self._target(self.field(node, "argument"), node)
        return _at(ast.UnaryOp(op=ast.Not(), operand=operand), node)

    def _conditional(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if len(kids) != 3:
            return self._generic(node)
        body, test, orelse = (self.expr(k) for k in kids)
        return _at(ast.IfExp(test=test, body=body, orelse=orelse), node)

    def _named(self, node: Node) -> ast.expr:
        return _at(ast.NamedExpr(
            target=self._target(self.field(node, "name"), node),
            value=self._target(self.field(node, "value"), node)), node)

    def _lambda(self, node: Node) -> ast.expr:
        return _at(ast.Lambda(args=self._arguments(self.field(node, "parameters")),
                              body=self._target(self.field(node, "body"), node)), node)

    def _await(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if not kids:
            return self._generic(node)
        return _at(ast.Await(value=self.expr(kids[0])), node)

    def _yield(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if any(c.type == "from" for c in node.children) and kids:
            return _at(ast.YieldFrom(value=self.expr(kids[0])), node)
        return _at(ast.Yield(value=self.expr(kids[0]) if kids else None), node)

    def _parenthesized(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if len(kids) != 1:
            return self._generic(node)
        return self.expr(kids[0])  # CPython's span leaves the parentheses out

    def _elements(self, node: Node) -> list[ast.expr]:
        return [self.expr(k) for k in _kids(node)]

    def _list(self, node: Node) -> ast.expr:
        return _at(ast.List(elts=self._elements(node), ctx=_LOAD), node)

    def _tuple(self, node: Node) -> ast.expr:
        return _at(ast.Tuple(elts=self._elements(node), ctx=_LOAD), node)

    def _set(self, node: Node) -> ast.expr:
        return _at(ast.Set(elts=self._elements(node)), node)

    def _starred(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if not kids:
            return self._generic(node)
        return _at(ast.Starred(value=self.expr(kids[0]), ctx=_LOAD), node)

    def _dict(self, node: Node) -> ast.expr:
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for kid in _kids(node):
            if kid.type == "pair":
                keys.append(self._target(self.field(kid, "key"), kid))
                values.append(self._target(self.field(kid, "value"), kid))
            elif kid.type == "dictionary_splat":
                inner = _kids(kid)
                keys.append(None)
                values.append(self.expr(inner[0]) if inner else self._generic(kid))
            else:
                values.append(self._generic(kid))
                keys.append(None)
        return _at(ast.Dict(keys=keys, values=values), node)

    def _subscript(self, node: Node) -> ast.expr:
        value = self._target(self.field(node, "value"), node)
        subscripts = node.children_by_field_name("subscript")
        parts = [self.expr(s) for s in subscripts]
        index: ast.expr
        if len(parts) == 1:
            index = parts[0]
        elif parts:
            index = _spanning(ast.Tuple(elts=parts, ctx=_LOAD), subscripts[0], subscripts[-1])
        else:
            index = _group([], node)
        return _at(ast.Subscript(value=value, slice=index, ctx=_LOAD), node)

    def _slice(self, node: Node) -> ast.expr:
        bounds: list[ast.expr | None] = [None, None, None]
        index = 0
        for kid in node.children:
            if kid.type == ":":
                index = min(index + 1, 2)
            elif kid.is_named and kid.type not in _SKIPPED:
                bounds[index] = self.expr(kid)
        return _at(ast.Slice(lower=bounds[0], upper=bounds[1], step=bounds[2]), node)

    def _type(self, node: Node) -> ast.expr:
        kids = _kids(node)
        return self.expr(kids[0]) if len(kids) == 1 else self._generic(node)

    def _generic_type(self, node: Node) -> ast.expr:
        """``list[int]`` where the grammar expects a type: CPython's Subscript."""
        kids = _kids(node)
        if len(kids) != 2 or kids[1].type != "type_parameter":
            return self._generic(node)
        types = _kids(kids[1])
        parts = [self.expr(k) for k in types]
        index: ast.expr = parts[0] if len(parts) == 1 else \
            _spanning(ast.Tuple(elts=parts, ctx=_LOAD), types[0], types[-1])
        return _at(ast.Subscript(value=self.expr(kids[0]), slice=index, ctx=_LOAD), node)

    def _union_type(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if len(kids) != 2:
            return self._generic(node)
        return _at(ast.BinOp(left=self.expr(kids[0]), op=ast.BitOr(),
                             right=self.expr(kids[1])), node)

    def _member_type(self, node: Node) -> ast.expr:
        kids = _kids(node)
        if len(kids) != 2:
            return self._generic(node)
        return _at(ast.Attribute(value=self.expr(kids[0]),
                                 attr=_name_text(self.text(kids[1])), ctx=_LOAD), node)

    def _comprehension(self, node: Node) -> ast.expr:
        body = self.field(node, "body")
        generators: list[ast.comprehension] = []
        for kid in _kids(node):
            if kid.type == "for_in_clause":
                rights = [self.expr(r) for r in kid.children_by_field_name("right")]
                iterable: ast.expr = rights[0] if len(rights) == 1 else \
                    _at(ast.Tuple(elts=rights, ctx=_LOAD), kid)
                generators.append(ast.comprehension(
                    target=self._target(self.field(kid, "left"), kid), iter=iterable, ifs=[],
                    is_async=int(bool(kid.children) and kid.children[0].type == "async")))
            elif kid.type == "if_clause" and generators:
                condition = _kids(kid)
                if condition:
                    generators[-1].ifs.append(self.expr(condition[0]))
        if node.type == "dictionary_comprehension":
            key = self.field(body, "key") if body is not None else None
            value = self.field(body, "value") if body is not None else None
            return _at(ast.DictComp(key=self._target(key, node),
                                    value=self._target(value, node), generators=generators),
                       node)
        element = self._target(body, node)
        cls = {"list_comprehension": ast.ListComp, "set_comprehension": ast.SetComp}.get(
            node.type, ast.GeneratorExp)
        return _at(cls(elt=element, generators=generators), node)

    # -- strings -----------------------------------------------------------------

    def _string(self, node: Node, fields: bool = True) -> ast.expr:
        """A literal and its implicit concatenation: a str/bytes ``Constant``, or a
        ``JoinedStr`` when a piece is an f-string or a t-string (3.11 has no
        ``TemplateStr``: the lexer tells the two apart by the prefix)."""
        pieces = [node] if node.type == "string" else \
            [k for k in node.named_children if k.type == "string"]
        prefixes: list[str] = []
        for piece in pieces:
            start = piece.children[0] if piece.children else None
            opening = self.text(start) if start is not None and start.type == "string_start" \
                else ""
            prefix = opening.rstrip("'\"").lower()
            if opening.startswith("`"):
                self.note(piece, "Python 2 backquotes")
                return self._generic(piece)
            if piece.has_error or not opening or len(opening) == len(prefix):
                return self._generic(node)  # unterminated: never lexed
            if "u" in prefix and "r" in prefix:
                self.note(piece, f"Python 2 string prefix {opening.rstrip(chr(39) + chr(34))}")
            prefixes.append(prefix)
        if any("b" in p for p in prefixes):
            if not all("b" in p for p in prefixes):
                return self._generic(node)
            return self._constant(b"".join(self._bytes(p) for p in pieces), node)
        if not any("f" in p or "t" in p for p in prefixes):
            return self._constant("".join(self._plain(p, x) for p, x in zip(pieces, prefixes)),
                                  node)
        values: list[ast.expr] = []
        run: list[str] = []
        for piece, prefix in zip(pieces, prefixes):
            if "f" not in prefix and "t" not in prefix:
                run.append(self._plain(piece, prefix))
                continue
            opening = self.text(piece.children[0])
            quote = opening[len(prefix):]
            for kid in piece.named_children:
                if kid.type == "string_content":
                    run.append(self._run(self.text(kid), prefix, quote))
                elif kid.type == "interpolation":
                    if any(c.type == "=" for c in kid.children):
                        # ``{x = }`` (3.8): the expression's text and the ``=`` lead the value.
                        equals = next(c for c in kid.children if c.type == "=")
                        run.append(self.source[kid.start_byte + 1:equals.end_byte].decode(
                            "utf-8", "replace"))
                    if run and "".join(run):
                        values.append(_at(ast.Constant(value="".join(run)), node))
                    run = []
                    values.append(self._field(kid, node, fields))
        if run and "".join(run):
            values.append(_at(ast.Constant(value="".join(run)), node))
        return _at(ast.JoinedStr(values=values), node)

    def _field(self, node: Node, string: Node, convert: bool) -> ast.expr:
        expression = self.field(node, "expression")
        conversion = self.field(node, "type_conversion")
        value = self.expr(expression) if convert and expression is not None else \
            _group([], node)
        return _at(ast.FormattedValue(
            value=value, format_spec=None,
            conversion=ord(self.text(conversion)[-1]) if conversion is not None else -1), string)

    def _plain(self, piece: Node, prefix: str) -> str:
        """The value of one str literal piece, as Python decodes it."""
        token = self.text(piece)
        body = token[len(prefix):]
        quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
        inner = body[len(quote):len(body) - len(quote)]
        if "\\" not in inner and "\r" not in inner:
            return inner
        if "u" in prefix and "r" in prefix:  # Python 2 ur"": raw in Python 3 terms
            token = "r" + body
        try:
            value = ast.literal_eval(token)
        except (SyntaxError, ValueError):
            return inner.replace("\r\n", "\n")
        return value if isinstance(value, str) else inner

    def _bytes(self, piece: Node) -> bytes:
        try:
            value = ast.literal_eval(self.text(piece))
        except (SyntaxError, ValueError):
            return b""
        return value if isinstance(value, bytes) else b""

    def _run(self, raw: str, prefix: str, quote: str) -> str:
        """A literal run between an f-string's fields (only its start and first
        characters steer the walker's cheap tests: a best effort is enough)."""
        text = raw.replace("\r\n", "\n")
        if "\\" in text and "r" not in prefix:
            try:
                decoded = ast.literal_eval(prefix.replace("f", "").replace("t", "")
                                           + quote + text + quote)
                if isinstance(decoded, str):
                    text = decoded
            except (SyntaxError, ValueError):
                pass
        return text.replace("{{", "{").replace("}}", "}")
