"""Every non-NULL reference points at an existing row, declared foreign key or not.

**What it does**
Counts the rows of ``from`` whose key value has no equal value in ``to``,
with one anti-join inside the database (rows never travel to gatecheck),
and reports the count plus a sample of at most 10 distinct orphan keys, in
ascending order.  The JSON finding carries them as
``count`` and ``sample``; its ``object`` is ``table.column`` of ``from``
(``table.(a,b)`` for a composite key).  The keys are database values,
shown only with ``--show-data``: without it the message and ``sample`` say
``<hidden>`` (the count stays).

NULLs behave as a SQL foreign key (``MATCH SIMPLE``): a ``from`` row with a
NULL in any key column references nothing and is **not** an orphan; a NULL
in ``to`` matches nothing.  A missing table or column is a finding, not a
crash.

**Why it matters**
SQLite enforces foreign keys only when ``PRAGMA foreign_keys=ON`` and only
on writes, many schemas declare none, and a merge can move the referenced
rows.  After ``task_sessions`` was merged into ``chat_sessions``, every
``tasks.session_id`` must still resolve, or the app shows tasks without a
session.

**Example**
```yaml
rules:
  - id: tasks-resolve
    kind: no-orphans
    from: tasks.session_id
    to: chat_sessions.session_id
```
fails when a task names a ``session_id`` that ``chat_sessions`` lacks.  For
a composite key give tables plus ``key``: ``from: order_lines, to: orders,
key: [{from: order_no, to: number}, {from: shop, to: shop}]``.

**Fix**
Copy the missing parent rows, repoint the orphans (``UPDATE``) or delete
them, then add a foreign key so the database keeps them consistent.

**Options**
- ``from``: ``table.column`` holding the references, or a table with ``key`` (required).
- ``to``: ``table.column`` they must exist in, or a table with ``key`` (required).
- ``key``: with tables in ``from``/``to``: a column name, a list of names,
  ``{from: a, to: b}`` or a list of such mappings.
- ``timeout_s``: time limit of each query in seconds (default 10).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.errors import DatabaseError
from gatecheck.kinds import DATA, Context, Emit
from gatecheck.kinds._data import (AntiJoinOptions, anti_join, column_object, columns_text,
                                   plural, resolve_columns, values)

KIND = "no-orphans"
NEEDS = frozenset({DATA})


@dataclass(frozen=True)
class Options(AntiJoinOptions):
    NEED_COLUMNS = True


def check(ctx: Context, options: Options, emit: Emit) -> None:
    spec = options.spec
    assert spec.pairs is not None  # need_columns=True guarantees them
    schema = ctx.schema
    source = resolve_columns(schema, emit, spec.source, tuple(s for s, _ in spec.pairs),
                             role="referencing table")
    target = resolve_columns(schema, emit, spec.target, tuple(t for _, t in spec.pairs),
                             role="referenced table")
    if source is None or target is None:
        return
    (src, src_cols), (dst, dst_cols) = source, target
    obj = column_object(src, src_cols)
    ref = column_object(dst, dst_cols)
    shown = values(ctx)
    try:
        misses = anti_join(ctx.data, src, dst, tuple(zip(src_cols, dst_cols)),
                           skip_null_keys=True, timeout_s=options.timeout_s)
    except DatabaseError as exc:
        names = " ".join((src, dst, *src_cols, *dst_cols))
        emit(f"cannot check {obj} against {ref}: {shown.problem(exc, names)}", obj=obj)
        return
    if misses.count:
        emit(f"{plural(misses.count, 'row')} of {src} {'has' if misses.count == 1 else 'have'} "
             f"a {columns_text(src_cols)} not found in {ref} "
             f"(orphans: {shown.sample(misses.sample)})",
             obj=obj, extra={"count": misses.count, "sample": shown.json(misses.sample)})
