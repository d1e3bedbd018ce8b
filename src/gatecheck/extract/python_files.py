"""Find SQL in Python source files, with the exact file position of every character.

Python hands SQL to a database as string literals in many shapes: plain,
triple-quoted, implicitly concatenated across lines, raw, f-strings, ``%``
and ``.format`` templates, ``+`` concatenations, module constants passed to
``execute``.  `extract_python` turns each such literal into one `Fragment`
whose ``origin`` maps every SQL character back to the file character that
produced it, so a table name is reported on its own line and column, not on
the line where the string starts.

Why the source is lexed by hand instead of trusting the ``ast``:

* ``ast.Constant`` holds the *decoded* value of a whole implicit
  concatenation; the per-piece positions, escapes and line breaks in between
  are gone.
* Python 3.11 gives f-string children (``JoinedStr.values``) positions that
  are unreliable, so only the ``JoinedStr`` node's own span is used.
* ``col_offset`` counts UTF-8 bytes; gatecheck counts characters.

So the ``ast`` finds *where* the candidate literals are and what context they
sit in (a sink call, a docstring, a dict key), and a small lexer walks the
literal's source text to build the SQL and its origin map.

Placeholders: a replacement field (``{expr}``, ``%s``, ``%(name)s``, ``{}``)
becomes the neutral identifier ``__gcN__`` so the rest of the statement still
parses; its characters all map to the field's first source character (``{``
or ``%``) and its range is listed in ``Fragment.placeholders``.  A field that
is a bare name bound to an identifier-like ``str`` constant is replaced by
that constant's text instead, mapped to the constant's own characters.

This module stays stdlib-only and never imports sqlglot: it runs on every
Python file of a repository.  Deciding whether a candidate really is SQL is
the SQL parser's job; here a non-sink string only needs to *start* like a
statement.
"""

from __future__ import annotations

import ast
import gc
import keyword
import re
import unicodedata
import warnings
from array import array
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Final, TypeGuard

from gatecheck.errors import SourceError
from gatecheck.extract import Fragment, neutral_name
from gatecheck.positions import LineIndex, Span

__all__ = ["SQL_KEYWORDS", "extract_python", "might_contain_sql"]

#: Statement keywords that make a string outside a sink a SQL candidate.
SQL_KEYWORDS: Final = (
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "CREATE", "ALTER", "DROP",
    "REPLACE", "PRAGMA", "EXPLAIN", "VALUES", "UPSERT", "MERGE", "TRUNCATE",
    "VACUUM", "ATTACH", "DETACH", "REINDEX", "ANALYZE",
)
_KEYWORDS = "|".join(SQL_KEYWORDS)

# Whitespace, opening parentheses and SQL comments may precede the keyword.
# The loop is possessive so that a long run of filler cannot backtrack.
_SQL_START: Final = re.compile(
    rf"(?:\s|\(|--[^\r\n]*+|/\*.*?\*/)*+(?:{_KEYWORDS})\b", re.IGNORECASE | re.DOTALL)
# A first literal piece made only of that filler: an f-string or concatenation
# may still reach a keyword after it (``"(" + "SELECT ..."``).
_SQL_FILLER: Final = re.compile(
    r"(?:\s|\(|--[^\r\n]*+|/\*.*?\*/)*+(?:--[^\r\n]*|/\*.*)?", re.DOTALL)

# --- prefilter ----------------------------------------------------------------
# A quote, then what can precede a keyword in the *source* of a literal
# (whitespace, "(", line breaks spelled as escapes or continuations), then a
# keyword.  A SQL comment or an escape that may encode a letter right after
# the quote is accepted without looking further: rare, and never a miss.
# One pattern per quote character: a literal first character lets the regex
# engine skip ahead with a fast scan (twice the speed of a ["'] class).
_AFTER_QUOTE = rf"(?:[\s(]|\\[ntrfv\r\n])*+(?:--|/\*|\\[xuUN0-7]|(?i:{_KEYWORDS})\b)"
_QUOTED_SQL_STARTS: Final = (re.compile('"' + _AFTER_QUOTE), re.compile("'" + _AFTER_QUOTE))
# executemany/executescript and read_sql_query contain these words.
_SINK_WORDS: Final = ("execute", "read_sql", "mogrify")
# ``text(`` and ``text (``; it also matches ``context(``, which only costs time.
_TEXT_CALL: Final = re.compile(r"text[\s\\]*\(")

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
_FORMAT_CALLS: Final = frozenset({"format", "format_map"})
#: Calls that take pieces of a statement built at run time.
_PIECE_CALLS: Final = frozenset({"append", "extend", "insert", "join"})

# --- lexer tables -------------------------------------------------------------
_PREFIX_CHARS: Final = frozenset("rRbBuUfF")
_QUOTES: Final = "'\""
_BETWEEN_PIECES: Final = re.compile(r"(?:[ \t\f\r\n]|\\(?:\r\n|\r|\n)|#[^\r\n]*)*")
_SPECIAL: Final = re.compile(r"[\\{}%'\"]")
_LINE_BREAK: Final = re.compile(r"[\r\n]")
_SIMPLE_ESCAPES: Final = {
    "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b", "f": "\f",
    "n": "\n", "r": "\r", "t": "\t", "v": "\v",
}
_HEX_ESCAPE_LENGTH: Final = {"x": 2, "u": 4, "U": 8}
_OCTAL_ESCAPE: Final = re.compile(r"[0-7]{1,3}")
_HEX_DIGITS: Final = re.compile(r"[0-9A-Fa-f]+")
# printf-style conversion, as the ``%`` operator reads it.
_PERCENT_CONVERSION: Final = re.compile(
    r"%(?:\([^()\r\n'\"]*\))?[#0 +\-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa]")
