"""The structural difference between two schemas, and its text, JSON and Markdown forms.

Pure functions over two `gatecheck.model.Schema`s: nothing here opens a
file or a connection (``gatecheck diff`` and the migration-review kinds get
their schemas from `gatecheck.review`).

The comparison is structural.  What is compared is what the model holds:
tables, views, columns (type, nullability, default, position in the primary
key), indexes, foreign keys and triggers.  The ``CREATE`` text SQLite keeps
is not compared, so two tables written differently but with the same
columns, keys and indexes are equal.  Column order is not compared either.
Types are compared case- and blank-insensitively (``varchar( 10 )`` is
``VARCHAR(10)``); defaults, view bodies and trigger bodies token by token
(keywords and names folded, comments and layout ignored, string literals
exact).  Indexes that only implement a primary key are left out (the
columns say it); those of a ``UNIQUE`` constraint, whose names the engine
makes up, are matched by their table and columns instead of their name.

Renames are told where the structure allows it:

- a table only in A and a table only in B with the same columns (names and
  definitions) and foreign keys, when no other table of either side has
  that structure, are one table renamed;
- in a table of both sides (or a renamed one), a column only in A and a
  column only in B with the same definition and the same place among the
  columns both sides share, when that pairing is unique, are one column
  renamed;
- the same for views (same body) and for indexes (same table, columns and
  uniqueness).

Foreign keys, indexes, triggers and views that name a renamed table are
compared under its new name, so they are not reported as changed merely
because the table they name was renamed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TypeVar

from gatecheck.model import Column, ForeignKey, Index, Schema, Table, Trigger, View
from gatecheck.redact import inert

#: JSON format version of `to_json`.
FORMAT_VERSION = 1
ACTIONS = ("added", "removed", "changed", "renamed")
KINDS = ("table", "view", "column", "index", "foreign_key", "trigger")
_KIND_RANK = {kind: i for i, kind in enumerate(KINDS)}
_T = TypeVar("_T")


@dataclass(frozen=True)
class Attribute:
    """One attribute of an object that differs: its value in A and in B."""

    name: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    """One object added, removed, changed or renamed between schema A and schema B."""

    action: str
    kind: str
    #: The object as findings name it: ``users``, ``users.email``, an index's
    #: name, ``tasks(session_id)`` for a foreign key or a UNIQUE constraint.
    #: Its name in B, except for a removed object.
    object: str
    #: The table it belongs to (in B, except when removed); None for tables and views.
    table: str | None = None
    #: A renamed object's name in A (same form as ``object``).
    old: str | None = None
    #: What differs, for ``changed``.
    attributes: tuple[Attribute, ...] = ()
    #: The definitions in A and B (None where it does not exist).
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        """The bare name: a column's name without its table."""
        if self.kind == "column" and self.table is not None:
            return self.object[len(self.table) + 1:]
        return self.object

    @property
    def old_name(self) -> str | None:
        if self.old is not None and self.kind == "column" and "." in self.old:
            return self.old.rsplit(".", 1)[1]
        return self.old

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "kind": self.kind, "object": self.object,
                "table": self.table, "from": self.old,
                "attributes": [{"name": a.name, "before": a.before, "after": a.after}
                               for a in self.attributes],
                "before": dict(self.before) if self.before is not None else None,
                "after": dict(self.after) if self.after is not None else None}

    def sort_key(self) -> tuple[Any, ...]:
        owner = self.table if self.table is not None else self.object
        return (owner.casefold(), _KIND_RANK[self.kind], self.object.casefold(),
                ACTIONS.index(self.action))


@dataclass(frozen=True)
class SchemaDiff:
    changes: tuple[Change, ...] = ()
    #: Tables renamed, old name -> new name (also among ``changes``).
    renamed_tables: Mapping[str, str] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}


# ---------------------------------------------------------------- normalising


def _folder(a: Schema, b: Schema) -> Callable[[str], str]:
    """How names compare: PostgreSQL keeps the case of quoted names, SQLite folds."""
    if a.dialect == "postgres" and b.dialect == "postgres":
        return lambda name: name
    return str.casefold


