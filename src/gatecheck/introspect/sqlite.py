"""SQLite introspection: a handful of bulk queries, strictly read-only.

The file is opened with the URI ``mode=ro`` (SQLite refuses to create it or
write to it) plus ``PRAGMA query_only``; a missing file is reported before
SQLite is asked, so it is never created.  A WAL database that nothing has
open is read as ``immutable``, so that no -wal or -shm file is left behind.
The connection is also guarded (`gatecheck.introspect.sqlite_guard`): no
``ATTACH`` or ``VACUUM INTO`` (a read-only connection would still create the
file they name), no file functions, no extensions, no PRAGMA that changes a
setting.  Columns, foreign keys and indexes come from joins of ``sqlite_master`` with the ``pragma_*`` table-valued
functions: one query each for the whole schema instead of one per table,
which keeps 20,000 tables in seconds.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import quote

from gatecheck.errors import DatabaseError
from gatecheck.introspect import QueryResult, ReplayProblem
from gatecheck.introspect.sqlite_guard import Guard, guard
from gatecheck.model import Column, ForeignKey, Index, Schema, Table, Trigger, View

BUSY_TIMEOUT_MS = 5_000

_OBJECTS = """
SELECT type, name, tbl_name, sql FROM sqlite_master
WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY name
"""
_COLUMNS = """
SELECT m.name, p.cid, p.name, p.type, p."notnull", p.dflt_value, p.pk
FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.name, p.cid
"""
_FOREIGN_KEYS = """
SELECT m.name, f.id, f.seq, f."table", f."from", f."to", f.on_update, f.on_delete
FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.name, f.id, f.seq
"""
_INDEXES = """
SELECT m.name, il.name, il."unique", il.origin, ii.seqno, ii.name
FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS il
JOIN pragma_index_info(il.name) AS ii
WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
ORDER BY m.name, il.name, ii.seqno
"""


def _check_file(path: Path) -> None:
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a name too long, a loop of links...
        raise DatabaseError(f"cannot use database path {path}: {exc.strerror}") from None
    if not path.exists():
        raise DatabaseError(f"database file not found: {path} (gatecheck never creates it; "
                            "check the path in 'database:' or --db)")
    if not path.is_file():
        raise DatabaseError(f"database path is not a file: {path}")


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only, guarded connection to an existing SQLite file."""
    return _connect_guarded(path)[0]


