"""Every table (and column) that source SQL references must exist.

**What it does**
Checks each table named by SQL in the sources against the schema (the live
database, or migrations replayed into a scratch one).  With
``columns: true`` it also checks every column reference that resolves to
exactly one table: qualified ``t.col`` (through aliases), columns of a
single-table statement, ``INSERT INTO t (cols)``, ``UPDATE t SET col``, and
outputs of CTEs and subqueries (``r.x`` where ``r`` is a CTE without ``*``).
Resolution uses sqlglot's scope machinery; the engine has the last word.
On SQLite each statement sqlglot finds a missing name in is compiled by
SQLite itself (``EXPLAIN``, never run) against a schema-only copy of the
database, and only a name SQLite also calls missing ("no such table",
"no such column") is reported, at the name in the file.  So ``rowid``, a
FTS5 table's name in ``MATCH``, ``sqlite_master``, ``x IN table`` and
application-defined functions are never findings.  On PostgreSQL the
statement is parsed by PostgreSQL's own grammar (pglast) and its names are
resolved with the server's rules, no server needed: whole-row references
(``SELECT p FROM participants p``, ``count(b)``, ``RETURNING t``),
``pg_catalog`` and ``information_schema``, functions in ``FROM``
(``json_array_elements(x) AS e``), ``excluded`` in ``ON CONFLICT``, output
names in ``ORDER BY``/``GROUP BY``, the configured schemas as search path,
system columns (``ctid``, ``xmin``).

With ``server_check: true`` and a PostgreSQL server (a live database, or
migrations replayed on a scratch server), the server itself analyses each
statement that this leaves open -- one with a name called missing, or one
whose names cannot all be decided here (a function's result columns, a
field of a composite type ``(p).field``, ``MERGE``): it is sent as
``PREPARE`` inside a ``READ ONLY`` transaction with a time limit, then
``DEALLOCATE``, then ``ROLLBACK``, as sqlc's vet does.  Nothing is
executed.  The server's ``undefined_table``/``undefined_column`` is a
finding at the name it points at; a statement it analyses has no finding
and nothing left unchecked; any other refusal (an unknown function, a
parameter whose type it cannot infer, a syntax error) leaves the static
verdicts standing.  Statements that are not SELECT, INSERT, UPDATE,
DELETE or MERGE, and statements that call a function with side effects
(``nextval``, ``pg_notify`` ...), are never sent.

Tables created in the same file (``CREATE [TEMP] TABLE``, ``CREATE TABLE
... AS SELECT``, ``CREATE VIRTUAL TABLE``, ``ALTER TABLE ... RENAME TO``)
are known, with the columns their ``CREATE`` lists; a file that creates a
table the database already has checks against both.  What cannot be
resolved is never guessed: tables named through a template hole, another
attached schema, table-valued functions, columns that may come from a
source whose columns are unknown.  They are no findings; the summary
counts them and ``--verbose`` lists each with its place and why.

**Why it matters**
Code that queries a table or column the database no longer has fails only
when that path runs.  After a merge or a column rename this is the most
common regression, and no unit test that mocks the database sees it.

**Example**
```yaml
rules:
  - id: code-matches-schema
    kind: references-exist
    columns: true
    exclude: ["**/migrations/**"]
```
fails on ``SELECT titel FROM tasks`` when ``tasks`` has ``title``, at ``titel``.

**Fix**
Correct the name, or add the missing table/column in a migration.

**Options**
- ``columns``: also check column references (default false).
- ``server_check``: let the PostgreSQL server analyse the statements that
  the static resolution leaves open (default false).  Each costs a few
  round trips, once per distinct statement; the connecting role must pass
  the data rules' role check (a SELECT-only role; a superuser only with
  ``--allow-privileged-role``).  On SQLite there is no server and the
  option changes nothing: SQLite's own compiler already decides every
  name it is asked about, so one rules file may serve a SQLite test
  database and a PostgreSQL server.
- ``paths`` / ``exclude`` (every source rule): which files the rule sees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, NamedTuple, cast

from gatecheck.kinds import COLUMNS, FRAGMENTS, SCHEMA, SOURCES, Context, Emit

if TYPE_CHECKING:
    from gatecheck.engines.postgres import Analyser, Analysis, NameResolver
    from gatecheck.engines.postgres import Missing as PostgresMissing
    from gatecheck.engines.sqlite import Missing, NameOracle

    from gatecheck.model import Schema
    from gatecheck.positions import Span
    from gatecheck.facts import ColumnRef, FragmentFacts, StatementColumns, StatementText
    from gatecheck.verdicts import VerdictCache

KIND = "references-exist"
NEEDS = frozenset({SOURCES, SCHEMA})


@dataclass(frozen=True)
class Options:
    columns: bool = False
    server_check: bool = False


def needs(options: Options) -> frozenset[str]:
    """Columns are resolved from the column facts of each statement (cached like
    every source fact); the server's findings are located through the fragment."""
    out = NEEDS | {COLUMNS} if options.columns else NEEDS
    return out | {FRAGMENTS} if options.server_check else out