_BLANKS = re.compile(r"\s+")
_AROUND = re.compile(r"\s*([(),])\s*")


def normal_type(text: str) -> str:
    """``varchar( 10 )`` -> ``varchar(10)``: case and blanks do not count."""
    return _AROUND.sub(r"\1", _BLANKS.sub(" ", text.strip())).casefold()


def normal_sql(text: str | None, dialect: str = "sqlite",
               names: Mapping[str, str] | None = None) -> str:
    """``text`` token by token: keywords upper-cased, names folded (and renamed
    through ``names``, folded old -> new), literals kept, comments and layout gone."""
    if text is None:
        return ""
    tokens = _tokens(text, dialect)
    if tokens is None:
        return _BLANKS.sub(" ", text.strip())
    return " ".join(_token_text(kind, value, names) for kind, value in tokens)


def _tokens(text: str, dialect: str) -> list[tuple[str, str]] | None:
    from sqlglot import TokenType
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError

    try:
        raw = Dialect.get_or_raise(dialect if dialect in ("sqlite", "postgres")
                                   else "sqlite").tokenize(text)
    except (TokenError, RecursionError, ValueError):
        return None
    out = []
    for token in raw:
        if token.token_type in (TokenType.STRING, TokenType.NATIONAL_STRING):
            out.append(("string", token.text))
        elif token.token_type in (TokenType.VAR, TokenType.IDENTIFIER):
            out.append(("name", token.text))
        elif token.token_type == TokenType.ALIAS:
            out.append(("as", token.text))
        else:
            out.append(("other", token.text))
    return out


def _token_text(kind: str, value: str, names: Mapping[str, str] | None) -> str:
    if kind == "string":
        return "'" + value.replace("'", "''") + "'"
    if kind == "name":
        folded = value.casefold()
        return names.get(folded, folded) if names else folded
    return value.upper()


def _normal_default(text: str | None, dialect: str) -> str | None:
    if text is None:
        return None
    normal = normal_sql(text, dialect)
    while normal.startswith("( ") and normal.endswith(" )") and _balanced(normal[2:-2]):
        normal = normal[2:-2]
    return normal


def _balanced(text: str) -> bool:
    depth = 0
    for part in text.split(" "):
        depth += (part == "(") - (part == ")")
        if depth < 0:
            return False
    return depth == 0


def _view_body(view: View, dialect: str, names: Mapping[str, str] | None) -> str:
    """The normalised ``SELECT`` of a view: its ``CREATE VIEW name AS`` left out."""
    tokens = _tokens(view.sql or "", dialect)
    if tokens is None:
        return normal_sql(view.sql, dialect, names)
    depth = 0
    for i, (kind, value) in enumerate(tokens):
        depth += (value == "(") - (value == ")")
        if kind == "as" and depth == 0:
            tokens = tokens[i + 1:]
            break
    return " ".join(_token_text(kind, value, names) for kind, value in tokens)


# ---------------------------------------------------------------- definitions


def column_json(column: Column) -> dict[str, Any]:
    return {"name": column.name, "type": column.type, "not_null": column.not_null,
            "default": column.default, "primary_key": column.primary_key}


def index_json(index: Index, table: str) -> dict[str, Any]:
    return {"name": index.name, "table": table, "columns": list(index.columns),
            "unique": index.unique}


def foreign_key_json(fk: ForeignKey) -> dict[str, Any]:
    return {"columns": list(fk.columns), "ref_table": fk.ref_table,
            "ref_columns": list(fk.ref_columns), "on_delete": fk.on_delete,
            "on_update": fk.on_update}


def table_json(table: Table) -> dict[str, Any]:
    return {"name": table.name, "columns": [column_json(c) for c in table.columns],
            "primary_key": list(table.primary_key),
            "foreign_keys": [foreign_key_json(fk) for fk in table.foreign_keys],
            "indexes": [index_json(i, table.name) for i in table.indexes if i.origin != "pk"]}


def view_json(view: View) -> dict[str, Any]:
    return {"name": view.name, "columns": list(view.columns), "sql": view.sql}


def trigger_json(trigger: Trigger) -> dict[str, Any]:
    return {"name": trigger.name, "table": trigger.table, "sql": trigger.sql}


