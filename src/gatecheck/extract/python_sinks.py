"""Finding SQL in a Python module's ``ast``: candidate sites, sinks, constants, scopes.

One iterative walk (`Walker`) collects every place a str literal can become
SQL (a *site*: a literal, a ``%`` or ``.format`` template, a ``+`` chain, a
``SEP.join([...])``), which of them reach a SQL sink (the DB-API execute
family, ``read_sql``, SQLAlchemy's ``text()``) directly or through a name,
which are UI text or pieces of a statement assembled at run time, and the
``str`` constants each scope binds (`Scope`), so that a name used in a
template resolves to its value with Python's scoping rules.  What the
literal's characters are is the lexer's business (`gatecheck.extract.python_templates`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from typing import Any, Final, TypeGuard, cast

__all__ = ["SQL_KEYWORDS", "SQL_START", "Scope", "Walker", "assembled", "clause_prefix",
           "flatten", "is_str", "may_start_sql", "start_key", "str_value"]

#: Statement keywords that make a string outside a sink a SQL candidate.
SQL_KEYWORDS: Final = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP",
    "REPLACE", "PRAGMA", "EXPLAIN", "VALUES", "UPSERT", "MERGE", "TRUNCATE",
    "VACUUM", "ATTACH", "DETACH", "REINDEX", "ANALYZE",
)
_KEYWORDS = "|".join(SQL_KEYWORDS)

# Whitespace, opening parentheses and SQL comments may precede the keyword.
# The loop is possessive so that a long run of filler cannot backtrack.
SQL_START: Final = re.compile(
    rf"(?:\s|\(|--[^\r\n]*+|/\*.*?\*/)*+(?:{_KEYWORDS})\b", re.IGNORECASE | re.DOTALL)
# A first literal piece made only of that filler: an f-string or concatenation
# may still reach a keyword after it (``"(" + "SELECT ..."``).
SQL_FILLER: Final = re.compile(
    r"(?:\s|\(|--[^\r\n]*+|/\*.*?\*/)*+(?:--[^\r\n]*|/\*.*)?", re.DOTALL)

# A piece of a statement that starts with a clause (``"LEFT JOIN t ON ..."``,
# ``"WHERE id IN (SELECT ... FROM t)"``), kept apart and assembled at run
# time: SQL by its clause keyword, read inside a statement made for it
# (`clause_prefix`).
CLAUSE_START: Final = re.compile(
    r"\s*+(?:(?P<from>FROM)|(?P<join>(?:(?:NATURAL\s+)?(?:LEFT|RIGHT|FULL|INNER|CROSS)"
    r"(?:\s+OUTER)?\s+)?JOIN)|(?P<where>WHERE|GROUP\s+BY|ORDER\s+BY|HAVING)"
    r"|(?P<andor>AND|OR)|(?P<union>UNION|INTERSECT|EXCEPT))\b", re.IGNORECASE)
#: The text put before a clause of each kind (``{}``: a neutral table name).
_CLAUSE_PREFIX: Final = {
    "from": "SELECT * ", "join": "SELECT * FROM {} ", "where": "SELECT * FROM {} ",
    "andor": "SELECT * FROM {} WHERE 1 ", "union": "SELECT 1 ",
}


def clause_prefix(sql: str) -> str | None:
    """The statement text a clause piece is read after (`CLAUSE_START`), or None."""
    match = CLAUSE_START.match(sql)
    return _CLAUSE_PREFIX[match.lastgroup] if match and match.lastgroup else None


# --- sinks --------------------------------------------------------------------
_SINK_CALLS: Final = frozenset(
    {"execute", "executemany", "executescript", "read_sql", "read_sql_query", "mogrify"})
# "_execute", "safe_execute": wrappers keep the DB-API name as a suffix.
_SINK_SUFFIXES: Final = tuple("_" + name for name in _SINK_CALLS)
# ``text`` only by its exact name: a suffix match would take in ``gettext``
# and ``context`` calls, whose UI strings must not be held to SQL syntax.
_EXACT_SINK_CALLS: Final = _SINK_CALLS | {"text"}
# ... and as a method only of what names SQLAlchemy (``sa.text``,
# ``sqlalchemy.text``, ``sql.text``, Flask-SQLAlchemy's ``db.text``):
# ``Response.text("Method not allowed")`` is a web response, not SQL.
_TEXT_OWNERS: Final = frozenset({"sqlalchemy", "sa", "sql", "expression", "db"})
# gettext and friends: what they are given is text for people.
_TRANSLATION_CALLS: Final = frozenset({
    "_", "N_", "gettext", "ngettext", "pgettext", "npgettext", "dgettext", "ugettext",
    "gettext_lazy", "ngettext_lazy", "pgettext_lazy", "gettext_noop", "lazy_gettext", "tr"})
_SQL_KEYWORD_ARGS: Final = frozenset({"sql", "statement", "query"})
#: str methods that fill ``{field}`` templates.
FORMAT_CALLS: Final = frozenset({"format", "format_map"})
#: Calls that take pieces of a statement built at run time.
_PIECE_CALLS: Final = frozenset({"append", "extend", "insert", "join"})

Key = tuple[int, int]   # (lineno, byte column): orders positions within a file


def may_start_sql(first: ast.expr, whole: bool, *, clauses: bool = True) -> bool:
    """Cheap test on decoded ``ast`` values before a non-sink literal is lexed.

    The SQL text differs from the Python value only by placeholders, which
    never form a keyword, so the value's start decides.  ``whole``: the
    literal is all of the fragment, so filler alone cannot lead to a keyword.
    ``clauses``: a clause kept apart (`CLAUSE_START`) counts too.
    """
    if isinstance(first, FORMATTED):
        head = first.values[0] if first.values else None
        if not isinstance(head, ast.Constant):
            return True  # starts with a field, which may resolve to a constant
        first, whole = head, False
    value = str_value(first)
    return bool(SQL_START.match(value) or (clauses and CLAUSE_START.match(value))
                or (not whole and SQL_FILLER.fullmatch(value)))


def str_value(node: ast.expr) -> str:
    """The value of a node known to be a str constant."""
    value = node.value if isinstance(node, ast.Constant) else None
    if not isinstance(value, str):
        raise TypeError(f"not a str constant: {ast.dump(node)}")
    return value



# ------------------------------------------------------------------------------
# Scopes: which str constant a bare name refers to
# ------------------------------------------------------------------------------

_MODULE, _FUNCTION, _CLASS, _COMPREHENSION = range(4)


class Scope:
    """The names a module, class, function or comprehension binds, by position.

    A binding's value is the ``str`` constant of a simple assignment, or None
    for anything else (a call, a parameter, a loop variable): a None binding
    shadows outer constants, so a parameter named like a constant is not
    replaced by the constant's text.
    """

    __slots__ = ("parent", "kind", "bindings", "free")

    def __init__(self, parent: Scope | None, kind: int) -> None:
        self.parent = parent
        self.kind = kind
        self.bindings: dict[str, list[tuple[Key, ast.expr | None]]] = {}
        self.free: dict[str, bool] = {}  # global (True) / nonlocal (False) declarations

    def bind(self, name: str, key: Key, value: ast.expr | None = None) -> None:
        self.bindings.setdefault(name, []).append((key, value))

    def constant(self, name: str, at: Key) -> ast.Constant | None:
        """The ``str`` constant ``name`` holds at ``at``, if it holds one (`lookup`)."""
        value = self.lookup(name, at)
        return value if isinstance(value, ast.Constant) else None

    def lookup(self, name: str, at: Key) -> ast.expr | None:
        """The value ``name`` holds at position ``at`` of this scope, if known: a
        ``str`` constant, or an expression that assembles str pieces (`assembled`).

        While the code around the use runs (its own scope, and the scopes a
        comprehension or class body sits in), the nearest binding before the
        use wins; a function that binds the name only later has an unbound
        local, not the global.  A function body runs later, once its
        enclosing scopes have run: there the nearest binding before the use
        wins, else the first one after it.  Class scopes are invisible from
        the functions inside them.
        """
        scope: Scope | None = self
        first = True      # the scope of the use itself
        running = True    # the scope is running at the time of the use
        while scope is not None:
            declared = scope.free.get(name)
            if declared is not None:
                scope = scope.root() if declared else scope.parent
                first = running = False
                continue
            if scope.kind == _CLASS and not first:
                scope = scope.parent
                continue
            bindings = scope.bindings.get(name)
            if bindings:
                before = [b for b in bindings if b[0] <= at]
                if before:
                    return max(before, key=lambda b: b[0])[1]
                if not running:
                    return min(bindings, key=lambda b: b[0])[1]
                if scope.kind in (_FUNCTION, _COMPREHENSION):
                    return None
            if scope.kind == _MODULE:
                return None
            running = running and scope.kind in (_CLASS, _COMPREHENSION)
            first = False
            scope = scope.parent
        return None

    def root(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


# ------------------------------------------------------------------------------
# The ast walk: candidate sites, sinks, bindings
# ------------------------------------------------------------------------------

SITE_STRING, SITE_PERCENT, SITE_FORMAT, SITE_CHAIN, SITE_JOIN = range(5)
# (kind, root, operands, scope).  The root is what sinks and assignments see:
# the literal, the BinOp or the .format Call.  The operands are the template
# literal alone, the operands of a ``+`` chain (the first is a literal), or the
# elements of ``SEP.join([...])`` followed by the separator literal.
Site = tuple[int, ast.expr, list[ast.expr], Scope]

# Fields that never hold a string literal, skipped by the generic descent.
_SKIPPED_FIELDS: Final = frozenset({"ctx", "op", "type_comment", "type_ignores", "kind"})
_COMPREHENSIONS: Final = frozenset({ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp})
_BINDING_NODES: Final = frozenset({
    ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.withitem,
    ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.Global, ast.Nonlocal})
_Pending = list[tuple[list[ast.AST], "Scope"]]


#: f-strings, and on Python >= 3.14 t-strings (``ast.TemplateStr``, the same
#: ``values`` of constants and fields; the lexer tells them apart by the prefix).
#: The tolerant parser reads t-strings as ``JoinedStr`` on any version.
FORMATTED: Final[tuple[type[ast.JoinedStr], ...]] = (ast.JoinedStr,) + (
    (cast("type[ast.JoinedStr]", getattr(ast, "TemplateStr")),)
    if hasattr(ast, "TemplateStr") else ())


# Exact node types for the walk's dispatch (`Walker._walk_scope`).
_Name, _Constant, _Attribute, _Call = ast.Name, ast.Constant, ast.Attribute, ast.Call
_Assign, _Expr, _BinOp, _List, _Tuple, _Dict = (
    ast.Assign, ast.Expr, ast.BinOp, ast.List, ast.Tuple, ast.Dict)
_ClassDef = ast.ClassDef
_FORMATTED_TYPES: Final = frozenset(FORMATTED)
#: What `assembled` can be true of: names, literals, ``+`` chains, ``a if c else b``.
_ASSEMBLY_TYPES: Final = frozenset({ast.Name, ast.Attribute, ast.Constant, ast.BinOp, ast.IfExp,
                                    *FORMATTED})
_FUNCTIONS: Final = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda})


def is_str(node: object) -> TypeGuard[ast.Constant | ast.JoinedStr]:
    """A str literal (possibly an f- or t-string); bytes literals are not SQL text."""
    if isinstance(node, ast.Constant):
        return type(node.value) is str
    return isinstance(node, FORMATTED)


def _target_names(target: ast.expr) -> Iterable[str]:
    stack = [target]
    while stack:
        node = stack.pop()
        if type(node) is ast.Name:
            yield node.id
        elif isinstance(node, (ast.Tuple, ast.List)):
            stack.extend(node.elts)
        elif type(node) is ast.Starred:
            stack.append(node.value)


_Located = ast.expr | ast.stmt | ast.excepthandler


def start_key(node: _Located) -> Key:
    return (node.lineno, node.col_offset)


def end_key(node: _Located) -> Key:
    if node.end_lineno is None or node.end_col_offset is None:
        return start_key(node)
    return (node.end_lineno, node.end_col_offset)


class Walker:
    """One iterative pass over the tree (deep nesting must not hit the recursion limit)."""

    __slots__ = ("sites", "sink_ids", "prose_ids", "piece_ids", "joined_ids", "sink_names",
                 "name_sinks", "receivers",
                 "assigned",
                 "template_names", "attributes", "_fields")

    def __init__(self) -> None:
        self.sites: list[Site] = []
        #: ids of the nodes passed as the SQL argument of a sink call.
        self.sink_ids: set[int] = set()
        #: Arguments of translation calls (``_("Delete from gPodder")``): UI text,
        #: never SQL, even when the engine's grammar would accept it.
        self.prose_ids: set[int] = set()
        #: Strings that are pieces of a statement built at run time (`Fragment.piece`).
        self.piece_ids: set[int] = set()
        #: Elements of a ``SEP.join([...])`` that is a site of its own.
        self.joined_ids: set[int] = set()
        #: names (and attribute names) passed as the SQL argument of a sink call.
        self.sink_names: set[str] = set()
        #: Names passed to a sink, with their scope: what such a name assembles
        #: with ``+=`` (no expression of the source holds it whole) is read there.
        self.name_sinks: list[tuple[ast.Name, Scope]] = []
        #: The connection or cursor each sink argument (by id) and each sink
        #: name is executed on (`receiver_name`), for routing to a database.
        self.receivers: dict[int | str, str] = {}
        #: id of an assigned value -> the names it is assigned to.
        self.assigned: dict[int, list[str]] = {}
        #: names (and attribute names) used as a template elsewhere,
        #: ``NAME.format(...)`` or ``NAME % args``: their literal is one too.
        self.template_names: dict[str, int] = {}
        #: attribute name -> the str constant every class body and every
        #: ``obj.NAME = ...`` of the module assigns it (``self.TABLE`` reads
        #: ``TABLE = 'episode'``); None when assigned anything else too.
        self.attributes: dict[str, ast.Constant | None] = {}
        self._fields: dict[type, tuple[str, ...]] = {}

    def walk(self, tree: ast.Module) -> None:
        # Each scope's nodes are walked with a plain stack; nested scopes wait
        # in ``pending`` with the scope their names resolve in.
        pending: list[tuple[list[ast.AST], Scope]] = [(list(tree.body), Scope(None, _MODULE))]
        while pending:
            stack, scope = pending.pop()
            self._walk_scope(stack, scope, pending)

    def _walk_scope(self, stack: list[ast.AST], scope: Scope, pending: _Pending) -> None:
        # This loop visits every node of every Python file that passes the
        # prefilter: exact type tests (ast nodes are not subclassed), the most
        # frequent types first, and the common expressions descended by hand.
        sites = self.sites
        append, extend, pop = stack.append, stack.extend, stack.pop
        while stack:
            node: Any = pop()  # an ast.AST: tested by exact type below
            t = type(node)
            if t is _Name:
                continue
            if t is _Constant:
                if type(node.value) is str:
                    sites.append((SITE_STRING, node, [node], scope))
            elif t is _Attribute:
                value = node.value
                if type(value) is not _Name:  # ``obj.attr``: nothing to visit
                    append(value)
            elif t is _Call:
                self._call(node, scope, stack)
            elif t is _Assign:
                self._assign(node, node.targets, node.value, scope)
                extend(node.targets)
                append(node.value)
            elif t is _Expr:
                # A docstring or a bare string statement is never SQL.
                value = node.value
                if not is_str(value):
                    append(value)
            elif t in _FORMATTED_TYPES:
                # Not descended: 3.11 positions inside f-strings are unreliable.
                sites.append((SITE_STRING, node, [node], scope))
            elif t is _BinOp:
                self._binop(node, scope, stack)
            elif t is _List or t is _Tuple:
                elts = node.elts
                if len(elts) > 1:
                    self._parts_list(elts)
                extend(elts)
            elif t is _Dict:
                extend(node.values)
                extend(k for k in node.keys if k is not None and not is_str(k))
            elif t in _FUNCTIONS:
                self._function(node, scope, stack, pending)
            elif t is _ClassDef:
                scope.bind(node.name, start_key(node))
                extend(node.decorator_list)
                extend(node.bases)
                extend(node.keywords)
                pending.append((list(node.body), Scope(scope, _CLASS)))
            elif t in _COMPREHENSIONS:
                inner = Scope(scope, _COMPREHENSION)
                for generator in node.generators:
                    for name in _target_names(generator.target):
                        inner.bind(name, start_key(node))
                pending.append((list(ast.iter_child_nodes(node)), inner))
            else:
                if t in _BINDING_NODES:
                    self._bindings(node, scope)
                fields = self._fields.get(t)
                if fields is None:
                    fields = self._fields[t] = tuple(
                        f for f in getattr(t, "_fields", ()) if f not in _SKIPPED_FIELDS)
                for f in fields:
                    value = getattr(node, f, None)
                    if type(value) is list:
                        extend(value)  # may hold None or str: no fields, skipped
                    elif isinstance(value, ast.AST):
                        append(value)

    def _call(self, node: ast.Call, scope: Scope, stack: list[ast.AST]) -> None:
        func = node.func
        name = (func.attr if isinstance(func, ast.Attribute)
                else func.id if isinstance(func, ast.Name) else None)
        if name is not None and (name in _EXACT_SINK_CALLS or name.endswith(_SINK_SUFFIXES)) \
                and (name != "text" or _sqlalchemy_text(func)):
            self._sink_argument(node, scope)
        elif name in _TRANSLATION_CALLS:
            self.prose_ids.update(id(arg) for arg in node.args)
        if name == "join" and isinstance(func, ast.Attribute) and is_str(func.value) \
                and isinstance(func.value, ast.Constant) and len(node.args) == 1 \
                and isinstance(node.args[0], (ast.List, ast.Tuple)) \
                and any(is_str(e) for e in node.args[0].elts):
            # ' '.join(["SELECT ...", "FROM t", ...]): one statement, read whole.
            elements = node.args[0].elts
            self.sites.append((SITE_JOIN, node, [*elements, func.value], scope))
            self.joined_ids.update(id(e) for e in elements)
        elif name in _PIECE_CALLS and isinstance(func, ast.Attribute):
            # parts.append("..."), parts.extend([...]), "\n".join([...])
            for arg in node.args:
                self._pieces(arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg])
        template = func.value if isinstance(func, ast.Attribute) and name in FORMAT_CALLS else None
        if isinstance(template, ast.Constant) and type(template.value) is str:
            self.sites.append((SITE_FORMAT, node, [template], scope))
        else:
            self._template_name(template, SITE_FORMAT)
            stack.append(func)
        stack.extend(node.args)
        stack.extend(kw.value for kw in node.keywords)

    def _pieces(self, nodes: Sequence[ast.expr]) -> None:
        self.piece_ids.update(id(n) for n in nodes if is_str(n))

    def _parts_list(self, elements: list[ast.expr]) -> None:
        """A list that mixes statement-like strings with bits that are no statement
        (``"),"``, ``"name AS ("``) holds one statement in parts."""
        strings = [e for e in elements if is_str(e)]
        if len(strings) > 1 and \
                any(not may_start_sql(e, whole=True, clauses=False) for e in strings) \
                and any(may_start_sql(e, whole=True, clauses=False) for e in strings):
            self._pieces(strings)

    def _template_name(self, node: ast.expr | None, kind: int) -> None:
        if isinstance(node, ast.Name):
            self.template_names[node.id] = kind
        elif isinstance(node, ast.Attribute):  # self.SQL_COUNT.format(...)
            self.template_names[node.attr] = kind

    def _sink_argument(self, call: ast.Call, scope: Scope) -> None:
        arg: ast.expr | None = None
        if call.args and not isinstance(call.args[0], ast.Starred):
            arg = call.args[0]
        else:
            arg = next((kw.value for kw in call.keywords if kw.arg in _SQL_KEYWORD_ARGS), None)
        if arg is None:
            return
        self.sink_ids.add(id(arg))
        if isinstance(arg, ast.Name):
            self.name_sinks.append((arg, scope))
        receiver = receiver_name(call.func)
        if receiver is not None:
            self.receivers.setdefault(id(arg), receiver)
        # A named template: ``execute(SQL % args)``, ``execute(SQL.format(...))``.
        if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod):
            arg = arg.left
        elif (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                and arg.func.attr in FORMAT_CALLS):
            arg = arg.func.value
        name = arg.id if isinstance(arg, ast.Name) else \
            arg.attr if isinstance(arg, ast.Attribute) else None  # self.SQL_GET: a class constant
        if name is not None:
            self.sink_names.add(name)
            if receiver is not None:
                self.receivers.setdefault(name, receiver)

    def _binop(self, node: ast.BinOp, scope: Scope, stack: list[ast.AST]) -> None:
        if isinstance(node.op, ast.Mod) and is_str(node.left):
            self.sites.append((SITE_PERCENT, node, [node.left], scope))
            stack.append(node.right)
            return
        if isinstance(node.op, ast.Mod):
            self._template_name(node.left, SITE_PERCENT)
        if not isinstance(node.op, ast.Add):
            stack.append(node.left)
            stack.append(node.right)
            return
        # Flatten the left spine of ``a + b + c``: every BinOp of the spine is
        # consumed here, so a long chain is walked once, not once per level.
        operands: list[ast.expr] = [node.right]
        left = node.left
        while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
            operands.append(left.right)
            left = left.left
        operands.append(left)
        operands.reverse()
        if is_str(operands[0]) or all(map(_piece_operand, operands)):
            # A chain of names (``base + join + where``) is read too: what the
            # names hold decides whether it is SQL.
            self.sites.append((SITE_CHAIN, node, operands, scope))
            stack.extend(op for op in operands if not is_str(op))
        else:
            stack.extend(operands)

    def _assign(self, node: ast.stmt, targets: list[ast.expr], value: ast.expr | None,
                scope: Scope) -> None:
        # Runs for every assignment of every file: exact type tests, and
        # `assembled` only for what can assemble str pieces.
        t = type(value)
        constant = cast(ast.Constant, value) \
            if t is _Constant and type(cast(ast.Constant, value).value) is str else None
        # ``query = base + join + where``: pieces the name assembles, read where it is used.
        stored: ast.expr | None = constant
        if constant is None and t in _ASSEMBLY_TYPES and assembled(cast(ast.expr, value)):
            stored = value
        key = end_key(node)  # the name is bound once the statement has run
        assigned: list[str] = []
        bindings = scope.bindings
        for target in targets:
            target_type = type(target)
            if target_type is _Name:
                name = cast(ast.Name, target).id
                bindings.setdefault(name, []).append((key, stored))
                assigned.append(name)
                if scope.kind == _CLASS:
                    self._attribute(name, constant)
            elif target_type is _Attribute:
                attr = cast(ast.Attribute, target).attr
                assigned.append(attr)
                self._attribute(attr, constant)
            else:
                for name in _target_names(target):
                    scope.bind(name, key)
        if assigned and value is not None:
            self.assigned[id(value)] = assigned

    def _attribute(self, name: str, constant: ast.Constant | None) -> None:
        if name not in self.attributes:
            self.attributes[name] = constant
            return
        known = self.attributes[name]
        if known is not None and (constant is None or constant.value != known.value):
            self.attributes[name] = None

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda,
                  scope: Scope, stack: list[ast.AST], pending: _Pending) -> None:
        # Defaults, annotations and decorators run in the enclosing scope.
        key = start_key(node)
        args = node.args
        inner = Scope(scope, _FUNCTION)
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg:
            params.append(args.vararg)
        if args.kwarg:
            params.append(args.kwarg)
        for param in params:
            inner.bind(param.arg, key)
            if param.annotation is not None:
                stack.append(param.annotation)
        stack.extend(args.defaults)
        stack.extend(d for d in args.kw_defaults if d is not None)
        if isinstance(node, ast.Lambda):
            pending.append(([node.body], inner))
            return
        scope.bind(node.name, key)
        stack.extend(node.decorator_list)
        if node.returns is not None:
            stack.append(node.returns)
        pending.append((list(node.body), inner))

    def _bindings(self, node: ast.AST, scope: Scope) -> None:
        """Names bound by the less common statements (none of them to a constant)."""
        if isinstance(node, ast.AnnAssign):
            self._assign(node, [node.target], node.value, scope)
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) \
                and isinstance(node.target, ast.Name) and _piece_operand(node.value):
            # ``sql += " WHERE ..."``: the name now holds its old value and the piece.
            before = ast.copy_location(ast.Name(node.target.id, ast.Load()), node.target)
            grown = ast.copy_location(ast.BinOp(before, ast.Add(), node.value), node)
            scope.bind(node.target.id, end_key(node), grown)
            self._pieces([node.value])
        elif isinstance(node, (ast.AugAssign, ast.NamedExpr)):
            for name in _target_names(node.target):
                scope.bind(name, end_key(node))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            for name in _target_names(node.target):
                scope.bind(name, start_key(node))
        elif isinstance(node, ast.withitem):
            if node.optional_vars is not None:
                for name in _target_names(node.optional_vars):
                    scope.bind(name, start_key(node.context_expr))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                scope.bind((alias.asname or alias.name).partition(".")[0], end_key(node))
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                scope.bind(node.name, start_key(node))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                scope.free[name] = isinstance(node, ast.Global)


# ------------------------------------------------------------------------------
# The lexer: literal source -> SQL text + origin map

def _piece_operand(node: ast.expr, depth: int = 0) -> bool:
    """What a statement assembled with ``+`` can be made of: literals, names,
    class constants (``self.TABLE``), and ``a if c else b`` of those."""
    if isinstance(node, (ast.Name, ast.Attribute)) or is_str(node):
        return True
    if depth > 8:
        return False
    if isinstance(node, ast.IfExp):
        return _piece_operand(node.body, depth + 1) and _piece_operand(node.orelse, depth + 1)
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and \
        assembled(node, depth + 1)


def assembled(node: ast.expr, depth: int = 0) -> bool:
    """Whether ``node`` is a ``+`` chain of `_piece_operand`s (``base + join + where``)."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        if not _piece_operand(node.right, depth):
            return False
        node = node.left
    return not isinstance(node, ast.BinOp) and _piece_operand(node, depth)


def flatten(node: ast.expr) -> list[ast.expr]:
    """The operands of a ``+`` chain, left to right."""
    operands = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        operands.append(node.right)
        node = node.left
    operands.append(node)
    operands.reverse()
    return operands


def receiver_name(func: ast.expr) -> str | None:
    """The connection or cursor a sink method is called on: the last name before
    the method (``old_db.execute`` -> ``old_db``, ``self.db.execute`` -> ``db``,
    ``conn.cursor().execute`` -> ``conn``); None for a plain function call."""
    if not isinstance(func, ast.Attribute):
        return None
    value = func.value
    while isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        value = value.func.value
    if isinstance(value, ast.Attribute):
        return value.attr
    return value.id if isinstance(value, ast.Name) else None


def _sqlalchemy_text(func: ast.expr) -> bool:
    """Whether a call of ``text`` is SQLAlchemy's: a bare ``text(...)`` (imported
    from it) or one reached from a SQLAlchemy name (``sa.text``,
    ``sqlalchemy.sql.expression.text``), never ``Response.text(...)``."""
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    return func is root or (isinstance(root, ast.Name)
                            and root.id.casefold() in _TEXT_OWNERS)
