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
file (prefilter, parse, positions), `gatecheck.extract.python_sinks` finds
the candidate sites, the sinks and the constants in scope, and
`gatecheck.extract.python_templates` lexes templates and their holes; this
module puts them together.  All of it stays stdlib-only and never imports
sqlglot: it runs on every Python file of a repository.  Deciding whether a
candidate really is SQL is the engine's job; here a non-sink string only
needs to *start* like a statement.
"""

from __future__ import annotations

import ast
from functools import partial

from gatecheck.extract import Fragment
from gatecheck.extract.python_read import Columns, might_contain_sql, parse
from gatecheck.extract.python_sinks import (
    SITE_CHAIN, SITE_JOIN, SITE_PERCENT, SITE_STRING, SQL_KEYWORDS, SQL_START, Walker, is_str,
    may_start_sql, start_key)
from gatecheck.extract.python_templates import Builder, LexError

__all__ = ["SQL_KEYWORDS", "extract_python", "might_contain_sql"]


def extract_python(path: str, text: str) -> list[Fragment]:
    """SQL fragments of the Python source ``text`` (decoded), sorted by file offset.

    Raises `SourceError` (with the 1-based line and column when known) when
    ``text`` is not valid Python.
    """
    bom = 1 if text.startswith("\ufeff") else 0
    tree = parse(path, text, bom)
    walker = Walker()
    walker.walk(tree)
    if not walker.sites:
        return []
    columns = Columns(text, bom)
    fragments: list[Fragment] = []
    for kind, root, operands, scope in walker.sites:
        if id(root) in walker.joined_ids:
            continue  # an element of a SEP.join([...]) site, read with it
        sink = id(root) in walker.sink_ids
        names = walker.assigned.get(id(root))
        if kind == SITE_STRING and names:
            # A constant formatted where it is used (``COUNT.format(col=c)``)
            # is a template here too: its fields are placeholders.
            kind = next((walker.template_names[n] for n in names
                         if n in walker.template_names), kind)
        if not sink:
            if id(root) in walker.prose_ids:
                continue
            sink = names is not None and not walker.sink_names.isdisjoint(names)
            first = operands[0]
            if kind == SITE_JOIN and isinstance(first, ast.Call) and \
                    isinstance(first.func, ast.Attribute):
                first = first.func.value  # "SELECT {}".format(...)
            if not sink and (not is_str(first) or not may_start_sql(
                    first, whole=kind not in (SITE_CHAIN, SITE_JOIN))):
                continue
        builder = Builder(text, columns, partial(scope.lookup, at=start_key(root)),
                           walker.attributes)
        if kind == SITE_PERCENT and isinstance(root, ast.BinOp):
            right = root.right
            builder.arguments = list(right.elts) if isinstance(right, ast.Tuple) else [right]
        try:
            builder.build(kind, operands)
        except LexError:
            # The ast and the source disagree (an unforeseen literal shape):
            # skipping one literal beats failing the file.
            continue
        sql = "".join(builder.parts)
        if sink:
            if not builder.has_content(sql):
                continue
        elif not SQL_START.match(sql):
            continue
        fragments.append(Fragment(path=path, sql=sql, origin=builder.origin, sink=sink,
                                  placeholders=tuple(builder.placeholders),
                                  piece=not sink and id(root) in walker.piece_ids))
    fragments.sort(key=lambda f: f.file_offset(0))
    return fragments

