"""The schema-independent half of column checking: which relations each column may come from.

``references-exist`` with ``columns: true`` checks every column reference
that resolves to known relations.  Resolving a reference to its candidate
sources (aliases, CTEs, subqueries, correlated subqueries, the target of an
``INSERT``/``UPDATE``/``DELETE``) needs sqlglot's scopes but not the schema,
so it is done where the statement is parsed -- in a worker process, once per
file version -- and kept as `gatecheck.facts.ColumnRef`s in the cache.  The
rule then only compares names with the schema's columns, without sqlglot.

Each reference is recorded in the order the rule used to visit it, with
what the rule needs to report it or to list it as not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from gatecheck.extract import NEUTRAL
from gatecheck.facts import (
    CHECK,
    FUNCTION,
    HOLE,
    OTHER_SCHEMA,
    PROPOSE,
    SKIP,
    TABLE,
    ColumnRef,
    StatementColumns,
    TableCandidate,
)
from gatecheck.positions import Span

__all__ = ["statement_columns", "outputs"]


def statement_columns(tree: exp.Expr, where: Span, to_file: Callable[[Span], Span],
                      placeholders: tuple[Span, ...]) -> StatementColumns:
    """The column facts of one statement's tree.

    ``where``: the statement's file span; ``to_file`` maps spans in the
    fragment's SQL (the tree's ``meta``) to the file; ``placeholders``: the
    fragment's template holes, in its SQL.
    """
    refs: list[ColumnRef] = []

    def ident_span(ident: exp.Expr) -> Span | None:
        meta = ident.meta
        return Span(meta["start"], meta["end"] + 1) if "start" in meta else None

    def skip(column: exp.Column, why: str) -> None:
        if isinstance(column.this, exp.Identifier):
            span = ident_span(column.this)
            if span is not None:
                refs.append(ColumnRef(SKIP, column.name, to_file(span), _text(column),
                                      message=why))

    def check(column: exp.Column, tables: tuple[TableCandidate, ...], label: str, *,
              quiet: bool = False) -> None:
        """The column must be one of ``tables``' (a finding names ``label``)."""
        if not isinstance(column.this, exp.Identifier):
            return
        span = ident_span(column.this)
        if span is None:
            return
        hole = any(p.start < span.end and span.start < p.end for p in placeholders)
        refs.append(ColumnRef(CHECK, column.name, to_file(span), _text(column), tables,
                              label=label, hole=hole, quiet=quiet))

    # INSERT INTO t (cols) and UPDATE t SET col = ...: the target's columns.
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema):
        target = tree.this.this
        if isinstance(target, exp.Table):
            candidate = (_candidate(target),)
            for ident in tree.this.expressions:
                if isinstance(ident, exp.Identifier):
                    check(exp.Column(this=ident), candidate, target.name, quiet=True)
    if isinstance(tree, (exp.Update, exp.Delete)) and isinstance(tree.this, exp.Table):
        target = tree.this
        candidate = (_candidate(target),)
        for column in own_columns(tree):
            if column.table and column.table.casefold() != (target.alias_or_name).casefold():
                continue
            check(column, candidate, target.name)

    try:
        scopes = list(traverse_scope(tree))
        if isinstance(tree, exp.Insert) and isinstance(tree.expression, exp.Values):
            # sqlglot does not scope subqueries in VALUES (a COALESCE((SELECT ...))).
            for select in tree.expression.find_all(exp.Select):
                if select.parent_select is None:
                    scopes.extend(traverse_scope(select))
    except Exception:  # sqlglot cannot scope some shapes; never guess
        refs.append(ColumnRef(SKIP, "", where, "",
                              message="the columns of a statement sqlglot cannot scope"))
        return StatementColumns(where, tuple(refs), _created(tree))
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
                source = scope_source(scope, column.table)
                if isinstance(source, exp.Table):
                    check(column, (_candidate(source),), source.name)
                elif source is not None and hasattr(source, "expression"):
                    known = outputs(source.expression)
                    if known is None:
                        skip(column, f"the outputs of {column.table} are not known (*)")
                    elif name not in known:
                        meta = column.this.meta
                        span = Span(meta.get("start", 0), meta.get("end", 0) + 1)
                        refs.append(ColumnRef(
                            PROPOSE, column.name, to_file(span), _text(column),
                            message=f"column {column.name} is not an output of {column.table}",
                            obj=f"{column.table}.{column.name}"))
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
            label = tables[0].name if len(tables) == 1 else \
                " or ".join(sorted({t.name for t in tables}))
            check(column, tuple(_candidate(t) for t in tables), label)
    return StatementColumns(where, tuple(refs), _created(tree))