class _Proposal(NamedTuple):
    """A name sqlglot's resolution says is missing, before the engine's verdict."""

    message: str
    obj: str
    path: str
    span: "Span"
    #: "table" or "column", and the name casefolded.
    what: str
    name: str
    #: For a column: the real tables it was expected in (casefolded).
    owners: frozenset[str] = frozenset()


def check(ctx: Context, options: Options, emit: Emit) -> None:
    from gatecheck.facts import default_schemas
    from gatecheck.suggest import for_reference

    schema = ctx.schema
    local_schemas = {s.casefold() for s in schema.schemas or default_schemas(ctx.dialect)} | \
        {"temp"}
    relations = {n.casefold(): n for n in schema.relation_names()}
    defined = _defined_per_file(ctx.sources)
    judge = _Judge.for_context(ctx, server_check=options.server_check)
    suggestions: dict[tuple[str, str, tuple[str, ...]], dict[str, Any]] = {}
    verdicts = ctx.verdicts

    def suggest(proposal: _Proposal) -> dict[str, Any]:
        """The "did you mean" of a finding: once per name, and kept with the verdicts
        (difflib over every name of the schema is most of a warm run's time)."""
        key = (proposal.what, proposal.obj, tuple(sorted(proposal.owners)))
        found = suggestions.get(key)
        if found is None:
            from gatecheck.verdicts import MISSING

            cache_key = verdicts.key(schema, "suggest", *key) if verdicts is not None else b""
            kept = verdicts.get(cache_key) if verdicts is not None else MISSING
            if isinstance(kept, dict):
                found = kept
            else:
                found = for_reference(schema, *key)
                if verdicts is not None:
                    verdicts.put(cache_key, found)
            suggestions[key] = found
        return found
    for facts in ctx.sources:
        if not facts.is_sql:
            continue
        made = defined[facts.path]
        # With the server's analysis, what the static checks leave unchecked in a
        # statement the server then analyses whole is decided after all.
        held = _Held(ctx) if judge.server is not None else None
        if judge.server is not None:
            judge.server.validated.clear()
        local = cast(Context, held) if held is not None else ctx
        known = set(made)
        proposals: list[_Proposal] = []
        for ref in facts.tables:
            if ref.role != "use":
                continue
            if ref.dynamic:
                local.not_checked(facts.path, ref.span, ref.name, "table name from a template hole")
                continue
            if ref.schema and ref.schema.casefold() not in local_schemas:
                local.not_checked(facts.path, ref.span, f"{ref.schema}.{ref.name}",
                                f"another schema or database ({ref.schema})")
                continue
            name = ref.name.casefold()
            qualified = f"{ref.schema}.{ref.name}" if ref.schema is not None else ref.name
            if name not in relations and name not in known and \
                    schema.table(qualified) is None and schema.view(qualified) is None:
                if facts.piece:
                    local.not_checked(facts.path, ref.span, ref.name,
                                    "a piece of a statement assembled at run time (another "
                                    "piece may define it, as a CTE)")
                    continue
                proposals.append(_Proposal(
                    f"table {ref.name} does not exist in {ctx.database_label}",
                    ref.name, facts.path, ref.span, "table", name))
        if options.columns and facts.clause:
            # A clause kept apart (``"LEFT JOIN t ON t.id = s.id"``) names
            # columns of tables in other pieces: they are checked where the
            # code's pieces are assembled, not here.
            ctx.count("pieces of statements assembled at run time (columns checked where "
                      "assembled)")
        elif options.columns:
            for statement in facts.columns or ():
                _check_columns(local, schema, made, facts, statement, proposals.append)
        if proposals or judge.server is not None:
            for name in judge.created(facts.path, ctx.sources) - known:
                made[name] = None
        for proposal in judge.confirmed(facts, proposals, made):
            emit(proposal.message, obj=proposal.obj, path=proposal.path, span=proposal.span,
                 extra=suggest(proposal))
        if held is not None:
            held.release(judge.server.validated if judge.server is not None else ())


