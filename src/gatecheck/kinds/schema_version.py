"""The schema version recorded in a table is at least a given version.

**What it does**
Reads the distinct values of ``column`` in ``table`` (at most 10,000) and
reports when the highest version among them is below ``min``; the JSON
finding carries it as ``found``, next to ``min``.  Versions compare as versions,
not as text: dot-separated numbers, compared number by number, so
``0.35.0`` > ``0.9.1`` and ``1.10`` > ``1.9``; missing parts count as zero
(``0.35`` = ``0.35.0``), a leading ``v`` is ignored and integer columns
work (``35``).  A value that is not such a version (``0.35.0-rc1``,
``latest``) is a finding naming it, as are an empty or missing table or
column.  The version found is a database value, shown only with
``--show-data``: without it the message and ``found`` say ``<hidden>``
(``min``, the rule's own, stays).

**Why it matters**
Application code checks the version to decide which schema it talks to.
A migration that changed the schema but did not bump the version makes the
next deploy run it again or skip the one after it.

**Example**
```yaml
rules:
  - id: version
    kind: schema-version
    table: schema_version
    column: version
    min: "0.35.0"
```
fails while ``schema_version.version`` holds ``0.34.0``.

**Fix**
Bump the version in the migration that changed the schema
(``UPDATE schema_version SET version = '0.35.0'``).

**Options**
- ``table``: the table holding the version (required).
- ``column``: its column (required).
- ``min``: the lowest acceptable version, quoted (``"0.35.0"``) (required).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from gatecheck.options import OptionError, scalar, type_name
from gatecheck.errors import DatabaseError
from gatecheck.kinds import DATA, Context, Emit
from gatecheck.kinds._data import column_object, resolve_columns, values

KIND = "schema-version"
NEEDS = frozenset({DATA})

#: Values read at most; a version table holds one row, or one per migration.
MAX_ROWS = 10_000

_VERSION = re.compile(r"^[vV]?(\d+(?:\.\d+)*)$")


def parse_version(value: Any) -> tuple[int, ...] | None:
    """``"v0.35.0"`` -> ``(0, 35)`` (trailing zeros dropped so 0.35 == 0.35.0); None if not one."""
    if isinstance(value, bool) or value is None:
        return None
    match = _VERSION.match(str(value).strip())
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _parse_min(node: yaml.Node) -> str:
    kind = type_name(node)
    if kind == "float":
        # YAML reads 0.10 as the float 0.1: the version would silently change.
        raise OptionError("write the version as a string: min: \"0.35.0\"", node)
    if kind not in ("string", "int"):
        raise OptionError(f"expected a version string such as \"0.35.0\", got {kind}", node)
    text = str(scalar(node)).strip()
    if parse_version(text) is None:
        raise OptionError(f"{text!r} is not a version: expected numbers separated by dots, "
                          "such as 0.35.0 (a leading v is allowed)", node)
    return text


@dataclass(frozen=True)
class Options:
    table: str
    column: str
    min: str = field(metadata={"parse": _parse_min, "schema": {
        "type": ["string", "integer"], "pattern": r"^[vV]?\d+(\.\d+)*$"}})


def check(ctx: Context, options: Options, emit: Emit) -> None:
    resolved = resolve_columns(ctx.schema, emit, options.table, (options.column,),
                               role="version table")
    if resolved is None:
        return
    table, (column,) = resolved
    obj = column_object(table, (column,))
    db = ctx.data
    shown = values(ctx)
    try:
        rows = db.query(f"SELECT DISTINCT {db.quote(column)} FROM {db.quote(table)}",
                        limit=MAX_ROWS).rows
    except DatabaseError as exc:
        emit(f"cannot read {obj}: {shown.problem(exc, obj)}", obj=obj)
        return
    if not rows:
        emit(f"{table} holds no version (it is empty); expected at least {options.min}", obj=obj)
        return
    best: tuple[tuple[int, ...], Any] | None = None
    for (value,) in rows:
        version = parse_version(value)
        if version is None:
            emit(f"{obj} holds {shown.literal(value)}, which is not a version (expected numbers "
                 f"separated by dots, such as 0.35.0{shown.aside})", obj=obj)
            return
        if best is None or version > best[0]:
            best = (version, value)
    assert best is not None
    required = parse_version(options.min)
    assert required is not None  # validated by _parse_min
    if best[0] < required:
        emit(f"{obj} is {shown.text(best[1])}, below the required {options.min}{shown.note}",
             obj=obj, extra={"found": shown.json(str(best[1])), "min": options.min})
