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
names in ``ORDER BY``/``GROUP BY``, the configured schemas as search path.

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
- ``paths`` / ``exclude`` (every source rule): which files the rule sees.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

from gatecheck.kinds import SCHEMA, SOURCES, TREES, Context, Emit

if TYPE_CHECKING:
    from sqlglot import exp

    from gatecheck.engines.postgres import NameResolver
    from gatecheck.engines.sqlite import NameOracle

    from gatecheck.model import Schema
    from gatecheck.positions import Span
    from gatecheck.facts import FragmentFacts, StatementText

KIND = "references-exist"
NEEDS = frozenset({SOURCES, SCHEMA})


@dataclass(frozen=True)
class Options:
    columns: bool = False


def needs(options: Options) -> frozenset[str]:
    """Columns are resolved on parse trees, which only an uncached parse keeps."""
    return NEEDS | {TREES} if options.columns else NEEDS


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

    schema = ctx.schema
    local_schemas = {s.casefold() for s in schema.schemas or default_schemas(ctx.dialect)} | \
        {"temp"}
    relations = {n.casefold(): n for n in schema.relation_names()}
    defined = _defined_per_file(ctx.sources)
    judge = _Judge.for_context(ctx)
    for facts in ctx.sources:
        if not facts.is_sql:
            continue
        made = defined[facts.path]
        known = set(made)
        proposals: list[_Proposal] = []
        for ref in facts.tables:
            if ref.role != "use":
                continue
            if ref.dynamic:
                ctx.not_checked(facts.path, ref.span, ref.name, "table name from a template hole")
                continue
            if ref.schema and ref.schema.casefold() not in local_schemas:
                ctx.not_checked(facts.path, ref.span, f"{ref.schema}.{ref.name}",
                                f"another schema or database ({ref.schema})")
                continue
            name = ref.name.casefold()
            qualified = f"{ref.schema}.{ref.name}" if ref.schema is not None else ref.name
            if name not in relations and name not in known and \
                    schema.table(qualified) is None and schema.view(qualified) is None:
                if facts.piece:
                    ctx.not_checked(facts.path, ref.span, ref.name,
                                    "a piece of a statement assembled at run time (another "
                                    "piece may define it, as a CTE)")
                    continue
                proposals.append(_Proposal(f"table {ref.name} does not exist in the database",
                                           ref.name, facts.path, ref.span, "table", name))
        if options.columns:
            for statement in facts.statements:
                if statement.tree is not None:
                    _check_columns(ctx, schema, made, facts, statement.span, statement.tree,
                                   proposals.append)
        if proposals:
            for name in judge.created(facts.path, ctx.sources) - known:
                made[name] = None
        for proposal in judge.confirmed(facts, proposals, made):
            emit(proposal.message, obj=proposal.obj, path=proposal.path, span=proposal.span)


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

    def __init__(self, ctx: Context, oracle: "_LazyOracle | None") -> None:
        self.ctx = ctx
        self.oracle = oracle
        self._created: dict[str, set[str]] = {}
        self._creates: dict[str, list[str]] | None = None

    @classmethod
    def for_context(cls, ctx: Context) -> "_Judge":
        engine = ctx.schema.dialect
        return cls(ctx, _LazyOracle(ctx.schema)) if ctx.dialect == engine and \
            engine in ("sqlite", "postgres") else cls(ctx, None)

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
            oracle = self.oracle.get()
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
        for text, group in by_text.items():
            if text is None:  # no statement text (cannot happen for parsed SQL)
                yield from group
                continue
            owners: dict[str, set[str]] = defaultdict(set)
            for p in group:
                if p.what == "column":
                    owners[p.name] |= p.owners
            missing = self.oracle.get().missing(
                text.sql, defined=defined, columns_of=dict(owners),
                creates=(self._creates or {}).get(facts.path, ()))
            for p in group:
                if p.what == "column" and p.name in missing.tables \
                        and p.name not in missing.columns:
                    # ``x IN name`` reads a table, which sqlglot took for a column.
                    name = p.obj.rsplit(".", 1)[-1]
                    yield p._replace(message=f"table {name} does not exist in the database",
                                     obj=name, what="table")
                elif p.name in (missing.tables if p.what == "table" else missing.columns):
                    yield p
                elif missing.complete:
                    self.ctx.count(f"{p.what}s resolved by the engine")
                else:
                    self.ctx.not_checked(p.path, p.span, p.obj,
                                         "the engine could not decide (it stopped at something "
                                         "else, or a source's columns are unknown)")


