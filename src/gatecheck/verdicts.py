"""The engine's name verdicts, kept between runs: keyed by statement text and schema fingerprint.

``references-exist`` asks the database engine about every statement in which
sqlglot proposes a missing name (`gatecheck.engines.sqlite.NameOracle`
compiles it against a schema-only copy; `gatecheck.engines.postgres.NameResolver`
resolves it on PostgreSQL's own tree).  The verdict depends only on the
statement's text, what the file around it defines, which names were
proposed and the schema, so it is stored under a digest of all of those
and the schema's fingerprint, in ``.gatecheck_cache/verdicts-<version>.db``
-- one signed row per verdict, with every protection of the file cache
(`gatecheck.filecache`).  A warm run asks the engine nothing it answered
before; a changed schema has another fingerprint, so nothing stale is served.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatecheck import __version__, signed
from gatecheck.filecache import SignedStore, Unusable, create_once, open_db, sqlite_error

if TYPE_CHECKING:
    import sqlite3

    from gatecheck.model import Schema

_SCHEMA = "CREATE TABLE verdicts (key BLOB PRIMARY KEY, mac BLOB NOT NULL, payload BLOB NOT NULL)"
_MASTER = [("table", "verdicts", _SCHEMA), ("index", "sqlite_autoindex_verdicts_1", None)]
_MISSING = object()


def fingerprint(schema: "Schema") -> bytes:
    """A digest of everything in ``schema``: the DDL of every table, view and trigger
    when the engine kept it (SQLite: it is what the engine's copy is built from, and
    hashing it is twenty times faster than pickling the schema), else the schema's
    pickle (the same schema, the same bytes)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{schema.dialect}\0{schema.schemas}\0".encode())
    parts: list[Any] = [*schema.tables, *schema.views, *schema.triggers]
    if all(getattr(part, "sql", None) for part in parts):
        for part in parts:
            h.update(f"{type(part).__name__}\0{part.name}\0{part.sql}\0".encode(
                "utf-8", "surrogatepass"))
        return h.digest()
    h.update(pickle.dumps(schema, protocol=pickle.HIGHEST_PROTOCOL))
    return h.digest()


class VerdictCache(SignedStore):
    """Verdicts by key; read one at a time, written together by `save`."""

    def __init__(self, directory: Path, *, enabled: bool) -> None:
        super().__init__(directory, directory / f"verdicts-{__version__}.db")
        self.enabled = enabled and not directory.is_symlink()
        self._opened = False
        self._new: dict[bytes, bytes] = {}
        self._seen: set[bytes] = set()
        self._fingerprints: dict[int, bytes] = {}

    def key(self, schema: "Schema", *parts: object) -> bytes:
        """The key of a verdict about ``schema`` that depends on ``parts`` (reprs of
        plain values: strings, tuples, frozensets sorted by the caller)."""
        fp = self._fingerprints.get(id(schema))
        if fp is None:
            fp = self._fingerprints[id(schema)] = fingerprint(schema)
        h = hashlib.blake2b(fp, digest_size=24)
        h.update(repr(parts).encode("utf-8", "surrogatepass"))
        return h.digest()

    def get(self, key: bytes) -> Any:
        """The verdict stored under ``key``, or `MISSING`."""
        if not self.enabled:
            return _MISSING
        self._seen.add(key)
        if key in self._new:
            return pickle.loads(self._new[key])
        db = self._connection()
        if db is None or self._signer is None:
            return _MISSING
        try:
            row = db.execute("SELECT mac, payload FROM verdicts WHERE key = ?", (key,)).fetchone()
        except sqlite_error() as exc:
            self._unreadable(exc)
            return _MISSING
        if row is None:
            return _MISSING
        try:
            return self._signer.loads(row[0], row[1], b"verdict\0" + key)
        except signed.Unreadable:
            return _MISSING

    def put(self, key: bytes, verdict: Any) -> None:
        if self.enabled:
            self._seen.add(key)
            self._new[key] = pickle.dumps(verdict, protocol=pickle.HIGHEST_PROTOCOL)

    def save(self, *, prune: bool = False) -> None:
        """Write the new verdicts; ``prune`` (a run over every file): drop the ones
        this run did not use."""
        if not self.enabled or not (self._new or (prune and self._db is not None)):
            self.close()
            return
        try:
            if not self.directory.is_dir() or self.directory.is_symlink():
                return  # only the file cache (source rules) makes the directory
            create_once(self.directory / ".gitignore", b"# created by gatecheck\n*\n")
            if self._signer is None:
                self._signer = signed.Signer(signed.signing_key())
            db = self._db or open_db(self.file, _SCHEMA, _MASTER, create=True,
                                     replace=self._replace)
            assert db is not None
            self._db = db
            signer = self._signer
            rows = [(key, signer.mac(b"verdict\0" + key, payload), payload)
                    for key, payload in self._new.items()]
            stale = [(k,) for (k,) in db.execute("SELECT key FROM verdicts")
                     if k not in self._seen] if prune else []
            if rows or stale:  # no write at all otherwise: its stamp says "unchanged"
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    db.executemany("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)", rows)
                    db.executemany("DELETE FROM verdicts WHERE key = ?", stale)
            self._new.clear()
        except signed.KeyUnavailable as exc:
            self.warning = f"no cache: {exc}"
        except (OSError, Unusable, sqlite_error()) as exc:
            self.warning = f"cannot write cache {self.file.name}: {exc}"
        finally:
            self.close()

    def _connection(self) -> "sqlite3.Connection | None":
        if self._opened:
            return self._db
        self._opened = True
        try:
            self._signer = signed.Signer(signed.signing_key())
            self._db = open_db(self.file, _SCHEMA, _MASTER, create=False)
        except signed.KeyUnavailable as exc:
            self.warning = f"no cache: {exc}"
            self.enabled = False
        except (OSError, Unusable, sqlite_error()) as exc:
            self._unreadable(exc)
        return self._db


#: What `VerdictCache.get` returns for a key it does not hold.
MISSING = _MISSING
