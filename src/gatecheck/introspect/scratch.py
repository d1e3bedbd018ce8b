"""Scratch databases for reviewing migrations: replayed step by step, copied, compared.

``gatecheck diff``, ``rollback-restores`` and ``breaking-changes`` need more
than one replayed schema: the schema before a migration and after it and
its rollback, the schema at a git ref and in the work tree, and which
statement removed what.  A `Scratch` is one scratch database that is built
a file or a statement at a time, read (`Scratch.schema`) at any point, and
copied (`Scratch.fork`) to try something without losing the state reached.

The sandbox is the one of a migrations replay
(`gatecheck.introspect.migrations`, `gatecheck.introspect.postgres_replay`,
docs/security.md): callers confine the files (``expand`` with the
repository root) and every file is read through `read_migration` (regular
files only, bounded, UTF-8 without NUL).  On SQLite the database is in
memory and guarded (`gatecheck.introspect.sqlite_guard`: no ``ATTACH`` or
``VACUUM INTO``, no file functions or extensions, local PRAGMAs only), and
a copy is made with SQLite's backup API into a new guarded in-memory
database.  On PostgreSQL it is a ``gatecheck_replay_*`` database on the
``replay_url`` server, created by a role that passes the replay role check,
each statement classified by PostgreSQL's parser first (``replay_refusal``)
and sent alone through the extended protocol under the remaining
``statement_timeout``; a copy is ``CREATE DATABASE ... TEMPLATE`` of it.
Every scratch database is dropped on `Scratch.close`, at exit, on Ctrl-C and
on SIGTERM.  All the scratch databases of one `Deadline` share it: the
overall ``--replay-timeout`` of one rule or one side of a diff.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Sequence

from gatecheck.errors import DatabaseError
from gatecheck.introspect.migrations import (_PLAIN_VACUUM, _PROGRESS_STEPS, _statement_ends,
                                             _strip_comments, read_migration)
from gatecheck.introspect.sqlite_guard import Guard, guard
from gatecheck.model import Schema
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy
from gatecheck.positions import Span

if TYPE_CHECKING:
    import psycopg


class MigrationStatement(NamedTuple):
    """One statement of a migration file, as the engine splits it."""

    #: The file as findings show it.
    path: str
    line: int
    #: The statement in the file's text (0-based, half-open), leading blanks
    #: and comments left out.
    span: Span
    sql: str


class ReplayFailure(NamedTuple):
    """A statement that failed, was refused, or ran out of time (or an unreadable file)."""

    path: str
    line: int
    span: Span
    message: str
    #: The overall time limit ran out: nothing more can be replayed.
    timed_out: bool = False


class Deadline:
    """The overall time limit shared by every statement of one review."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.at = time.monotonic() + timeout_s

    def left(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.left() <= 0

    def handler(self) -> int:
        return 1 if self.passed() else 0  # non-zero: SQLite aborts ("interrupted")

    def failure(self, statement: MigrationStatement) -> ReplayFailure:
        return ReplayFailure(statement.path, statement.line, statement.span,
                             f"the replay ran out of time: it exceeded its overall limit of "
                             f"{self.timeout_s:g} s (raise it with --replay-timeout SECONDS)",
                             timed_out=True)


class Scratch:
    """A scratch database to replay migrations into; see the module docstring."""

    dialect = "sqlite"

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def statements(self, file: Path, shown: str) -> list[MigrationStatement] | ReplayFailure:
        """The statements of ``file`` (already confined by the caller), in order."""
        script = read_migration(file)
        if not isinstance(script, str):
            return ReplayFailure(shown, script.line, Span(0, 0), script.message)
        return [MigrationStatement(shown, line, span, sql)
                for line, span, sql in self._split(script)]

    def _split(self, script: str) -> list[tuple[int, Span, str]]:
        raise NotImplementedError

    def run(self, statement: MigrationStatement) -> ReplayFailure | None:
        """Apply one statement; why it did not apply, or None."""
        raise NotImplementedError

    def apply(self, files: Sequence[tuple[Path, str]]) -> ReplayFailure | None:
        """Apply whole files (path, as shown) in order; the first failure stops."""
        for file, shown in files:
            found = self.statements(file, shown)
            if isinstance(found, ReplayFailure):
                return found
            for statement in found:
                failure = self.run(statement)
                if failure is not None:
                    return failure
        return None

    def schema(self) -> Schema:
        raise NotImplementedError

    def fork(self) -> "Scratch":
        """A new scratch database holding what this one holds now."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def _located(script: str, pieces: list[tuple[int, int]]) -> list[tuple[int, Span, str]]:
    """(line, span, text) of each piece (start, end) of ``script``, blanks and
    comments before the statement left out of its span."""
    out = []
    for start, end in pieces:
        text = script[start:end]
        lead = _lead(text)
        out.append((script.count("\n", 0, start + lead) + 1, Span(start + lead, end), text))
    return out


_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)


def _lead(text: str) -> int:
    match = _LEADING.match(text)
    return match.end() if match is not None else 0


class SQLiteScratch(Scratch):
    """An in-memory SQLite database with the replay's guard."""

    def __init__(self, deadline: Deadline, conn: sqlite3.Connection | None = None) -> None:
        super().__init__(deadline)
        self.conn = conn or sqlite3.connect(":memory:", isolation_level=None,
                                            check_same_thread=False)
        self.guard: Guard = guard(self.conn, settings=True)
        self.conn.set_progress_handler(deadline.handler, _PROGRESS_STEPS)

    def _split(self, script: str) -> list[tuple[int, Span, str]]:
        pieces: list[tuple[int, int]] = []
        start = 0
        for end in _statement_ends(script):
            pieces.append((start, end))
            start = end
        rest = script[start:]
        if rest.strip() and _strip_comments(rest).strip():
            pieces.append((start, len(script)))
        return [(line, span, sql) for line, span, sql in _located(script, pieces)]

    def run(self, statement: MigrationStatement) -> ReplayFailure | None:
        if self.deadline.passed():
            return self.deadline.failure(statement)
        if _PLAIN_VACUUM.fullmatch(_strip_comments(statement.sql)):
            return None  # nothing to compact in memory, and it would attach a database
        self.guard.denied = None
        try:
            self.conn.executescript(statement.sql)
        except sqlite3.Error as exc:
            if "interrupted" in str(exc) and self.deadline.passed():
                return self.deadline.failure(statement)
            refused = self.guard.refusal(exc)
            if refused is not None:
                return _failure(statement, f"migration refused: {refused}")
            return _failure(statement, f"migration failed: {exc}")
        return None

    def schema(self) -> Schema:
        from gatecheck.introspect.sqlite import schema_from_connection

        try:
            return schema_from_connection(self.conn, source="scratch")
        except sqlite3.Error as exc:
            raise DatabaseError(f"cannot read the schema of a scratch database: "
                                f"{self.guard.explain(exc)}") from None

    def fork(self) -> "SQLiteScratch":
        copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        try:
            self.conn.backup(copy)
        except sqlite3.Error as exc:
            copy.close()
            raise DatabaseError(f"cannot copy a scratch database: {exc}") from None
        return SQLiteScratch(self.deadline, copy)

    def close(self) -> None:
        self.conn.close()


def _failure(statement: MigrationStatement, message: str) -> ReplayFailure:
    return ReplayFailure(statement.path, statement.line, statement.span, message)


class PostgresScratch(Scratch):
    """A scratch database on the ``replay_url`` server, dropped on `close`."""

    dialect = "postgres"

    def __init__(self, url: str, schemas: Sequence[str], policy: Policy, deadline: Deadline,
                 *, template: str | None = None) -> None:
        from gatecheck.introspect.postgres_replay import (SCRATCH_PREFIX, _LIVE, _install_sigterm,
                                                          _Scratch)

        super().__init__(deadline)
        self.url = url
        self.schemas = tuple(schemas) or ("public",)
        self.policy = policy
        self.name = f"{SCRATCH_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
        self._scratch = _Scratch(url, self.name)
        if template is not None:
            self._scratch.template = template
        _LIVE.add(self._scratch)
        _install_sigterm()
        self._builder: "psycopg.Connection[Any] | None" = None
        self._reader: "psycopg.Connection[Any] | None" = None
        try:
            self._scratch.create(policy)
        except BaseException:
            self._scratch.drop()
            raise

    def _split(self, script: str) -> list[tuple[int, Span, str]]:
        from sqlglot import TokenType
        from sqlglot.dialects.dialect import Dialect
        from sqlglot.errors import TokenError

        try:
            tokens = Dialect.get_or_raise("postgres").tokenize(script)
        except (TokenError, RecursionError):
            # Runs whole, and the server says why (as postgres_replay.statements).
            return _located(script, [(0, len(script))]) if script.strip() else []
        pieces: list[tuple[int, int]] = []
        start: int | None = None
        for tok in tokens:
            if tok.token_type == TokenType.SEMICOLON:
                if start is not None:
                    pieces.append((start, tok.end + 1))
                start = None
            elif start is None:
                start = tok.start
        if start is not None:
            pieces.append((start, len(script)))
        return _located(script, pieces)

    @property
    def builder(self) -> "psycopg.Connection[Any]":
        from gatecheck.introspect.postgres import connect

        if self._builder is None or self._builder.closed:
            self._builder = connect(self.url, read_only=False, dbname=self.name)
        return self._builder

    def run(self, statement: MigrationStatement) -> ReplayFailure | None:
        from gatecheck.engines.postgres import replay_refusal
        from gatecheck.introspect.postgres import (CLIENT_MARGIN_S, _driver, _one_line,
                                                   client_deadline)

        refusal = replay_refusal(statement.sql)
        if refusal is not None:
            return _failure(statement, f"migration refused: {refusal}; nothing of it was sent")
        left = self.deadline.left()
        if left <= 0:
            return self.deadline.failure(statement)
        psycopg = _driver()
        conn = self.builder
        try:
            with client_deadline(conn, left + CLIENT_MARGIN_S):
                conn.execute(f"SET statement_timeout = {max(1, int(left * 1000))}")
                conn.execute(statement.sql, binary=True)
        except psycopg.errors.QueryCanceled:
            return self.deadline.failure(statement)
        except psycopg.Error as exc:
            return _failure(statement, f"migration failed: {_one_line(str(exc), self.url)}")
        return None

    def schema(self) -> Schema:
        from gatecheck.introspect.postgres import PostgresDatabase, _secrets, connect

        if self._reader is None or self._reader.closed:
            self._reader = connect(self.url, schemas=self.schemas, dbname=self.name)
        # A new handle each time: PostgresDatabase reads its schema once.
        database = PostgresDatabase(self._reader, source="scratch", schemas=self.schemas,
                                    secrets=_secrets(self.url), policy=self.policy)
        return database.schema()

    def _disconnect(self) -> None:
        for conn in (self._builder, self._reader):
            if conn is not None and not conn.closed:
                conn.close()
        self._builder = self._reader = None

    def fork(self) -> "PostgresScratch":
        # CREATE DATABASE ... TEMPLATE needs the template to have no session.
        self._disconnect()
        return PostgresScratch(self.url, self.schemas, self.policy, self.deadline,
                               template=self.name)

    def close(self) -> None:
        try:
            self._disconnect()
        finally:
            self._scratch.drop()


def open_scratch(deadline: Deadline, *, replay_url: str | None = None,
                 schemas: Sequence[str] = (), policy: Policy = DEFAULT_POLICY) -> Scratch:
    """An empty scratch database: in memory, or on the ``replay_url`` server."""
    if replay_url is None:
        if schemas:
            raise DatabaseError("database › schemas: only PostgreSQL has schemas; migrations "
                                "replay into SQLite unless replay_url names a PostgreSQL server")
        return SQLiteScratch(deadline)
    from gatecheck.introspect import postgres, redact

    if not postgres.is_postgres_url(replay_url):
        raise DatabaseError(f"replay_url: expected a postgresql:// server URL, got "
                            f"{redact(replay_url)}")
    return PostgresScratch(replay_url, schemas, policy, deadline)
