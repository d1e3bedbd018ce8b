"""Columns that must exist in a table.

**What it does**
Reports every name in ``columns`` that is not a column of ``table`` (names
compare case-insensitively), and the table itself when it does not exist.

**Why it matters**
The expand step of a merge adds the columns only the old table had
(``channel``, ``last_activity``) to the table that stays.  Code written for
the merged schema fails at run time on a database where that step did not
run, and a later rebuild of the table can silently drop them again.

**Example**
```yaml
rules:
  - id: new-columns
    kind: require-columns
    table: chat_sessions
    columns: [channel, last_activity]
```
fails while ``chat_sessions`` lacks ``channel`` (object ``chat_sessions.channel``).

**Fix**
Add the column in a migration (``ALTER TABLE chat_sessions ADD COLUMN
channel TEXT``) and apply it.

**Options**
- ``table``: the table (required).
- ``column`` / ``columns``: name or list of names that must be its columns (required).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatecheck.kinds import SCHEMA, Context, Emit

KIND = "require-columns"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    table: str
    columns: tuple[str, ...] = field(metadata={"aliases": ("column",)})


def check(ctx: Context, options: Options, emit: Emit) -> None:
    table = ctx.schema.table(options.table)
    if table is None:
        emit(f"table {options.table} does not exist (required for its columns "
             f"{', '.join(options.columns)})", obj=options.table)
        return
    for name in options.columns:
        if table.column(name) is None:
            emit(f"table {table.name} has no column {name} (required)",
                 obj=f"{table.name}.{name}")