# DB-API "format"/"pyformat" paramstyle markers, left in the string for the driver.
_DBAPI_MARKER: Final = re.compile(r"%(?:\([^()\r\n'\"]*\))?s")
#: ``IN`` right before a parameter: psycopg2 writes a tuple there as ``(a, b)``.
_BEFORE_A_LIST: Final = re.compile(r"\bIN\s*$", re.IGNORECASE)
_IDENTIFIER_VALUE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")

# How a literal's ``%`` and braces are read.
_PERCENT_KEEP: Final = 0      # verbatim (a substituted constant)
_PERCENT_DBAPI: Final = 1     # %s and %(name)s are driver parameters, %% stays
_PERCENT_APPLIED: Final = 2   # the % operator is applied: every conversion, %% -> %
_BRACES_KEEP: Final = 0
_BRACES_FORMAT: Final = 1     # str.format template
_BRACES_FSTRING: Final = 2    # f-string piece

_StrNode = ast.Constant | ast.JoinedStr
_Key = tuple[int, int]   # (lineno, byte column): orders positions within a file
_Resolver = Callable[[str], "ast.Constant | None"]


class _LexError(Exception):
    """The literal's source does not look as expected; the literal is skipped."""


# ------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------

def might_contain_sql(text: str) -> bool:
    """False only if `extract_python` cannot find a fragment in ``text``.

    A cheap prefilter run before ``ast.parse``: plain substring searches and
    one regular expression.  It is conservative: a file passes when it names a
    sink call, or when a quote is followed by a statement keyword (possibly
    after whitespace, ``(`` or escaped line breaks), a SQL comment or an
    escape that could spell a letter.  Substituted constants are covered too:
    their own literal is in the file.
    """
    for word in _SINK_WORDS:
        if word in text:
            return True
    if _TEXT_CALL.search(text):
        return True
    return any(pattern.search(text) for pattern in _QUOTED_SQL_STARTS)


def extract_python(path: str, text: str) -> list[Fragment]:
    """SQL fragments of the Python source ``text`` (decoded), sorted by file offset.

    Raises `SourceError` (with the 1-based line and column when known) when
    ``text`` is not valid Python.
    """
    bom = 1 if text.startswith("\ufeff") else 0
    tree = _parse(path, text, bom)
    walker = _Walker()
    walker.walk(tree)
    if not walker.sites:
        return []
    columns = _Columns(text, bom)
    fragments: list[Fragment] = []
    for kind, root, operands, scope in walker.sites:
        if id(root) in walker.joined_ids:
            continue  # an element of a SEP.join([...]) site, read with it
        sink = id(root) in walker.sink_ids
        names = walker.assigned.get(id(root))
        if kind == _SITE_STRING and names:
            # A constant formatted where it is used (``COUNT.format(col=c)``)
            # is a template here too: its fields are placeholders.
            kind = next((walker.template_names[n] for n in names
                         if n in walker.template_names), kind)
        if not sink:
            if id(root) in walker.prose_ids:
                continue
            sink = names is not None and not walker.sink_names.isdisjoint(names)
            first = operands[0]
            if kind == _SITE_JOIN and isinstance(first, ast.Call) and \
                    isinstance(first.func, ast.Attribute):
                first = first.func.value  # "SELECT {}".format(...)
            if not sink and (not _is_str(first) or not _may_start_sql(
                    first, whole=kind not in (_SITE_CHAIN, _SITE_JOIN))):
                continue
        builder = _Builder(text, columns, partial(scope.lookup, at=_key(root)),
                           walker.attributes)
        if kind == _SITE_PERCENT and isinstance(root, ast.BinOp):
            right = root.right
            builder.arguments = list(right.elts) if isinstance(right, ast.Tuple) else [right]
        try:
            builder.build(kind, operands)
        except _LexError:
            # The ast and the source disagree (an unforeseen literal shape):
            # skipping one literal beats failing the file.
            continue
        sql = "".join(builder.parts)
        if sink:
            if not builder.has_content(sql):
                continue
        elif not _SQL_START.match(sql):
            continue
        fragments.append(Fragment(path=path, sql=sql, origin=builder.origin, sink=sink,
                                  placeholders=tuple(builder.placeholders),
                                  piece=not sink and id(root) in walker.piece_ids))
    fragments.sort(key=lambda f: f.file_offset(0))
    return fragments


