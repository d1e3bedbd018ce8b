"""Schema from migrations on PostgreSQL: a scratch database on the ``replay_url`` server.

``database: {migrations: ..., replay_url: ...}`` creates a uniquely named
scratch database on that server, replays the files into it statement by
statement, checks it read-only like a live one (`PostgresDatabase`) and drops
it on `PostgresDatabase.close`, on any failure while building it, on Ctrl-C
and on SIGTERM.  The files are found and ordered by
`gatecheck.introspect.migrations`.
"""

from __future__ import annotations

import atexit
import os
import secrets
import signal
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from gatecheck.config import DatabaseSpec
from gatecheck.errors import DatabaseError
from gatecheck.introspect import ReplayProblem, redact
from gatecheck.introspect.postgres import (CLIENT_MARGIN_S, DEFAULT_SCHEMAS, PostgresDatabase,
                                           _a, _driver, _one_line, _quote_ident, _secrets,
                                           client_deadline, connect, held_privileges)
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy

if TYPE_CHECKING:
    import psycopg

#: Prefix of the scratch databases a migrations replay creates.
SCRATCH_PREFIX = "gatecheck_replay_"



def statements(script: str) -> list[tuple[int, str]]:
    """(1-based line, text) of each statement, split on top-level ``;``.

    sqlglot's PostgreSQL tokenizer knows dollar quoting, ``E''`` strings and
    nested comments, so a function body's ``;`` does not split it.  A file
    it cannot tokenize runs whole (one statement at line 1), and the server
    says why.  (pglast's scanner-only split was tried: it drops a statement
    that starts with an identifier, so garbage would silently not run.)
    """
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.errors import TokenError
    from sqlglot import TokenType

    try:
        tokens = Dialect.get_or_raise("postgres").tokenize(script)
    except (TokenError, RecursionError):
        return [(1, script)] if script.strip() else []
    out: list[tuple[int, str]] = []
    start: int | None = None
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            if start is not None:
                out.append((script.count("\n", 0, start) + 1, script[start:tok.end + 1]))
            start = None
        elif start is None:
            start = tok.start
    if start is not None:
        out.append((script.count("\n", 0, start) + 1, script[start:]))
    return out


def _apply(conn: "psycopg.Connection[Any]", files: list[Path], url: str,
           deadline: float) -> ReplayProblem | None:
    """Run each statement alone; the first refusal, failure or timeout is the problem.

    Each statement is classified by PostgreSQL's parser first
    (`gatecheck.engines.postgres.replay_refusal`) and refused when it would
    reach outside the scratch database.  It is then sent through the extended
    query protocol (``binary=True`` makes psycopg use it even without
    parameters), which runs one statement only, under a ``statement_timeout``
    of what is left of the replay's deadline, set again before each one.
    """
    from gatecheck.engines.postgres import replay_refusal

    psycopg = _driver()
    for path in files:
        try:
            script = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return ReplayProblem(path, 1, f"cannot read migration: {type(exc).__name__}")
        for line, sql in statements(script):
            refusal = replay_refusal(sql)
            if refusal is not None:
                return ReplayProblem(path, line, f"migration refused: {refusal}; nothing of "
                                                 "it was sent")
            left = deadline - time.monotonic()
            if left <= 0:
                return _timed_out(path, line)
            try:
                conn.execute(f"SET statement_timeout = {max(1, int(left * 1000))}")
                conn.execute(sql, binary=True)
            except psycopg.errors.QueryCanceled:
                return _timed_out(path, line)
            except psycopg.Error as exc:
                return ReplayProblem(path, line, f"migration failed: {_one_line(str(exc), url)}")
    return None


def _timed_out(path: Path, line: int) -> ReplayProblem:
    return ReplayProblem(path, line, "the migrations replay exceeded its time limit; "
                                     "raise it with --replay-timeout")