# ---------------------------------------------------------------- the comparison


def diff(a: Schema, b: Schema) -> SchemaDiff:
    """What changed from schema ``a`` to schema ``b``, renames told where they can be."""
    fold = _folder(a, b)
    dialect = b.dialect or a.dialect
    changes: list[Change] = []

    a_tables = {fold(t.name): t for t in reversed(a.tables)}
    b_tables = {fold(t.name): t for t in reversed(b.tables)}
    gone = [a_tables[k] for k in a_tables if k not in b_tables]
    new = [b_tables[k] for k in b_tables if k not in a_tables]
    pairs = [(a_tables[k], b_tables[k]) for k in a_tables if k in b_tables]

    def signature(table: Table) -> tuple[Any, ...]:
        own = fold(table.name)
        return (tuple(sorted((fold(c.name), normal_type(c.type), c.not_null,
                              _normal_default(c.default, dialect), c.primary_key)
                             for c in table.columns)),
                tuple(sorted((tuple(fold(c) for c in fk.columns),
                              "" if fold(fk.ref_table) == own else fold(fk.ref_table),
                              tuple(fold(c) for c in fk.ref_columns), fk.on_delete, fk.on_update)
                             for fk in table.foreign_keys)))

    renamed = _pair_unique(gone, new, signature)
    renames: dict[str, str] = {}  # folded old name -> new name
    for old, now in renamed:
        renames[fold(old.name)] = now.name
        changes.append(Change("renamed", "table", now.name, old=old.name,
                              before=table_json(old), after=table_json(now)))
        pairs.append((old, now))
    paired_old = {fold(o.name) for o, _ in renamed}
    paired_new = {fold(n.name) for _, n in renamed}
    for table in gone:
        if fold(table.name) not in paired_old:
            changes.append(Change("removed", "table", table.name, before=table_json(table)))
    for table in new:
        if fold(table.name) not in paired_new:
            changes.append(Change("added", "table", table.name, after=table_json(table)))

    def through(name: str) -> str:
        """A table name of A as B calls it (renames followed), folded."""
        return fold(renames.get(fold(name), name))

    folded_renames = {k: fold(v) for k, v in renames.items()}
    for old, now in sorted(pairs, key=lambda p: fold(p[1].name)):
        changes.extend(_columns(old, now, fold, dialect))
        changes.extend(_foreign_keys(old, now, fold, through, a_tables, b_tables))
    changes.extend(_indexes(fold, through, a_tables, b_tables, renames))
    changes.extend(_views(a, b, fold, dialect, folded_renames))
    changes.extend(_triggers(a, b, fold, dialect, folded_renames, through))
    return SchemaDiff(tuple(sorted(changes, key=Change.sort_key)),
                      {_original(a_tables, k): v for k, v in renames.items()})


def _original(tables: Mapping[str, Table], key: str) -> str:
    return tables[key].name


def _pair_unique(gone: Sequence[_T], new: Sequence[_T],
                 key: Callable[[_T], Any]) -> list[tuple[_T, _T]]:
    """Pairs of (gone, new) whose key is held by exactly one of each."""
    by_gone: dict[Any, list[_T]] = defaultdict(list)
    by_new: dict[Any, list[_T]] = defaultdict(list)
    for item in gone:
        by_gone[key(item)].append(item)
    for item in new:
        by_new[key(item)].append(item)
    return [(items[0], by_new[k][0]) for k, items in by_gone.items()
            if len(items) == 1 and len(by_new.get(k, ())) == 1]


def _column_definition(column: Column, dialect: str) -> tuple[Any, ...]:
    return (normal_type(column.type), column.not_null, _normal_default(column.default, dialect),
            column.primary_key)