class _LazyOracle:
    """The engine's name verdicts, set up on the first statement that needs them:
    SQLite's schema copy, or PostgreSQL's name resolution on pglast's tree."""

    def __init__(self, schema: "Schema") -> None:
        self.schema = schema
        self._oracle: "NameOracle | NameResolver | None" = None

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
    """Per file, the tables its SQL creates and, where its parse trees say, their columns
    (``CREATE TABLE t (a, b)``; ``CREATE TABLE t AS SELECT a, b``)."""
    from sqlglot import exp

    out: dict[str, Made] = defaultdict(dict)
    for facts in sources:
        made = out[facts.path]
        for ref in facts.tables:
            if ref.role == "define":
                made.setdefault(ref.name.casefold(), None)
        for statement in facts.statements:
            columns = _created_columns(statement.tree) if statement.tree is not None else None
            if columns is None:
                continue
            name, cols = columns
            if isinstance(statement.tree, exp.Create):
                made[name] = cols | (made.get(name) or frozenset())
            elif made.get(name) is not None:  # ALTER TABLE of a table made here
                made[name] = made[name] | cols  # type: ignore[operator]
    return out


def _created_columns(tree: "exp.Expr") -> "tuple[str, frozenset[str]] | None":
    """(table, columns) a ``CREATE TABLE`` makes or an ``ALTER TABLE`` adds or renames to."""
    from sqlglot import exp

    if isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
        added = frozenset(
            (a.args["to"] if isinstance(a, exp.RenameColumn) else a).name.casefold()
            for a in tree.args.get("actions") or ()
            if isinstance(a, exp.ColumnDef) or
            (isinstance(a, exp.RenameColumn) and a.args.get("to") is not None))
        return (tree.this.name.casefold(), added) if added else None
    if not isinstance(tree, exp.Create) or str(tree.args.get("kind", "")).upper() != "TABLE":
        return None
    target = tree.this
    if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
        # A column without a type (SQLite) is a bare Identifier to sqlglot.
        cols = frozenset(c.name.casefold() for c in target.expressions
                         if isinstance(c, (exp.ColumnDef, exp.Identifier)))
        return (target.this.name.casefold(), cols) if cols else None
    if isinstance(target, exp.Table) and tree.expression is not None:
        outputs = _outputs(tree.expression)
        return (target.name.casefold(), frozenset(outputs)) if outputs else None
    return None


# ---------------------------------------------------------------- columns


