"""Position math: offsets in a file's text <-> 1-based line/column.

Everything inside gatecheck works on 0-based, half-open character offsets
into the decoded text of a file (`Span`).  Only reporters see 1-based
line/column pairs, and they get them from `LineIndex`.  Columns count
characters (code points), so a table name after a non-ASCII character in
the same line still gets the column an editor shows.

Line breaks are ``\\n``, ``\\r\\n`` and a lone ``\\r``, as Python's
``str.splitlines`` and editors treat them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, Sequence

if TYPE_CHECKING:
    from array import array

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class Span(NamedTuple):
    """A 0-based, half-open range ``[start, end)`` of character offsets.

    A named tuple rather than a dataclass: millions are pickled into the
    cache and back, and tuples do that several times faster.
    """

    start: int
    end: int


@dataclass(frozen=True)
class Position:
    """1-based line and column of a span's start, and 1-based inclusive end."""

    line: int
    column: int
    end_line: int
    end_column: int


class LineIndex:
    """Maps character offsets of one text to 1-based (line, column)."""

    __slots__ = ("_starts", "_length")

    _starts: "Sequence[int]"

    @classmethod
    def from_starts(cls, starts: "Sequence[int]", length: int) -> "LineIndex":
        """Rebuild from `starts` (cached with a file's facts) without the text."""
        index = cls.__new__(cls)
        index._starts = starts  # an array from the cache: bisect works on it as is
        index._length = length
        return index

    @property
    def starts(self) -> "array[int]":
        """The line starts, compact, for caching."""
        from array import array

        # 4 bytes a line: the cache holds the line starts of every file with SQL.
        return array("I", self._starts)

    def __init__(self, text: str) -> None:
        if "\r" in text:
            self._starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        else:  # the common case, several times faster than the regex
            self._starts = [0, *itertools.accumulate(len(line) + 1
                                                     for line in text.split("\n")[:-1])]
        self._length = len(text)

    def __reduce__(self) -> tuple[object, ...]:
        return (LineIndex.from_starts, (self.starts, self._length))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of the character at ``offset``."""
        offset = max(0, min(offset, self._length))
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1

    def position(self, span: Span) -> Position:
        """The span's first character and its last character (inclusive)."""
        line, column = self.line_col(span.start)
        end_line, end_column = self.line_col(max(span.start, span.end - 1))
        return Position(line, column, end_line, end_column)

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        """Offset of the first character of 1-based ``line``."""
        return self._starts[line - 1]