def _columns(old: Table, now: Table, fold: Callable[[str], str], dialect: str) -> list[Change]:
    out: list[Change] = []
    a_cols = {fold(c.name): c for c in reversed(old.columns)}
    b_cols = {fold(c.name): c for c in reversed(now.columns)}
    for key, before in a_cols.items():
        after = b_cols.get(key)
        if after is None:
            continue
        attributes = []
        if normal_type(before.type) != normal_type(after.type):
            attributes.append(Attribute("type", before.type, after.type))
        if before.not_null != after.not_null:
            attributes.append(Attribute("not_null", before.not_null, after.not_null))
        if _normal_default(before.default, dialect) != _normal_default(after.default, dialect):
            attributes.append(Attribute("default", before.default, after.default))
        if before.primary_key != after.primary_key:
            attributes.append(Attribute("primary_key", before.primary_key, after.primary_key))
        if attributes:
            out.append(Change("changed", "column", f"{now.name}.{after.name}", table=now.name,
                              attributes=tuple(attributes), before=column_json(before),
                              after=column_json(after)))
    shared = {k for k in a_cols if k in b_cols}

    def place(table: Table, column: Column) -> int:
        """Where ``column`` sits among the columns both sides share."""
        kept = [c for c in table.columns if fold(c.name) in shared or c is column]
        return next(i for i, c in enumerate(kept) if c is column)

    gone = [c for k, c in a_cols.items() if k not in b_cols]
    new = [c for k, c in b_cols.items() if k not in a_cols]
    renamed = _pair_unique(
        [(c, place(old, c)) for c in gone], [(c, place(now, c)) for c in new],
        lambda item: (_column_definition(item[0], dialect), item[1]))
    done_old = {id(o[0]) for o, _ in renamed}
    done_new = {id(n[0]) for _, n in renamed}
    for (before, _), (after, _) in renamed:
        out.append(Change("renamed", "column", f"{now.name}.{after.name}", table=now.name,
                          old=f"{now.name}.{before.name}", before=column_json(before),
                          after=column_json(after)))
    for column in gone:
        if id(column) not in done_old:
            out.append(Change("removed", "column", f"{now.name}.{column.name}", table=now.name,
                              before=column_json(column)))
    for column in new:
        if id(column) not in done_new:
            out.append(Change("added", "column", f"{now.name}.{column.name}", table=now.name,
                              after=column_json(column)))
    return out


def _fk_object(table: str, fk: ForeignKey) -> str:
    return f"{table}({', '.join(fk.columns)})"


def _ref_columns(fk: ForeignKey, tables: Mapping[str, Table],
                 fold: Callable[[str], str]) -> tuple[str, ...]:
    """The referenced columns; SQLite leaves them out for the referenced table's key."""
    if fk.ref_columns:
        return tuple(fold(c) for c in fk.ref_columns)
    target = tables.get(fold(fk.ref_table))
    return tuple(fold(c) for c in target.primary_key) if target is not None else ()


def _foreign_keys(old: Table, now: Table, fold: Callable[[str], str],
                  through: Callable[[str], str], a_tables: Mapping[str, Table],
                  b_tables: Mapping[str, Table]) -> list[Change]:
    out: list[Change] = []

    def keyed(table: Table) -> dict[tuple[str, ...], list[ForeignKey]]:
        grouped: dict[tuple[str, ...], list[ForeignKey]] = defaultdict(list)
        for fk in table.foreign_keys:
            grouped[tuple(fold(c) for c in fk.columns)].append(fk)
        return grouped

    a_fks, b_fks = keyed(old), keyed(now)
    for key in sorted(set(a_fks) | set(b_fks)):
        befores = {(through(fk.ref_table), _ref_columns(fk, a_tables, fold), fk.on_delete,
                    fk.on_update): fk for fk in a_fks.get(key, ())}
        afters = {(fold(fk.ref_table), _ref_columns(fk, b_tables, fold), fk.on_delete,
                   fk.on_update): fk for fk in b_fks.get(key, ())}
        gone = [fk for k, fk in befores.items() if k not in afters]
        new = [fk for k, fk in afters.items() if k not in befores]
        if len(gone) == 1 and len(new) == 1:
            before, after = gone[0], new[0]
            attributes = [Attribute(name, x, y) for name, x, y, differ in (
                ("ref_table", before.ref_table, after.ref_table,
                 through(before.ref_table) != fold(after.ref_table)),
                ("ref_columns", list(before.ref_columns), list(after.ref_columns),
                 _ref_columns(before, a_tables, fold) != _ref_columns(after, b_tables, fold)),
                ("on_delete", before.on_delete, after.on_delete,
                 before.on_delete != after.on_delete),
                ("on_update", before.on_update, after.on_update,
                 before.on_update != after.on_update)) if differ]
            out.append(Change("changed", "foreign_key", _fk_object(now.name, after),
                              table=now.name, attributes=tuple(attributes),
                              before=foreign_key_json(before), after=foreign_key_json(after)))
            continue
        for fk in gone:
            out.append(Change("removed", "foreign_key", _fk_object(now.name, fk), table=now.name,
                              before=foreign_key_json(fk)))
        for fk in new:
            out.append(Change("added", "foreign_key", _fk_object(now.name, fk), table=now.name,
                              after=foreign_key_json(fk)))
    return out


