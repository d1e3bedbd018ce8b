"""Reading Python source: the prefilter, the parse, and ``ast`` positions as text offsets.

`might_contain_sql` rejects most files with substring searches before
anything is parsed; `parse` builds the ``ast`` (a file the running
interpreter cannot parse is read by `gatecheck.extract.python_tolerant`
instead, and its syntax problems become a note); `Columns` converts the
``ast``'s positions (1-based line, UTF-8 byte column) to offsets in the
decoded text, which is what every span of gatecheck counts.
"""

from __future__ import annotations

import ast
import gc
import re
import warnings
from typing import Final

from gatecheck.errors import SourceError
from gatecheck.extract.python_sinks import SQL_KEYWORDS
from gatecheck.positions import LineIndex

__all__ = ["Columns", "might_contain_sql", "parse"]

# Statement keywords, and the words a clause kept apart starts with (``"LEFT
# JOIN t ..."``, ``"WHERE ..."``); FROM, AND and OR start too much prose to
# be worth the parse (such pieces sit in files that name a sink anyway).
_KEYWORDS = "|".join((*SQL_KEYWORDS, "JOIN", "LEFT", "RIGHT", "INNER", "CROSS", "FULL",
                      "NATURAL", "WHERE"))

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


def parse(path: str, text: str, bom: int, notes: list[str] | None = None) -> ast.Module:
    """The module ``text`` holds (``bom``: the length of its byte-order mark).

    What the running interpreter cannot parse (newer or older Python, a
    syntax error) is read with tree-sitter (`gatecheck.extract.python_tolerant`):
    the strings it finds are checked as usual, and the first syntax problem,
    if any, is appended to ``notes`` as ``path:line:col: message`` -- a
    warning, never an error.  Raises `SourceError` only for what is no text
    at all: a NUL byte, a lone surrogate.
    """
    nul = text.find("\0")
    if nul >= 0:
        # Python 3.11 reports this without a position; say where it is.
        nul_line, nul_column = LineIndex(text).line_col(nul)
        raise SourceError("Python source contains a NUL byte", path=path,
                          line=nul_line, column=nul_column)
    failure: SyntaxError | None = None
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
        failure = exc
    except (RecursionError, MemoryError):
        failure = SyntaxError("nested too deeply to parse")
    except ValueError as exc:  # e.g. lone surrogates (UnicodeEncodeError)
        raise SourceError(f"cannot parse Python source: {exc}", path=path) from exc
    assert failure is not None  # every other way out of the try returns or raises
    return _read_tolerantly(path, text, bom, failure, notes)


#: How a note on a file read with the tolerant parser ends.
TOLERANT_NOTE: Final = ("read with the tolerant parser; "
                        "strings outside the error are still checked")


def _read_tolerantly(path: str, text: str, bom: int, failure: SyntaxError,
                     notes: list[str] | None) -> ast.Module:
    """Read with tree-sitter what ``ast.parse`` refused with ``failure``."""
    columns = Columns(text, bom)
    try:
        from gatecheck.extract.python_tolerant import read

        tree, problems = read(text, bom)
    except ImportError:
        # tree-sitter is a dependency; a platform without its wheels still
        # gets every other file checked, and this one named.
        _note(notes, path, failure.lineno, _column(failure, bom),
              f"Python syntax error: {failure.msg}; not checked: the tolerant parser "
              "(tree-sitter-python) is not installed")
        return ast.Module(body=[], type_ignores=[])
    except (RecursionError, MemoryError):
        _note(notes, path, failure.lineno, _column(failure, bom),
              f"Python syntax error: {failure.msg}; not checked: too large or nested too "
              "deeply for the tolerant parser too")
        return ast.Module(body=[], type_ignores=[])
    if problems:
        first = problems[0]
        line, column = LineIndex(text).line_col(columns.offset(first.line, first.column))
        message = first.message
        if failure.lineno == first.line and failure.msg and \
                not message.startswith("Python 2"):
            # CPython says it better when it stopped at the same place
            # ("'(' was never closed" rather than tree-sitter's "invalid syntax").
            message = failure.msg
            column = _column(failure, bom) or column
        more = f"; {len(problems) - 1} more after it" if len(problems) > 1 else ""
        _note(notes, path, line, column, f"Python syntax error: {message}{more} ({TOLERANT_NOTE})")
    return tree


def _column(failure: SyntaxError, bom: int) -> int | None:
    column: int | None = failure.offset or None
    if bom and failure.lineno == 1 and column is not None:
        column += bom
    return column


def _note(notes: list[str] | None, path: str, line: int | None, column: int | None,
          message: str) -> None:
    if notes is not None:
        notes.append(str(SourceError(message, path=path, line=line, column=column)))


class Columns:
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