class _Held:
    """A rule context whose not-checked entries wait for the server's analysis:
    those inside a statement the server analysed whole are dropped."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._entries: list[tuple[str, "Span", str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def not_checked(self, path: str, span: "Span", name: str, why: str) -> None:
        self._entries.append((path, span, name, why))

    def release(self, validated: "Iterable[Span]") -> None:
        spans = list(validated)
        for path, span, name, why in self._entries:
            if not any(v.start <= span.start and span.end <= v.end for v in spans):
                self._ctx.not_checked(path, span, name, why)
        self._entries.clear()


class _Judge:
    """The engine's verdict on sqlglot's proposals: only names it says are missing stay.

    SQLite compiles each statement that has a proposal against a schema-only
    copy of the database (`gatecheck.engines.sqlite.NameOracle`); PostgreSQL
    resolves its names with the server's rules on PostgreSQL's own parse tree
    (`gatecheck.engines.postgres.NameResolver`).  A proposal the engine
    resolves is dropped (counted "resolved by the engine"); one it could not
    decide (it stopped at something that is not a missing name, or the name
    may belong to a source whose columns are unknown) is dropped too (counted
    "not checked").  Without an engine for the dialect sqlglot's resolution
    stands.
    """

    def __init__(self, ctx: Context, oracle: "_LazyOracle | None",
                 server: "_Server | None" = None) -> None:
        self.ctx = ctx
        self.oracle = oracle
        #: The server's analysis (``server_check`` on a PostgreSQL server), or None.
        self.server = server
        self._created: dict[str, set[str]] = {}
        self._creates: dict[str, list[str]] | None = None

    @classmethod
    def for_context(cls, ctx: Context, *, server_check: bool = False) -> "_Judge":
        engine = ctx.schema.dialect
        if ctx.dialect != engine or engine not in ("sqlite", "postgres"):
            return cls(ctx, None)
        server = None
        if server_check:
            from gatecheck.engines.postgres import Analyser

            database = ctx.data
            if engine == "postgres" and isinstance(database, Analyser):
                server = _Server(database)
            else:
                ctx.count("server_check: no server (SQLite compiles each statement itself)")
        return cls(ctx, _LazyOracle(ctx.schema, ctx.verdicts), server)

    def created(self, path: str, sources: list["FragmentFacts"]) -> set[str]:
        """Tables the CREATE statements of file ``path`` make (its CREATE and ALTER
        texts are kept for the engine's probes), by the engine's account
        (sqlglot misses those it cannot parse); computed once per file."""
        if self.oracle is None:
            return set()
        if self._creates is None:  # once: each file's CREATE statements
            self._creates = defaultdict(list)
            for facts in sources:
                self._creates[facts.path].extend(
                    t.sql for t in facts.texts
                    if t.sql.lstrip()[:6].upper() in ("CREATE", "ALTER "))
        if path not in self._created:
            oracle = self.oracle
            self._created[path] = {name for sql in self._creates.get(path, ())
                                   for name in oracle.created(sql)}
        return self._created[path]

    def confirmed(self, facts: "FragmentFacts", proposals: list[_Proposal],
                  defined: "Made") -> Iterator[_Proposal]:
        if self.oracle is None:
            yield from proposals
            return
        by_text: dict[StatementText | None, list[_Proposal]] = defaultdict(list)
        for proposal in proposals:
            by_text[facts.text_at(proposal.span)].append(proposal)
        if self.server is not None and not facts.piece:
            for statement_text in facts.texts:  # the server may see what sqlglot did not
                by_text.setdefault(statement_text, [])
        for text, group in by_text.items():
            if text is None:  # no statement text (cannot happen for parsed SQL)
                yield from group
                continue
            owners: dict[str, set[str]] = defaultdict(set)
            for p in group:
                if p.what == "column":
                    owners[p.name] |= p.owners
            missing = self.oracle.missing(
                text.sql, defined=defined, columns_of=dict(owners),
                creates=(self._creates or {}).get(facts.path, ()))
            decided = [self._decide(p, missing, self.ctx.database_label) for p in group]
            if self.server is not None and not facts.piece and \
                    (group or not missing.complete or missing.tables or missing.columns):
                # Only a statement the static resolution leaves open is sent: one with
                # a name it calls missing, or one it could not decide whole.
                decided = self.server.judge(self.ctx, facts, text, decided, defined)
            for p, decision in decided:
                if decision == "finding":
                    yield p
                elif decision == "resolved":
                    self.ctx.count(f"{p.what}s resolved by the engine")
                elif decision == "server":
                    self.ctx.count(f"{p.what}s resolved by the server")
                else:
                    self.ctx.not_checked(p.path, p.span, p.obj,
                                         "the engine could not decide (it stopped at something "
                                         "else, or a source's columns are unknown)")

    @staticmethod
    def _decide(p: _Proposal, missing: "Missing | PostgresMissing",
                label: str) -> "tuple[_Proposal, str]":
        """The static verdict on one proposal: "finding", "resolved" or "undecided"."""
        if p.what == "column" and p.name in missing.tables and p.name not in missing.columns:
            # ``x IN name`` reads a table, which sqlglot took for a column.
            name = p.obj.rsplit(".", 1)[-1]
            return p._replace(message=f"table {name} does not exist in {label}",
                              obj=name, what="table"), "finding"
        if p.name in (missing.tables if p.what == "table" else missing.columns):
            return p, "finding"
        return p, "resolved" if missing.complete else "undecided"


class _Server:
    """The server's analysis of statements (``server_check``): ``PREPARE`` in a
    read-only transaction, then ``DEALLOCATE`` (`PostgresDatabase.analyse`),
    asked once per distinct statement; PostgreSQL's verdict on the answer is
    `gatecheck.engines.postgres.server_verdict`."""

    def __init__(self, database: "Analyser") -> None:
        self.database = database
        self._answers: dict[str, "Analysis"] = {}
        #: Statements (file spans) the server analysed whole, and the names it
        #: said are missing, in the current file.
        self.validated: list["Span"] = []

    def judge(self, ctx: Context, facts: "FragmentFacts", text: "StatementText",
              decided: "list[tuple[_Proposal, str]]", defined: "Made"
              ) -> "list[tuple[_Proposal, str]]":
        """The static decisions on one statement's proposals, as the server's analysis
        amends them: it analysed the statement (every proposal is resolved), or it
        names the first missing name (a finding, proposed or not), or it stopped at
        something else (the static decisions stand)."""
        from gatecheck.engines.postgres import for_server, server_verdict

        prepared = for_server(text.sql)
        if isinstance(prepared, str):
            # DDL and utility statements, unparseable text, side effects: the
            # static decisions stand (each undecided proposal is listed already).
            ctx.count("statements not sent to the server")
            return decided
        analysis = self._answers.get(prepared.text)
        if analysis is None:
            analysis = self._answers[prepared.text] = self.database.analyse(prepared.text)
            ctx.count("statements analysed by the server")
        verdict = server_verdict(prepared, analysis, defined)
        if verdict.outcome == "valid":
            self.validated.append(text.span)
            return [(p, "server") for p, _ in decided]
        if verdict.outcome == "undecided" or verdict.span is None:
            if all(d == "resolved" for _, d in decided):
                ctx.not_checked(facts.path, text.span, "",
                                f"the server's analysis: {verdict.reason}")
            return decided
        span = _file_span(facts, text, verdict.span)
        if span is None:
            return decided
        self.validated.append(span)  # the name itself is decided: a finding
        out = []
        matched = False
        for p, decision in decided:
            if p.span.start < span.end and span.start < p.span.end:
                matched = True
                decision = "finding"
            out.append((p, decision))
        if not matched:
            message = f"table {verdict.name} does not exist in {ctx.database_label}" \
                if verdict.what == "table" else \
                f"column {verdict.name} does not exist (PostgreSQL's analysis of the statement)"
            out.append((_Proposal(message, verdict.name, facts.path, span, verdict.what,
                                  verdict.name.casefold()), "finding"))
        return out


def _file_span(facts: "FragmentFacts", text: "StatementText",
               within: tuple[int, int]) -> "Span | None":
    """The file span of ``within`` (offsets in the statement's text)."""
    from gatecheck.positions import Span

    fragment = facts.fragment
    if fragment is None:
        return None
    at = fragment.sql.find(text.sql)
    while at != -1:
        if fragment.file_span(Span(at, at + len(text.sql))) == text.span:
            return fragment.file_span(Span(at + within[0], at + within[1]))
        at = fragment.sql.find(text.sql, at + 1)
    return None


class _LazyOracle:
    """The engine's name verdicts, set up on the first statement that needs them:
    SQLite's schema copy, or PostgreSQL's name resolution on pglast's tree.

    Verdicts are kept between runs (``verdicts``, `gatecheck.verdicts`) under
    the statement's text, what the file defines and creates, the names
    proposed and the schema's fingerprint: a warm run asks the engine only
    about what it has not answered before."""

    def __init__(self, schema: "Schema", verdicts: "VerdictCache | None" = None) -> None:
        self.schema = schema
        self.verdicts = verdicts
        self._oracle: "NameOracle | NameResolver | None" = None

    def created(self, sql: str) -> frozenset[str]:
        key = self.verdicts.key(self.schema, "created", sql) if self.verdicts else b""
        if self.verdicts is not None:
            from gatecheck.verdicts import MISSING

            known = self.verdicts.get(key)
            if known is not MISSING:
                return known  # type: ignore[no-any-return]
        made = self.get().created(sql)
        if self.verdicts is not None:
            self.verdicts.put(key, made)
        return made

    def missing(self, sql: str, *, defined: "Made", columns_of: dict[str, set[str]],
                creates: "Iterable[str]") -> "Missing | PostgresMissing":
        creates = tuple(creates)
        key = b""
        if self.verdicts is not None:
            from gatecheck.verdicts import MISSING

            key = self.verdicts.key(
                self.schema, "missing", sql,
                sorted((k, sorted(v) if v is not None else None) for k, v in defined.items()),
                sorted((k, sorted(v)) for k, v in columns_of.items()), creates)
            known = self.verdicts.get(key)
            if known is not MISSING:
                return known  # type: ignore[no-any-return]
        verdict = self.get().missing(sql, defined=defined, columns_of=columns_of,
                                     creates=creates)
        if self.verdicts is not None:
            self.verdicts.put(key, verdict)
        return verdict

    def get(self) -> "NameOracle | NameResolver":
        if self._oracle is None:
            if self.schema.dialect == "postgres":
                from gatecheck.engines.postgres import NameResolver

                self._oracle = NameResolver(self.schema)
            else:
                from gatecheck.engines.sqlite import NameOracle

                self._oracle = NameOracle(self.schema)
        return self._oracle


#: Tables a file creates (casefolded) -> their columns (casefolded), None if unknown.
Made = dict[str, "frozenset[str] | None"]


def _defined_per_file(sources: list["FragmentFacts"]) -> dict[str, Made]:
    """Per file, the tables its SQL creates and, where its column facts say, their columns
    (``CREATE TABLE t (a, b)``; ``CREATE TABLE t AS SELECT a, b``)."""
    out: dict[str, Made] = defaultdict(dict)
    for facts in sources:
        made = out[facts.path]
        for ref in facts.tables:
            if ref.role == "define":
                made.setdefault(ref.name.casefold(), None)
        for statement in facts.columns or ():
            if statement.created is None:
                continue
            name, cols, create = statement.created
            if create:
                made[name] = cols | (made.get(name) or frozenset())
            elif made.get(name) is not None:  # ALTER TABLE of a table made here
                made[name] = made[name] | cols  # type: ignore[operator]
    return out


# ---------------------------------------------------------------- columns


def _check_columns(ctx: Context, schema: "Schema", made: Made, facts: "FragmentFacts",
                   statement: "StatementColumns", propose: Callable[[_Proposal], None]) -> None:
    """Decide one statement's column references (`gatecheck.columnfacts`) against
    ``schema`` and the tables the file makes."""
    from gatecheck.facts import CHECK, HOLE, OTHER_SCHEMA, PROPOSE, TABLE, TableCandidate

    def table_columns(table: TableCandidate) -> tuple[set[str] | None, str]:
        """Columns of a real, introspected table; (None, why) when unknown."""
        if table.kind != TABLE:
            return None, ("table name from a template hole" if table.kind == HOLE else
                          "table in another schema or database" if table.kind == OTHER_SCHEMA
                          else "a function in FROM (its columns are not read)")
        name = table.name.casefold()
        columns: set[str] | None = None
        t = schema.table(table.name)
        if t is not None:
            columns = {c.name.casefold() for c in t.columns}
        else:
            view = schema.view(table.name)
            if view is not None and view.columns:
                columns = {c.casefold() for c in view.columns}
        if name in made:
            # Created in this file: its own columns, and the database's if it has it.
            if made[name] is not None:
                return (columns or set()) | made[name], ""  # type: ignore[operator]
            if columns is None:
                return None, f"{table.name} is created in this file, columns unknown"
            return columns, ""
        if columns is None:
            return None, f"table {table.name} is not in {ctx.database_label}"
        return columns, ""

    def skip(ref: "ColumnRef", why: str) -> None:
        ctx.not_checked(facts.path, ref.span, ref.text, why)

    for ref in statement.refs:
        if ref.how == PROPOSE:
            propose(_Proposal(ref.message, ref.obj, facts.path, ref.span, "column",
                              ref.name.casefold()))
            continue
        if ref.how != CHECK:
            skip(ref, ref.message)
            continue
        name = ref.name.casefold()
        unknown = ""
        found = False
        cols: set[str] | None = set()
        for table in ref.tables:
            cols, why = table_columns(table)
            if cols is None:
                unknown = unknown or why
                if not ref.quiet:
                    break
            elif name in cols:
                found = True
        if cols is None and not ref.quiet:
            skip(ref, unknown)
        elif not found and (not ref.quiet or not unknown):
            if ref.hole:
                skip(ref, "column name from a template hole")
            else:
                propose(_Proposal(f"column {ref.name} does not exist in table {ref.label}",
                                  f"{ref.label}.{ref.name}", facts.path, ref.span, "column",
                                  name, frozenset(t.casefold()
                                                  for t in ref.label.split(" or "))))