def _indexes(fold: Callable[[str], str], through: Callable[[str], str],
             a_tables: Mapping[str, Table], b_tables: Mapping[str, Table],
             renames: Mapping[str, str]) -> list[Change]:
    """Indexes of the tables both sides have (a new or dropped table's are in its definition)."""
    out: list[Change] = []
    shared_a = {k for k in a_tables if through(a_tables[k].name) in b_tables}

    def collect(tables: Mapping[str, Table], keep: Callable[[str], bool],
                owner: Callable[[str], str]) -> tuple[dict[str, tuple[Index, str]],
                                                     dict[Any, tuple[Index, str]]]:
        named: dict[str, tuple[Index, str]] = {}
        constraints: dict[Any, tuple[Index, str]] = {}
        for key, table in tables.items():
            if not keep(key):
                continue
            for index in table.indexes:
                if index.origin == "pk":
                    continue
                if index.origin == "u":
                    constraints[(owner(table.name), tuple(fold(c) for c in index.columns))] = \
                        (index, table.name)
                else:
                    named[fold(index.name)] = (index, table.name)
        return named, constraints

    shared_b = {through(a_tables[k].name) for k in shared_a}
    a_named, a_unique = collect(a_tables, lambda k: k in shared_a, through)
    b_named, b_unique = collect(b_tables, lambda k: k in shared_b, fold)

    def definition(index: Index, table: str, owner: Callable[[str], str]) -> tuple[Any, ...]:
        return (owner(table), tuple(fold(c) for c in index.columns), index.unique)

    for key, (before, table_a) in a_named.items():
        found = b_named.get(key)
        if found is None:
            continue
        after, table_b = found
        if definition(before, table_a, through) != definition(after, table_b, fold):
            attributes = [Attribute(name, x, y) for name, x, y, differ in (
                ("table", table_a, table_b, through(table_a) != fold(table_b)),
                ("columns", list(before.columns), list(after.columns),
                 tuple(fold(c) for c in before.columns) != tuple(fold(c) for c in after.columns)),
                ("unique", before.unique, after.unique, before.unique != after.unique))
                if differ]
            out.append(Change("changed", "index", after.name, table=table_b,
                              attributes=tuple(attributes),
                              before=index_json(before, table_a), after=index_json(after, table_b)))
    gone = [(i, t) for k, (i, t) in a_named.items() if k not in b_named]
    new = [(i, t) for k, (i, t) in b_named.items() if k not in a_named]
    renamed = _pair_unique([(i, t, definition(i, t, through)) for i, t in gone],
                           [(i, t, definition(i, t, fold)) for i, t in new],
                           lambda item: item[2])
    done_old = {id(o[0]) for o, _ in renamed}
    done_new = {id(n[0]) for _, n in renamed}
    for (before, table_a, _), (after, table_b, _) in renamed:
        out.append(Change("renamed", "index", after.name, table=table_b, old=before.name,
                          before=index_json(before, table_a), after=index_json(after, table_b)))
    for index, table in gone:
        if id(index) not in done_old:
            out.append(Change("removed", "index", index.name,
                              table=renames.get(fold(table), table),
                              before=index_json(index, table)))
    for index, table in new:
        if id(index) not in done_new:
            out.append(Change("added", "index", index.name, table=table,
                              after=index_json(index, table)))
    for key, (index, table) in a_unique.items():
        if key not in b_unique:
            new_table = renames.get(fold(table), table)
            out.append(Change("removed", "index", f"{new_table}({', '.join(index.columns)})",
                              table=new_table, before=index_json(index, table)))
    for key, (index, table) in b_unique.items():
        if key not in a_unique:
            out.append(Change("added", "index", f"{table}({', '.join(index.columns)})",
                              table=table, after=index_json(index, table)))
    return out


