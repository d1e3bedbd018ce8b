"""Statement kinds (DDL, PRAGMA ...) only in allowed paths.

**What it does**
Classifies every SQL statement in the sources from its parse tree (not a
regular expression) and flags those whose kind is listed in ``statements``,
unless the file matches an ``allow`` glob.  Kinds are kebab-case:
``select``, ``insert``, ``update``, ``delete``, ``create-table``,
``create-index``, ``create-view``, ``create-trigger``, ``alter-table``,
``drop-table``, ``drop-index``, ``drop-view``, ``drop-trigger``,
``pragma-<name>`` (``pragma-table-info``, ``pragma-foreign-keys``...),
``attach``, ``vacuum``... A glob such as ``create-*`` or ``pragma-*``
matches several.  Statements inside ``executescript`` strings, ``.sql``
files and trigger bodies count.

**Why it matters**
Schema changes made from application code bypass the migration history: the
next environment built from migrations differs from production, and nobody
reviews the change as a migration.  The project gatecheck comes from kept a
regex script for this that missed multi-line and lower-case DDL.

**Example**
```yaml
rules:
  - id: ddl-only-in-migrations
    kind: forbid-statements
    statements: [create-table, alter-table, drop-table, create-index, drop-index,
                 pragma-table-info]
    allow: ["**/migrations/**", "**/migrator.py"]
```
fails on ``conn.execute("ALTER TABLE tasks ADD COLUMN x")`` in ``app/store.py``,
at the statement's first keyword.

**Fix**
Move the statement into a migration file, or add the file to ``allow`` if it
is the migration runner.

**Options**
- ``statements``: statement kinds or globs of them (required).
- ``allow``: gitignore-style globs of files where the statements are fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.kinds import SOURCES, Context, Emit, glob_match
from gatecheck.paths import PathMatcher

KIND = "forbid-statements"
NEEDS = frozenset({SOURCES})


@dataclass(frozen=True)
class Options:
    statements: tuple[str, ...]
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.statements:
            raise ValueError("'statements' must name at least one statement kind")


def check(ctx: Context, options: Options, emit: Emit) -> None:
    allow = PathMatcher(options.allow)
    for facts in ctx.sources:
        if not facts.is_sql or allow.matches(facts.path):
            continue
        for statement in facts.statements:
            if glob_match(statement.kind, options.statements):
                # Point at the statement's first keyword, not its whole text.
                emit(f"{statement.kind.replace('-', ' ').upper()} statement outside the "
                     "allowed paths", obj=statement.kind, path=facts.path,
                     span=statement.first_token)