def _parse(path: str, text: str, bom: int) -> ast.Module:
    nul = text.find("\0")
    if nul >= 0:
        # Python 3.11 reports this without a position; say where it is.
        nul_line, nul_column = LineIndex(text).line_col(nul)
        raise SourceError("Python source contains a NUL byte", path=path,
                          line=nul_line, column=nul_column)
    try:
        # Invalid escapes ("\d") warn while parsing: that is noise about the
        # user's code, and under "-W error" it would become a false syntax
        # error.  (catch_warnings is process-global state: not thread-safe.)
        # The cyclic GC would scan the many nodes ast.parse allocates again
        # and again (a third of parse time); an ast has no cycles, so
        # reference counting frees it alone.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return ast.parse(text[bom:] if bom else text, filename=path)
        finally:
            if gc_was_enabled:
                gc.enable()
    except SyntaxError as exc:
        column: int | None = exc.offset or None
        if bom and exc.lineno == 1 and column is not None:
            column += bom
        raise SourceError(f"Python syntax error: {exc.msg}", path=path,
                          line=exc.lineno, column=column) from exc
    except RecursionError as exc:
        raise SourceError("Python source is nested too deeply to parse", path=path) from exc
    except MemoryError as exc:
        raise SourceError("Python source is too large or nested too deeply to parse",
                          path=path) from exc
    except ValueError as exc:  # e.g. lone surrogates (UnicodeEncodeError)
        raise SourceError(f"cannot parse Python source: {exc}", path=path) from exc


def _may_start_sql(first: ast.expr, whole: bool) -> bool:
    """Cheap test on decoded ``ast`` values before a non-sink literal is lexed.

    The SQL text differs from the Python value only by placeholders, which
    never form a keyword, so the value's start decides.  ``whole``: the
    literal is all of the fragment, so filler alone cannot lead to a keyword.
    """
    if isinstance(first, ast.JoinedStr):
        head = first.values[0] if first.values else None
        if not isinstance(head, ast.Constant):
            return True  # starts with a field, which may resolve to a constant
        first, whole = head, False
    value = _str_value(first)
    return bool(_SQL_START.match(value) or (not whole and _SQL_FILLER.fullmatch(value)))


def _str_value(node: ast.expr) -> str:
    """The value of a node known to be a str constant."""
    value = node.value if isinstance(node, ast.Constant) else None
    if not isinstance(value, str):
        raise TypeError(f"not a str constant: {ast.dump(node)}")
    return value


# ------------------------------------------------------------------------------
# Positions
# ------------------------------------------------------------------------------

class _Columns:
    """Converts ``ast`` positions (1-based line, UTF-8 byte column) to text offsets."""

    __slots__ = ("_text", "_lines", "_ascii", "_bom")

    def __init__(self, text: str, bom: int) -> None:
        self._text = text
        # Python's tokenizer breaks lines at \n, \r\n and a lone \r, as LineIndex does.
        self._lines = LineIndex(text)
        self._ascii = text.isascii()
        self._bom = bom  # the parsed text lacks the BOM: line 1 starts one later

    def offset(self, lineno: int, col: int) -> int:
        start = self._lines.line_start(lineno)
        if lineno == 1:
            start += self._bom
        if self._ascii:
            return start + col
        # A character is at least one byte, so ``col`` characters cover ``col`` bytes.
        prefix = self._text[start:start + col]
        if prefix.isascii():
            return start + col
        return start + len(prefix.encode("utf-8")[:col].decode("utf-8"))


# ------------------------------------------------------------------------------
# Scopes: which str constant a bare name refers to
# ------------------------------------------------------------------------------

_MODULE, _FUNCTION, _CLASS, _COMPREHENSION = range(4)


class _Scope:
    """The names a module, class, function or comprehension binds, by position.

    A binding's value is the ``str`` constant of a simple assignment, or None
    for anything else (a call, a parameter, a loop variable): a None binding
    shadows outer constants, so a parameter named like a constant is not
    replaced by the constant's text.
    """

    __slots__ = ("parent", "kind", "bindings", "free")

    def __init__(self, parent: _Scope | None, kind: int) -> None:
        self.parent = parent
        self.kind = kind
        self.bindings: dict[str, list[tuple[_Key, ast.Constant | None]]] = {}
        self.free: dict[str, bool] = {}  # global (True) / nonlocal (False) declarations

    def bind(self, name: str, key: _Key, value: ast.Constant | None = None) -> None:
        self.bindings.setdefault(name, []).append((key, value))

    def lookup(self, name: str, at: _Key) -> ast.Constant | None:
        """The constant ``name`` holds at position ``at`` of this scope, if known.

        While the code around the use runs (its own scope, and the scopes a
        comprehension or class body sits in), the nearest binding before the
        use wins; a function that binds the name only later has an unbound
        local, not the global.  A function body runs later, once its
        enclosing scopes have run: there the nearest binding before the use
        wins, else the first one after it.  Class scopes are invisible from
        the functions inside them.
        """
        scope: _Scope | None = self
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

    def root(self) -> _Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


# ------------------------------------------------------------------------------
# The ast walk: candidate sites, sinks, bindings
# ------------------------------------------------------------------------------

_SITE_STRING, _SITE_PERCENT, _SITE_FORMAT, _SITE_CHAIN, _SITE_JOIN = range(5)
# (kind, root, operands, scope).  The root is what sinks and assignments see:
# the literal, the BinOp or the .format Call.  The operands are the template
# literal alone, the operands of a ``+`` chain (the first is a literal), or the
# elements of ``SEP.join([...])`` followed by the separator literal.
_Site = tuple[int, ast.expr, list[ast.expr], _Scope]

