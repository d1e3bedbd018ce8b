"""A row matching a condition exists (a migration was recorded, a setting is set).

**What it does**
Runs ``SELECT 1 FROM table WHERE (where) LIMIT 1`` read-only and reports
when it returns nothing.  Without ``where`` the table must simply hold a
row.  ``where`` is SQL in the database's dialect, by design; the composed
query is parsed first and refused, as a finding that says why, unless it is
one plain ``SELECT`` (no second statement, no write).  A missing table, a
condition the database rejects and a query past its time limit are
findings too.  It prints no value of the table; without ``--show-data``,
what a failing query's database message quotes from a row is ``<hidden>``.

**Why it matters**
A migration that ran but was not recorded is applied again by the next
deploy; one recorded as ``failed`` left the schema half changed.  The
record is the migration runner's only memory.

**Example**
```yaml
rules:
  - id: recorded
    kind: row-exists
    table: schema_migrations
    where: "migration_id = 'v35_merge_task_sessions' AND status = 'success'"
```
fails until ``schema_migrations`` holds that row.

**Fix**
Record the migration in the same transaction that applies it, or re-run
it through the migration runner.

**Options**
- ``table``: the table to look in (required).
- ``where``: SQL condition a row must meet (default: any row).
- ``timeout_s``: time limit of the query in seconds (default 10).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.errors import DatabaseError
from gatecheck.kinds import DATA, Context, Emit
from gatecheck.kinds._data import DEFAULT_TIMEOUT_S, read_only_problem, resolve_columns, values

KIND = "row-exists"
NEEDS = frozenset({DATA})


@dataclass(frozen=True)
class Options:
    table: str
    where: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s:g}")
        if self.where is not None and not self.where.strip():
            raise ValueError("where: is empty; leave it out to require any row")


def check(ctx: Context, options: Options, emit: Emit) -> None:
    resolved = resolve_columns(ctx.schema, emit, options.table, (), role="table")
    if resolved is None:
        return
    table = resolved[0]
    db = ctx.data
    sql = f"SELECT 1 FROM {db.quote(table)}"
    if options.where is not None:
        # Own lines and parentheses: a trailing "-- comment" or a top-level OR
        # in the condition cannot swallow or re-scope the rest of the query.
        sql += f" WHERE (\n{options.where}\n)"
    sql += " LIMIT 1"
    problem = read_only_problem(sql, db.dialect)
    if problem is not None:
        emit(f"refused to run the row-exists query on {table}: {problem}; nothing was run",
             obj=table)
        return
    condition = f" WHERE {options.where.strip()}" if options.where else ""
    try:
        found = db.query(sql, timeout_s=options.timeout_s, limit=1).rows
    except DatabaseError as exc:
        emit(f"cannot look for a row of {table}{condition}: {values(ctx).problem(exc, sql)}",
             obj=table)
        return
    if not found:
        emit(f"no row of {table} matches{condition}" if condition else f"table {table} is empty",
             obj=table)
