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

The work is split by concern: `gatecheck.extract.python_read` reads the
file (prefilter, parse, positions; `gatecheck.extract.python_tolerant` reads
what this interpreter cannot parse), `gatecheck.extract.python_sinks` finds
the candidate sites, the sinks and the constants in scope, and
`gatecheck.extract.python_templates` lexes templates and their holes; this
module puts them together.  All of it stays stdlib-only (tree-sitter is
imported only for a file ``ast.parse`` refuses) and never imports sqlglot:
it runs on every Python file of a repository.  Deciding whether a
candidate really is SQL is the engine's job; here a non-sink string only
needs to *start* like a statement.
"""

from __future__ import annotations

import ast
import dataclasses
from array import array

from gatecheck.extract import Fragment, neutral_name
from gatecheck.extract.python_read import Columns, might_contain_sql, parse
from gatecheck.extract.python_sinks import (
    SITE_CHAIN, SITE_JOIN, SITE_PERCENT, SITE_STRING, SQL_KEYWORDS, SQL_START, Scope, Walker,
    clause_prefix, flatten, is_str, may_start_sql, start_key)
from gatecheck.extract.python_templates import Builder, LexError
from gatecheck.positions import Span

__all__ = ["SQL_KEYWORDS", "extract_python", "might_contain_sql"]


def extract_python(path: str, text: str, notes: list[str] | None = None) -> list[Fragment]:
    """SQL fragments of the Python source ``text`` (decoded), sorted by file offset.

    Python this interpreter cannot parse is read with the tolerant parser;
    its first syntax problem, if any, is appended to ``notes`` (`parse`).
    Raises `SourceError` only for a NUL byte or a lone surrogate.
    """
    bom = 1 if text.startswith("\ufeff") else 0
    tree = parse(path, text, bom, notes)
    walker = Walker()
    walker.walk(tree)
    if not walker.sites:
        return []
    columns = Columns(text, bom)
    fragments: list[Fragment] = []
    roots_of: dict[int, int] = {}   # id of a fragment -> id of its site's root
    pieces: set[int] = set()         # ids of constants assembled into a statement
    roots = {id(site[1]) for site in walker.sites}
    sites = list(walker.sites)
    grown: set[str] = set()   # names every sink runs after a ``+=``
    plain: set[str] = set()   # names some sink runs as they were assigned
    for name, scope in walker.name_sinks:
        # A name a sink runs that holds pieces no expression holds whole
        # (``sql += " WHERE ..."``): read where it runs.
        value = scope.lookup(name.id, start_key(name))
        if isinstance(value, ast.BinOp) and id(value) not in roots:
            sites.append((SITE_CHAIN, name, flatten(value), scope))
            grown.add(name.id)
        else:
            plain.add(name.id)
    grown -= plain
    for kind, root, operands, scope in sites:
        if id(root) in walker.joined_ids:
            continue  # an element of a SEP.join([...]) site, read with it
        sink = id(root) in walker.sink_ids
        names = walker.assigned.get(id(root))
        if names and not sink and grown.issuperset(names):
            continue  # the start of a statement a sink runs grown: read with the rest
        if kind == SITE_STRING and names:
            # A constant formatted where it is used (``COUNT.format(col=c)``)
            # is a template here too: its fields are placeholders.
            kind = next((walker.template_names[n] for n in names
                         if n in walker.template_names), kind)
        if not sink:
            if id(root) in walker.prose_ids:
                continue
            sink = names is not None and not walker.sink_names.isdisjoint(names)
            first = _first_piece(operands[0], scope)
            if kind == SITE_JOIN and isinstance(first, ast.Call) and \
                    isinstance(first.func, ast.Attribute):
                first = first.func.value  # "SELECT {}".format(...)
            if not sink and (not is_str(first) or not may_start_sql(
                    first, whole=kind not in (SITE_CHAIN, SITE_JOIN))):
                continue
        receiver = walker.receivers.get(id(root))
        if receiver is None and names:
            receiver = next((walker.receivers[n] for n in names if n in walker.receivers), None)
        choices: tuple[int, ...] = ()
        while True:
            builder = Builder(text, columns, scope.lookup, start_key(root), walker.attributes,
                              choices)
            if kind == SITE_PERCENT and isinstance(root, ast.BinOp):
                right = root.right
                builder.arguments = list(right.elts) if isinstance(right, ast.Tuple) else [right]
            try:
                builder.build(kind, operands)
            except LexError:
                # The ast and the source disagree (an unforeseen literal shape):
                # skipping one literal beats failing the file.
                break
            # A clause on its own is a piece only where code keeps pieces: in
            # a name, a list of parts, a ``+=`` (not "Join the team" in a list).
            piece = id(root) in walker.piece_ids
            fragment = _fragment(path, builder, sink=sink, receiver=receiver, piece=piece,
                                 clause=piece or names is not None)
            if fragment is not None:
                fragments.append(fragment)
                roots_of[id(fragment)] = id(root)
            if len(builder.spliced) > 1:
                # Constants assembled into one statement are its pieces, also
                # where each is read on its own (``base`` of ``base + where``).
                pieces.update(id(c) for c in builder.spliced)
            # ``a if c else b`` among the pieces: each other branch once more.
            if len(choices) >= min(builder.forks, _MAX_BRANCHES):
                break
            choices = (0,) * len(choices) + (1,)
    fragments = [dataclasses.replace(f, piece=True)
                 if not f.sink and roots_of[id(f)] in pieces else f for f in fragments]
    fragments.sort(key=lambda f: f.file_offset(0))
    return fragments


#: How many ``a if c else b`` of one assembled statement get their other branch read.
_MAX_BRANCHES = 4


def _first_piece(node: ast.expr, scope: Scope) -> ast.expr:
    """The first literal a chain operand stands for: a name's constant, or the
    first piece of what it assembles (followed a few names deep)."""
    for _ in range(8):
        if isinstance(node, ast.IfExp):
            node = node.body
        elif isinstance(node, ast.BinOp):
            node = flatten(node)[0]
        elif isinstance(node, ast.Name):
            value = scope.lookup(node.id, start_key(node))
            if value is None:
                return node
            node = value
        else:
            return node
    return node


def _fragment(path: str, builder: Builder, *, sink: bool, receiver: str | None,
              piece: bool, clause: bool) -> Fragment | None:
    """The fragment a builder holds, if it may be SQL.

    A string outside a sink must start like a statement, or like a clause
    (``"LEFT JOIN t ON ..."``): a clause is a piece of a statement assembled
    at run time, read after the statement text it needs (`clause_prefix`)
    whose characters all map to the piece's first one.
    """
    sql = "".join(builder.parts)
    placeholders = tuple(builder.placeholders)
    origin = builder.origin
    if sink:
        if not builder.has_content(sql):
            return None
    elif not SQL_START.match(sql):
        prefix = clause_prefix(sql) if clause else None
        if prefix is None or not origin:
            return None
        table = neutral_name(len(placeholders))
        at = prefix.find("{}")
        prefix = prefix.format(table)
        shifted = tuple(Span(p.start + len(prefix), p.end + len(prefix)) for p in placeholders)
        placeholders = ((Span(at, at + len(table)),) if at >= 0 else ()) + shifted
        origin = array("q", [origin[0]] * len(prefix)) + origin
        sql = prefix + sql
        return Fragment(path=path, sql=sql, origin=origin, placeholders=placeholders,
                        receiver=receiver, piece=True, prefix=len(prefix))
    return Fragment(path=path, sql=sql, origin=origin, sink=sink, placeholders=placeholders,
                    receiver=receiver, piece=not sink and piece)
