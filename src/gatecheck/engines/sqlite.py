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

import functools
import re
import sqlite3
import threading
from typing import TYPE_CHECKING, Mapping, NamedTuple, Sequence

from gatecheck.engines import as_values
from gatecheck.extract import NEUTRAL

if TYPE_CHECKING:
    from gatecheck.model import Schema

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
        conn.execute(f"CREATE {temp}TABLE IF NOT EXISTS {_quote(name)} (_gatecheck_stand_in)")
    except sqlite3.Error:
        return False
    _LOCAL.tables += 1
    return True


@functools.lru_cache(maxsize=4096)  # the same statement recurs across a code base
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


# ---------------------------------------------------------------- names


_NO_SUCH_COLUMN = re.compile(r"^no such column: (?:(.+)\.)?([^.]+)$", re.DOTALL)
_HAS_NO_COLUMN = re.compile(r"^(?:table )?(.+) has no column named (.+)$", re.DOTALL)
_NO_SUCH_FUNCTION = re.compile(r"^no such function: (.+)$", re.DOTALL)
_NO_SUCH_COLLATION = re.compile(r"^no such collation sequence: (.+)$", re.DOTALL)
_NONE: Mapping[str, frozenset[str] | None] = {}
#: Virtual-machine steps one ``CREATE`` of a file may take on the schema copy.
_CREATE_STEPS = 100_000

#: Stand-ins (tables, columns, functions) tried before the engine's account
#: of one statement is given up as incomplete.
_NAME_ROUNDS = 16


class Missing(NamedTuple):
    """What SQLite's compiler said one statement names that the schema lacks."""

    #: Tables and columns, casefolded.
    tables: frozenset[str]
    columns: frozenset[str]
    #: Whether the engine got to the end of the statement.  False: it stopped
    #: at something that is not a name of the schema (a syntax error, an
    #: unknown module, a name nobody proposed); names after that are unknown.
    complete: bool


