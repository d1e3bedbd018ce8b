"""Tables that must exist.

**What it does**
Reports every name in ``tables`` that is not a table of the live schema
(names compare case-insensitively).  A view of that name does not count: a
view holds no rows of its own, so it cannot be the archive or target table a
migration promised.

**Why it matters**
A merge archives the old table as ``task_sessions_legacy`` and keeps
``chat_sessions`` and ``tasks``.  If a later migration or a cleanup script
drops one of them, nothing else notices until the data is gone for good.

**Example**
```yaml
rules:
  - id: legacy-kept
    kind: require-tables
    tables: [task_sessions_legacy, chat_sessions, tasks]
```
fails on a database where ``task_sessions`` was never renamed to
``task_sessions_legacy``.

**Fix**
Run the missing migration (``ALTER TABLE task_sessions RENAME TO
task_sessions_legacy``), or restore the dropped table from a backup.

**Options**
- ``table`` / ``tables``: name or list of names that must be tables (required).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatecheck.kinds import SCHEMA, Context, Emit

KIND = "require-tables"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    tables: tuple[str, ...] = field(metadata={"aliases": ("table",)})


def check(ctx: Context, options: Options, emit: Emit) -> None:
    schema = ctx.schema
    for name in options.tables:
        if schema.table(name) is not None:
            continue
        if schema.view(name) is not None:
            emit(f"required table {name} is a view, not a table", obj=name)
        else:
            emit(f"required table {name} does not exist", obj=name)
