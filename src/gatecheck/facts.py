"""What gatecheck keeps of a parsed SQL fragment: small, picklable, sqlglot-free.

Named tuples and plain (slot-less) dataclasses on purpose: they unpickle
several times faster than frozen or slotted dataclasses, and a warm run is
mostly unpickling.

`gatecheck.sqlfacts` produces these (it imports sqlglot); the cache stores
them and worker processes send them back, so a warm run reads them without
importing sqlglot at all.  Every span here is in the *file's* coordinates
(0-based, half-open character offsets into the decoded text).  Parse trees
are kept only for rules that need them, in the process that parsed them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gatecheck.extract import Fragment
from gatecheck.positions import Span


#: Bumped whenever what these classes hold, or how sqlfacts fills them, changes:
#: cached facts of an earlier format are never reused.
FORMAT = 9


class TableRef(NamedTuple):
    """A table (or view) named where SQL reads or writes a relation."""

    name: str  # as written, quotes removed
    schema: str | None
    quoted: bool
    span: Span  # the name token itself, quotes included
    dynamic: bool = False  # the name comes from an f-string/format placeholder
    #: "use" (read or written), "define" (the name a CREATE or RENAME TO
    #: introduces) or "drop-if-exists" (fine when absent).
    role: str = "use"


@dataclass
class Statement:
    kind: str  # "select", "insert", "create-table", "pragma-table-info", ...
    span: Span
    #: The statement's first token (its leading keyword), for pinpoint reports.
    first_token: Span
    #: The sqlglot tree, kept only when a rule needs it (never cached).
    tree: Any = None


class StatementText(NamedTuple):
    """The text of one statement as the parser saw it, for the engine to judge later.

    Kept for every statement, parsed by sqlglot or not, so that rules that
    need the schema (`references-exist`) can ask the engine about a name
    sqlglot proposed, from cached facts.
    """

    span: Span  # the statement in the file
    sql: str  # the text handed to the parser (placeholders neutralised)


class ParseProblem(NamedTuple):
    message: str
    span: Span


@dataclass
class FragmentFacts:
    path: str
    #: Whether the candidate is SQL at all: a ``.sql`` file or a string passed
    #: to ``execute`` is SQL by position; a bare string literal is SQL when it
    #: parses, or when it fails to parse but reads like a statement.
    is_sql: bool
    statements: list[Statement] = field(default_factory=list)
    tables: list[TableRef] = field(default_factory=list)
    errors: list[ParseProblem] = field(default_factory=list)
    #: Statements no verdict was given on, and why (a template whose holes
    #: stand for clauses: the text with its holes is not the statement that runs).
    not_checked: list[ParseProblem] = field(default_factory=list)
    #: A piece of a statement assembled at run time (`Fragment.piece`): a CTE
    #: or table it names may be defined by another piece.
    piece: bool = False
    #: Every statement's text (`StatementText`), in order.
    texts: list[StatementText] = field(default_factory=list)
    #: The source fragment, kept with the trees so that positions inside a
    #: tree (which are in the fragment's SQL) can be mapped to the file.
    fragment: Fragment | None = None

    def file_span(self, sql_span: Span) -> Span:
        """Map a span in the fragment's SQL (from a tree) to the file."""
        if self.fragment is None:
            raise ValueError("fragment not kept: analyse with keep_trees=True")
        return self.fragment.file_span(sql_span)

    def text_at(self, span: Span) -> StatementText | None:
        """The innermost statement whose file span holds ``span`` (a trigger's body
        statement rather than the whole trigger)."""
        inside = [t for t in self.texts if t.span.start <= span.start and span.end <= t.span.end]
        return min(inside, key=lambda t: t.span.end - t.span.start, default=None)


# Identifier rules of the dialects, here rather than in sqlfacts so that rules
# applying them to cached facts never import sqlglot.
_DEFAULT_SCHEMAS = {"sqlite": {"main"}, "postgres": {"public"}}


def table_key(ref: TableRef, dialect: str) -> str:
    """The name a table reference compares by, as the dialect folds identifiers."""
    if dialect == "postgres" and ref.quoted:
        return ref.name
    return ref.name.casefold() if dialect != "postgres" else ref.name.lower()


def default_schemas(dialect: str) -> set[str]:
    """Schemas an unqualified name resolves to (``main``; ``public``)."""
    return _DEFAULT_SCHEMAS.get(dialect, set())
