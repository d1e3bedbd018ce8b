"""Open a database read-only and read its structure and rows.

The only package that opens connections.  `open_database` dispatches on the
``database:`` setting: a live SQLite file, a PostgreSQL server
(``postgresql://``, see `gatecheck.introspect.postgres`), or migrations
replayed into a scratch database (in-memory SQLite, or a scratch database on
the PostgreSQL server of ``replay_url``), or built there by the project's own
command (``build:``, `gatecheck.introspect.build`).  Every connection handed to rules is read-only;
a database that does not exist is an error, never created.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from gatecheck.config import DatabaseSpec
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy
from gatecheck.errors import DatabaseError
from gatecheck.model import Schema


def redact(url: str) -> str:
    """The URL (or libpq keyword DSN) with any password as ``***``: safe to print."""
    from gatecheck.redact import url as redact_url

    return redact_url(url)


@dataclass(frozen=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


@dataclass(frozen=True)
class ReplayProblem:
    """A migration that failed to apply while building a scratch database."""

    path: Path
    line: int
    message: str


class Database(Protocol):
    """What the engine needs from a database, whatever the engine."""

    #: Dialect of its SQL, for quoting and for parsing view/trigger bodies.
    dialect: str
    #: Password-free description for messages.
    source: str
    #: Migrations that failed to apply (replayed databases only).
    problems: list[ReplayProblem]

    def schema(self) -> Schema: ...

    def query(self, sql: str, params: Sequence[Any] = (), *, timeout_s: float = 10.0,
              limit: int | None = None) -> QueryResult:
        """Run one read-only statement; `DatabaseError` on failure or timeout."""
        ...

    def quote(self, name: str) -> str: ...

    def close(self) -> None: ...


def sqlite_path(url: str, base_dir: Path) -> Path:
    """The file named by ``sqlite:///relative`` or ``sqlite:////absolute``."""
    if not url.startswith("sqlite:///"):
        raise DatabaseError(f"not a SQLite URL: {redact(url)} (expected sqlite:///path)")
    raw = url[len("sqlite:///"):].split("?", 1)[0]
    if not raw or raw == ":memory:":
        raise DatabaseError("an in-memory SQLite database has no schema to check; "
                            "name a file: sqlite:///path/to/app.db")
    path = Path(raw)
    return path if path.is_absolute() else base_dir / path


def open_database(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> Database:
    """A read-only handle on ``spec``; replays and role checks follow ``policy``."""
    if spec.url is not None:
        url = spec.url
        if url.startswith("sqlite:"):
            from gatecheck.introspect.sqlite import SQLiteDatabase

            if spec.schemas:
                raise DatabaseError("database › schemas: only PostgreSQL has schemas; "
                                    f"{redact(url)} is a SQLite database")
            return SQLiteDatabase.open_file(sqlite_path(url, spec.base_dir), source=url)
        from gatecheck.introspect import postgres

        if postgres.is_postgres_url(url):
            return postgres.PostgresDatabase.open(url, schemas=spec.schemas, policy=policy)
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise DatabaseError(f"unsupported database URL scheme {scheme!r} in {redact(url)}; "
                            "supported: sqlite:///path, postgresql://user@host/dbname")
    if spec.build:
        from gatecheck.introspect.build import build

        return build(spec, policy)
    from gatecheck.introspect.migrations import replay

    return replay(spec, policy)


def load_schema(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> Schema:
    db = open_database(spec, policy)
    try:
        if db.problems and spec.on_failure == "stop":
            # Half a schema is not the schema (``on_failure: continue`` accepts it).
            problem = db.problems[0]
            raise DatabaseError(f"the migrations replay failed at {problem.path}:"
                                f"{problem.line}: {problem.message}")
        return db.schema()
    finally:
        db.close()
