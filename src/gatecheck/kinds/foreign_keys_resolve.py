"""Every foreign key targets an existing, live table and existing columns.

**What it does**
Checks each foreign key of each table and reports it when its target table
does not exist (or is a view), when the target's name matches an ``archived`` glob, when
a target column does not exist, or when it names no columns and the target
has no primary key to stand in for them.  The finding's ``object`` is the
referencing ``table.column``; for a composite key it is ``table.(a,b)``,
all of the key's columns in declaration order.  Tables matching ``except``
are not checked.

**Why it matters**
SQLite rewrites foreign keys on ``ALTER TABLE ... RENAME``: after a merge
renamed ``task_sessions`` to ``task_sessions_legacy``, ``tasks.session_id``
pointed at the archive, and every new task whose session lived only in
``chat_sessions`` failed its foreign key check.  A foreign key to a dropped
table (SQLite keeps it) fails the same way, and only when a row is written.

**Example**
```yaml
rules:
  - id: fk-resolve
    kind: foreign-keys-resolve
    archived: ["*_legacy", "*_archive"]
```
fails on ``tasks (session_id REFERENCES task_sessions_legacy(session_id))``
with object ``tasks.session_id``.

**Fix**
Point the key at the live table.  SQLite cannot alter a constraint: rebuild
the table (create ``tasks_new`` with the right ``REFERENCES``, copy the rows,
drop ``tasks``, rename ``tasks_new`` to ``tasks``).

**Options**
- ``archived``: globs of table names a foreign key must not target (default none).
- ``except``: globs of referencing tables not checked (default none).
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.kinds import SCHEMA, Context, Emit, relation_match, split_name
from gatecheck.kinds._data import column_object

KIND = "foreign-keys-resolve"
NEEDS = frozenset({SCHEMA})


@dataclass(frozen=True)
class Options:
    archived: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()


def check(ctx: Context, options: Options, emit: Emit) -> None:
    schema = ctx.schema
    for table in sorted(schema.tables, key=lambda t: t.name.casefold()):
        if relation_match(table.name, options.except_):
            continue
        for fk in table.foreign_keys:
            obj = column_object(table.name, fk.columns)
            ref = f"{fk.ref_table}({', '.join(fk.ref_columns)})" if fk.ref_columns \
                else fk.ref_table
            head = f"foreign key {obj} references {ref}"
            target = schema.table(fk.ref_table)
            namespace = split_name(fk.ref_table)[0].casefold()
            if target is None and namespace and schema.schemas and \
                    namespace not in {s.casefold() for s in schema.schemas}:
                continue  # a table in a schema not read (PostgreSQL): nothing to check
            if target is None:
                what = "is a view, not a table" if schema.view(fk.ref_table) is not None \
                    else "does not exist"
                emit(f"{head}, which {what}", obj=obj)
                continue
            pattern = relation_match(target.name, options.archived)
            if pattern is not None:
                emit(f"{head}, an archived table (matches {pattern!r}); point it at the "
                     "live table", obj=obj)
                continue
            if not fk.ref_columns:
                if not target.primary_key:
                    emit(f"{head}, which has no primary key for it to match", obj=obj)
                continue
            missing = [c for c in fk.ref_columns if target.column(c) is None]
            if missing:
                emit(f"{head}, but {target.name} has no column {', '.join(missing)}", obj=obj)
