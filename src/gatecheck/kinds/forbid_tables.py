"""No table or view in the schema may match the forbidden patterns.

**What it does**
Flags every table and view of the live schema whose name matches one of
``patterns`` (globs, case-insensitive) and none of ``except``.

**Why it matters**
A consolidation leaves debris: a ``webui_*`` table that should have been
archived as ``*_legacy``, a ``tasks_new`` from a migration that failed half
way, a ``task_sessions`` that should be gone after a merge.  None of them
breaks a test, and every one of them invites new code to use it.

**Example**
```yaml
rules:
  - id: no-webui-tables
    kind: forbid-tables
    pattern: "webui_*"
    except: ["*_legacy"]
  - id: no-leftovers
    kind: forbid-tables
    patterns: ["*_new", "*_tmp"]
```
fails on a database holding ``webui_chats`` or ``tasks_new``.

**Fix**
Finish the migration: drop the leftover table, or rename it to an excepted
archive name (``ALTER TABLE webui_chats RENAME TO webui_chats_legacy``).

**Options**
- ``pattern`` / ``patterns``: glob or list of globs (required).
- ``except``: globs of names that are allowed anyway.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatecheck.kinds import SCHEMA, Context, Emit, relation_match

KIND = "forbid-tables"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    patterns: tuple[str, ...] = field(metadata={"aliases": ("pattern",)})
    except_: tuple[str, ...] = ()


def check(ctx: Context, options: Options, emit: Emit) -> None:
    schema = ctx.schema
    relations = [(t.name, "table") for t in schema.tables] + [(v.name, "view") for v in schema.views]
    for name, what in sorted(relations, key=lambda r: r[0].casefold()):
        pattern = relation_match(name, options.patterns)
        if pattern and not relation_match(name, options.except_):
            emit(f"{what} {name} matches forbidden pattern {pattern!r}", obj=name)