def _views(a: Schema, b: Schema, fold: Callable[[str], str], dialect: str,
           renames: Mapping[str, str]) -> list[Change]:
    out: list[Change] = []
    a_views = {fold(v.name): v for v in reversed(a.views)}
    b_views = {fold(v.name): v for v in reversed(b.views)}

    def shape(view: View, names: Mapping[str, str] | None) -> tuple[Any, ...]:
        return (_view_body(view, dialect, names), tuple(fold(c) for c in view.columns))

    for key, before in a_views.items():
        after = b_views.get(key)
        if after is None:
            continue
        old_shape, new_shape = shape(before, renames), shape(after, None)
        if old_shape != new_shape:
            attributes = []
            if old_shape[0] != new_shape[0]:
                attributes.append(Attribute("sql", before.sql, after.sql))
            if old_shape[1] != new_shape[1]:
                attributes.append(Attribute("columns", list(before.columns), list(after.columns)))
            out.append(Change("changed", "view", after.name, attributes=tuple(attributes),
                              before=view_json(before), after=view_json(after)))
    gone = [v for k, v in a_views.items() if k not in b_views]
    new = [v for k, v in b_views.items() if k not in a_views]
    renamed = _pair_unique([(v, shape(v, renames)) for v in gone],
                           [(v, shape(v, None)) for v in new], lambda item: item[1])
    done_old = {id(o[0]) for o, _ in renamed}
    done_new = {id(n[0]) for _, n in renamed}
    for (before, _), (after, _) in renamed:
        out.append(Change("renamed", "view", after.name, old=before.name,
                          before=view_json(before), after=view_json(after)))
    out += [Change("removed", "view", v.name, before=view_json(v))
            for v in gone if id(v) not in done_old]
    out += [Change("added", "view", v.name, after=view_json(v))
            for v in new if id(v) not in done_new]
    return out


def _triggers(a: Schema, b: Schema, fold: Callable[[str], str], dialect: str,
              renames: Mapping[str, str], through: Callable[[str], str]) -> list[Change]:
    out: list[Change] = []
    a_triggers = {fold(t.name): t for t in reversed(a.triggers)}
    b_triggers = {fold(t.name): t for t in reversed(b.triggers)}
    for key, before in a_triggers.items():
        after = b_triggers.get(key)
        if after is None:
            out.append(Change("removed", "trigger", before.name,
                              table=renames.get(fold(before.table), before.table),
                              before=trigger_json(before)))
            continue
        attributes = []
        if through(before.table) != fold(after.table):
            attributes.append(Attribute("table", before.table, after.table))
        if normal_sql(before.sql, dialect, renames) != normal_sql(after.sql, dialect):
            attributes.append(Attribute("sql", before.sql, after.sql))
        if attributes:
            out.append(Change("changed", "trigger", after.name, table=after.table,
                              attributes=tuple(attributes), before=trigger_json(before),
                              after=trigger_json(after)))
    out += [Change("added", "trigger", t.name, table=t.table, after=trigger_json(t))
            for k, t in b_triggers.items() if k not in a_triggers]
    return out


# ---------------------------------------------------------------- rendering


_SIGNS = {"added": "+", "removed": "-", "changed": "~", "renamed": ">"}
_KIND_WORDS = {"foreign_key": "foreign key"}


def parts(change: Change) -> tuple[str, str, str]:
    """(kind, object, details) of a change, as the text and Markdown forms show them."""
    kind = _KIND_WORDS.get(change.kind, change.kind)
    if change.action == "renamed":
        return kind, f"{change.old} -> {change.object}", ""
    if change.action == "changed":
        shown = [f"{a.name} {shown_value(a.before)} -> {shown_value(a.after)}"
                 for a in change.attributes if a.name != "sql"]
        if any(a.name == "sql" for a in change.attributes):
            shown.append("definition changed")
        return kind, change.object, ", ".join(shown)
    definition = change.after if change.action == "added" else change.before
    return kind, change.object, _detail(change.kind, definition or {})