# Fields that never hold a string literal, skipped by the generic descent.
_SKIPPED_FIELDS: Final = frozenset({"ctx", "op", "type_comment", "type_ignores", "kind"})
_COMPREHENSIONS: Final = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
_BINDING_NODES: Final = frozenset({
    ast.AnnAssign, ast.AugAssign, ast.NamedExpr, ast.For, ast.AsyncFor, ast.withitem,
    ast.Import, ast.ImportFrom, ast.ExceptHandler, ast.Global, ast.Nonlocal})
_Pending = list[tuple[list[ast.AST], "_Scope"]]


def _is_str(node: object) -> TypeGuard[ast.Constant | ast.JoinedStr]:
    """A str literal (possibly an f-string); bytes literals are not SQL text."""
    if isinstance(node, ast.Constant):
        return type(node.value) is str
    return isinstance(node, ast.JoinedStr)


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


def _key(node: _Located) -> _Key:
    return (node.lineno, node.col_offset)


def _end_key(node: _Located) -> _Key:
    if node.end_lineno is None or node.end_col_offset is None:
        return _key(node)
    return (node.end_lineno, node.end_col_offset)


class _Walker:
    """One iterative pass over the tree (deep nesting must not hit the recursion limit)."""

    __slots__ = ("sites", "sink_ids", "prose_ids", "piece_ids", "joined_ids", "sink_names",
                 "assigned",
                 "template_names", "attributes", "_fields")

    def __init__(self) -> None:
        self.sites: list[_Site] = []
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
        pending: list[tuple[list[ast.AST], _Scope]] = [(list(tree.body), _Scope(None, _MODULE))]
        while pending:
            stack, scope = pending.pop()
            self._walk_scope(stack, scope, pending)

    def _walk_scope(self, stack: list[ast.AST], scope: _Scope, pending: _Pending) -> None:
        # Most frequent node types first: this loop visits every node of
        # every Python file that passes the prefilter.
        sites = self.sites
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                continue
            if isinstance(node, ast.Constant):
                if type(node.value) is str:
                    sites.append((_SITE_STRING, node, [node], scope))
            elif isinstance(node, ast.Call):
                self._call(node, scope, stack)
            elif isinstance(node, ast.JoinedStr):
                # Not descended: 3.11 positions inside f-strings are unreliable.
                sites.append((_SITE_STRING, node, [node], scope))
            elif isinstance(node, ast.Expr):
                # A docstring or a bare string statement is never SQL.
                if not _is_str(node.value):
                    stack.append(node.value)
            elif isinstance(node, ast.Assign):
                self._assign(node, node.targets, node.value, scope)
                stack.extend(node.targets)
                stack.append(node.value)
            elif isinstance(node, ast.BinOp):
                self._binop(node, scope, stack)
            elif isinstance(node, (ast.List, ast.Tuple)):
                if len(node.elts) > 1:
                    self._parts_list(node.elts)
                stack.extend(node.elts)
            elif isinstance(node, ast.Dict):
                stack.extend(node.values)
                stack.extend(k for k in node.keys if k is not None and not _is_str(k))
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                self._function(node, scope, stack, pending)
            elif isinstance(node, ast.ClassDef):
                scope.bind(node.name, _key(node))
                stack.extend(node.decorator_list)
                stack.extend(node.bases)
                stack.extend(node.keywords)
                pending.append((list(node.body), _Scope(scope, _CLASS)))
            elif isinstance(node, _COMPREHENSIONS):
                inner = _Scope(scope, _COMPREHENSION)
                for generator in node.generators:
                    for name in _target_names(generator.target):
                        inner.bind(name, _key(node))
                pending.append((list(ast.iter_child_nodes(node)), inner))
            else:
                t = type(node)
                if t in _BINDING_NODES:
                    self._bindings(node, scope)
                fields = self._fields.get(t)
                if fields is None:
                    fields = self._fields[t] = tuple(
                        f for f in getattr(t, "_fields", ()) if f not in _SKIPPED_FIELDS)
                for f in fields:
                    value = getattr(node, f, None)
                    if type(value) is list:
                        stack.extend(value)  # may hold None or str: no fields, skipped
                    elif isinstance(value, ast.AST):
                        stack.append(value)

    def _call(self, node: ast.Call, scope: _Scope, stack: list[ast.AST]) -> None:
        func = node.func
        name = (func.attr if isinstance(func, ast.Attribute)
                else func.id if isinstance(func, ast.Name) else None)
        if name is not None and (name in _EXACT_SINK_CALLS or name.endswith(_SINK_SUFFIXES)) \
                and (name != "text" or _sqlalchemy_text(func)):
            self._sink_argument(node)
        elif name in _TRANSLATION_CALLS:
            self.prose_ids.update(id(arg) for arg in node.args)
        if name == "join" and isinstance(func, ast.Attribute) and _is_str(func.value) \
                and isinstance(func.value, ast.Constant) and len(node.args) == 1 \
                and isinstance(node.args[0], (ast.List, ast.Tuple)) \
                and any(_is_str(e) for e in node.args[0].elts):
            # ' '.join(["SELECT ...", "FROM t", ...]): one statement, read whole.
            elements = node.args[0].elts
            self.sites.append((_SITE_JOIN, node, [*elements, func.value], scope))
            self.joined_ids.update(id(e) for e in elements)
        elif name in _PIECE_CALLS and isinstance(func, ast.Attribute):
            # parts.append("..."), parts.extend([...]), "\n".join([...])
            for arg in node.args:
                self._pieces(arg.elts if isinstance(arg, (ast.List, ast.Tuple)) else [arg])
        template = func.value if isinstance(func, ast.Attribute) and name in _FORMAT_CALLS else None
        if isinstance(template, ast.Constant) and type(template.value) is str:
            self.sites.append((_SITE_FORMAT, node, [template], scope))
        else:
            self._template_name(template, _SITE_FORMAT)
            stack.append(func)
        stack.extend(node.args)
        stack.extend(kw.value for kw in node.keywords)

    def _pieces(self, nodes: Sequence[ast.expr]) -> None:
        self.piece_ids.update(id(n) for n in nodes if _is_str(n))

    def _parts_list(self, elements: list[ast.expr]) -> None:
        """A list that mixes statement-like strings with bits that are no statement
        (``"),"``, ``"name AS ("``) holds one statement in parts."""
        strings = [e for e in elements if _is_str(e)]
        if len(strings) > 1 and any(not _may_start_sql(e, whole=True) for e in strings) \
                and any(_may_start_sql(e, whole=True) for e in strings):
            self._pieces(strings)

    def _template_name(self, node: ast.expr | None, kind: int) -> None:
        if isinstance(node, ast.Name):
            self.template_names[node.id] = kind
        elif isinstance(node, ast.Attribute):  # self.SQL_COUNT.format(...)
            self.template_names[node.attr] = kind

    def _sink_argument(self, call: ast.Call) -> None:
        arg: ast.expr | None = None
        if call.args and not isinstance(call.args[0], ast.Starred):
            arg = call.args[0]
        else:
            arg = next((kw.value for kw in call.keywords if kw.arg in _SQL_KEYWORD_ARGS), None)
        if arg is None:
            return
        self.sink_ids.add(id(arg))
        # A named template: ``execute(SQL % args)``, ``execute(SQL.format(...))``.
        if isinstance(arg, ast.BinOp) and isinstance(arg.op, ast.Mod):
            arg = arg.left
        elif (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                and arg.func.attr in _FORMAT_CALLS):
            arg = arg.func.value
        if isinstance(arg, ast.Name):
            self.sink_names.add(arg.id)
        elif isinstance(arg, ast.Attribute):  # self.SQL_GET: a class constant
            self.sink_names.add(arg.attr)

    def _binop(self, node: ast.BinOp, scope: _Scope, stack: list[ast.AST]) -> None:
        if isinstance(node.op, ast.Mod) and _is_str(node.left):
            self.sites.append((_SITE_PERCENT, node, [node.left], scope))
            stack.append(node.right)
            return
        if isinstance(node.op, ast.Mod):
            self._template_name(node.left, _SITE_PERCENT)
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
        if _is_str(operands[0]):
            self.sites.append((_SITE_CHAIN, node, operands, scope))
            stack.extend(op for op in operands if not _is_str(op))
        else:
            stack.extend(operands)

    def _assign(self, node: ast.stmt, targets: list[ast.expr], value: ast.expr | None,
                scope: _Scope) -> None:
        constant = value if isinstance(value, ast.Constant) and type(value.value) is str else None
        key = _end_key(node)  # the name is bound once the statement has run
        assigned: list[str] = []
        for target in targets:
            if isinstance(target, ast.Name):
                scope.bind(target.id, key, constant)
                assigned.append(target.id)
                if scope.kind == _CLASS:
                    self._attribute(target.id, constant)
            elif isinstance(target, ast.Attribute):
                assigned.append(target.attr)
                self._attribute(target.attr, constant)
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
                  scope: _Scope, stack: list[ast.AST], pending: _Pending) -> None:
        # Defaults, annotations and decorators run in the enclosing scope.
        key = _key(node)
        args = node.args
        inner = _Scope(scope, _FUNCTION)
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

    def _bindings(self, node: ast.AST, scope: _Scope) -> None:
        """Names bound by the less common statements (none of them to a constant)."""
        if isinstance(node, ast.AnnAssign):
            self._assign(node, [node.target], node.value, scope)
        elif isinstance(node, (ast.AugAssign, ast.NamedExpr)):
            for name in _target_names(node.target):
                scope.bind(name, _end_key(node))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            for name in _target_names(node.target):
                scope.bind(name, _key(node))
        elif isinstance(node, ast.withitem):
            if node.optional_vars is not None:
                for name in _target_names(node.optional_vars):
                    scope.bind(name, _key(node.context_expr))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                scope.bind((alias.asname or alias.name).partition(".")[0], _end_key(node))
        elif isinstance(node, ast.ExceptHandler):
            if node.name:
                scope.bind(node.name, _key(node))
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for name in node.names:
                scope.free[name] = isinstance(node, ast.Global)