def _check_columns(ctx: Context, schema: "Schema", made: Made, facts: "FragmentFacts",
                   where: "Span", tree: "exp.Expr", propose: Callable[[_Proposal], None]) -> None:
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    from gatecheck.extract import NEUTRAL

    why_unknown: dict[str, str] = {}

    def table_columns(table: exp.Table) -> set[str] | None:
        """Columns of a real, introspected table; None when unknown (`why_unknown` says why)."""
        if not isinstance(table.this, exp.Identifier) or NEUTRAL.search(table.name):
            why_unknown[table.name] = "table name from a template hole"
            return None
        if table.args.get("db") is not None:
            why_unknown[table.name] = "table in another schema or database"
            return None
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
                return (columns or set()) | made[name]  # type: ignore[operator]
            if columns is None:
                why_unknown[table.name] = f"{table.name} is created in this file, columns unknown"
            return columns
        if columns is None:
            why_unknown[table.name] = f"table {table.name} is not in the database"
        return columns

    def skip(column: exp.Column, why: str) -> None:
        if isinstance(column.this, exp.Identifier) and "start" in column.this.meta:
            ctx.not_checked(facts.path, facts.file_span(_span(column)), column.sql(), why)

    def report(column: exp.Column, table_name: str) -> None:
        meta = column.this.meta if isinstance(column.this, exp.Identifier) else {}
        if "start" not in meta:
            return
        from gatecheck.positions import Span

        span = Span(meta["start"], meta["end"] + 1)
        assert facts.fragment is not None  # kept with the trees
        if any(p.start < span.end and span.start < p.end for p in facts.fragment.placeholders):
            skip(column, "column name from a template hole")
            return
        propose(_Proposal(f"column {column.name} does not exist in table {table_name}",
                          f"{table_name}.{column.name}", facts.path, facts.file_span(span),
                          "column", column.name.casefold(),
                          frozenset(t.casefold() for t in table_name.split(" or "))))

    # INSERT INTO t (cols) and UPDATE t SET col = ...: the target's columns.
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        target = tree.this.this
        if isinstance(target, exp.Table):
            cols = table_columns(target)
            for ident in tree.this.expressions:
                if cols is not None and isinstance(ident, exp.Identifier) \
                        and ident.name.casefold() not in cols:
                    report(exp.Column(this=ident), target.name)
    if isinstance(tree, (exp.Update, exp.Delete)) and isinstance(tree.this, exp.Table):
        target = tree.this
        cols = table_columns(target)
        for column in _own_columns(tree):
            if column.table and column.table.casefold() != (target.alias_or_name).casefold():
                continue
            if cols is not None and column.name.casefold() not in cols:
                report(column, target.name)
            elif cols is None:
                skip(column, why_unknown.get(target.name, ""))

    try:
        scopes = list(traverse_scope(tree))
        if isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Values):
            # sqlglot does not scope subqueries in VALUES (a COALESCE((SELECT ...))).
            for select in tree.expression.find_all(exp.Select):
                if select.parent_select is None:
                    scopes.extend(traverse_scope(select))
    except Exception:  # sqlglot cannot scope some shapes; never guess
        ctx.not_checked(facts.path, facts.file_span(where), "",
                        "the columns of a statement sqlglot cannot scope")
        return
    for scope in scopes:
        # Names a SELECT gives to expressions (``count(*) AS n``), which
        # ORDER BY / GROUP BY / HAVING may use; a bare projected column is
        # still that column and is checked wherever it appears.
        selects = {e.alias.casefold() for e in scope.expression.expressions
                   if isinstance(e, exp.Alias)} if isinstance(scope.expression, exp.Select) \
            else set()
        for column in scope.columns:
            if column.find_ancestor(exp.Select, exp.Union) is not scope.expression and \
                    not isinstance(scope.expression, exp.Union):
                continue  # listed in an outer scope too; checked in its own scope
            name = column.name.casefold()
            if column.table:
                source = _source(scope, column.table)
                if isinstance(source, exp.Table):
                    cols = table_columns(source)
                    if cols is None:
                        skip(column, why_unknown.get(source.name, ""))
                    elif name not in cols:
                        report(column, source.name)
                elif source is not None and hasattr(source, "expression"):
                    outputs = _outputs(source.expression)
                    if outputs is None:
                        skip(column, f"the outputs of {column.table} are not known (*)")
                    elif name not in outputs:
                        propose(_Proposal(
                            f"column {column.name} is not an output of {column.table}",
                            f"{column.table}.{column.name}", facts.path,
                            facts.file_span(_span(column)), "column", column.name.casefold()))
                else:
                    skip(column, f"{column.table} is not a table, CTE or subquery here")
                continue
            if name in selects and _outside_projections(column, scope.expression):
                continue  # ORDER BY / GROUP BY / HAVING naming a select alias
            candidates = list(_all_sources(scope))
            tables = [s for s in candidates if isinstance(s, exp.Table)]
            if not candidates or len(tables) != len(candidates):
                skip(column, "unqualified, and the statement reads from a CTE, subquery or "
                             "function" if candidates else "no source to resolve it in")
                continue
            col_sets = [table_columns(t) for t in tables]
            if any(c is None for c in col_sets):
                skip(column, next(why_unknown.get(t.name, "") for t, c in zip(tables, col_sets)
                                  if c is None))
                continue
            if not any(name in c for c in col_sets if c is not None):
                label = tables[0].name if len(tables) == 1 else \
                    " or ".join(sorted({t.name for t in tables}))
                report(column, label)


def _span(column: "exp.Column") -> "Span":
    from gatecheck.positions import Span

    meta = column.this.meta
    return Span(meta.get("start", 0), meta.get("end", 0) + 1)


def _outside_projections(column: "exp.Column", select: "exp.Expr") -> bool:
    node: "exp.Expr" = column
    while node.parent is not None and node.parent is not select:
        node = node.parent
    return node.arg_key != "expressions"


def _own_columns(tree: "exp.Expr") -> Iterator["exp.Column"]:
    """Columns of a DML statement outside its subqueries."""
    from sqlglot import exp

    for column in tree.find_all(exp.Column):
        if column.find_ancestor(exp.Select, exp.Subquery) is None:
            yield column


def _source(scope: object, name: str) -> object:
    current = scope
    while current is not None:
        src = current.sources.get(name)  # type: ignore[attr-defined]
        if src is not None:
            return src
        current = current.parent  # type: ignore[attr-defined]
    return None


def _all_sources(scope: object) -> Iterator[object]:
    """Sources an unqualified column may come from: its own scope's, and the
    enclosing scopes' only for a (possibly correlated) subquery in an
    expression; a CTE or a derived table sees only its own FROM."""
    current = scope
    while current is not None:
        yield from current.sources.values()  # type: ignore[attr-defined]
        if not current.is_subquery:  # type: ignore[attr-defined]
            break
        current = current.parent  # type: ignore[attr-defined]


def _outputs(select: "exp.Expr") -> set[str] | None:
    from sqlglot import exp

    if not isinstance(select, exp.Select):
        return None
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star)
           for e in select.expressions):
        return None
    return {s.casefold() for s in select.named_selects}
