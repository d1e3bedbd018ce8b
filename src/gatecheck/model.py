"""The introspected schema: frozen, engine-independent value objects.

Names keep the case the database reports; lookups go through `Schema.table`
which folds case, since SQLite and unquoted PostgreSQL identifiers compare
case-insensitively.

The parts are named tuples: a schema of 20,000 tables is cached between runs,
and tuples unpickle several times faster than dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class Column(NamedTuple):
    name: str
    type: str = ""
    not_null: bool = False
    default: str | None = None
    primary_key: int = 0  # 1-based position in the primary key, 0 if not part of it


class ForeignKey(NamedTuple):
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]  # empty: the referenced table's primary key
    on_delete: str = ""
    on_update: str = ""


class Index(NamedTuple):
    name: str
    columns: tuple[str, ...]
    unique: bool = False
    origin: str = "c"  # SQLite: c = CREATE INDEX, u = UNIQUE constraint, pk = primary key


class Table(NamedTuple):
    name: str
    columns: tuple[Column, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    sql: str | None = None

    @property
    def primary_key(self) -> tuple[str, ...]:
        pk = sorted((c for c in self.columns if c.primary_key), key=lambda c: c.primary_key)
        return tuple(c.name for c in pk)

    def column(self, name: str) -> Column | None:
        folded = name.casefold()
        return next((c for c in self.columns if c.name.casefold() == folded), None)


class View(NamedTuple):
    name: str
    sql: str | None = None
    columns: tuple[str, ...] = ()


class Trigger(NamedTuple):
    name: str
    table: str
    sql: str | None = None


@dataclass(frozen=True)
class Schema:
    """Everything gatecheck knows about one database's structure."""

    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    #: Where it came from, for messages: ``sqlite:///x.db`` (password-free).
    source: str = ""
    #: Dialect of the view and trigger SQL (the database's, not the sources').
    dialect: str = "sqlite"
    #: The database schemas read, in search order (PostgreSQL; empty for
    #: SQLite).  With more than one, every name is qualified: ``app.tasks``.
    schemas: tuple[str, ...] = ()
    _by_name: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)
    _exact: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)
    _views: dict[str, View] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Reversed: the first of several names that fold alike wins.
        self._by_name.update({t.name.casefold(): t for t in reversed(self.tables)})
        self._exact.update({t.name: t for t in self.tables})
        self._views.update({v.name.casefold(): v for v in reversed(self.views)})

    def table(self, name: str) -> Table | None:
        for candidate in self._candidates(name):
            table = self._exact.get(candidate) or self._by_name.get(candidate.casefold())
            if table is not None:
                return table
        return None

    def view(self, name: str) -> View | None:
        for candidate in self._candidates(name):
            view = self._views.get(candidate.casefold())
            if view is not None:
                return view
        return None

    @property
    def qualified(self) -> bool:
        """Whether names carry their schema (several schemas were read)."""
        return len(self.schemas) > 1

    def _candidates(self, name: str) -> list[str]:
        """Stored names ``name`` may stand for, in search order.

        Unqualified, it resolves through the schemas like PostgreSQL's
        ``search_path``; qualified by the one schema read, it is the bare name.
        """
        namespace, dot, bare = name.rpartition(".")
        if not dot:
            return [name, *(f"{s}.{name}" for s in self.schemas)] if self.qualified else [name]
        if not self.qualified and namespace.casefold() in {s.casefold() for s in self.schemas}:
            return [name, bare]
        return [name]

    def relation_names(self) -> list[str]:
        """Tables and views, sorted: what a query can name in ``FROM``."""
        return sorted([t.name for t in self.tables] + [v.name for v in self.views],
                      key=str.casefold)

    def to_json(self) -> dict[str, object]:
        return {
            "tables": [
                {"name": t.name,
                 "columns": [{"name": c.name, "type": c.type, "not_null": c.not_null,
                              "default": c.default, "primary_key": c.primary_key}
                             for c in t.columns],
                 "primary_key": list(t.primary_key),
                 "foreign_keys": [{"columns": list(fk.columns), "ref_table": fk.ref_table,
                                   "ref_columns": list(fk.ref_columns),
                                   "on_delete": fk.on_delete, "on_update": fk.on_update}
                                  for fk in t.foreign_keys],
                 "indexes": [{"name": i.name, "columns": list(i.columns), "unique": i.unique}
                             for i in t.indexes],
                 "sql": t.sql}
                for t in self.tables],
            "views": [{"name": v.name, "sql": v.sql} for v in self.views],
            "triggers": [{"name": g.name, "table": g.table, "sql": g.sql} for g in self.triggers],
        }
