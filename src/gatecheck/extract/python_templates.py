"""Templates and holes: a literal's source text -> SQL text with an origin map.

The lexer walks a literal's own source (prefixes, quotes, escapes, implicit
concatenation, f-string fields, ``%`` conversions, ``{}`` format fields)
and builds the SQL text a driver would receive, mapping every SQL character
back to the file character that produced it.  A replacement field becomes
the neutral identifier ``__gcN__`` (a *hole*, listed in
``Fragment.placeholders``) unless it is a name bound to an identifier-like
``str`` constant, whose text is substituted and mapped to the constant's own
characters.  DB-API ``%s``/``%(name)s`` markers are values and read as
``$1``; ``IN %s`` is a hole, since the driver writes the whole list there.

A t-string (Python 3.14, PEP 750) is not formatted by Python: the library
that receives it does.  psycopg 3.3, the first driver to take them, passes a
field as a query *parameter* (``{id}``, or with the format specs ``:s``,
``:b``, ``:t``) or merges it as a literal value (``:l``): such a field is a
value and reads as ``$1``, like ``%s``, except after ``IN``.  ``:i`` is an
identifier, read like an f-string field (a name bound to an identifier-like
constant is substituted, anything else is a hole); ``:q`` (a snippet of SQL)
and any other spec is a hole.
"""

from __future__ import annotations

import ast
import keyword
import re
import unicodedata
from array import array
from collections.abc import Callable
from typing import Final

from gatecheck.extract import neutral_name
from gatecheck.extract.python_read import Columns
from gatecheck.extract.python_sinks import (
    FORMAT_CALLS, SITE_CHAIN, SITE_FORMAT, SITE_JOIN, SITE_PERCENT, Key, flatten, is_str,
    start_key, str_value)
from gatecheck.positions import Span

__all__ = ["Builder", "LexError"]

# --- lexer tables -------------------------------------------------------------
_PREFIX_CHARS: Final = frozenset("rRbBuUfFtT")
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
_BRACES_TEMPLATE: Final = 3   # t-string piece: fields are values unless their spec says otherwise
#: psycopg's t-string format specs that pass the field as a value.
_TEMPLATE_VALUE_SPECS: Final = frozenset({"", "s", "b", "t", "l"})

StrNode = ast.Constant | ast.JoinedStr
_Lookup = Callable[[str, Key], "ast.expr | None"]
#: How deep names holding pieces that name other pieces are followed.
_MAX_SPLICE_DEPTH = 8


class LexError(Exception):
    """The literal's source does not look as expected; the literal is skipped."""



# ------------------------------------------------------------------------------
# The lexer: literal source -> SQL text + origin map
# ------------------------------------------------------------------------------

def is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


#: f-strings nested in f-string fields, at most (CPython's tokenizer stops at 150).
_MAX_NESTING: Final = 150


def _skip_string(text: str, i: int, end: int, nesting: int = 0) -> int:
    """Index after the string literal whose opening quote is at ``i``.

    An f- or t-string's own fields are skipped as fields: since Python 3.12
    (PEP 701) they may hold strings in the same quotes (``f"{d["k"]}"``).
    """
    if nesting > _MAX_NESTING:
        raise LexError("f-strings nested too deeply")
    q = text[i]
    closing = q * 3 if text.startswith(q * 3, i) else q
    k = i
    while k > 0 and text[k - 1] in _PREFIX_CHARS:
        k -= 1
    # Letters glued to a word are its end (``or"x"``), not a prefix.
    fields = (k == 0 or not is_word_char(text[k - 1])) and \
        any(c in "fFtT" for c in text[k:i])
    j = i + len(closing)
    while j < end:
        ch = text[j]
        if ch == "\\":
            j += 2
        elif ch == q and text.startswith(closing, j):
            return j + len(closing)
        elif ch == "{" and fields:
            j = j + 2 if text.startswith("{", j + 1) else \
                _fstring_field_end(text, j, end, nesting)[1] + 1
        else:
            j += 1
    raise LexError("unterminated string")


def _fstring_field_end(text: str, i: int, end: int, nesting: int = 0) -> tuple[int, int]:
    """For the f-string field opening at ``i``: (end of its expression, its closing ``}``)."""
    j = i + 1
    depth = 0
    while j < end:
        ch = text[j]
        if ch in _QUOTES:
            j = _skip_string(text, j, end, nesting + 1)
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth == 0:
                if ch == "}":
                    return j, j
                raise LexError("unbalanced f-string field")
            depth -= 1
        elif depth == 0 and (ch == ":" or (ch == "!" and not text.startswith("=", j + 1))):
            return j, _fstring_tail_end(text, j, end, nesting)
        elif ch == "#":  # a comment in a multi-line field (Python >= 3.12)
            newline = _LINE_BREAK.search(text, j, end)
            j = newline.start() if newline else end
            continue
        j += 1
    raise LexError("unterminated f-string field")


