"""Statements the PostgreSQL server recorded must not name forbidden tables.

**What it does**
Reads ``pg_stat_statements``, PostgreSQL's record of the statements its
clients ran (its text with constants replaced by ``$1``, how many times, and
on PostgreSQL 17 since when), in one read-only query, keeps the statements
recorded in the checked database, and parses each with PostgreSQL's own
grammar (pglast).  Every query (``SELECT``, ``INSERT``, ``UPDATE``,
``DELETE``, ``MERGE``, ``COPY``) that names a table of ``tables`` (globs,
matched as ``forbid-table-references`` matches them) is a finding: its call
count, the time the count started where the server keeps it, and the
statement with its literal values replaced by ``?``.  Statements that do not
parse (truncated texts, other dialects' extensions) are counted, never
guessed.  Whatever built the SQL -- a string concatenation, a query builder,
an ORM, a cron job nobody remembers -- the server saw it.  DDL is left out
unless ``ddl: true``: the migration that archived the table named it too.

The extension must be loaded (``shared_preload_libraries =
'pg_stat_statements'``) and created in the database (``CREATE EXTENSION
pg_stat_statements``); without it the rule is an error that says so, not a
pass.  The view shows other roles' statement texts only to members of
``pg_read_all_stats``: grant it to the role gatecheck connects as (it is not
one of the privileged roles data rules refuse); hidden texts are counted.

**Why it matters**
The merge's last loose end is monitoring: "alert when code still tries to
access task_sessions".  Static checks see the code in the repository, the
test-time guard (``pytest --gatecheck``) the code the tests run; this sees
what production actually ran, without redeploying anything.

**Example**
```yaml
database: ${DATABASE_URL}
dialect: postgres
rules:
  - id: nothing-queries-task-sessions
    kind: executed-references
    tables: [task_sessions]
```
fails with ``the server ran a statement naming forbidden table task_sessions
1,204 times since <hidden>: SELECT * FROM task_sessions WHERE session_id = $1``
when a service still reads the merged-away table (the date the count started
is shown with ``--show-data``; the JSON has ``calls``, ``since`` and
``statement``).

**Fix**
Find the code that sends the statement (its text, ``pg_stat_activity``'s
``application_name``) and move it to the new table; then reset the counts
(``SELECT pg_stat_statements_reset()``, as an administrator) so that old
calls do not keep the rule failing.

**Options**
- ``tables``: table names or globs (required), as in ``forbid-table-references``.
- ``except``: globs of names that are allowed anyway.
- ``min_calls``: report a statement only from this many calls (default 1).
- ``ddl``: also report DDL and other utility statements (default false).
- ``timeout_s``: time limit of the query in seconds (default 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatecheck.errors import DatabaseError
from gatecheck.kinds import DATA, Context, Emit

KIND = "executed-references"
NEEDS = frozenset({DATA})

#: Characters of a statement a message quotes.
SHOWN_STATEMENT = 300

_EXTENSION = """
SELECT n.nspname FROM pg_catalog.pg_extension AS e
JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace
WHERE e.extname = 'pg_stat_statements'
"""
#: One row per recorded statement of this database; ``stats_since`` is
#: PostgreSQL 17's, read through to_jsonb so that older servers answer NULL.
_STATEMENTS = """
SELECT s.query, s.calls, to_jsonb(s) ->> 'stats_since' AS since
FROM {schema}.pg_stat_statements AS s
WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database AS d
                WHERE d.datname = pg_catalog.current_database())
ORDER BY s.calls DESC, s.query
"""
#: PostgreSQL 14+: when the counts were last reset (the start of every count).
_RESET = "SELECT i.stats_reset::text FROM {schema}.pg_stat_statements_info AS i"
_HIDDEN = "<insufficient privilege>"


@dataclass(frozen=True)
class Options:
    tables: tuple[str, ...] = field(metadata={"aliases": ("table",)})
    except_: tuple[str, ...] = ()
    min_calls: int = 1
    ddl: bool = False
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.tables:
            raise ValueError("'tables' must name at least one table")
        if self.min_calls < 1:
            raise ValueError(f"min_calls must be at least 1, got {self.min_calls}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s:g}")


def check(ctx: Context, options: Options, emit: Emit) -> None:
    from gatecheck.engines.postgres import relations
    from gatecheck.kinds._data import values
    from gatecheck.kinds.forbid_table_references import Options as TableOptions, forbidden
    from gatecheck.runtime._check import statement_text

    db = ctx.data
    if db.dialect != "postgres":
        raise DatabaseError(f"{KIND} reads PostgreSQL's pg_stat_statements; "
                            f"{ctx.database_label} is {db.dialect}, which records no executed "
                            "statements (pytest --gatecheck and gatecheck.runtime.watch check "
                            "what an application runs on it: docs/runtime.md)")
    found = db.query(_EXTENSION, timeout_s=options.timeout_s).rows
    if not found:
        raise DatabaseError(f"{KIND}: the pg_stat_statements extension is not installed in "
                            f"{ctx.database_label}: add pg_stat_statements to "
                            "shared_preload_libraries, restart the server, and run CREATE "
                            "EXTENSION pg_stat_statements in this database")
    schema = db.quote(str(found[0][0]))
    try:
        rows = db.query(_STATEMENTS.format(schema=schema), timeout_s=options.timeout_s).rows
    except DatabaseError as exc:
        if "shared_preload_libraries" in exc.message:
            raise DatabaseError(f"{KIND}: pg_stat_statements is installed in "
                                f"{ctx.database_label} but the server did not load it: add it "
                                "to shared_preload_libraries and restart the server") from None
        raise
    reset = None
    try:
        info = db.query(_RESET.format(schema=schema), timeout_s=options.timeout_s).rows
        reset = str(info[0][0]) if info and info[0][0] is not None else None
    except DatabaseError:
        pass  # before PostgreSQL 14: no record of the last reset
    shown = values(ctx)  # the start of the count is a date: shown with --show-data
    table_options = TableOptions(tables=options.tables, except_=options.except_)
    for text, calls, since in rows:
        if text is None or text == _HIDDEN:
            ctx.count("recorded statements hidden from this role (grant pg_read_all_stats)")
            continue
        calls = int(calls or 0)
        if calls < options.min_calls:
            continue
        names = relations(str(text))
        if names is not None and not options.ddl and not _is_query(str(text)):
            continue
        if names is None:
            ctx.count("recorded statements PostgreSQL's grammar could not read")
            continue
        hit = [r.name for r in names
               if forbidden(table_options, r.name, r.schema, r.quoted, "postgres") is not None]
        if not hit:
            continue
        statement = statement_text(str(text), "postgres")
        quoted = statement if len(statement) <= SHOWN_STATEMENT else \
            statement[:SHOWN_STATEMENT - 1] + "…"
        start = since or reset
        when = f" since {shown.text(start)}" if start else ""
        table = hit[0]
        emit(f"the server ran a statement naming forbidden table {table} "
             f"{calls:,} time{'s' if calls != 1 else ''}{when}: {quoted}",
             obj=table, extra={"calls": calls, "since": shown.json(start),
                               "statement": statement})


#: pglast's statement nodes that read or write rows (the rest is DDL and utility).
_QUERIES = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt",
                      "CopyStmt"})


def _is_query(text: str) -> bool:
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        return True
    for item in tree.get("stmts", []):
        node = item.get("stmt") or {}
        kind = next(iter(node), "")
        if kind == "ExplainStmt":
            return True
        if kind in _QUERIES:
            return True
    return False
