"""The per-file fact cache: one SQLite database per settings key, one signed row per file.

``.gatecheck_cache/files-<key>.db`` holds a row per source file: its path,
the ``mtime``/size it had, a digest of its bytes, which optional facts it
holds (`FLAG_COLUMNS`, `FLAG_FRAGMENTS`), and the pickled `FileResult` with
its MAC.  A run reads only the rows of the files it checks (a pre-commit run
on one file reads one row, not the cache of the whole repository) and
writes only the rows of the files it analysed, in one transaction.

A row is used when the file's stamp (mtime, size) is the one recorded, or,
when only the stamp changed (a fresh clone, a ``git checkout``), when the
file's bytes still have the recorded digest.

The database may have been committed by anyone, so nothing in it is trusted
beyond what the per-user key signs (`gatecheck.signed.Signer`): every
payload is unpickled only after its MAC verifies, and the MAC covers the
path, stamp, digest and flags too, so rows cannot be moved between files.
Before SQLite opens the file it must be a regular file (no link) of bounded
size, with no journal beside it that is not a regular file; the connection
runs with ``trusted_schema=OFF`` and ``cell_size_check=ON`` and without
memory mapping; and its schema must be exactly the one gatecheck creates,
or the file is replaced.  A new database is built in a temporary file and
linked into place, so a run never sees one without its table.  The journal
is kept in memory (no ``-journal`` file beside the database): a run that
dies mid-write leaves at worst a corrupt cache, which the next run notices
and rebuilds.
"""

from __future__ import annotations

import os
import pickle
import stat as stat_module
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatecheck import signed

if TYPE_CHECKING:
    import sqlite3

    from gatecheck.facts import FragmentFacts
    from gatecheck.pipeline import FileResult

#: Optional facts a row holds.
FLAG_COLUMNS, FLAG_FRAGMENTS = 1, 2
#: The file has nothing any rule reads (most files of a repository): no payload.
FLAG_EMPTY = 4
#: A cache database bigger than this is not opened (a committed sparse file).
MAX_DB_BYTES = 1024 * 1024 * 1024
_SCHEMA = ("CREATE TABLE files (path TEXT PRIMARY KEY, mtime INTEGER NOT NULL, "
           "size INTEGER NOT NULL, digest BLOB NOT NULL, flags INTEGER NOT NULL, "
           "mac BLOB NOT NULL, payload BLOB NOT NULL)")
_MEMO = "CREATE TABLE fragments (key BLOB PRIMARY KEY, mac BLOB NOT NULL, payload BLOB NOT NULL)"
#: What ``sqlite_master`` of a cache database holds, exactly.
_MASTER = [("table", "files", _SCHEMA), ("table", "fragments", _MEMO),
           ("index", "sqlite_autoindex_files_1", None),
           ("index", "sqlite_autoindex_fragments_1", None)]
#: Texts kept in the statement memo; past this, the oldest go.
MEMO_ROWS = 50_000
_SIDECARS = ("-journal", "-wal", "-shm")
_BATCH = 500


class Unusable(Exception):
    """The database file is not one gatecheck may open or trust."""


def digest(data: bytes) -> bytes:
    import hashlib

    return hashlib.blake2b(data, digest_size=16).digest()


class SignedStore:
    """One signed cache database in the cache directory: what the file cache and
    the verdict cache (`gatecheck.verdicts`) share."""

    def __init__(self, directory: Path, file: Path) -> None:
        self.directory = directory
        self.file = file
        #: Why the cache was not read or written (for stderr); None: it was.
        self.warning: str | None = None
        self._db: "sqlite3.Connection | None" = None
        self._signer: signed.Signer | None = None
        #: The database was unreadable: the next save builds a new one.
        self._replace = False

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _unreadable(self, exc: BaseException) -> None:
        """A corrupt or foreign database: start over (the next save replaces it)."""
        self.warning = (f"ignoring unreadable cache {self.file.name} ({exc}); "
                        "it will be rebuilt")
        self.close()
        self._replace = True