class _Scratch:
    """A scratch database on the replay server, dropped exactly once."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.admin: "psycopg.Connection[Any] | None" = None
        self.created = False
        self.dropped = False
        #: What it is created from: a pristine database, or another scratch
        #: database to copy (`gatecheck.introspect.scratch`).
        self.template = "template0"

    def create(self, policy: Policy) -> None:
        self.admin = connect(self.url, read_only=False)
        if not policy.allow_privileged_role:
            name, held = held_privileges(self.admin, 30, createrole=True)
            if held:
                raise DatabaseError(
                    f"refused to replay migrations as role {name} on {redact(self.url)}: it is "
                    f"{' and '.join(_a(h) for h in held)}, so a migration could reach past the "
                    "scratch database; use a role with only CREATEDB (docs/security.md), or "
                    "pass --allow-privileged-role")
        try:
            # template0: a pristine database, whatever was added to template1.
            self.admin.execute(f"CREATE DATABASE {_quote_ident(self.name)} "
                               f"TEMPLATE {_quote_ident(self.template)}")
        except _driver().Error as exc:
            raise DatabaseError(f"cannot create the scratch database {self.name} on "
                                f"{redact(self.url)}: {_one_line(str(exc), self.url)}") from None
        self.created = True

    def drop(self) -> None:
        if self.dropped:
            return
        self.dropped = True
        with _signals_blocked():
            try:
                if self.created:
                    self._drop()
            finally:
                if self.admin is not None:
                    self.admin.close()
                _LIVE.discard(self)
                _restore_sigterm()

    def _drop(self) -> None:
        psycopg = _driver()
        admin = self.admin
        try:
            if admin is None or admin.closed:
                admin = self.admin = connect(self.url, read_only=False)
            # WITH (FORCE) (PostgreSQL 13+) ends any session still on it.
            force = " WITH (FORCE)" if admin.info.server_version >= 130000 else ""
            admin.execute(f"DROP DATABASE IF EXISTS {_quote_ident(self.name)}{force}")
        except (psycopg.Error, DatabaseError) as exc:
            text = exc.message if isinstance(exc, DatabaseError) else \
                _one_line(str(exc), self.url)
            raise DatabaseError(f"could not drop the scratch database {self.name} on "
                                f"{redact(self.url)}: {text}; drop it by hand") from None


#: Scratch databases not yet dropped: the SIGTERM and exit handlers drop them.
_LIVE: set[_Scratch] = set()
_previous_sigterm: Any = None


def _on_sigterm(signum: int, frame: Any) -> None:
    # Unwinds like Ctrl-C, so every finally (and PostgresDatabase.close) runs.
    raise SystemExit(128 + signum)


def _install_sigterm() -> None:
    global _previous_sigterm
    if _previous_sigterm is not None:
        return
    try:
        _previous_sigterm = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread: the exit handler still drops it
        _previous_sigterm = None


def _restore_sigterm() -> None:
    global _previous_sigterm
    if _LIVE or _previous_sigterm is None:
        return
    try:
        signal.signal(signal.SIGTERM, _previous_sigterm)
    except ValueError:
        pass
    _previous_sigterm = None


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT/SIGTERM while dropping, so a second Ctrl-C cannot cut the drop short."""
    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None:
        yield
        return
    old = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        mask(signal.SIG_SETMASK, old)


@atexit.register
def _drop_leftovers() -> None:
    for scratch in list(_LIVE):
        try:
            scratch.drop()
        except DatabaseError:
            pass


def scratch_url(url: str, name: str) -> str:
    """``url`` naming database ``name``: what a ``build:`` command connects to."""
    from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = parts.query
    pairs = parse_qsl(query, keep_blank_values=True)
    if any(key == "dbname" for key, _ in pairs):  # libpq lets it override the path
        query = urlencode([(k, v) for k, v in pairs if k != "dbname"], quote_via=quote)
    return urlunsplit(parts._replace(path="/" + quote(name), query=query))


def replay(spec: DatabaseSpec, files: list[Path], seeds: list[Path],
           policy: Policy = DEFAULT_POLICY, *,
           build: Callable[[str, float], None] | None = None,
           source: str | None = None) -> PostgresDatabase:
    """Build a scratch database from ``files`` (then ``seeds``) and open it read-only.

    ``build`` (`gatecheck.introspect.build`), given the scratch database's
    URL and the replay's deadline (``time.monotonic()``), builds it first.
    """
    assert spec.replay_url is not None
    url = spec.replay_url
    schemas = spec.schemas or DEFAULT_SCHEMAS
    name = f"{SCRATCH_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    scratch = _Scratch(url, name)
    _LIVE.add(scratch)
    _install_sigterm()
    try:
        scratch.create(policy)
        deadline = time.monotonic() + policy.replay_timeout_s
        if build is not None:
            build(scratch_url(url, name), deadline)
        builder = connect(url, read_only=False, dbname=name)
        try:
            # The server applies statement_timeout; the client gives up on one
            # that stops answering (CLIENT_MARGIN_S after the deadline).
            with client_deadline(builder, policy.replay_timeout_s + CLIENT_MARGIN_S):
                problem = _apply(builder, files, url, deadline) or \
                    _apply(builder, seeds, url, deadline)
        finally:
            builder.close()
        conn = connect(url, schemas=schemas, dbname=name)
    except BaseException:
        scratch.drop()
        raise
    db = PostgresDatabase(conn, source=source or f"migrations:{spec.migrations}",
                          schemas=schemas, secrets=_secrets(url), on_close=scratch.drop,
                          policy=policy)
    if problem is not None:
        db.problems.append(problem)
    return db
