"""Archived tables kept past their retention period.

**What it does**
For every table matching ``pattern`` (and no ``except`` glob), finds the day
it was archived and reports it when more than ``max_age_days`` days have
passed since.  The archive date comes from, in this order:

1. the migrations record, when ``record_table`` and ``record_column`` name
   the table and the date column that hold it: the latest value of
   ``record_column`` among the rows matching ``record_where`` (SQL, parsed
   and refused unless it is a plain read; a bare ``{table}`` in it is bound
   to the archived table's name, so one rule can serve many tables);
2. the ``since`` date in the rule, used when no record is configured or no
   record row matches.

The finding says which source it used, and its JSON carries ``archived_on``,
``age_days`` and ``date_source`` (``record`` or ``since``).  Dates are read
from ISO text (``2025-06-02``, ``2025-06-02T10:15:00Z``: the date part
counts), SQL dates or Unix seconds.  "Today" is the ``today`` option, else
the environment variable ``GATECHECK_TODAY`` (an ISO date, for reproducible
CI runs and tests), else the system date.  A missing record table or
column, an unreadable date and a table with no date at all are findings.
A date read from the record is a database value, shown only with
``--show-data``: without it the date, ``archived_on`` and ``age_days``
(which would give the date away) say ``<hidden>``; a ``since`` date is the
rule's own and stays.

**Why it matters**
An archive kept "for 30 days, just in case" is kept forever unless someone
is reminded: it then drifts from the live table, confuses every new reader
of the schema and keeps personal data past its deletion date.

**Example**
```yaml
rules:
  - id: cleanup
    kind: legacy-retention
    pattern: "*_legacy"
    max_age_days: 30
    record_table: schema_migrations
    record_column: applied_at
    record_where: >-
      status = 'success'
      AND migration_id LIKE '%' || replace({table}, '_legacy', '') || '%'
```
fails on ``task_sessions_legacy`` 31 days after the ``v35_merge_task_sessions``
migration was recorded; ``since: 2025-06-02`` instead of the ``record_*``
options states the date outright.

**Fix**
Check that nothing reads the archive any more (``forbid-table-references``),
export it if the data must be kept, then ``DROP TABLE`` it in a migration.

**Options**
- ``pattern`` / ``patterns``: globs of archived table names (required).
- ``except``: globs of names never reported.
- ``max_age_days``: days an archive may be kept (required).
- ``since``: the archive date, ISO (``2025-06-02``).
- ``record_table``, ``record_column``, ``record_where``: where the migrations
  record keeps the archive date (see above).
- ``today``: the date to measure age at (default: ``GATECHECK_TODAY`` or the system date).
- ``timeout_s``: time limit of the record query in seconds (default 10).
One of ``since`` and ``record_table`` is required.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from gatecheck.options import OptionError, scalar, type_name
from gatecheck.errors import DatabaseError, GatecheckError
from gatecheck.kinds import DATA, Context, Emit, relation_match, split_name
from gatecheck.kinds._data import (DEFAULT_TIMEOUT_S, Values, read_only_problem,
                                   resolve_columns, values)

KIND = "legacy-retention"
NEEDS = frozenset({DATA})

#: Environment variable that pins "today" (an ISO date).
TODAY_ENV = "GATECHECK_TODAY"
_ISO_DAY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")
_TABLE_PLACEHOLDER = "{table}"


def as_date(value: Any) -> dt.date | None:
    """A date from ISO text (date part of a timestamp), a date, or Unix seconds."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc).date()
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        match = _ISO_DAY.match(value)
        if match is not None:
            try:
                return dt.date.fromisoformat(match.group(1))
            except ValueError:
                return None
    return None


#: ``since``/``today`` in the rules file's JSON Schema (`gatecheck.rules_schema`).
_DATE_SCHEMA = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}


def _parse_date(node: yaml.Node) -> dt.date:
    # YAML itself reads an unquoted 2025-06-02 as a date; a quoted one is text.
    if type_name(node) not in ("string", "timestamp"):
        raise OptionError(f"expected an ISO date such as 2025-06-02, got {type_name(node)}",
                          node)
    value = scalar(node)
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            raise OptionError(f"expected an ISO date such as 2025-06-02, got {value!r}",
                              node) from None
    date = as_date(value)
    assert date is not None  # a YAML timestamp is a date or a datetime
    return date


