"""Extractors turn source files into SQL `Fragment`s with exact positions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from gatecheck.positions import Span

#: The identifier a template placeholder becomes in ``Fragment.sql``.
NEUTRAL = re.compile(r"__gc\d+__")


def neutral_name(n: int) -> str:
    """The neutral identifier of a fragment's ``n``-th placeholder (matches `NEUTRAL`)."""
    return f"__gc{n}__"


@dataclass(frozen=True)
class Fragment:
    """One piece of SQL found in a source file.

    ``sql`` is the text handed to the SQL parser.  ``origin`` maps each of its
    characters to an offset in the file's decoded text: either one entry per
    character (Python strings, whose escapes, concatenation and neutralised
    placeholders break the 1:1 correspondence), or ``None`` when the SQL is a
    verbatim slice of the file starting at ``base`` (``.sql`` files).
    """

    path: str
    sql: str
    base: int = 0
    origin: Sequence[int] | None = None
    #: True when the text is SQL by where it sits (a ``.sql`` file, an argument
    #: of ``execute``/``executescript``/``text``/``read_sql``); False when only
    #: its content suggests SQL (a bare string literal).
    sink: bool = False
    #: Character ranges of ``sql`` that are neutralised placeholders of
    #: f-strings, ``.format`` and ``%`` templates (their text is synthetic).
    placeholders: tuple[Span, ...] = field(default=())
    #: A piece of a statement assembled at run time (an element of a list of
    #: parts, an ``append``/``extend``/``join`` argument), not a whole one.
    piece: bool = False
    #: The connection or cursor the SQL is executed on (``old_db`` of
    #: ``old_db.execute(...)``), which may say which database it runs against.
    receiver: str | None = None
    #: Characters at the start of ``sql`` that are not the source's: the
    #: statement text a clause piece is read after (``SELECT * FROM t `` before
    #: ``"LEFT JOIN ..."``).  Nothing found there is reported.
    prefix: int = 0

    def file_offset(self, index: int) -> int:
        """File offset of the SQL character at ``index``."""
        if self.origin is None:
            # Clamped like an origin map: an error "at the end of the statement"
            # points at the last character, not one past the end of the file.
            return self.base + max(0, min(index, len(self.sql) - 1))
        if not self.origin:
            return self.base
        return self.origin[max(0, min(index, len(self.origin) - 1))]

    def file_span(self, span: Span) -> Span:
        """The file span covering SQL characters ``[span.start, span.end)``."""
        if span.end <= span.start:
            start = self.file_offset(span.start)
            return Span(start, start + 1)
        start = self.file_offset(span.start)
        end = self.file_offset(span.end - 1) + 1
        return Span(start, max(end, start + 1))
