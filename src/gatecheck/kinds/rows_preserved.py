"""Every row of one table has a partner in another: nothing was lost in a copy.

**What it does**
Counts the rows of ``from`` that have no row in ``to`` with equal ``key``
columns, with one anti-join inside the database (rows never travel to
gatecheck), and reports the count plus a sample of at most 10 distinct
missing keys, in ascending order.  The JSON finding carries them
as ``count`` and ``sample`` (a value per key, a list per composite key);
its ``object`` is the ``from`` table.  The keys are database values,
shown only with ``--show-data``: without it the message and ``sample`` say
``<hidden>`` (the count stays).

NULLs behave as in SQL: ``NULL = NULL`` is not true, so a ``from`` row
whose key holds a NULL can never match and **counts as lost** (it shows as
``null`` in the sample).  That is deliberate: such a row cannot be shown to
have been copied.  A missing table or column is a finding, not a crash.

**Why it matters**
An expand-migrate-archive merge copies rows with ``INSERT OR IGNORE ...
SELECT``; a wrong ``WHERE``, a constraint that silently skips rows or a
copy that ran before the last writes all lose data without an error.
"Zero loss" is the one check that proves the archive can be dropped later.

**Example**
```yaml
rules:
  - id: zero-loss
    kind: rows-preserved
    from: task_sessions_legacy
    to: chat_sessions
    key: session_id
```
fails when a ``session_id`` of ``task_sessions_legacy`` is not in
``chat_sessions``.  ``key: {from: legacy_id, to: id}`` maps differing names,
``key: [tenant_id, session_id]`` is a composite key, and so is a list of
mappings.  Without ``key`` the primary key of ``from`` is used, under the
same column names in ``to``.

**Fix**
Copy the missing rows (re-run the migration's ``INSERT ... SELECT`` for
them), or, when they were dropped on purpose, exclude them with a ``query``
rule instead.  An index on the ``to`` key columns keeps the check fast.

**Options**
- ``from``: the table whose rows must be preserved (required).
- ``to``: the table they must be in (required).
- ``key``: column name, list of names, ``{from: a, to: b}`` or a list of such
  mappings (default: the primary key of ``from``).  ``from: table.column``
  with ``to: table.column`` is the one-column shorthand.
- ``timeout_s``: time limit of each query in seconds (default 10).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.errors import DatabaseError
from gatecheck.kinds import DATA, Context, Emit
from gatecheck.kinds._data import (AntiJoinOptions, anti_join, key_text, plural,
                                   resolve_columns, values)

KIND = "rows-preserved"
NEEDS = frozenset({DATA})


@dataclass(frozen=True)
class Options(AntiJoinOptions):
    NEED_COLUMNS = False


def check(ctx: Context, options: Options, emit: Emit) -> None:
    spec = options.spec
    schema = ctx.schema
    pairs = spec.pairs
    if pairs is None:
        table = schema.table(spec.source)
        if table is not None and not table.primary_key:
            emit(f"source table {table.name} has no primary key; name the columns to match "
                 "in 'key'", obj=table.name)
            return
        primary_key = table.primary_key if table is not None else ()
        pairs = tuple((c, c) for c in primary_key)
    source = resolve_columns(schema, emit, spec.source, tuple(s for s, _ in pairs),
                             role="source table")
    target = resolve_columns(schema, emit, spec.target, tuple(t for _, t in pairs),
                             role="target table")
    if source is None or target is None:
        return
    (src, src_cols), (dst, dst_cols) = source, target
    on = key_text(src_cols, dst_cols)
    shown = values(ctx)
    try:
        misses = anti_join(ctx.data, src, dst, tuple(zip(src_cols, dst_cols)),
                           skip_null_keys=False, timeout_s=options.timeout_s)
    except DatabaseError as exc:
        names = " ".join((src, dst, *src_cols, *dst_cols))
        emit(f"cannot check that every {src} row is in {dst} on {on}: "
             f"{shown.problem(exc, names)}", obj=src)
        return
    if misses.count:
        emit(f"{plural(misses.count, 'row')} of {src} {'has' if misses.count == 1 else 'have'} "
             f"no matching row in {dst} on {on} (missing: {shown.sample(misses.sample)})",
             obj=src, extra={"count": misses.count, "sample": shown.json(misses.sample)})
