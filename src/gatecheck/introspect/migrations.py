"""Schema from migrations: replay ``.sql`` files into an in-memory SQLite.

With ``replay_url`` they are replayed into a scratch database on that
PostgreSQL server instead (`gatecheck.introspect.postgres_replay`); files
are found and ordered here either way.

Files are applied in natural order (``schema_v2`` before ``schema_v10``),
statement by statement, so a failure can name the file and the line of the
statement that failed.  The replay stops at the first failure; rules then
run on what was built, and the failure is reported as a finding.  Optional
``seed_data`` files run after the migrations so data rules have rows.  Once
built, the scratch database is switched to ``query_only`` like a live one.
"""

from __future__ import annotations

import glob
import re
import sqlite3
from pathlib import Path

from gatecheck.config import DatabaseSpec
from gatecheck.errors import DatabaseError
from gatecheck.introspect import Database, ReplayProblem, redact
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """``schema_v2.sql`` < ``schema_v10.sql``: digit runs compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part.casefold())
            for part in _DIGITS.split(text) if part]


def expand(pattern: str, base_dir: Path) -> list[Path]:
    full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
    files = [Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file()]
    return sorted(files, key=lambda p: (natural_key(p.name), natural_key(str(p))))


def statements(script: str) -> list[tuple[int, str]]:
    """(1-based line, text) of each complete statement, as SQLite splits them."""
    out: list[tuple[int, str]] = []
    start = 0
    pos = script.find(";")
    while pos != -1:
        candidate = script[start:pos + 1]
        if sqlite3.complete_statement(candidate):
            lead = len(candidate) - len(candidate.lstrip())
            out.append((script.count("\n", 0, start + lead) + 1, candidate))
            start = pos + 1
        pos = script.find(";", pos + 1)
    rest = script[start:]
    if rest.strip() and not _only_comments(rest):
        lead = len(rest) - len(rest.lstrip())
        out.append((script.count("\n", 0, start + lead) + 1, rest))
    return out


def _only_comments(text: str) -> bool:
    stripped = re.sub(r"--[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)
    return not stripped.strip()


def apply_files(conn: sqlite3.Connection, files: list[Path],
                display: Path | None = None) -> ReplayProblem | None:
    """Apply each file's statements in order; the first failure stops the replay."""
    for path in files:
        try:
            script = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return ReplayProblem(path, 1, f"cannot read migration: {exc}")
        nul = script.find("\0")
        if nul >= 0:  # SQLite's C API cannot even be handed this text
            return ReplayProblem(path, script.count("\n", 0, nul) + 1,
                                 "cannot read migration: it contains a NUL byte (binary file?)")
        for line, sql in statements(script):
            try:
                conn.executescript(sql)
            except sqlite3.Error as exc:
                return ReplayProblem(path, line, f"migration failed: {exc}")
    return None


def replay(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> "Database":
    from gatecheck.introspect.sqlite import SQLiteDatabase

    assert spec.migrations is not None
    files = expand(spec.migrations, spec.base_dir)
    if not files:
        raise DatabaseError(f"database: no migration files match {spec.migrations!r}")
    seeds = [f for pattern in spec.seed_data for f in expand(pattern, spec.base_dir)]
    missing = [p for p in spec.seed_data if not expand(p, spec.base_dir)]
    if missing:
        raise DatabaseError(f"database: no seed_data files match {missing[0]!r}")
    if spec.replay_url is not None:
        from gatecheck.introspect import postgres

        if not postgres.is_postgres_url(spec.replay_url):
            raise DatabaseError(f"database › replay_url: expected a postgresql:// server URL, "
                                f"got {redact(spec.replay_url)}")
        from gatecheck.introspect import postgres_replay

        return postgres_replay.replay(spec, files, seeds, policy)
    if spec.schemas:
        raise DatabaseError("database › schemas: only PostgreSQL has schemas; migrations "
                            "replay into SQLite unless replay_url names a PostgreSQL server")
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    problem = apply_files(conn, files)
    if problem is None:
        problem = apply_files(conn, seeds)
    conn.execute("PRAGMA query_only = ON")
    db = SQLiteDatabase(conn, source=f"migrations:{spec.migrations}")
    if problem is not None:
        db.problems.append(problem)
    return db