class FileCache(SignedStore):
    """Rows of one settings key (see the module docstring)."""

    def __init__(self, directory: Path, key: str, *, enabled: bool, flags: int = 0) -> None:
        super().__init__(directory, directory / f"files-{key}.db")
        self.enabled = enabled
        self.key = key.encode()
        self.flags = flags
        self._rows: dict[str, tuple[int, int, bytes, int, bytes, bytes]] = {}
        self._puts: list[tuple[str, int, int, bytes, int, bytes, bytes]] = []
        self._memo: dict[bytes, bytes] = {}
        if enabled and directory.is_symlink():
            # A pull request can commit .gatecheck_cache as a link to any
            # directory: gatecheck would read from and write into it.
            self.warning = f"{directory.name} is a symbolic link; no cache"
            self.enabled = False

    # -- reading

    def lookup(self, rels: list[str]) -> None:
        """Read the rows of ``rels`` (only those), for `get`."""
        if not self.enabled or not rels:
            return
        try:
            db = self._open(create=False)
            if db is None:
                return
            for i in range(0, len(rels), _BATCH):
                batch = rels[i:i + _BATCH]
                marks = ",".join("?" * len(batch))
                for row in db.execute("SELECT path, mtime, size, digest, flags, mac, payload "
                                      f"FROM files WHERE path IN ({marks})", batch):
                    if isinstance(row[0], str):
                        self._rows[row[0]] = row[1:]
        except signed.KeyUnavailable as exc:
            self.warning = f"no cache: {exc}"
            self.enabled = False
        except (Unusable, OSError, sqlite_error()) as exc:
            self._unreadable(exc)

    def get(self, rel: str, stat: os.stat_result | None, read: Any = None) -> "FileResult | None":
        """The cached result of ``rel``, if still valid; ``read()`` gives the file's bytes
        when only its stamp changed (None: the stamp must match)."""
        row = self._rows.get(rel)
        if row is None or stat is None or self._signer is None:
            return None
        mtime, size, known, flags, mac, payload = row
        if flags & self.flags != self.flags:
            return None
        fresh = mtime == stat.st_mtime_ns and size == stat.st_size
        if not fresh:
            if read is None or size != stat.st_size:
                return None
            try:
                data = read()
            except Exception:
                return None
            if digest(data) != known:
                return None
        from gatecheck.pipeline import FileResult

        context = _context(self.key, rel, mtime, size, known, flags)
        if flags & FLAG_EMPTY:
            if payload or not self._signer.verify(mac, context):
                return None
            result = FileResult(rel, digest=known)
        else:
            try:
                loaded = self._signer.loads(mac, payload, context)
            except signed.Unreadable:
                return None
            if not isinstance(loaded, FileResult) or loaded.path != rel:
                return None
            result = loaded
        if not fresh:  # same bytes, new stamp: record it, so the next run need not read
            self.put(rel, stat, known, result, flags)
        return result

    def known_paths(self) -> set[str]:
        """Every path with a row (for pruning after a full run)."""
        if self._db is None:
            return set()
        try:
            return {row[0] for row in self._db.execute("SELECT path FROM files")}
        except sqlite_error():
            return set()

    # -- writing

    def put(self, rel: str, stat: os.stat_result | None, known: bytes, result: "FileResult",
            flags: int | None = None) -> None:
        if not self.enabled or stat is None or result.error is not None or not known:
            return
        if self._signer is None:
            try:
                self._signer = signed.Signer(signed.signing_key())
            except signed.KeyUnavailable as exc:
                self.warning = f"no cache: {exc}"
                self.enabled = False
                return
        flags = self.flags if flags is None else flags
        empty = not (result.facts or result.calls or result.marks or result.databases
                     or result.warnings or result.lines is not None)
        flags = flags | FLAG_EMPTY if empty else flags & ~FLAG_EMPTY
        payload = b"" if empty else pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        mtime, size = stat.st_mtime_ns, stat.st_size
        mac = self._signer.mac(_context(self.key, rel, mtime, size, known, flags), payload)
        self._puts.append((rel, mtime, size, known, flags, mac, payload))

    def memo(self) -> "FragmentMemo | None":
        """The statement memo of this database, for files analysed in this process."""
        return FragmentMemo(self) if self.enabled else None

    def save(self, keep: Iterable[str] | None = None) -> None:
        """Write the new rows in one transaction; with ``keep`` (a full run), drop
        the rows of files no longer checked."""
        if not self.enabled:
            return
        stale: list[str] = []
        if keep is not None and self._db is not None:
            stale = sorted(self.known_paths() - set(keep))
        if not self._puts and not stale and not self._memo:
            self.close()
            return
        try:
            self.directory.mkdir(exist_ok=True)
            if self.directory.is_symlink():  # appeared during the run
                return
            create_once(self.directory / ".gitignore", b"# created by gatecheck\n*\n")
            db = self._db or self._open(create=True)
            if db is None:
                return
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                               self._puts)
                db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in stale])
                if self._memo and self._signer is not None:
                    signer = self._signer
                    db.executemany("INSERT OR REPLACE INTO fragments VALUES (?, ?, ?)",
                                   [(k, signer.mac(b"fragment\0" + k, v), v)
                                    for k, v in self._memo.items()])
                    db.execute("DELETE FROM fragments WHERE rowid <= (SELECT max(rowid) FROM "
                               f"fragments) - {MEMO_ROWS}")
            self._puts.clear()
            self._memo.clear()
        except signed.KeyUnavailable as exc:
            self.warning = f"no cache: {exc}"
        except sqlite_error() as exc:
            self.warning = f"cannot write cache {self.file.name}: {exc}"
        except (OSError, Unusable) as exc:
            # A read-only checkout still gets its findings, just no cache.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.warning = f"cannot write cache in {self.directory}: {reason}"
        finally:
            self.close()

    # -- the database file

    def _unreadable(self, exc: BaseException) -> None:
        super()._unreadable(exc)
        self._rows.clear()

    def _open(self, *, create: bool) -> "sqlite3.Connection | None":
        if self._db is not None:
            return self._db
        if self._signer is None:
            self._signer = signed.Signer(signed.signing_key())
        self._db = open_db(self.file, f"{_SCHEMA};{_MEMO}", _MASTER, create=create,
                           replace=self._replace)
        return self._db


