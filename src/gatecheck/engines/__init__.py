"""What the database engines themselves decide, asked by every kind that needs a verdict.

sqlglot finds and locates names; the engine decides.  A "does not parse"
verdict is the one SQLite's own compiler (stdlib ``sqlite3``,
`gatecheck.engines.sqlite`) or PostgreSQL's own grammar (pglast, that is
libpg_query) gives.  For other dialects there is no engine here and sqlglot's
verdict stands.
"""

from __future__ import annotations

from typing import NamedTuple


class Rejected(NamedTuple):
    """The engine's grammar rejects the text."""

    message: str
    #: Offset in the text where the engine stopped, when it says.
    offset: int | None = None
    #: The token the engine names ("near ..."), when it gives no offset.
    near: str | None = None


class _Verdict:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The engine's grammar accepts the text.
ACCEPTED = _Verdict("ACCEPTED")
#: No engine decides for this dialect.
NO_ENGINE = _Verdict("NO_ENGINE")


def as_values(text: str) -> str:
    """``text`` with each template hole (a neutral name, `gatecheck.extract.NEUTRAL`)
    as the value ``(NULL)``, padded: every offset kept.  For the engines' name
    verdicts, when a hole stands where a name cannot (``VALUES {rows}``)."""
    from gatecheck.extract import NEUTRAL

    return NEUTRAL.sub(lambda m: "(NULL)".ljust(len(m.group(0))), text)


def syntax(dialect: str, text: str) -> Rejected | _Verdict:
    """The engine's verdict on the syntax of one statement in ``dialect``."""
    if dialect == "sqlite":
        from gatecheck.engines.sqlite import syntax_error

        found = syntax_error(text)
        return ACCEPTED if found is None else Rejected(found.message, near=found.near)
    if dialect == "postgres":
        from gatecheck.engines.postgres import syntax as postgres_syntax

        return postgres_syntax(text)
    return NO_ENGINE