# ------------------------------------------------------------------------------
# The lexer: literal source -> SQL text + origin map
# ------------------------------------------------------------------------------

def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _skip_string(text: str, i: int, end: int) -> int:
    """Index after the string literal whose opening quote is at ``i``."""
    q = text[i]
    closing = q * 3 if text.startswith(q * 3, i) else q
    j = i + len(closing)
    while j < end:
        ch = text[j]
        if ch == "\\":
            j += 2
        elif ch == q and text.startswith(closing, j):
            return j + len(closing)
        else:
            j += 1
    raise _LexError("unterminated string")


def _fstring_field_end(text: str, i: int, end: int) -> tuple[int, int]:
    """For the f-string field opening at ``i``: (end of its expression, its closing ``}``)."""
    j = i + 1
    depth = 0
    while j < end:
        ch = text[j]
        if ch in _QUOTES:
            j = _skip_string(text, j, end)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                if ch == "}":
                    return j, j
                raise _LexError("unbalanced f-string field")
            depth -= 1
        elif depth == 0 and (ch == ":" or (ch == "!" and not text.startswith("=", j + 1))):
            return j, _fstring_tail_end(text, j, end)
        elif ch == "#":  # a comment in a multi-line field (Python >= 3.12)
            newline = _LINE_BREAK.search(text, j, end)
            j = newline.start() if newline else end
            continue
        j += 1
    raise _LexError("unterminated f-string field")