def _fstring_tail_end(text: str, j: int, end: int, nesting: int = 0) -> int:
    """The closing ``}`` of a field whose ``!conversion``/``:spec`` starts at ``j``."""
    while j < end:
        ch = text[j]
        if ch == "{":  # nested field in the format spec
            j = _fstring_field_end(text, j, end, nesting + 1)[1] + 1
            continue
        if ch == "}":
            return j
        j += 1
    raise LexError("unterminated f-string field")


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


class Builder:
    """Accumulates one fragment: SQL text in chunks, origin offsets, placeholders."""

    __slots__ = ("text", "columns", "lookup", "at", "attributes", "arguments", "parts",
                 "origin", "length", "placeholders", "choices", "forks", "spliced", "_percent",
                 "_braces",
                 "_depth")

    def __init__(self, text: str, columns: Columns, lookup: _Lookup | None, at: Key = (0, 0),
                 attributes: dict[str, ast.Constant | None] | None = None,
                 choices: tuple[int, ...] = ()) -> None:
        self.text = text
        self.columns = columns
        #: What a name holds at a position (`Scope.lookup`); ``at``: where the site is.
        self.lookup = lookup
        self.at = at
        #: Which branch of each ``a if c else b`` met while assembling (0: ``a``),
        #: and how many were met (`forks`): the caller builds the other branches too.
        self.choices = choices
        self.forks = 0
        #: The constants read into this statement in place of names (`_splice`).
        self.spliced: list[ast.Constant] = []
        self._depth = 0
        #: Class-level str constants by attribute name (`Walker.attributes`).
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
        """Lex a site's literal(s) into this builder; `LexError` if the source is odd."""
        if kind == SITE_CHAIN:
            self._chain(operands)
            return
        if kind == SITE_JOIN:
            self._join(operands[:-1], operands[-1])
            return
        if kind == SITE_PERCENT:
            self._percent = _PERCENT_APPLIED
        elif kind == SITE_FORMAT:
            self._braces = _BRACES_FORMAT
        literal = operands[0]
        if not is_str(literal):
            raise LexError("a template site without a literal")
        self._literal(literal)

    def _chain(self, operands: list[ast.expr]) -> None:
        """``"SELECT ... " + name + " WHERE ..."``: literals lexed; a name that
        holds a str piece (or pieces assembled with ``+`` and ``+=``) read in
        place, at the piece's own characters; ``a if c else b`` by `choices`;
        the rest neutral."""
        for index, operand in enumerate(operands):
            if isinstance(operand, ast.IfExp):
                choice = self.choices[self.forks] if self.forks < len(self.choices) else 0
                self.forks += 1
                operand = operand.orelse if choice else operand.body
            if is_str(operand):
                self._literal(operand)
                continue
            if isinstance(operand, (ast.Name, ast.Attribute)):
                if not self._glued_before():
                    following = operands[index + 1] if index + 1 < len(operands) else None
                    if not _starts_with_word_char(following) and \
                            self._substitute_constant(self._constant_of(operand)):
                        continue
                if self._splice(operand):
                    continue
            elif isinstance(operand, ast.BinOp) and self._depth < _MAX_SPLICE_DEPTH:
                self._depth += 1
                self._chain(flatten(operand))
                self._depth -= 1
                continue
            start = self.columns.offset(operand.lineno, operand.col_offset)
            self._placeholder(start)

    def _splice(self, node: ast.Name | ast.Attribute) -> bool:
        """Append what ``node`` holds: a str constant's text (as a literal of its
        own: driver ``%s`` markers are values) or the pieces it assembles."""
        value: ast.expr | None = self._constant_of(node)
        if value is None and isinstance(node, ast.Name) and self.lookup is not None:
            value = self.lookup(node.id, start_key(node))
        if value is None or self._depth >= _MAX_SPLICE_DEPTH:
            return False
        self._depth += 1
        try:
            if isinstance(value, ast.Constant):
                self.spliced.append(value)
                modes = self._percent, self._braces
                self._percent, self._braces = _PERCENT_DBAPI, _BRACES_KEEP
                try:
                    self._literal(value)
                finally:
                    self._percent, self._braces = modes
            else:
                self._chain(flatten(value))
        finally:
            self._depth -= 1
        return True

    def _join(self, elements: list[ast.expr], separator: ast.expr) -> None:
        """``SEP.join([...])``: each literal element lexed (``"...".format(x)`` as a
        template), the separator's own characters between them, the rest holes."""
        if not isinstance(separator, ast.Constant):
            raise LexError("a join separator that is not a literal")
        for index, element in enumerate(elements):
            if index:
                self._literal(separator)
            if is_str(element):
                self._literal(element)
            elif isinstance(element, ast.Call) and isinstance(element.func, ast.Attribute) \
                    and element.func.attr in FORMAT_CALLS and is_str(element.func.value):
                braces, self._braces = self._braces, _BRACES_FORMAT
                self._literal(element.func.value)
                self._braces = braces
            elif not self._substitute_constant(self._constant_of(element)):
                self._placeholder(self.columns.offset(element.lineno, element.col_offset))

    def _glued_before(self) -> bool:
        return bool(self.parts) and is_word_char(self.parts[-1][-1])

    def _constant_of(self, node: ast.expr) -> ast.Constant | None:
        """The str constant a name (scope lookup) or ``self.NAME`` / ``cls.NAME`` /
        ``Class.NAME`` (a class-level constant of this module) holds, if known."""
        if isinstance(node, ast.Name):
            return self.resolve(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return self.attributes.get(node.attr)
        return None

    def resolve(self, name: str) -> ast.Constant | None:
        """The str constant ``name`` holds where the site is, if it holds one."""
        if self.lookup is None:
            return None
        value = self.lookup(name, self.at)
        return value if isinstance(value, ast.Constant) else None

    def _substitute(self, name: str) -> bool:
        """Append the text of the identifier-like constant ``name`` is bound to, if any."""
        return self._substitute_constant(self.resolve(name))

    def _substitute_constant(self, constant: ast.Constant | None) -> bool:
        """Append the text of ``constant`` if it reads as an identifier (its map points
        at the constant's own literal)."""
        if constant is None:
            return False
        value = str_value(constant)
        if not _IDENTIFIER_VALUE.fullmatch(value):
            return False
        sub = Builder(self.text, self.columns, None)
        sub._percent = _PERCENT_KEEP
        try:
            sub._literal(constant)
        except LexError:
            return False
        if "".join(sub.parts) != value:  # the map must spell exactly the value
            return False
        self.parts.extend(sub.parts)
        self.origin.extend(sub.origin)
        self.length += sub.length
        return True

    # -- literals ----------------------------------------------------------------

    def _literal(self, node: StrNode) -> None:
        """Lex every piece of one (possibly implicitly concatenated) literal."""
        text = self.text
        if node.end_lineno is None or node.end_col_offset is None:
            raise LexError("a node without an end position")
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
            raise LexError("no string literal at the node's position")

    def _piece(self, i: int, end: int) -> int:
        """Lex the string token at ``i`` (prefix included); return the index after it."""
        text = self.text
        j = i
        while j < end and text[j] in _PREFIX_CHARS:
            j += 1
        if j >= end or text[j] not in _QUOTES:
            raise LexError("expected a string literal")
        prefix = text[i:j].lower()
        if "b" in prefix:
            raise LexError("bytes piece in a str literal")
        q = text[j]
        triple = text.startswith(q * 3, j)
        closing = q * 3 if triple else q
        raw = "r" in prefix
        braces = _BRACES_TEMPLATE if "t" in prefix else \
            _BRACES_FSTRING if "f" in prefix else self._braces
        i = j + len(closing)
        while True:
            m = _SPECIAL.search(text, i, end)
            if m is None:
                raise LexError("unterminated string literal")
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
            raise LexError("backslash at the end of the literal")
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
                raise LexError("bad hex escape")
            try:
                self._char(chr(int(digits, 16)), s)
            except ValueError:  # beyond U+10FFFF: Python rejects it too
                raise LexError("bad unicode escape") from None
            return s + 2 + length
        if nxt == "N" and text.startswith("{", s + 2):
            close = text.find("}", s + 3, end)
            if close < 0:
                raise LexError("bad \\N escape")
            try:
                self._char(unicodedata.lookup(text[s + 3:close]), s)
            except KeyError:
                raise LexError("unknown \\N name") from None
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
                is_word_char(self.text[after:after + 1]):
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
        bare = expr_end == close  # no conversion, no format spec
        if braces == _BRACES_TEMPLATE:
            spec = _template_spec(text[expr_end:close])
            if spec in _TEMPLATE_VALUE_SPECS and not _BEFORE_A_LIST.search(self._tail()):
                # A parameter, as psycopg sends it: ``$1`` padded to the field's length.
                self._slice_as(f"$1{' ' * (close + 1 - s - 2)}", s)
                return close + 1
            if spec != "i":
                self._placeholder(s)
                return close + 1
            bare = True  # an identifier: substituted like an f-string field
        if bare and not self._glued_before():
            name = text[s + 1:expr_end].strip()
            if not name.isascii():
                name = unicodedata.normalize("NFKC", name)  # as Python reads identifiers
            after = text[close + 1:close + 2]
            next_field = after == "{" and text[close + 2:close + 3] != "{"
            glued_after = is_word_char(after) or next_field
            if (name.isidentifier() and not keyword.iskeyword(name) and not glued_after
                    and self._substitute(name)):
                return close + 1
        self._placeholder(s)
        return close + 1


def _template_spec(tail: str) -> str:
    """The format spec of a t-string field from its ``!conversion:spec`` tail."""
    if tail.startswith("!"):
        tail = tail[2:]
    return tail[1:].strip() if tail.startswith(":") else ""


def _starts_with_word_char(node: ast.expr | None) -> bool:
    """Whether the operand following a substituted name would glue onto it."""
    if isinstance(node, ast.JoinedStr):
        node = node.values[0] if node.values else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(node.value) and is_word_char(node.value[0])
    return isinstance(node, ast.FormattedValue)


