"""SQL in the sources must not reference forbidden tables.

**What it does**
Parses every SQL fragment of the sources (``.sql`` files statement by
statement, SQL string literals in Python) and flags each place where a
forbidden table is used *as a table*: after ``FROM``/``JOIN``, as the target
of ``INSERT``/``UPDATE``/``DELETE``/``REPLACE``, in DDL, ``REFERENCES``,
inside trigger bodies, and (PostgreSQL) in a cast to the table's row type
(``r.*::task_sessions``).  A table named through a module or class constant
(``"... FROM %s" % self.TABLE``) is reported once, at the constant.  Names match as the dialect compares identifiers:
any letter case, quoted (``"task_sessions"``, backticks) or qualified by a
schema on the dialect's search path (``main.task_sessions`` in SQLite,
``public.task_sessions`` with ``dialect: postgres``; ``app.task_sessions``
is another table there, unless ``tables`` names it).  In PostgreSQL a quoted
name keeps its case, so ``"Task_Sessions"`` is not ``task_sessions``.
Never flagged: comments, docstrings, log or UI strings, string literals
inside SQL (``WHERE name = 'task_sessions'``, dollar-quoted ``$$...$$``),
longer identifiers (``task_sessions_legacy``, ``task_sessions_count``), a
CTE that shadows the name, and tables named through an f-string placeholder.

**Why it matters**
After a table is merged away, the code that still reads or writes it is the
regression: it fails at runtime, or worse, writes into an archive nobody
reads.  A substring search flags comments and misses quoted names; a parser
does neither.

**Example**
```yaml
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
    exclude: ["**/migrations/**"]
```
fails on ``cur.execute("INSERT INTO task_sessions (session_id) VALUES (?)", ...)``
at the line and column of ``task_sessions``.

**Fix**
Point the query at the table that replaced it (``chat_sessions``), or move
a legitimate use into an excluded path (migrations).

**Options**
- ``tables``: table names or globs (required).
- ``except``: globs of names that are allowed anyway.
- ``paths`` / ``exclude`` (every source rule): which files the rule sees.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from gatecheck.kinds import SOURCES, Context, Emit, glob_match

KIND = "forbid-table-references"
NEEDS = frozenset({SOURCES})


@dataclass(frozen=True)
class Options:
    tables: tuple[str, ...] = field(metadata={"aliases": ("table",)})
    except_: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.tables:
            raise ValueError("'tables' must name at least one table")


def check(ctx: Context, options: Options, emit: Emit) -> None:
    for facts in ctx.sources:
        if not facts.is_sql:
            continue
        for ref in facts.tables:
            if ref.dynamic:
                continue
            if forbidden(options, ref.name, ref.schema, ref.quoted, ctx.dialect) is None:
                continue
            emit(f"references forbidden table {ref.name}", obj=ref.name, path=facts.path,
                 span=ref.span)


def forbidden(options: Options, name: str, schema: str | None, quoted: bool,
              dialect: str) -> str | None:
    """The entry of ``tables`` that a reference to ``schema.name`` names, or None.

    Shared with the checks of executed SQL (`gatecheck.runtime`,
    ``executed-references``), so a name is forbidden there exactly when it is here.
    """
    # Entries with a schema ("public.task_sessions") also match unqualified
    # references, since those resolve through the default schema.
    from gatecheck.facts import default_schemas

    bare = tuple(t.rsplit(".", 1)[-1] for t in options.tables)
    if dialect == "postgres" and quoted and name != name.lower():
        # PostgreSQL keeps the case of a quoted name: "Task_Sessions"
        # is not task_sessions.
        pattern = next((p for p in bare if fnmatch.fnmatchcase(name, p)), None)
    else:
        pattern = glob_match(name, bare)
    if pattern is None or glob_match(name, options.except_):
        return None
    qualified = options.tables[bare.index(pattern)]
    if schema is not None:
        # An unqualified entry names the table its search path finds: a reference
        # qualified by another schema (app.task_sessions on PostgreSQL, whose
        # search path is public) is another table.  SQLite looks in temp first.
        search = default_schemas(dialect) | ({"temp"} if dialect == "sqlite" else set())
        wanted = qualified.rsplit(".", 1)[0].casefold() if "." in qualified else None
        if wanted is not None and schema.casefold() != wanted:
            return None
        if wanted is None and search and schema.casefold() not in search:
            return None
    return qualified