class NameOracle:
    """A schema-only, in-memory copy of a SQLite schema that compiles statements.

    Built from the tables' and views' own DDL (``sqlite_master.sql``), so
    SQLite resolves names with its own rules: ``rowid``, a FTS5 table's name
    as a column, ``sqlite_master``, ``temp.``, whole-row quirks.  Each
    statement is compiled under ``EXPLAIN`` (never run) inside a savepoint:
    a missing table or column is recorded, stood in for, and the statement
    compiled again, so one statement yields all its missing names; unknown
    application functions and collations get stand-ins too.  The savepoint
    is rolled back after each statement.  The connection is guarded like
    every SQLite connection gatecheck opens (`sqlite_guard`).
    """

    def __init__(self, schema: "Schema") -> None:
        from gatecheck.introspect.sqlite_guard import guard

        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._guard = guard(self.conn, settings=True)
        self._functions: set[str] = set()
        #: CREATE statements stopped for taking too long: never run again.
        self._endless: set[str] = set()
        self._collations: set[str] = set()
        self._copy(schema)

    def _copy(self, schema: "Schema") -> None:
        conn = self.conn
        # sqlite_sequence and sqlite_stat1 exist once something made them.
        for ddl in ("CREATE TABLE _gatecheck_seq (id INTEGER PRIMARY KEY AUTOINCREMENT)",
                    "ANALYZE"):
            try:
                conn.execute(ddl)
            except sqlite3.Error:
                pass
        pending: list[tuple[str | None, str, list[str]]] = [
            (t.sql, t.name, [c.name for c in t.columns]) for t in schema.tables
            if not t.name.casefold().startswith("sqlite_")]
        pending += [(v.sql, v.name, list(v.columns)) for v in schema.views]
        # Views may name views made later: a few passes, then stand-ins.
        for _ in range(3):
            failed: list[tuple[str | None, str, list[str]]] = []
            for sql, name, columns in pending:
                if sql is None:
                    failed.append((sql, name, columns))
                    continue
                try:
                    conn.execute(sql)
                except sqlite3.Error as exc:
                    if "already exists" not in str(exc):
                        failed.append((sql, name, columns))
            if len(failed) == len(pending):
                break
            pending = failed
        for _, name, columns in pending:
            cols = ", ".join(_quote(c) for c in columns) or "_gatecheck_stand_in"
            try:
                conn.execute(f"CREATE TABLE IF NOT EXISTS {_quote(name)} ({cols})")
            except sqlite3.Error:
                pass

    def created(self, sql: str) -> frozenset[str]:
        """Tables and views ``sql`` (one ``CREATE`` statement) would create, casefolded.

        SQLite's authorizer names them while it compiles the statement, also
        for text sqlglot cannot read (``CREATE VIRTUAL TABLE ... USING fts5``
        with options, table constraints without commas).
        """
        made: set[str] = set()
        creating = {sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_TEMP_TABLE,
                    sqlite3.SQLITE_CREATE_VIEW, sqlite3.SQLITE_CREATE_TEMP_VIEW,
                    sqlite3.SQLITE_CREATE_VTABLE}

        def record(action: int, arg1: str | None, arg2: str | None, db: str | None,
                   trigger: str | None) -> int:
            if action in creating and arg1:
                made.add(arg1.casefold())
            return self._guard(action, arg1, arg2, db, trigger)

        text = sql.strip().rstrip(";").strip()
        self.conn.set_authorizer(record)
        try:
            self.conn.execute(f"EXPLAIN {text}")
        except (sqlite3.Error, OverflowError, ValueError, MemoryError):
            pass  # what was named before the error still counts
        finally:
            self.conn.set_authorizer(self._guard)
        return frozenset(made)

    def missing(self, sql: str, *, defined: Mapping[str, frozenset[str] | None] = _NONE,
                columns_of: dict[str, set[str]] | None = None,
                creates: Sequence[str] = ()) -> Missing:
        """The schema's names that ``sql`` (one statement) lacks, as SQLite says.

        ``defined``: tables created elsewhere in the same file (casefolded), with
        their columns where known: stood in for, never reported.  ``columns_of``: for a missing column,
        the tables it was expected in (casefolded column -> tables), where a
        stand-in column lets the compiler go on to the next name.  ``creates``:
        the file's own ``CREATE`` statements, run first (in the probe's
        savepoint) so that the engine knows their tables with its own account
        of their columns.
        """
        text = sql.strip().rstrip(";").strip()
        if not text:
            return Missing(frozenset(), frozenset(), True)
        program = text if text[:7].upper() == "EXPLAIN" else f"EXPLAIN {text}"
        tables: set[str] = set()
        columns: set[str] = set()
        conn = self.conn
        conn.execute("SAVEPOINT gatecheck_probe")
        try:
            self._make(creates)
            complete = False
            for _ in range(_NAME_ROUNDS):
                try:
                    conn.execute(program)
                except sqlite3.ProgrammingError:
                    pass  # compiled: unbound parameters, or a second statement
                except sqlite3.Error as exc:
                    if self._stand_in(str(exc), defined, columns_of or {}, tables, columns):
                        continue
                    if _SYNTAX.search(str(exc)) and NEUTRAL.search(program):
                        # A hole where a name cannot stand (``VALUES {rows}``): a value.
                        program = as_values(program)
                        continue
                    break
                except (OverflowError, ValueError, MemoryError):
                    break
                complete = True
                break
            return Missing(frozenset(tables), frozenset(columns), complete)
        finally:
            conn.execute("ROLLBACK TO gatecheck_probe")
            conn.execute("RELEASE gatecheck_probe")

    def _make(self, creates: Sequence[str]) -> None:
        """Run ``CREATE`` statements on the schema copy.  Its tables are empty, so
        ``CREATE TABLE ... AS SELECT`` reads nothing; a budget of virtual-machine
        steps still stops one that would compute rows forever (a recursive CTE)."""
        conn = self.conn
        conn.set_progress_handler(_stop, _CREATE_STEPS)
        try:
            for sql in creates:
                if sql in self._endless:
                    continue
                try:
                    conn.execute(sql.strip().rstrip(";"))
                except (sqlite3.Error, OverflowError, ValueError, MemoryError):
                    # Not this engine's to make (a hole, another dialect): stood in for.
                    if not conn.in_transaction:
                        # Interrupted: SQLite rolled the whole probe back.
                        self._endless.add(sql)
                        break
            else:
                return
        finally:
            conn.set_progress_handler(None, 0)
        conn.execute("SAVEPOINT gatecheck_probe")
        self._make(creates)

    def _stand_in(self, message: str, defined: Mapping[str, frozenset[str] | None],
                  columns_of: dict[str, set[str]], tables: set[str],
                  columns: set[str]) -> bool:
        """Record the missing name and make it exist; False when the compiler cannot
        go on (the error is not a missing name, or no stand-in could be made)."""
        conn = self.conn
        found = _NO_SUCH_TABLE.match(message)
        if found is not None:
            name = found.group(2)
            if name.casefold() not in defined:
                tables.add(name.casefold())
            temp = "TEMP " if found.group(1) == "temp" else ""
            cols = ", ".join(_quote(c) for c in sorted(defined.get(name.casefold()) or ())) \
                or "_gatecheck_stand_in"
            try:
                conn.execute(f"CREATE {temp}TABLE {_quote(name)} ({cols})")
            except sqlite3.Error:
                return False
            return True
        found = _NO_SUCH_COLUMN.match(message) or _HAS_NO_COLUMN.match(message)
        if found is not None:
            name = found.group(2)
            if name.casefold() not in columns_of:
                return False  # a name nobody proposed (NEW.x, a template's stand-in)
            owners = columns_of[name.casefold()]
            columns.add(name.casefold())
            added = False
            for owner in owners:
                try:
                    conn.execute(f"ALTER TABLE {_quote(owner)} ADD COLUMN {_quote(name)}")
                    added = True
                except sqlite3.Error:
                    pass  # a view, or the column is there and the qualifier is wrong
            return added
        found = _NO_SUCH_FUNCTION.match(message)
        if found is not None and found.group(1).casefold() not in self._functions:
            self._functions.add(found.group(1).casefold())
            conn.create_function(found.group(1), -1, _nothing)
            return True
        found = _NO_SUCH_COLLATION.match(message)
        if found is not None and found.group(1).casefold() not in self._collations:
            self._collations.add(found.group(1).casefold())
            conn.create_collation(found.group(1), _compare)
            return True
        return False


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _stop() -> int:
    return 1


def _nothing(*_: object) -> None:
    return None


def _compare(a: str, b: str) -> int:
    return (a > b) - (a < b)
