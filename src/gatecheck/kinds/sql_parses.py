"""SQL embedded in the sources must parse in the configured dialect.

**What it does**
Reports every SQL fragment that the database engine itself rejects, at the
token where it stopped: ``.sql`` statements, strings passed to
``execute``/``executescript``/``text``/``read_sql``, and other string
literals that read like a statement (``SELECT ... FROM``, ``INSERT INTO``,
``UPDATE ... SET``, ...).  sqlglot finds the statements and their
positions; the verdict is the engine's: SQLite compiles the statement with
``EXPLAIN`` (nothing runs) in a private in-memory database, PostgreSQL SQL
goes through PostgreSQL's own grammar (pglast, no server needed).  A
statement the engine accepts is never reported, even where sqlglot cannot
parse it; other dialects fall back to sqlglot's parser.  Prose that merely
starts with a SQL word ("Select a file to upload") is not SQL and is never
reported, nor is a string outside a SQL call that the engine rejects.
f-string and ``%``/``.format`` placeholders are replaced by a neutral token
first, so a template with a dynamic column still parses; a template whose
hole stands for a whole clause (the engine stops at the hole) is not
checked rather than reported.

**Why it matters**
A typo in a query string fails only when that code path runs, often in
production.  Every other gate also needs parseable SQL to see the tables a
query uses: an unparseable statement is a blind spot.

**Example**
```yaml
rules:
  - id: sql-parses
    kind: sql-parses
```
fails on ``cur.execute("SELECT id FROM tasks WHERE")``.

**Fix**
Correct the statement, or set ``dialect:`` to the database's SQL dialect
(``sqlite``, ``postgres``, ``mysql`` ...).

**Options**
- ``paths`` / ``exclude`` (every source rule): which files the rule sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.kinds import SOURCES, Context, Emit

KIND = "sql-parses"
NEEDS = frozenset({SOURCES})


@dataclass(frozen=True)
class Options:
    pass


def check(ctx: Context, options: Options, emit: Emit) -> None:
    for facts in ctx.sources:
        if not facts.is_sql:
            continue
        for problem in facts.errors:
            emit(f"SQL does not parse ({ctx.dialect}): {problem.message}",
                 path=facts.path, span=problem.span)
        for problem in facts.not_checked:
            ctx.not_checked(facts.path, problem.span, "", problem.message)