def _fstring_tail_end(text: str, j: int, end: int) -> int:
    """The closing ``}`` of a field whose ``!conversion``/``:spec`` starts at ``j``."""
    while j < end:
        ch = text[j]
        if ch == "{":  # nested field in the format spec
            j = _fstring_field_end(text, j, end)[1] + 1
            continue
        if ch == "}":
            return j
        j += 1
    raise _LexError("unterminated f-string field")


def _format_field_end(text: str, i: int, end: int, quote: str) -> int:
    """The closing ``}`` of a ``str.format`` field at ``i``, or -1 if it is malformed.

    Malformed templates are valid Python (``.format`` fails only at run
    time); their brace is kept as text.
    """
    j = i + 1
    depth = 0
    while j < end:
        ch = text[j]
        if ch == quote or ch == "\\":
            return -1
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                return j
            depth -= 1
        j += 1
    return -1


class _Builder:
    """Accumulates one fragment: SQL text in chunks, origin offsets, placeholders."""

    __slots__ = ("text", "columns", "resolve", "attributes", "arguments", "parts", "origin",
                 "length", "placeholders", "_percent", "_braces")

    def __init__(self, text: str, columns: _Columns, resolve: _Resolver | None,
                 attributes: dict[str, ast.Constant | None] | None = None) -> None:
        self.text = text
        self.columns = columns
        self.resolve = resolve
        #: Class-level str constants by attribute name (`_Walker.attributes`).
        self.attributes = attributes or {}
        #: The right operand of an applied ``%``, one per conversion; None once
        #: a conversion cannot be matched to its argument.
        self.arguments: list[ast.expr] | None = None
        self.parts: list[str] = []
        # An array, not a list: 8 bytes per character instead of about 40,
        # which keeps the map of a multi-megabyte SQL literal small.
        self.origin: array[int] = array("q")
        self.length = 0
        self.placeholders: list[Span] = []
        self._percent = _PERCENT_DBAPI
        self._braces = _BRACES_KEEP

    # -- output ------------------------------------------------------------------

    def _slice(self, start: int, end: int) -> None:
        self.parts.append(self.text[start:end])
        self.origin.extend(range(start, end))
        self.length += end - start

    def _char(self, ch: str, at: int) -> None:
        self.parts.append(ch)
        self.origin.append(at)
        self.length += 1

    def _placeholder(self, at: int) -> None:
        token = neutral_name(len(self.placeholders))
        self.parts.append(token)
        self.origin.extend([at] * len(token))
        self.placeholders.append(Span(self.length, self.length + len(token)))
        self.length += len(token)

    def has_content(self, sql: str) -> bool:
        """Whether ``sql`` has a non-blank character outside the placeholders."""
        last = 0
        for span in self.placeholders:
            if sql[last:span.start].strip():
                return True
            last = span.end
        return bool(sql[last:].strip())

    # -- sites -------------------------------------------------------------------

    def build(self, kind: int, operands: list[ast.expr]) -> None:
        """Lex a site's literal(s) into this builder; `_LexError` if the source is odd."""
        if kind == _SITE_CHAIN:
            self._chain(operands)
            return
        if kind == _SITE_JOIN:
            self._join(operands[:-1], operands[-1])
            return
        if kind == _SITE_PERCENT:
            self._percent = _PERCENT_APPLIED
        elif kind == _SITE_FORMAT:
            self._braces = _BRACES_FORMAT
        literal = operands[0]
        if not _is_str(literal):
            raise _LexError("a template site without a literal")
        self._literal(literal)

    def _chain(self, operands: list[ast.expr]) -> None:
        """``"SELECT ... " + name + " WHERE ..."``: literals lexed, the rest neutral."""
        for index, operand in enumerate(operands):
            if _is_str(operand):
                self._literal(operand)
                continue
            if isinstance(operand, (ast.Name, ast.Attribute)) and not self._glued_before():
                following = operands[index + 1] if index + 1 < len(operands) else None
                if not _starts_with_word_char(following) and \
                        self._substitute_constant(self._constant_of(operand)):
                    continue
            start = self.columns.offset(operand.lineno, operand.col_offset)
            self._placeholder(start)

    def _join(self, elements: list[ast.expr], separator: ast.expr) -> None:
        """``SEP.join([...])``: each literal element lexed (``"...".format(x)`` as a
        template), the separator's own characters between them, the rest holes."""
        if not isinstance(separator, ast.Constant):
            raise _LexError("a join separator that is not a literal")
        for index, element in enumerate(elements):
            if index:
                self._literal(separator)
            if _is_str(element):
                self._literal(element)
            elif isinstance(element, ast.Call) and isinstance(element.func, ast.Attribute) \
                    and element.func.attr in _FORMAT_CALLS and _is_str(element.func.value):
                braces, self._braces = self._braces, _BRACES_FORMAT
                self._literal(element.func.value)
                self._braces = braces
            elif not self._substitute_constant(self._constant_of(element)):
                self._placeholder(self.columns.offset(element.lineno, element.col_offset))

    def _glued_before(self) -> bool:
        return bool(self.parts) and _is_word_char(self.parts[-1][-1])

    def _constant_of(self, node: ast.expr) -> ast.Constant | None:
        """The str constant a name (scope lookup) or ``self.NAME`` / ``cls.NAME`` /
        ``Class.NAME`` (a class-level constant of this module) holds, if known."""
        if isinstance(node, ast.Name):
            return self.resolve(node.id) if self.resolve is not None else None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self.attributes.get(node.attr)
        return None

    def _substitute(self, name: str) -> bool:
        """Append the text of the identifier-like constant ``name`` is bound to, if any."""
        if self.resolve is None:
            return False
        return self._substitute_constant(self.resolve(name))

    def _substitute_constant(self, constant: ast.Constant | None) -> bool:
        """Append the text of ``constant`` if it reads as an identifier (its map points
        at the constant's own literal)."""
        if constant is None:
            return False
        value = _str_value(constant)
        if not _IDENTIFIER_VALUE.fullmatch(value):
            return False
        sub = _Builder(self.text, self.columns, None)
        sub._percent = _PERCENT_KEEP
        try:
            sub._literal(constant)
        except _LexError:
            return False
        if "".join(sub.parts) != value:  # the map must spell exactly the value
            return False
        self.parts.extend(sub.parts)
        self.origin.extend(sub.origin)
        self.length += sub.length
        return True

    # -- literals ----------------------------------------------------------------

    def _literal(self, node: _StrNode) -> None:
        """Lex every piece of one (possibly implicitly concatenated) literal."""
        text = self.text
        if node.end_lineno is None or node.end_col_offset is None:
            raise _LexError("a node without an end position")
        i = self.columns.offset(node.lineno, node.col_offset)
        end = self.columns.offset(node.end_lineno, node.end_col_offset)
        pieces = 0
        while True:
            between = _BETWEEN_PIECES.match(text, i, end)
            if between is not None:
                i = between.end()
            if i >= end:
                break
            i = self._piece(i, end)
            pieces += 1
        if not pieces:
            raise _LexError("no string literal at the node's position")

    def _piece(self, i: int, end: int) -> int:
        """Lex the string token at ``i`` (prefix included); return the index after it."""
        text = self.text
        j = i
        while j < end and text[j] in _PREFIX_CHARS:
            j += 1
        if j >= end or text[j] not in _QUOTES:
            raise _LexError("expected a string literal")
        prefix = text[i:j].lower()
        if "b" in prefix:
            raise _LexError("bytes piece in a str literal")
        q = text[j]
        triple = text.startswith(q * 3, j)
        closing = q * 3 if triple else q
        raw = "r" in prefix
        braces = _BRACES_FSTRING if "f" in prefix else self._braces
        i = j + len(closing)
        while True:
            m = _SPECIAL.search(text, i, end)
            if m is None:
                raise _LexError("unterminated string literal")
            s = m.start()
            if s > i:
                self._slice(i, s)
            ch = text[s]
            if ch == q and (not triple or text.startswith(closing, s)):
                return s + len(closing)
            if ch == "\\":
                i = self._escape(s, end, raw)
            elif ch == "%":
                i = self._percent_sign(s, end)
            elif ch in "{}" and braces != _BRACES_KEEP:
                i = self._brace(s, end, braces, q)
            else:
                self._char(ch, s)
                i = s + 1

    def _escape(self, s: int, end: int, raw: bool) -> int:
        """Decode the escape at ``s``; every decoded character maps to the backslash."""
        text = self.text
        if s + 1 >= end:
            raise _LexError("backslash at the end of the literal")
        nxt = text[s + 1]
        if raw:
            # The escaped quote or backslash stays, and cannot end the string.
            if nxt in _QUOTES or nxt == "\\":
                self._slice(s, s + 2)
                return s + 2
            self._char("\\", s)
            return s + 1
        if nxt == "\n":
            return s + 2  # line continuation: no character
        if nxt == "\r":
            return s + 3 if text.startswith("\n", s + 2) else s + 2
        simple = _SIMPLE_ESCAPES.get(nxt)
        if simple is not None:
            self._char(simple, s)
            return s + 2
        if nxt in "01234567":
            m = _OCTAL_ESCAPE.match(text, s + 1, end)
            assert m is not None
            self._char(chr(int(m.group(), 8)), s)
            return m.end()
        length = _HEX_ESCAPE_LENGTH.get(nxt)
        if length is not None:
            digits = text[s + 2:s + 2 + length]
            if len(digits) != length or not _HEX_DIGITS.fullmatch(digits):
                raise _LexError("bad hex escape")
            try:
                self._char(chr(int(digits, 16)), s)
            except ValueError:  # beyond U+10FFFF: Python rejects it too
                raise _LexError("bad unicode escape") from None
            return s + 2 + length
        if nxt == "N" and text.startswith("{", s + 2):
            close = text.find("}", s + 3, end)
            if close < 0:
                raise _LexError("bad \\N escape")
            try:
                self._char(unicodedata.lookup(text[s + 3:close]), s)
            except KeyError:
                raise _LexError("unknown \\N name") from None
            return close + 1
        # Unknown escape ("\d", "\{"): the backslash is kept and the next
        # character is read normally (it may start an f-string field).
        self._char("\\", s)
        return s + 1

    def _percent_sign(self, s: int, end: int) -> int:
        text = self.text
        mode = self._percent
        if mode == _PERCENT_KEEP:
            self._char("%", s)
            return s + 1
        if text.startswith("%", s + 1):
            if mode == _PERCENT_APPLIED:
                self._char("%", s)
            else:
                self._slice(s, s + 2)  # the driver turns %% into % itself
            return s + 2
        pattern = _PERCENT_CONVERSION if mode == _PERCENT_APPLIED else _DBAPI_MARKER
        m = pattern.match(text, s, end)
        if m is None:
            self._char("%", s)
            return s + 1
        if mode == _PERCENT_APPLIED and self._percent_argument(m.group(0), m.end()):
            return m.end()
        if mode == _PERCENT_DBAPI and not _BEFORE_A_LIST.search(self._tail()):
            # A driver parameter is a value, as the engines write one: ``$1``
            # (SQLite reads it as a named parameter), padded to the marker's length.
            self._slice_as(f"$1{' ' * (m.end() - s - 2)}", s)
            return m.end()
        self._placeholder(s)  # ``IN %s``: the driver writes the whole list
        return m.end()

    def _tail(self) -> str:
        return "".join(self.parts[-4:])[-12:]

    def _slice_as(self, text: str, at: int) -> None:
        """``text`` in the SQL for the source characters from ``at``, one per character."""
        self.parts.append(text)
        self.origin.extend(range(at, at + len(text)))
        self.length += len(text)

    def _percent_argument(self, conversion: str, after: int) -> bool:
        """``"... FROM %s" % TABLE``: append the constant the conversion's argument
        holds, when it is a plain ``%s`` of an identifier-like constant."""
        arguments = self.arguments
        if arguments is None:
            return False
        if "(" in conversion or "*" in conversion:
            self.arguments = None  # mapping keys or star widths: no positional match
            return False
        if not arguments:
            return False
        argument = arguments.pop(0)
        if conversion != "%s" or self._glued_before() or \
                _is_word_char(self.text[after:after + 1]):
            return False
        return self._substitute_constant(self._constant_of(argument))

    def _brace(self, s: int, end: int, braces: int, quote: str) -> int:
        text = self.text
        ch = text[s]
        if text.startswith(ch, s + 1):  # {{ or }}: one literal brace
            self._char(ch, s)
            return s + 2
        if ch == "}":
            self._char(ch, s)  # lone "}": a run-time error, kept as text
            return s + 1
        if braces == _BRACES_FORMAT:
            close = _format_field_end(text, s, end, quote)
            if close < 0:
                self._char(ch, s)
                return s + 1
            self._placeholder(s)
            return close + 1
        expr_end, close = _fstring_field_end(text, s, end)
        if expr_end == close and not self._glued_before():
            name = text[s + 1:expr_end].strip()
            if not name.isascii():
                name = unicodedata.normalize("NFKC", name)  # as Python reads identifiers
            after = text[close + 1:close + 2]
            next_field = after == "{" and text[close + 2:close + 3] != "{"
            glued_after = _is_word_char(after) or next_field
            if (name.isidentifier() and not keyword.iskeyword(name) and not glued_after
                    and self._substitute(name)):
                return close + 1
        self._placeholder(s)
        return close + 1


def _starts_with_word_char(node: ast.expr | None) -> bool:
    """Whether the operand following a substituted name would glue onto it."""
    if isinstance(node, ast.JoinedStr):
        node = node.values[0] if node.values else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(node.value) and _is_word_char(node.value[0])
    return isinstance(node, ast.FormattedValue)


def _sqlalchemy_text(func: ast.expr) -> bool:
    """Whether a call of ``text`` is SQLAlchemy's: a bare ``text(...)`` (imported
    from it) or one reached from a SQLAlchemy name (``sa.text``,
    ``sqlalchemy.sql.expression.text``), never ``Response.text(...)``."""
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    return func is root or (isinstance(root, ast.Name)
                            and root.id.casefold() in _TEXT_OWNERS)