def _candidate(table: exp.Table) -> TableCandidate:
    if NEUTRAL.search(table.name):
        return TableCandidate(table.name, HOLE)
    if not isinstance(table.this, exp.Identifier):
        return TableCandidate(table.name, FUNCTION)
    if table.args.get("db") is not None:
        return TableCandidate(table.name, OTHER_SCHEMA)
    return TableCandidate(table.name, TABLE)


def _text(column: exp.Column) -> str:
    """``column.sql()`` (how a not-checked listing names it), without the generator
    for the common shape: identifiers joined by dots."""
    if column.comments:
        return column.sql()  # the generator prints them too
    parts = [column.args.get(k) for k in ("catalog", "db", "table", "this")]
    out = []
    for part in parts:
        if part is None:
            continue
        if not isinstance(part, exp.Identifier) or part.comments:
            return column.sql()
        name = part.name
        if not name or name[0].isdigit() or any(c in name for c in '"\\\n\r'):
            return column.sql()  # the generator quotes or escapes these
        out.append(f'"{name}"' if part.args.get("quoted") else name)
    return ".".join(out) if out else column.sql()


def _created(tree: exp.Expr) -> tuple[str, frozenset[str], bool] | None:
    """(table, columns, is CREATE) a ``CREATE TABLE`` makes or an ``ALTER TABLE``
    adds or renames to."""
    if isinstance(tree, exp.Alter) and isinstance(tree.this, exp.Table):
        added = frozenset(
            (a.args["to"] if isinstance(a, exp.RenameColumn) else a).name.casefold()
            for a in tree.args.get("actions") or ()
            if isinstance(a, exp.ColumnDef) or
            (isinstance(a, exp.RenameColumn) and a.args.get("to") is not None))
        return (tree.this.name.casefold(), added, False) if added else None
    if not isinstance(tree, exp.Create) or str(tree.args.get("kind", "")).upper() != "TABLE":
        return None
    target = tree.this
    if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
        # A column without a type (SQLite) is a bare Identifier to sqlglot.
        cols = frozenset(c.name.casefold() for c in target.expressions
                         if isinstance(c, (exp.ColumnDef, exp.Identifier)))
        return (target.this.name.casefold(), cols, True) if cols else None
    if isinstance(target, exp.Table) and tree.expression is not None:
        known = outputs(tree.expression)
        return (target.name.casefold(), frozenset(known), True) if known else None
    return None


def _outside_projections(column: exp.Column, select: exp.Expr) -> bool:
    node: exp.Expr = column
    while node.parent is not None and node.parent is not select:
        node = node.parent
    return node.arg_key != "expressions"


def own_columns(tree: exp.Expr) -> Iterator[exp.Column]:
    """Columns of a DML statement outside its subqueries."""
    for column in tree.find_all(exp.Column):
        if column.find_ancestor(exp.Select, exp.Subquery) is None:
            yield column


def scope_source(scope: Scope | None, name: str) -> object:
    """What ``name`` (a table name or alias) stands for in ``scope`` or the scopes
    around it (a correlated subquery sees its outer query's tables); None if nothing."""
    current = scope
    while current is not None:
        src = current.sources.get(name)
        if src is not None:
            return src
        current = current.parent
    return None


def _all_sources(scope: Scope | None) -> Iterator[object]:
    """Sources an unqualified column may come from: its own scope's, and the
    enclosing scopes' only for a (possibly correlated) subquery in an
    expression; a CTE or a derived table sees only its own FROM."""
    current = scope
    while current is not None:
        yield from current.sources.values()
        if not current.is_subquery:
            break
        current = current.parent


def outputs(select: exp.Expr) -> set[str] | None:
    """The output names of a SELECT; None when unknown (``*``) or not a SELECT."""
    if not isinstance(select, exp.Select):
        return None
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star)
           for e in select.expressions):
        return None
    return {s.casefold() for s in select.named_selects}
