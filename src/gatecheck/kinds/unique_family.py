"""At most one live table per family of names.

**What it does**
For each ``pattern`` (glob, case-insensitive), collects the live tables whose
names match it and no ``except`` glob.  With ``canonical`` set, every member
other than the canonical table is a finding; without it, a family of two or
more tables flags each member.

**Why it matters**
Two tables holding the same thing (``task_sessions`` and ``chat_sessions``)
split the data: every reader must know both, every writer picks one, and the
two drift apart.  This is the "No Duplicate Tables" gate that started
gatecheck.

**Example**
```yaml
rules:
  - id: no-duplicate-session-tables
    kind: unique-family
    pattern: "*session*"
    except: ["*_legacy", "*_archive"]
    canonical: chat_sessions
```
fails while both ``chat_sessions`` and ``task_sessions`` exist, and passes
once ``task_sessions`` is merged and renamed ``task_sessions_legacy``.

**Fix**
Merge the duplicate into the canonical table (expand, migrate, archive) and
rename what remains to an excepted archive name.

**Options**
- ``pattern`` / ``patterns``: glob or list of globs; each is its own family (required).
- ``except``: globs of names that never count (archives).
- ``canonical``: the one table allowed in the family.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gatecheck.kinds import SCHEMA, Context, Emit, relation_match

KIND = "unique-family"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    patterns: tuple[str, ...] = field(metadata={"aliases": ("pattern",)})
    except_: tuple[str, ...] = ()
    canonical: str | None = None


def check(ctx: Context, options: Options, emit: Emit) -> None:
    names = sorted((t.name for t in ctx.schema.tables), key=str.casefold)
    for pattern in options.patterns:
        family = [n for n in names
                  if relation_match(n, (pattern,)) and not relation_match(n, options.except_)]
        listing = ", ".join(family)
        if options.canonical is not None:
            canonical = ctx.schema.table(options.canonical)
            for name in family:
                if canonical is None or name != canonical.name:
                    emit(f"table {name} duplicates the {pattern!r} family; only "
                         f"{options.canonical} may exist (live: {listing})", obj=name)
        elif len(family) > 1:
            for name in family:
                emit(f"table {name} is one of {len(family)} live tables in the {pattern!r} "
                     f"family: {listing}", obj=name)