def _connect_guarded(path: Path) -> tuple[sqlite3.Connection, Guard]:
    _check_file(path)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    if _idle_wal_database(path):
        # A read-only connection to a WAL database creates its -wal and -shm
        # files and, unable to checkpoint, leaves them behind.  With neither
        # present no connection has the database open and every committed page
        # is in the file itself: read it as immutable (no side files, no locks).
        uri += "&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = ON")
        authorizer = guard(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        hint = ""
        if "locked" in str(exc):
            hint = (f" (another process holds a write lock on it; gave up after waiting "
                    f"{BUSY_TIMEOUT_MS / 1000:g} s)")
        raise DatabaseError(f"cannot open SQLite database {path}: {exc}{hint}") from None
    return conn, authorizer


def _idle_wal_database(path: Path) -> bool:
    """A WAL-mode file (header bytes 18-19 are 2) with no -wal and no -shm file."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(20)
    except OSError:
        return False
    return (header[:16] == b"SQLite format 3\0" and header[18:20] == b"\x02\x02"
            and not os.path.lexists(f"{path}-wal") and not os.path.lexists(f"{path}-shm"))


class SQLiteDatabase:
    """A read-only SQLite database: schema introspection and bounded queries.

    A file database connects lazily, and its schema is cached (see
    `_SchemaCache`): a pre-commit run whose rules only need the schema reads
    it from the cache without opening the database at all.
    """

    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection | None, *, source: str,
                 path: Path | None = None, authorizer: Guard | None = None) -> None:
        self._conn = conn
        #: The guard installed on ``conn`` (`sqlite_guard.guard`), to explain refusals.
        self._guard = authorizer
        self.path = path
        self.source = source
        self.problems: list[ReplayProblem] = []
        self._schema: Schema | None = None
        self._error: DatabaseError | None = None

    @classmethod
    def open_file(cls, path: Path, *, source: str) -> "SQLiteDatabase":
        _check_file(path)
        return cls(None, source=source, path=path)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            assert self.path is not None
            # Fail once: every rule asks again, and a locked file would make
            # each of them wait out the busy timeout.
            if self._error is not None:
                raise self._error
            try:
                self._conn, self._guard = _connect_guarded(self.path)
            except DatabaseError as exc:
                self._error = exc
                raise
        return self._conn

    def schema(self) -> Schema:
        if self._schema is not None:
            return self._schema
        cache = _SchemaCache(self.path) if self.path is not None else None
        if cache is not None:
            self._schema = cache.load()
            if self._schema is not None:
                return self._schema
        try:
            self._schema = schema_from_connection(self.conn, source=self.source)
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(f"cannot read the schema of {self.source}: {exc}") from None
        if cache is not None:
            cache.store(self._schema)
        return self._schema

    def query(self, sql: str, params: Sequence[Any] = (), *, timeout_s: float = 10.0,
              limit: int | None = None) -> QueryResult:
        deadline = time.monotonic() + timeout_s

        def interrupt() -> int:
            return 1 if time.monotonic() > deadline else 0

        # SQLite has no statement timeout: a progress handler that returns
        # non-zero aborts the statement ("interrupted").
        self.conn.set_progress_handler(interrupt, 10_000)
        try:
            cursor = self.conn.execute(sql, tuple(params))
            rows = cursor.fetchmany(limit) if limit is not None else cursor.fetchall()
            columns = tuple(d[0] for d in cursor.description or ())
            cursor.close()
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise DatabaseError(f"query exceeded its time limit of {timeout_s:g} s") from None
            raise DatabaseError(self._explain(exc)) from None
        except sqlite3.Error as exc:
            raise DatabaseError(self._explain(exc)) from None
        finally:
            self.conn.set_progress_handler(None, 0)
        return QueryResult(columns, rows)

    def _explain(self, exc: sqlite3.Error) -> str:
        return self._guard.explain(exc) if self._guard is not None else str(exc)

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def read_schema(path: Path, *, source: str = "") -> Schema:
    db = SQLiteDatabase.open_file(path, source=source or f"sqlite:///{path}")
    try:
        return db.schema()
    finally:
        db.close()


def schema_from_connection(conn: sqlite3.Connection, *, source: str) -> Schema:
    objects = conn.execute(_OBJECTS).fetchall()
    columns, fks, indexes = _bulk(conn, objects)

    tables, views, triggers = [], [], []
    for kind, name, tbl_name, sql in objects:
        if kind == "table":
            tables.append(Table(name=name, columns=tuple(columns.get(name, ())),
                                foreign_keys=tuple(fks.get(name, ())),
                                indexes=tuple(indexes.get(name, ())), sql=sql))
        elif kind == "view":
            views.append(View(name=name, sql=sql,
                              columns=tuple(c.name for c in columns.get(name, ()))))
        else:
            triggers.append(Trigger(name=name, table=tbl_name, sql=sql))
    return Schema(tables=tuple(tables), views=tuple(views), triggers=tuple(triggers),
                  source=source)


def _bulk(conn: sqlite3.Connection, objects: list[Any]) -> tuple[
        dict[str, list[Column]], dict[str, list[ForeignKey]], dict[str, list[Index]]]:
    try:
        return (_columns(conn.execute(_COLUMNS)), _foreign_keys(conn.execute(_FOREIGN_KEYS)),
                _indexes(conn.execute(_INDEXES)))
    except sqlite3.OperationalError:
        # A virtual table whose module this SQLite lacks (fts5, rtree...) makes
        # the pragma join fail as a whole: fall back to one table at a time.
        pass
    columns: dict[str, list[Column]] = {}
    fks: dict[str, list[ForeignKey]] = {}
    indexes: dict[str, list[Index]] = {}
    for kind, name, _, _ in objects:
        if kind == "trigger":
            continue
        where = " AND m.name = ?"
        try:
            columns.update(_columns(conn.execute(_with_filter(_COLUMNS, where), (name,))))
            if kind == "table":
                fks.update(_foreign_keys(conn.execute(_with_filter(_FOREIGN_KEYS, where), (name,))))
                indexes.update(_indexes(conn.execute(_with_filter(_INDEXES, where), (name,))))
        except sqlite3.OperationalError:
            continue
    return columns, fks, indexes


def _with_filter(query: str, where: str) -> str:
    head, order = query.rsplit("ORDER BY", 1)
    return f"{head.rstrip()}{where}\nORDER BY{order}"


def _columns(rows: Any) -> dict[str, list[Column]]:
    out: dict[str, list[Column]] = defaultdict(list)
    for table, _, name, type_, not_null, default, pk in rows:
        out[table].append(Column(name=name, type=type_ or "", not_null=bool(not_null),
                                 default=default, primary_key=int(pk or 0)))
    return out


def _foreign_keys(rows: Any) -> dict[str, list[ForeignKey]]:
    grouped: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row[0], row[1])].append(row)
    out: dict[str, list[ForeignKey]] = defaultdict(list)
    for (table, _), parts in sorted(grouped.items()):
        parts.sort(key=lambda r: r[2])
        to = tuple(p[5] for p in parts if p[5] is not None)
        out[table].append(ForeignKey(columns=tuple(p[4] for p in parts), ref_table=parts[0][3],
                                     ref_columns=to, on_update=parts[0][6] or "",
                                     on_delete=parts[0][7] or ""))
    return out


def _indexes(rows: Any) -> dict[str, list[Index]]:
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row[0], row[1])].append(row)
    out: dict[str, list[Index]] = defaultdict(list)
    for (table, name), parts in sorted(grouped.items()):
        out[table].append(Index(name=name, columns=tuple(p[5] or "" for p in parts),
                                unique=bool(parts[0][2]), origin=parts[0][3] or "c"))
    return out


class _SchemaCache:
    """The introspected schema of one database file, kept between runs.

    Valid while the file is the same file (device, inode) with the same
    size, mtime and header schema cookie (offset 40, which SQLite bumps on
    every schema change), and its ``-wal`` file is unchanged too (in WAL mode
    changes land there first).  Stored in the user's cache directory, not the
    repository, as a signed pickle (`gatecheck.signed`).
    """

    def __init__(self, path: Path) -> None:
        from gatecheck import __version__
        from gatecheck.signed import cache_home

        self.path = path.resolve()
        digest = hashlib.sha256(str(self.path).encode()).hexdigest()[:24]
        self.file = cache_home() / "schemas" / f"{digest}.pickle"
        self.identity = (__version__, *_identity(self.path))

    def load(self) -> Schema | None:
        from gatecheck import signed

        try:
            identity, schema = signed.load(self.file)
        except (OSError, signed.Unreadable, TypeError, ValueError):
            return None
        return schema if identity == self.identity and isinstance(schema, Schema) else None

    def store(self, schema: Schema) -> None:
        from gatecheck import signed

        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            signed.dump(self.file, (self.identity, schema))
        except (OSError, signed.KeyUnavailable):
            pass  # no cache, same results (the file cache's warning says why)


def _identity(path: Path) -> tuple[object, ...]:
    st = path.stat()
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError:
        header = b""
    cookie = header[40:44]
    try:
        wal = os.stat(f"{path}-wal")
        wal_id: tuple[object, ...] = (wal.st_size, wal.st_mtime_ns)
    except OSError:
        wal_id = ()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, cookie, wal_id)
