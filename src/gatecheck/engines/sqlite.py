"""SQLite's own verdicts: what its compiler says of a statement, without running it.

``EXPLAIN stmt`` makes SQLite parse and compile ``stmt`` into a program that
is never stepped, so nothing is read or written.  It runs on a private
in-memory database on which ``ATTACH`` is impossible (a limit of 0 attached
databases, and an authorizer that refuses it).  The answer wanted here is only
whether SQLite's *grammar* accepts the text, and SQLite's parser resolves some
names while it still parses: ``CREATE TRIGGER ... ON t`` stops at "no such
table: t" before it reads the body.  So a missing table is created, empty, in
that private database and the statement compiled again (a few rounds at most);
any other error that is not the tokenizer's or the parser's means the syntax is
fine.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import NamedTuple

#: Messages of SQLite's tokenizer and parser; every other error comes later.
_SYNTAX = re.compile(r"syntax error|^incomplete input|^unrecognized token", re.IGNORECASE)
_NEAR = re.compile(r'^near "(.*)": syntax error$', re.DOTALL)
_NO_SUCH_TABLE = re.compile(r"^no such table: (?:(main|temp)\.)?(.+)$", re.DOTALL)
#: Missing tables created before giving up on reaching the parser's end.
_ROUNDS = 8
#: Beyond this many stand-in tables the private database starts afresh.
_MAX_TABLES = 2_000
_LOCAL = threading.local()


class SyntaxVerdict(NamedTuple):
    """SQLite rejected the text: its message, and the token it names (if any)."""

    message: str
    near: str | None


def _connection() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_LOCAL, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        # Nothing but EXPLAIN and stand-in tables ever runs here; this is the
        # second guard.  (Denying more would stop the parser early, as above.)
        conn.set_authorizer(_authorize)
        _LOCAL.conn = conn
        _LOCAL.tables = 0
    return conn


def _authorize(action: int, *_: object) -> int:
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _stand_in(conn: sqlite3.Connection, schema: str | None, name: str) -> bool:
    """Create an empty table ``name`` so the parser gets past it; False if it cannot."""
    if _LOCAL.tables >= _MAX_TABLES:
        conn.close()
        _LOCAL.conn = None
        return False
    temp = "TEMP " if schema == "temp" else ""
    try:
        conn.execute(f'CREATE {temp}TABLE IF NOT EXISTS "{name.replace(chr(34), chr(34) * 2)}" '
                     "(_gatecheck_stand_in)")
    except sqlite3.Error:
        return False
    _LOCAL.tables += 1
    return True


def syntax_error(sql: str) -> SyntaxVerdict | None:
    """None when SQLite's grammar accepts ``sql`` (one statement), else why not.

    ``sql`` is one statement without its ``;`` (a trigger with its whole
    ``BEGIN ... END`` body is one statement).
    """
    text = sql.strip()
    if not text:
        return None
    # "EXPLAIN EXPLAIN ..." is itself a syntax error; EXPLAIN QUERY PLAN is too
    # once prefixed again.
    head = text[:7].upper()
    program = text if head == "EXPLAIN" else f"EXPLAIN {text}"
    for _ in range(_ROUNDS):
        conn = _connection()
        try:
            conn.execute(program)
        except sqlite3.ProgrammingError:
            # Raised after a successful prepare: unbound parameters, or a second
            # statement after this one (the caller splits them).
            return None
        except sqlite3.Error as exc:
            message = str(exc)
            missing = _NO_SUCH_TABLE.match(message)
            if missing is not None and _stand_in(conn, missing.group(1), missing.group(2)):
                continue
            if not _SYNTAX.search(message):
                return None
            near = _NEAR.match(message)
            return SyntaxVerdict(message, near.group(1) if near else None)
        except (OverflowError, ValueError, MemoryError) as exc:  # NUL byte, absurd size
            return SyntaxVerdict(f"SQLite cannot compile this text ({exc})", None)
        return None
    return None
