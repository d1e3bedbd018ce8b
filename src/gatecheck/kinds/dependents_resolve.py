"""Views and triggers name only tables and columns that exist.

**What it does**
Parses the SQL of every view and trigger with sqlglot and reports each
relation it reads or writes that is neither a table nor a view of the
schema, and each qualified column ``t.col`` whose ``t`` resolves to a table
(directly, through an alias, or ``NEW``/``OLD`` in a trigger) that has no
column ``col``.  The column lists of ``INSERT INTO t (a, b)`` and the
targets of ``UPDATE t SET a = ...`` are checked against ``t`` too.
Unqualified columns elsewhere are not checked (which table they belong to
is ambiguous), nor are CTE names, subquery aliases, the engine's own
``sqlite_*``/``pg_*`` tables and tables of schemas not read (``temp.x``).
View and trigger SQL is parsed in the database's dialect.  On PostgreSQL a
trigger's SQL is its ``CREATE TRIGGER`` plus the body of its PL/pgSQL
function, whose statements are checked like a SQLite trigger body's (a
PostgreSQL view follows a renamed table, a function body does not).  A body
sqlglot cannot parse is checked for the tables after FROM/JOIN/INTO/UPDATE
only, and a trigger's ``WHEN`` condition is not read.  The finding's
``object`` is the view or trigger.

**Why it matters**
SQLite keeps a view or trigger when the table it names is dropped, and
with ``PRAGMA legacy_alter_table=ON`` (or an older SQLite) when it is
renamed.  Nothing fails until the view is read or the trigger fires; then
every query on the view, or every write that fires the trigger, fails.

**Example**
```yaml
rules:
  - id: dependents
    kind: dependents-resolve
```
fails on ``CREATE VIEW recent AS SELECT * FROM task_sessions`` once
``task_sessions`` was renamed to ``task_sessions_legacy``.

**Fix**
Recreate the view or trigger against the live table (``DROP VIEW recent;
CREATE VIEW recent AS SELECT * FROM chat_sessions``), or drop it.

**Options**
- ``except``: globs of view and trigger names not checked (default none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from gatecheck.kinds import SCHEMA, Context, Emit, relation_match

if TYPE_CHECKING:
    from sqlglot import exp

    from gatecheck.model import Schema
    from gatecheck.sqlfacts import Statement

KIND = "dependents-resolve"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    except_: tuple[str, ...] = ()


def check(ctx: Context, options: Options, emit: Emit) -> None:
    # sqlglot is imported only when a rule of this kind runs.
    from gatecheck.extract import Fragment
    from gatecheck.sqlfacts import analyse, default_schemas

    schema = ctx.schema
    # View and trigger bodies are in the database's dialect, whatever the sources'.
    dialect = schema.dialect
    read = {s.casefold() for s in schema.schemas or default_schemas(dialect)}
    dependents = [("view", v.name, v.sql, None) for v in schema.views] + \
                 [("trigger", t.name, t.sql, t.table) for t in schema.triggers]
    for what, name, sql, owner in sorted(dependents, key=lambda d: d[1].casefold()):
        if not sql or relation_match(name, options.except_):
            continue
        facts = analyse(Fragment(f"<{what} {name}>", sql), dialect)
        reported: set[str] = set()
        for ref in facts.tables:
            if ref.schema is not None and ref.schema.casefold() not in read:
                continue  # another schema (temp, an attached database): not introspected
            qualified = f"{ref.schema}.{ref.name}" if ref.schema is not None else ref.name
            folded = ref.name.casefold()
            if schema.table(qualified) is not None or schema.view(qualified) is not None \
                    or folded in reported or _internal(folded, dialect):
                continue
            reported.add(folded)
            emit(f"{what} {name} references {ref.name}, which does not exist", obj=name)
        for table, column in _column_refs(facts.statements, owner, schema):
            key = f"{table.casefold()}.{column.casefold()}"
            if key not in reported:
                reported.add(key)
                emit(f"{what} {name} references {table}.{column}, but {table} has no column "
                     f"{column}", obj=name)


def _internal(name: str, dialect: str) -> bool:
    """The engine's own catalog tables, never introspected."""
    prefix = {"sqlite": "sqlite_", "postgres": "pg_"}.get(dialect)
    return prefix is not None and name.startswith(prefix)


def _column_refs(statements: list["Statement"], owner: str | None,
                 schema: "Schema") -> Iterator[tuple[str, str]]:
    """(table, column) of every column that resolves to a real table but is not in it."""
    from sqlglot import exp

    for statement in statements:
        tree = statement.tree
        if tree is None:
            continue
        ctes = {c.alias_or_name.casefold() for c in tree.find_all(exp.CTE)}
        for table_name, column in _columns_of(tree, owner, ctes):
            table = schema.table(table_name)
            if table is not None and table.column(column) is None:
                yield table.name, column


def _columns_of(tree: "exp.Expression", owner: str | None,
                ctes: set[str]) -> Iterator[tuple[str, str]]:
    from sqlglot import exp

    for col in tree.find_all(exp.Column):
        qualifier = col.table
        if not qualifier or isinstance(col.this, exp.Star):
            continue
        table = _resolve(col, qualifier.casefold(), owner, ctes)
        if table is not None:
            yield table, col.name
    # INSERT INTO t (a, b) and UPDATE t SET a = ...: unqualified, but they can
    # only belong to the written table.
    for node in tree.find_all(exp.Insert):
        target = node.this
        if isinstance(target, exp.Schema) and isinstance(target.this, exp.Table):
            name = _table_name(target.this, ctes)
            if name is not None:
                for ident in target.expressions:
                    if isinstance(ident, exp.Identifier):
                        yield name, ident.name
    for update in tree.find_all(exp.Update):
        name = _table_name(update.this, ctes) if isinstance(update.this, exp.Table) else None
        if name is None:
            continue
        for assignment in update.expressions:
            left = assignment.this if isinstance(assignment, exp.EQ) else None
            if isinstance(left, exp.Column) and not left.table:
                yield name, left.name


def _table_name(table: "exp.Table", ctes: set[str]) -> str | None:
    """The real table a Table node names; None for CTEs and functions."""
    from sqlglot import exp

    if not isinstance(table.this, exp.Identifier):
        return None
    if table.args.get("db") is None and table.name.casefold() in ctes:
        return None
    return table.name


def _resolve(col: "exp.Column", qualifier: str, owner: str | None,
             ctes: set[str]) -> str | None:
    """The table ``qualifier`` stands for where ``col`` is, innermost scope first."""
    from sqlglot import exp

    node = col.parent
    while node is not None:
        if isinstance(node, (exp.Select, exp.Update, exp.Delete)):
            for source in _sources(node):
                if source.alias_or_name.casefold() == qualifier:
                    if isinstance(source, exp.Table):
                        return _table_name(source, ctes)
                    return None  # a subquery or other derived table
        node = node.parent
    if owner is not None and qualifier in ("new", "old"):
        return owner
    return None


def _sources(node: "exp.Expression") -> list["exp.Expression"]:
    """The relations a SELECT/UPDATE/DELETE brings into scope."""
    from sqlglot import exp

    out: list[exp.Expression] = []
    if isinstance(node, (exp.Update, exp.Delete)) and isinstance(node.this, exp.Expression):
        out.append(node.this)
    from_ = node.args.get("from_")
    if isinstance(from_, exp.From):
        out.append(from_.this)
    for key in ("joins", "using"):
        for item in node.args.get(key) or ():
            out.append(item.this if isinstance(item, exp.Join) else item)
    return out
