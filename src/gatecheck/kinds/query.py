"""A read-only SQL query; every row it returns is a violation (dbt-test style).

**What it does**
Runs ``sql`` on the read-only connection with a time limit and reports one
finding per returned row, showing its first columns (``object`` is the first
column's value; the JSON finding carries the first columns as ``row``).
At most ``max_rows`` rows are reported; if there are more, one more finding
says so.  Before anything runs, ``sql`` is parsed in the rules file's
dialect and refused, as a finding that says why, unless it is exactly one
``SELECT`` (``WITH ... SELECT`` and ``UNION`` of selects included): a second
``;``-separated statement, ``DELETE``/``UPDATE``/``INSERT``, ``ATTACH``,
``PRAGMA``, DDL, ``SELECT ... INTO`` or a data-changing CTE is never sent to
the database.  A query that runs past ``timeout_s`` is stopped and reported.

Rows are shown only with ``--show-data``, as CI logs are often public and a
pull request can write a query that selects any column: without it the
message names the columns, ``object`` is the row's ordinal (``row 3``, so
baselines still tell rows apart), ``row`` is ``<hidden>``, and what a
failing query's database message quotes from a row is ``<hidden>`` too.

**Why it matters**
Every project has an invariant no built-in kind knows: merged sessions keep
a title, no task is ``running`` without a session, amounts are never
negative.  Writing it as a query that selects the offenders keeps it next
to the other gates, with the same output and the same read-only guarantee.

**Example**
```yaml
rules:
  - id: sessions-have-titles
    kind: query
    sql: "SELECT session_id, created_at FROM chat_sessions WHERE title IS NULL"
    timeout_s: 5
```
fails with one finding per untitled session, e.g. ``db:sess-0042``.

**Fix**
Correct the offending rows (or the code that writes them), or narrow the
query if the rows are legitimate.

**Options**
- ``sql``: one SELECT returning the offending rows (required).
- ``timeout_s``: time limit in seconds (default 10).
- ``max_rows``: rows reported at most (default 100).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.errors import DatabaseError
from gatecheck.kinds import DATA, Context, Emit
from gatecheck.kinds._data import DEFAULT_TIMEOUT_S, json_value, read_only_problem, values

KIND = "query"
NEEDS = frozenset({DATA})

#: Columns of a row shown in the message and the JSON ``row``.
SHOWN_COLUMNS = 5


@dataclass(frozen=True)
class Options:
    sql: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_rows: int = 100

    def __post_init__(self) -> None:
        if not self.sql.strip():
            raise ValueError("sql: is empty")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s:g}")
        if self.max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {self.max_rows}")


def check(ctx: Context, options: Options, emit: Emit) -> None:
    db = ctx.data
    problem = read_only_problem(options.sql, db.dialect)
    if problem is not None:
        emit(f"refused to run the query: {problem}; nothing was run")
        return
    shown = values(ctx)
    try:
        # One row more than reported tells "more rows" apart without counting them all.
        result = db.query(options.sql, timeout_s=options.timeout_s, limit=options.max_rows + 1)
    except DatabaseError as exc:
        emit(f"the query failed: {shown.problem(exc, options.sql)}")
        return
    columns = result.columns[:SHOWN_COLUMNS]
    more = "" if len(result.columns) <= SHOWN_COLUMNS else ", …"
    for ordinal, row in enumerate(result.rows[:options.max_rows], start=1):
        if shown.show:
            first = row[0] if row else None
            obj = "NULL" if first is None else str(json_value(first))
            text = ", ".join(f"{c}={shown.literal(v)}" for c, v in zip(columns, row))
        else:
            # The ordinal keeps findings (and their baseline fingerprints)
            # apart without a value: a hash of a short value could be reversed.
            obj, text = f"row {ordinal}", ", ".join(columns)
        emit(f"the query returned a row: {text}{more}{shown.note}", obj=obj,
             extra={"row": shown.json({c: json_value(v) for c, v in zip(columns, row)})})
    if len(result.rows) > options.max_rows:
        emit(f"the query returned more than {options.max_rows} rows; only the first "
             f"{options.max_rows} are reported (raise max_rows to see more)")
