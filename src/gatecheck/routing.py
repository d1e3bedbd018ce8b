"""Which configured database a piece of source SQL runs against (``databases:``).

One repository often talks to several databases: a user database and a
global one, one SQLite file per component, another program's database read
by a bridge module.  Each piece of SQL is checked against the schema of the
database it runs on, decided in this order:

1. a ``# gatecheck: database=NAME`` (or ``-- gatecheck: database=NAME``)
   comment on the statement's first or last line;
2. the object it is executed on: the first database whose ``receivers``
   name the connection or cursor (``old_db.execute(...)`` -> ``old_db``);
3. such a comment on a line of its own anywhere in the file: the file's database;
4. ``external:`` path globs: SQL for a database that is not configured;
5. the first database whose ``paths`` match the file;
6. the first database with neither ``paths`` nor ``receivers`` (the default).

A name that is an external database (``external: true``, or listed under
``external:``) means "never check this SQL against the others"; SQL that
reaches no database is not checked either, and both are listed as such.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from gatecheck.config import GateConfig, NamedDatabase
from gatecheck.paths import PathMatcher

_MARK = re.compile(
    r"(?:#|--)\s*gatecheck:\s*database\s*=\s*([A-Za-z0-9_][A-Za-z0-9_.-]*)", re.IGNORECASE)


class DatabaseMark(NamedTuple):
    """A ``gatecheck: database=NAME`` comment."""

    line: int
    name: str
    #: The comment is alone on its line: it names the whole file's database.
    whole_file: bool


def database_marks(text: str) -> list[DatabaseMark]:
    """Every database comment of one file, cheaply (a substring test first)."""
    if "database" not in text or "gatecheck" not in text:
        return []
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for match in _MARK.finditer(line):
            alone = not line[:match.start()].strip()
            out.append(DatabaseMark(lineno, match.group(1), alone))
    return out


class Route(NamedTuple):
    #: The configured database to check against; None: not checked.
    database: str | None
    #: Why it is not checked (with ``database`` None).
    why: str = ""


class Router:
    """Routes fragments of one rules file's sources to its databases."""

    def __init__(self, config: GateConfig) -> None:
        self.databases: tuple[NamedDatabase, ...] = config.named_databases()
        self.by_name = {d.name: d for d in self.databases}
        self.external_names = frozenset(config.external)
        self.external_paths = PathMatcher(config.external)
        self._paths = [(d, PathMatcher(d.paths)) for d in self.databases if d.paths]
        self.default = next((d for d in self.databases if not d.paths and not d.receivers),
                            None)

    @property
    def trivial(self) -> bool:
        """At most one database and nothing to route: all SQL goes to it."""
        return len(self.databases) <= 1 and not self.external_names and \
            all(not d.paths and not d.receivers and d.spec is not None for d in self.databases)

    @property
    def several(self) -> bool:
        """Whether findings must say which database they are about."""
        return len(self.databases) > 1

    def checked(self) -> list[str]:
        """Names of the databases that are opened and checked, in order."""
        return [d.name for d in self.databases if d.spec is not None]

    def route(self, path: str, lines: tuple[int, int], receiver: str | None,
              marks: list[DatabaseMark]) -> Route:
        first, last = lines
        for mark in marks:
            if not mark.whole_file and mark.line in (first, last):
                return self._named(mark.name, f"{path}:{mark.line}")
        if receiver is not None:
            for database in self.databases:
                if receiver in database.receivers:
                    return self._to(database)
        for mark in marks:
            if mark.whole_file:
                return self._named(mark.name, f"{path}:{mark.line}")
        if self.external_paths.matches(path):
            return Route(None, "SQL for an external database (external: in the rules file)")
        for database, matcher in self._paths:
            if matcher.matches(path):
                return self._to(database)
        if self.default is not None:
            return self._to(self.default)
        return Route(None, "no database is configured for this file (databases: › paths)")

    def _named(self, name: str, where: str) -> Route:
        database = self.by_name.get(name)
        if database is not None:
            return self._to(database)
        if name in self.external_names:
            return Route(None, f"SQL for the external database {name}")
        known = ", ".join(d.name for d in self.databases) or "none configured"
        return Route(None, f"unknown database {name!r} named at {where} ({known})")

    @staticmethod
    def _to(database: NamedDatabase) -> Route:
        if database.spec is None:
            return Route(None, f"SQL for the external database {database.name}")
        return Route(database.name)