@dataclass(frozen=True)
class Options:
    patterns: tuple[str, ...] = field(metadata={"aliases": ("pattern",)})
    max_age_days: int
    except_: tuple[str, ...] = ()
    since: dt.date | None = field(default=None, metadata={"parse": _parse_date,
                                                          "schema": _DATE_SCHEMA})
    record_table: str | None = None
    record_column: str | None = None
    record_where: str | None = None
    today: dt.date | None = field(default=None, metadata={"parse": _parse_date,
                                                          "schema": _DATE_SCHEMA})
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.max_age_days < 0:
            raise ValueError(f"max_age_days must be 0 or more, got {self.max_age_days}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s:g}")
        if (self.record_table is None) != (self.record_column is None):
            raise ValueError("record_table and record_column go together: the table of the "
                             "migrations record and its date column")
        if self.record_where is not None and self.record_table is None:
            raise ValueError("record_where needs record_table and record_column")
        if self.since is None and self.record_table is None:
            raise ValueError("say where the archive date comes from: since: 2025-06-02, or "
                             "record_table/record_column (the migrations record)")


def today(options: Options) -> dt.date:
    if options.today is not None:
        return options.today
    pinned = os.environ.get(TODAY_ENV)
    if pinned:
        try:
            return dt.date.fromisoformat(pinned.strip())
        except ValueError:
            raise GatecheckError(f"{TODAY_ENV}={pinned!r}: expected an ISO date such as "
                                 "2025-06-20") from None
    return dt.date.today()


@dataclass(frozen=True)
class _Archived:
    date: dt.date
    source: str  # "record" or "since"
    how: str  # for the message


def check(ctx: Context, options: Options, emit: Emit) -> None:
    schema = ctx.schema
    names = sorted((t.name for t in schema.tables
                    if relation_match(t.name, options.patterns)
                    and not relation_match(t.name, options.except_)), key=str.casefold)
    if not names:
        return
    now = today(options)
    record: tuple[str, str] | None = None
    if options.record_table is not None and options.record_column is not None:
        resolved = resolve_columns(schema, emit, options.record_table, (options.record_column,),
                                   role="archive record table")
        if resolved is None:
            return
        record = (resolved[0], resolved[1][0])
    for name in names:
        archived = _archive_date(ctx, options, record, name, emit)
        if archived is None:
            continue
        age = (now - archived.date).days
        if age > options.max_age_days:
            # A date read from the record is data (any column of any table,
            # Unix seconds included), and so is the age that gives it away;
            # a since: date is the rule's own.
            shown = values(ctx) if archived.source == "record" else Values(show=True)
            emit(f"{name} was archived on {shown.text(archived.date.isoformat())} "
                 f"({archived.how}{shown.aside}), {shown.text(age)} days ago, past "
                 f"max_age_days {options.max_age_days}: drop it once nothing reads it", obj=name,
                 extra={"archived_on": shown.json(archived.date.isoformat()),
                        "age_days": shown.json(age), "date_source": archived.source})


def _archive_date(ctx: Context, options: Options, record: tuple[str, str] | None, name: str,
                  emit: Emit) -> _Archived | None:
    """The table's archive date, or None after emitting why there is none."""
    since = (_Archived(options.since, "since", "date from since: in the rule")
             if options.since is not None else None)
    if record is None:
        return since
    table, column = record
    db = ctx.data
    sql = f"SELECT MAX({db.quote(column)}) FROM {db.quote(table)}"
    where = options.record_where
    if where is not None:
        # The name is bound as a string literal, not a parameter: SQLite and
        # psycopg spell parameters differently, and psycopg would then read
        # every % of a LIKE pattern as one.  Quotes are doubled, and both
        # engines take backslashes in '...' literally.
        bare = split_name(name)[1]  # app.x_legacy -> x_legacy: records name tables bare
        where = where.replace(_TABLE_PLACEHOLDER, "'" + bare.replace("'", "''") + "'")
        sql += f" WHERE (\n{where}\n)"
    problem = read_only_problem(sql, db.dialect)
    if problem is not None:
        emit(f"refused to run the archive record query for {name}: {problem}; nothing was run",
             obj=name)
        return None
    try:
        rows = db.query(sql, timeout_s=options.timeout_s).rows
    except DatabaseError as exc:
        emit(f"cannot read the archive date of {name} from {table}.{column}: "
             f"{values(ctx).problem(exc, sql)}", obj=name)
        return None
    value = rows[0][0] if rows else None
    source = f"{table}.{column}"
    if value is None:
        if since is not None:
            return _Archived(since.date, "since",
                             f"date from since: in the rule; no {table} row matched")
        emit(f"no archive date for {name}: no row of {table} matches record_where, and the "
             "rule has no since:", obj=name)
        return None
    date = as_date(value)
    if date is None:
        shown = values(ctx)
        emit(f"the archive date of {name} in {source} is {shown.literal(value)}, which is not a "
             f"date (expected ISO text such as 2025-06-02, or Unix seconds{shown.aside})",
             obj=name)
        return None
    return _Archived(date, "record", f"date from the migrations record {source}")
