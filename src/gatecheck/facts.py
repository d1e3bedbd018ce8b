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
FORMAT = 15


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


#: How a `TableCandidate` names its relation: a plain table (its columns come
#: from the schema), a template hole, a function in FROM, another schema.
TABLE, HOLE, FUNCTION, OTHER_SCHEMA = range(4)


class TableCandidate(NamedTuple):
    """A relation a column may come from, as the statement names it."""

    name: str
    kind: int = TABLE


#: What a `ColumnRef` asks of the schema: CHECK (the name must be a column of
#: one of ``tables``), PROPOSE (the name is missing whatever the schema:
#: ``message`` and ``obj`` say it) or SKIP (never decided: ``why``).
CHECK, PROPOSE, SKIP = range(3)


class ColumnRef(NamedTuple):
    """One column reference of a statement, resolved as far as no schema is needed.

    sqlglot's scopes say which relations an (un)qualified column may come
    from; whether it is a column of one of them is decided per run against
    the schema (`gatecheck.kinds.references_exist`), so these facts are cached.
    """

    how: int
    name: str  # as written, quotes removed
    span: Span  # the name in the file
    text: str  # how a not-checked listing names it (``t.col``)
    tables: tuple[TableCandidate, ...] = ()
    #: CHECK: the relation(s) a finding names (``a or b``).
    label: str = ""
    #: CHECK: the name is a template hole's (a missing name is not checked, not reported).
    hole: bool = False
    #: CHECK: a relation whose columns are unknown is no reason to list the name.
    quiet: bool = False
    #: PROPOSE: the finding's message and object; SKIP: why.
    message: str = ""
    obj: str = ""


class StatementColumns(NamedTuple):
    """The column facts of one parsed statement (`FragmentFacts.columns`)."""

    span: Span
    refs: tuple[ColumnRef, ...]
    #: (table, columns, is CREATE) a ``CREATE TABLE`` makes or an ``ALTER TABLE`` adds.
    created: tuple[str, frozenset[str], bool] | None = None


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
    #: A clause kept apart (``"LEFT JOIN t ON t.id = s.id"``), read inside a
    #: statement made for it (`Fragment.prefix`): its columns belong to tables
    #: of other pieces.
    clause: bool = False
    #: The connection or cursor it is executed on (`Fragment.receiver`).
    receiver: str | None = None
    #: Every statement's text (`StatementText`), in order.
    texts: list[StatementText] = field(default_factory=list)
    #: Column facts of every parsed statement, when asked for (`Settings.columns`);
    #: None: not computed.
    columns: list[StatementColumns] | None = None
    #: The source fragment, kept with the trees so that positions inside a
    #: tree (which are in the fragment's SQL) can be mapped to the file.
    fragment: Fragment | None = None

    # Pickled (the cache, worker processes), the fields few rules read travel as
    # one nested pickle, unpickled on first access: a warm run of rules that read
    # only ``tables`` and ``errors`` never builds the statements' objects.
    def __reduce__(self) -> tuple[Any, ...]:
        state = self.__dict__
        lazy = state.get("_lazy")
        if lazy is None:
            import pickle

            lazy = pickle.dumps(tuple(state[name] for name in _LAZY_FIELDS),
                                protocol=pickle.HIGHEST_PROTOCOL)
        eager = {k: v for k, v in state.items() if k not in _LAZY_FIELDS and k != "_lazy"}
        return (_restore, (eager, lazy))

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute not set: a lazy field of a restored instance.
        state = self.__dict__
        lazy = state.get("_lazy")
        if lazy is None or name not in _LAZY_FIELDS:
            raise AttributeError(name)
        import pickle

        state.update(zip(_LAZY_FIELDS, pickle.loads(lazy)))
        del state["_lazy"]
        return state[name]

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


def located(facts: FragmentFacts, fragment: Fragment) -> FragmentFacts:
    """``facts`` with every span in the file (``facts`` has them in ``fragment``'s SQL:
    `gatecheck.sqlfacts.analyse_in_place`); new objects, ``facts`` is left as it is, so
    the facts of one text serve every fragment of that text."""
    to_file = fragment.file_span
    out = FragmentFacts(
        fragment.path, is_sql=facts.is_sql, piece=fragment.piece, clause=fragment.prefix > 0,
        receiver=fragment.receiver, fragment=facts.fragment,
        tables=[t._replace(span=to_file(t.span)) for t in facts.tables],
        errors=[ParseProblem(e.message, to_file(e.span)) for e in facts.errors],
        not_checked=[ParseProblem(e.message, to_file(e.span)) for e in facts.not_checked],
        texts=[t._replace(span=to_file(t.span)) for t in facts.texts],
        statements=[Statement(s.kind, to_file(s.span), to_file(s.first_token), s.tree)
                    for s in facts.statements])
    if facts.columns is not None:
        out.columns = [StatementColumns(
            to_file(c.span), tuple(r._replace(span=to_file(r.span)) for r in c.refs), c.created)
            for c in facts.columns]
    return out


#: `FragmentFacts` fields unpickled on first access.
_LAZY_FIELDS = ("statements", "texts", "columns", "fragment")
# A field with a plain default is also a class attribute, which would answer
# for a lazy field before ``__getattr__`` is asked: the defaults live on in
# ``__init__`` (and `dataclasses.fields`) only.
for _name in _LAZY_FIELDS:
    if _name in vars(FragmentFacts):
        delattr(FragmentFacts, _name)


def _restore(eager: dict[str, Any], lazy: bytes) -> FragmentFacts:
    facts = FragmentFacts.__new__(FragmentFacts)
    facts.__dict__.update(eager)
    facts.__dict__["_lazy"] = lazy
    return facts


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