class FragmentMemo:
    """Facts of SQL texts (`gatecheck.sqlfacts.analyse_in_place`), by `memo_key`:
    read one at a time, written with the cache's other rows."""

    def __init__(self, cache: FileCache) -> None:
        self._cache = cache

    def get(self, key: bytes) -> "FragmentFacts | None":
        cache = self._cache
        new = cache._memo.get(key)
        if new is not None:
            return pickle.loads(new)  # type: ignore[no-any-return]
        if cache._db is None or cache._signer is None:
            return None
        try:
            row = cache._db.execute("SELECT mac, payload FROM fragments WHERE key = ?",
                                    (key,)).fetchone()
            if row is None:
                return None
            kept = cache._signer.loads(row[0], row[1], b"fragment\0" + key)
        except (signed.Unreadable, sqlite_error()):
            return None
        from gatecheck.facts import FragmentFacts

        return kept if isinstance(kept, FragmentFacts) else None

    def put(self, key: bytes, facts: "FragmentFacts") -> None:
        self._cache._memo[key] = pickle.dumps(facts, protocol=pickle.HIGHEST_PROTOCOL)


def open_db(path: Path, schema: str, master: list[tuple[str, str, str | None]], *,
            create: bool, replace: bool = False) -> "sqlite3.Connection | None":
    """A connection to the cache database ``path`` (see the module docstring), made
    with ``schema`` if missing (``create``) or unusable (``replace``); None when it is
    missing and not to be made; `Unusable` when it may not be opened or trusted."""
    if create and replace:
        _make(path, schema, replace=True)
    try:
        _check_file(path)
    except FileNotFoundError:
        if not create:
            return None
        _make(path, schema, replace=False)
        _check_file(path)
    return _connect(path, master)


def _make(path: Path, schema: str, *, replace: bool) -> None:
    """A new database with ``schema``, put in place whole."""
    import sqlite3
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".db")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            for statement in schema.split(";"):
                db.execute(statement)
            db.commit()
        finally:
            db.close()
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another run made it first: use that one
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _context(key: bytes, rel: str, mtime: int, size: int, known: bytes, flags: int) -> bytes:
    """What a row's MAC covers besides its payload: it cannot be moved to another
    file, settings key, stamp, digest or set of facts."""
    return b"%s\0%s\0%d\0%d\0%d\0%s" % (key, rel.encode("utf-8", "surrogatepass"), mtime,
                                         size, flags, known)


def _check_file(path: Path) -> None:
    """`Unusable` unless ``path`` is a regular file of bounded size with no odd sidecar."""
    st = os.lstat(path)
    if not stat_module.S_ISREG(st.st_mode):
        raise Unusable("is a symbolic link" if stat_module.S_ISLNK(st.st_mode)
                       else "not a regular file")
    if st.st_size > MAX_DB_BYTES:
        raise Unusable(f"larger than the limit of {MAX_DB_BYTES} bytes")
    for suffix in _SIDECARS:
        try:
            side = os.lstat(f"{path}{suffix}")
        except FileNotFoundError:
            continue
        if not stat_module.S_ISREG(side.st_mode):
            os.unlink(f"{path}{suffix}")  # a link in our own directory: remove the link
            raise Unusable(f"{path.name}{suffix} is not a regular file")


def _connect(path: Path, expected: list[tuple[str, str, str | None]]) -> "sqlite3.Connection":
    import sqlite3

    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("PRAGMA cell_size_check = ON")
        db.execute("PRAGMA mmap_size = 0")
        master = db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type DESC, name"
                            ).fetchall()
        if master != expected:
            raise Unusable("not a gatecheck cache database")
        db.execute("PRAGMA journal_mode = MEMORY")
        db.execute("PRAGMA synchronous = OFF")
    except BaseException:
        db.close()
        raise
    return db


def sqlite_error() -> type[Exception]:
    """``sqlite3.Error``, importing sqlite3 only when a handler needs it (also
    `gatecheck.verdicts`)."""
    import sqlite3

    return sqlite3.Error


def create_once(path: Path, data: bytes) -> None:
    """Write ``path`` if nothing is there; a link there (dangling or not) is left alone.

    ``O_CREAT | O_EXCL`` never follows a symbolic link, so a committed
    ``.gitignore -> ../../outside/file`` cannot make gatecheck create a file.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