def describe(change: Change) -> str:
    """One line, without the sign: ``column chat_sessions.channel TEXT``."""
    kind, obj, detail = parts(change)
    if not detail:
        return f"{kind} {obj}"
    return f"{kind} {obj}{': ' if change.action == 'changed' else ' '}{detail}"


def _detail(kind: str, d: Mapping[str, Any]) -> str:
    if kind == "column":
        out = d.get("type") or "(no type)"
        if d.get("not_null"):
            out += " NOT NULL"
        if d.get("default") is not None:
            out += f" DEFAULT {d['default']}"
        if d.get("primary_key"):
            out += " PRIMARY KEY"
        return str(out)
    if kind == "index":
        unique = "UNIQUE " if d.get("unique") else ""
        return f"{unique}ON {d.get('table')} ({', '.join(d.get('columns', ()))})"
    if kind == "foreign_key":
        return (f"REFERENCES {d.get('ref_table')}"
                f"({', '.join(d.get('ref_columns', ()))})")
    if kind == "table":
        columns = d.get("columns", ())
        return f"({', '.join(str(c['name']) for c in columns)})"
    if kind == "trigger":
        return f"ON {d.get('table')}"
    return ""


def shown_value(value: Any) -> str:
    """An attribute's value as the reports show it (also `rollback-restores`)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def summary(result: SchemaDiff) -> str:
    if result.equal:
        return "No structural differences."
    counts = result.counts()
    n = len(result.changes)
    parts = ", ".join(f"{counts[a]} {a}" for a in ACTIONS if counts[a])
    return f"{n} change{'s' if n != 1 else ''}: {parts}"


def render_text(result: SchemaDiff, a_label: str, b_label: str) -> str:
    lines = [f"--- a: {inert(a_label)}", f"+++ b: {inert(b_label)}"]
    lines += [f"{_SIGNS[c.action]} {inert(describe(c))}" for c in result.changes]
    lines.append(summary(result))
    return "\n".join(lines) + "\n"


def to_json(result: SchemaDiff, a_label: str, b_label: str) -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "a": a_label, "b": b_label, "equal": result.equal,
            "changes": [c.to_json() for c in result.changes], "summary": result.counts()}


def render_json(result: SchemaDiff, a_label: str, b_label: str) -> str:
    return json.dumps(to_json(result, a_label, b_label), indent=2, ensure_ascii=False) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#!~])")


def _md(text: str) -> str:
    """Plain text for a Markdown table cell: nothing in it formats, links or ends the cell."""
    return _MD_SPECIAL.sub(r"\\\1", inert(text))


def _code(text: str) -> str:
    """An inline code span; backticks and pipes cannot end it or the table cell."""
    shown = inert(text).replace("|", "\\|")
    runs = [len(run) for run in re.findall(r"`+", shown)]
    if not runs:
        return f"`{shown}`"
    fence = "`" * (max(runs) + 1)
    return f"{fence} {shown} {fence}"


def render_markdown(result: SchemaDiff, a_label: str, b_label: str) -> str:
    head = f"**Schema diff** {_code(a_label)} → {_code(b_label)}: {_md(summary(result))}"
    if result.equal:
        return head + "\n"
    rows = ["", "| change | kind | object | details |", "|---|---|---|---|"]
    for c in result.changes:
        kind, _, detail = parts(c)
        obj = _code(c.object) if c.old is None else f"{_code(c.old)} → {_code(c.object)}"
        rows.append(f"| {c.action} | {kind} | {obj} | {_md(detail)} |")
    return head + "\n" + "\n".join(rows) + "\n"


def render(result: SchemaDiff, a_label: str, b_label: str, fmt: str) -> str:
    renderers: dict[str, Callable[[SchemaDiff, str, str], str]] = {
        "text": render_text, "json": render_json, "markdown": render_markdown}
    return renderers[fmt](result, a_label, b_label)
