"""Schema from migrations: replay ``.sql`` files into an in-memory SQLite.

With ``replay_url`` they are replayed into a scratch database on that
PostgreSQL server instead (`gatecheck.introspect.postgres_replay`); files
are found and ordered here either way.

Files are applied in natural order (``schema_v2`` before ``schema_v10``),
or as the project's runner picks and orders them (``pattern:`` and ``skip:``,
see `select`), statement by statement, so a failure can name the file and
the line of the statement that failed.  The replay stops at the first
failure, which is reported as a finding; by default (``on_failure: stop``)
the rules that need the database then do not run, with ``on_failure:
continue`` they check what was built.  Optional ``seed_data`` files run
after the migrations so data rules have rows.  Once built, the scratch
database is switched to ``query_only`` like a live one.

The migrations come with the pull request, so the replay is a sandbox:

- the ``migrations:`` and ``seed_data:`` globs, and every file they match
  (symbolic links resolved), must stay inside the repository root unless
  ``--allow-outside-includes`` is given; a refusal is a `DatabaseError` that
  names the glob and never shows the file's contents.  Only regular files are
  read (opened non-blocking, checked again after opening), at most
  `MAX_MIGRATION_BYTES` each;
- the scratch database is guarded (`gatecheck.introspect.sqlite_guard`): no
  ``ATTACH``/``VACUUM INTO``, no file functions or extensions, only harmless
  PRAGMAs.  A refused statement is a replay failure at its file and line.
  A plain ``VACUUM`` (nothing to compact in memory) is skipped;
- the whole replay has a deadline, ``Policy.replay_timeout_s``
  (``--replay-timeout``), enforced inside SQLite by a progress handler and
  between statements; past it the replay stops with a failure at the
  statement that was running.
"""

from __future__ import annotations

import glob
import os
import re
import sqlite3
import stat
import time
from pathlib import Path

from gatecheck.config import DatabaseSpec, repository_root
from gatecheck.errors import DatabaseError
from gatecheck.introspect import Database, ReplayProblem, redact
from gatecheck.introspect.sqlite_guard import Guard, guard
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy
from gatecheck.safefile import Refused, read_regular

