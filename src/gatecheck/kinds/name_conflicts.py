"""No two tables whose names mean the same thing.

**What it does**
Normalises every live table name (case-folded, the configured ``prefixes``
stripped, then a plural reduced to its singular: ``sessions`` -> ``session``,
``categories`` -> ``category``, ``boxes`` -> ``box``) and flags tables that
share a normalised stem.  The first name in sort order is kept; each other
member of the group is a finding naming it.

**Why it matters**
``session``, ``sessions`` and ``chat_sessions`` coexisting means someone
created a table without finding the existing one.  Code then splits between
them, exactly like a duplicate family, but without a shared pattern that
``unique-family`` could catch.

**Example**
```yaml
rules:
  - id: no-table-name-conflicts
    kind: name-conflicts
    prefixes: ["chat_", "task_", "webui_"]
    except: ["*_legacy", "*_archive"]
```
fails on a schema with ``session`` and ``chat_sessions``.

**Fix**
Keep one table, migrate the other's rows into it and archive or drop it.

**Options**
- ``prefixes``: prefixes stripped before comparing (default none).
- ``except``: globs of names that never conflict (archives).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from gatecheck.kinds import SCHEMA, Context, Emit, relation_match, split_name

KIND = "name-conflicts"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    prefixes: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()


def stem(name: str, prefixes: tuple[str, ...] = ()) -> str:
    word = name.casefold()
    for prefix in sorted(prefixes, key=len, reverse=True):
        p = prefix.casefold()
        if word.startswith(p) and len(word) > len(p):
            word = word[len(p):]
            break
    return _singular(word)


def _singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 1:
        return word[:-1]
    return word


def check(ctx: Context, options: Options, emit: Emit) -> None:
    # Names conflict within one schema: app.sessions and public.session do not.
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for table in ctx.schema.tables:
        if not relation_match(table.name, options.except_):
            namespace, bare = split_name(table.name)
            groups[(namespace.casefold(), stem(bare, options.prefixes))].append(table.name)
    for group in sorted(groups):
        key = group[1]
        members = sorted(groups[group], key=str.casefold)
        for name in members[1:]:
            emit(f"table {name} conflicts with {members[0]}: both normalise to {key!r}",
                 obj=name)
