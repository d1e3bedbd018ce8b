"""Schema from migrations: replay ``.sql`` files into an in-memory SQLite.

Files are applied in natural order (``schema_v2`` before ``schema_v10``).
"""

from __future__ import annotations

import glob
import re
import sqlite3
from pathlib import Path

from gatecheck.config import DatabaseSpec
from gatecheck.errors import DatabaseError
from gatecheck.model import Schema

_DIGITS = re.compile(r"(\d+)")


def natural_key(path: str) -> list[object]:
    """``schema_v2.sql`` < ``schema_v10.sql``: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(path)]


def migration_files(pattern: str, base_dir: Path) -> list[Path]:
    full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
    files = [Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file()]
    return sorted(files, key=lambda p: natural_key(p.name) + natural_key(str(p)))


def replay_schema(spec: DatabaseSpec) -> Schema:
    from gatecheck.introspect.sqlite import schema_from_connection

    assert spec.migrations is not None
    files = migration_files(spec.migrations, spec.base_dir)
    if not files:
        raise DatabaseError(f"database: no migration files match {spec.migrations!r}")
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for path in files:
            try:
                conn.executescript(path.read_text(encoding="utf-8"))
            except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:
                raise DatabaseError(f"migration failed: {exc}", path=str(path)) from None
        return schema_from_connection(conn, source=f"migrations:{spec.migrations}")
    finally:
        conn.close()