_DIGITS = re.compile(r"(\d+)")
#: Beyond this a file is not a migration a human wrote.
MAX_MIGRATION_BYTES = 64 * 1024 * 1024
#: SQLite virtual-machine steps between two looks at the replay's clock.
_PROGRESS_STEPS = 10_000
_PLAIN_VACUUM = re.compile(r"\s*VACUUM(?:\s+\w+)?\s*;?\s*", re.IGNORECASE)


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """``schema_v2.sql`` < ``schema_v10.sql``: digit runs compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part.casefold())
            for part in _DIGITS.split(text) if part]


def expand(pattern: str, base_dir: Path, *, root: Path | None = None,
           key: str = "migrations") -> list[Path]:
    """The regular files ``pattern`` matches, in natural order.

    With ``root``, the pattern and every file it matches (links resolved)
    must lie inside ``root``: otherwise a `DatabaseError` names ``key`` and
    the pattern.  Directories and dangling links are skipped; a FIFO, device
    or socket is an error.
    """
    full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
    if root is not None and not _inside(Path(os.path.normpath(os.path.abspath(full))), root):
        raise DatabaseError(_outside(key, pattern, root))
    files: list[Path] = []
    for name in glob.glob(full, recursive=True):
        path = Path(name)
        try:
            target = path.resolve()
            mode = target.stat().st_mode
        except (OSError, RuntimeError):  # dangling link, loop of links
            if root is not None and not _inside(Path(os.path.realpath(name)), root):
                raise DatabaseError(_outside(key, pattern, root, _shown(path, base_dir))) \
                    from None
            continue
        if root is not None and not _inside(target, root):
            raise DatabaseError(_outside(key, pattern, root, _shown(path, base_dir)))
        if stat.S_ISDIR(mode):
            continue
        if not stat.S_ISREG(mode):
            raise DatabaseError(f"database › {key}: {pattern!r} matches "
                                f"{_shown(path, base_dir)}, which is not a regular file "
                                "(a FIFO, device or socket is never read)")
        files.append(path)
    return sorted(files, key=lambda p: (natural_key(p.name), natural_key(str(p))))


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _shown(path: Path, base_dir: Path) -> str:
    try:
        return path.relative_to(base_dir).as_posix()
    except ValueError:
        return str(path)


def _outside(key: str, pattern: str, root: Path, match: str | None = None) -> str:
    what = f"{pattern!r} reaches" if match is None else \
        f"{pattern!r} matches {match}, which resolves"
    return (f"database › {key}: {what} outside the repository root {root}; pass "
            "--allow-outside-includes on the command line to allow it")


def find_files(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> tuple[
        list[Path], list[Path]]:
    """The migration files (as the runner selects them) and the seed files of ``spec``,
    confined per ``policy``."""
    assert spec.migrations is not None
    base = spec.base_dir.resolve()
    root = None if policy.allow_outside_includes else repository_root(base).resolve()
    files = expand(spec.migrations, base, root=root)
    if not files:
        raise DatabaseError(f"database: no migration files match {spec.migrations!r}")
    if spec.pattern is not None or spec.skip:
        selected = select(files, base, pattern=spec.pattern, skip=spec.skip)
        if not selected:
            raise DatabaseError(
                f"database: {len(files)} file{'s' if len(files) != 1 else ''} match "
                f"{spec.migrations!r}, but 'pattern'/'skip' leave none to replay")
        files = selected
    return files, find_seeds(spec, policy)


def find_seeds(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> list[Path]:
    """The ``seed_data`` files of ``spec`` in order, confined per ``policy``."""
    base = spec.base_dir.resolve()
    root = None if policy.allow_outside_includes else repository_root(base).resolve()
    seeds: list[Path] = []
    for pattern in spec.seed_data:
        matched = expand(pattern, base, root=root, key="seed_data")
        if not matched:
            raise DatabaseError(f"database: no seed_data files match {pattern!r}")
        seeds.extend(matched)
    return seeds


def select(files: list[Path], base: Path, *, pattern: str | None = None,
           skip: tuple[str, ...] = ()) -> list[Path]:
    """``files`` (in natural order) as the project's runner picks and orders them.

    A file whose path relative to ``base`` matches a ``skip`` glob
    (gitignore syntax, as every path glob of gatecheck) is left out.  With
    ``pattern``, a regular expression searched in each file's *name*, the
    files it does not match are left out and the rest are ordered by the
    text of its ``version`` group (else its first group) compared as numbers
    (``2`` before ``10``, ``1.9`` before ``1.10``); equal versions keep
    natural order.  A match whose version group took no part is left out too.
    """
    from gatecheck.paths import PathMatcher

    skipped = PathMatcher(skip)
    regex = re.compile(pattern) if pattern is not None else None
    group: str | int = "version" if regex is not None and "version" in regex.groupindex else 1
    keyed: list[tuple[list[tuple[int, int | str]], Path]] = []
    for path in files:
        if skipped and skipped.matches(_shown(path, base)):
            continue
        if regex is None:
            keyed.append(([], path))
            continue
        match = regex.search(path.name)
        version = match.group(group) if match is not None else None
        if version is not None:
            keyed.append((natural_key(version), path))
    keyed.sort(key=lambda item: item[0])  # stable: equal versions keep natural order
    return [path for _, path in keyed]


def read_migration(path: Path) -> str | ReplayProblem:
    """The text of one migration, or why it cannot be replayed (never its contents).

    Read through `gatecheck.safefile` (`expand` confined it already): a FIFO
    swapped in after `expand` does not hang the run, and at most
    `MAX_MIGRATION_BYTES` are read.
    """
    try:
        data = read_regular(path.resolve(), limit=MAX_MIGRATION_BYTES)
    except Refused as exc:
        return ReplayProblem(path, 1, f"cannot read migration: {exc}")
    except (OSError, RuntimeError) as exc:
        return ReplayProblem(path, 1, f"cannot read migration: {getattr(exc, 'strerror', exc)}")
    try:
        script = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ReplayProblem(path, data.count(b"\n", 0, exc.start) + 1,
                             f"cannot read migration: not valid UTF-8 (byte 0x{data[exc.start]:02x})")
    nul = script.find("\0")
    if nul >= 0:  # SQLite's C API cannot even be handed this text
        return ReplayProblem(path, script.count("\n", 0, nul) + 1,
                             "cannot read migration: it contains a NUL byte (binary file?)")
    return script


def statements(script: str) -> list[tuple[int, str]]:
    """(1-based line, text) of each complete statement, as SQLite splits them.

    A statement ends at the first ``;`` after which `sqlite3.complete_statement`
    would say the text so far is complete.  Asking it at every ``;`` costs
    quadratic time (a seed file with a megabyte string full of ``;`` took
    hours), so its state machine (SQLite's ``complete.c``) runs here once over
    the whole script instead.
    """
    out: list[tuple[int, str]] = []
    start = 0
    for end in _statement_ends(script):
        candidate = script[start:end]
        lead = len(candidate) - len(candidate.lstrip())
        out.append((script.count("\n", 0, start + lead) + 1, candidate))
        start = end
    rest = script[start:]
    if rest.strip() and not _only_comments(rest):
        lead = len(rest) - len(rest.lstrip())
        out.append((script.count("\n", 0, start + lead) + 1, rest))
    return out


# Tokens and states of sqlite3_complete() (SQLite's complete.c).
_SEMI, _WS, _OTHER, _EXPLAIN, _CREATE, _TEMP, _TRIGGER, _END = range(8)
_START = 1
_TRANSITIONS = (
    # SEMI WS OTHER EXPLAIN CREATE TEMP TRIGGER END
    (1, 0, 2, 3, 4, 2, 2, 2),  # 0 INVALID
    (1, 1, 2, 3, 4, 2, 2, 2),  # 1 START
    (1, 2, 2, 2, 2, 2, 2, 2),  # 2 NORMAL
    (1, 3, 3, 2, 4, 2, 2, 2),  # 3 EXPLAIN
    (1, 4, 2, 2, 2, 4, 5, 2),  # 4 CREATE
    (6, 5, 5, 5, 5, 5, 5, 5),  # 5 TRIGGER
    (6, 6, 5, 5, 5, 5, 5, 7),  # 6 SEMI
    (1, 7, 5, 5, 5, 5, 5, 5),  # 7 END
)
_KEYWORDS = {"explain": _EXPLAIN, "create": _CREATE, "temp": _TEMP, "temporary": _TEMP,
             "trigger": _TRIGGER, "end": _END}
_IDENT = re.compile(r"[0-9A-Za-z_$\x80-\U0010ffff]+")


def _statement_ends(script: str) -> list[int]:
    """Offsets just past each ``;`` that completes a statement."""
    ends: list[int] = []
    state = 0
    i, n = 0, len(script)
    while i < n:
        c = script[i]
        if c == ";":
            token = _SEMI
        elif c in " \t\n\f\r":
            token = _WS
        elif c == "/" and script.startswith("/*", i):
            close = script.find("*/", i + 2)
            if close < 0:
                break  # an unterminated comment: nothing after it completes
            i, token = close + 1, _WS
        elif c == "-" and script.startswith("--", i):
            newline = script.find("\n", i)
            if newline < 0:
                break
            i, token = newline, _WS
        elif c in "'\"`[":
            close = script.find("]" if c == "[" else c, i + 1)
            if close < 0:
                break
            i, token = close, _OTHER
        else:
            word = _IDENT.match(script, i)
            if word is None:
                token = _OTHER
            else:
                token = _KEYWORDS.get(word.group().lower(), _OTHER) \
                    if word.end() - i <= 9 else _OTHER
                i = word.end() - 1
        state = _TRANSITIONS[state][token]
        i += 1
        if token == _SEMI and state == _START:
            ends.append(i)
            state = 0
    return ends


def _only_comments(text: str) -> bool:
    return not _strip_comments(text).strip()


class _Deadline:
    """The replay's overall time limit, as a SQLite progress handler and a check."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at = time.monotonic() + timeout_s

    def passed(self) -> bool:
        return time.monotonic() > self.at

    def handler(self) -> int:
        return 1 if self.passed() else 0  # non-zero: SQLite aborts ("interrupted")

    def problem(self, path: Path, line: int) -> ReplayProblem:
        return ReplayProblem(path, line, f"the replay ran out of time: it exceeded its overall "
                                         f"limit of {self.timeout_s:g} s (raise it with "
                                         "--replay-timeout SECONDS)")


def apply_files(conn: sqlite3.Connection, files: list[Path],
                display: Path | None = None, *, authorizer: Guard | None = None,
                deadline: _Deadline | None = None) -> ReplayProblem | None:
    """Apply each file's statements in order; the first failure stops the replay.

    ``authorizer`` (the guard installed on ``conn``) explains a refused
    statement; ``deadline`` stops the replay once it has passed.
    """
    for path in files:
        script = read_migration(path)
        if isinstance(script, ReplayProblem):
            return script
        for line, sql in statements(script):
            if deadline is not None and deadline.passed():
                return deadline.problem(path, line)
            if _PLAIN_VACUUM.fullmatch(_strip_comments(sql)):
                continue  # nothing to compact in memory, and it would attach a database
            if authorizer is not None:
                authorizer.denied = None
            try:
                conn.executescript(sql)
            except sqlite3.Error as exc:
                if deadline is not None and "interrupted" in str(exc) and deadline.passed():
                    return deadline.problem(path, line)
                refused = authorizer.refusal(exc) if authorizer is not None else None
                if refused is not None:  # worded as the PostgreSQL replay words it
                    return ReplayProblem(path, line, f"migration refused: {refused}")
                return ReplayProblem(path, line, f"migration failed: {exc}")
    return None


_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def _strip_comments(text: str) -> str:
    return _COMMENT.sub(" ", text)


def replay(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> "Database":
    from gatecheck.introspect.sqlite import SQLiteDatabase

    files, seeds = find_files(spec, policy)
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
    authorizer = guard(conn, settings=True)
    deadline = _Deadline(policy.replay_timeout_s)
    conn.set_progress_handler(deadline.handler, _PROGRESS_STEPS)
    try:
        problem = apply_files(conn, files, authorizer=authorizer, deadline=deadline)
        if problem is None:
            problem = apply_files(conn, seeds, authorizer=authorizer, deadline=deadline)
    finally:
        conn.set_progress_handler(None, 0)
    authorizer.settings = False
    conn.execute("PRAGMA query_only = ON")
    db = SQLiteDatabase(conn, source=f"migrations:{spec.migrations}", authorizer=authorizer)
    if problem is not None:
        db.problems.append(problem)
    return db
