"""SQLite's own verdicts: what its compiler says of a statement, without running it.

``EXPLAIN stmt`` makes SQLite parse and compile ``stmt`` into a program that
is never stepped, so nothing is read or written.  It runs on a private
in-memory database on which ``ATTACH`` is impossible (a limit of 0 attached
databases, and an authorizer that refuses it).  The answer wanted here is only
whether SQLite's *grammar* accepts the text: an error that is not the
tokenizer's or the parser's means the syntax is fine.  SQLite reads a statement
whole before it resolves a name, except ``CREATE`` and ``ALTER``:
``CREATE TRIGGER ... ON t`` stops at "no such table: t" before it reads the
body.  For those a missing table is created, empty, in that private database
and the statement compiled again (a few rounds at most, in a savepoint).
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from typing import TYPE_CHECKING, Iterable, Mapping, NamedTuple, Sequence

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
#: Statements whose parser looks names up before it has read them whole.
_DDL = re.compile(r"\b(?:CREATE|ALTER)\b", re.IGNORECASE)
_LOCAL = threading.local()


class SyntaxVerdict(NamedTuple):
    """SQLite rejected the text: its message, and the token it names (if any)."""

    message: str
    near: str | None


def _connection() -> sqlite3.Connection:
    """This thread's private database, empty between verdicts."""
    conn: sqlite3.Connection | None = getattr(_LOCAL, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        # Nothing but EXPLAIN and stand-in tables ever runs here; this is the
        # second guard.  (Denying more would stop the parser early, as above.)
        conn.set_authorizer(_authorize)
        _LOCAL.conn = conn
    return conn


def _authorize(action: int, *_: object) -> int:
    # A PRAGMA acts while it is compiled (``EXPLAIN PRAGMA query_only = 1``
    # sets it): denied, so no verdict depends on a statement checked before
    # it.  Its syntax has been read by then, as for every statement.
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_PRAGMA):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _stand_in(conn: sqlite3.Connection, schema: str | None, name: str) -> bool:
    """Create an empty table ``name`` so the parser gets past it; False if it cannot."""
    temp = "TEMP " if schema == "temp" else ""
    try:
        conn.execute(f"CREATE {temp}TABLE IF NOT EXISTS {_quote(name)} (_gatecheck_stand_in)")
    except sqlite3.Error:
        return False
    return True


def statement_ends(text: str) -> list[int]:
    """Offsets of the ``;`` that end statements in ``text``, as SQLite's own
    ``sqlite3_complete`` reads it: strings, quoted names, comments and a
    trigger's ``BEGIN ... END`` body."""
    ends: list[int] = []
    start = 0
    at = text.find(";")
    while at != -1:
        if sqlite3.complete_statement(text[start:at + 1]):
            ends.append(at)
            start = at + 1
        at = text.find(";", at + 1)
    return ends


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
    # SQLite reads a statement whole before it looks a name up (resolution
    # starts when the parser reduces the whole command), so "no such table"
    # says the grammar accepted it: one compile.  CREATE and ALTER look names
    # up while still parsing (``CREATE TRIGGER ... ON t`` stops at "no such
    # table: t" before its body; "table t already exists" comes before a later
    # syntax error): a missing table is created and the statement compiled
    # again, in a savepoint taken away afterwards, so that no verdict depends
    # on what was checked before it, in which worker.
    conn = _connection()
    stand_ins = _DDL.search(program) is not None
    opened = False
    try:
        for _ in range(_ROUNDS):
            try:
                conn.execute(program)
            except sqlite3.ProgrammingError:
                # Raised after a successful prepare: unbound parameters, or a
                # second statement after this one (the caller splits them).
                return None
            except sqlite3.Error as exc:
                message = str(exc)
                missing = _NO_SUCH_TABLE.match(message) if stand_ins else None
                if missing is not None:
                    if not opened:
                        conn.execute("SAVEPOINT gatecheck_syntax")
                        opened = True
                    if _stand_in(conn, missing.group(1), missing.group(2)):
                        continue
                if not _SYNTAX.search(message):
                    return None  # a later stage's error: the grammar accepted it
                near = _NEAR.match(message)
                return SyntaxVerdict(message, near.group(1) if near else None)
            except (OverflowError, ValueError, MemoryError) as exc:  # NUL byte, absurd size
                return SyntaxVerdict(f"SQLite cannot compile this text ({exc})", None)
            return None
        return None
    finally:
        if opened:
            conn.execute("ROLLBACK TO gatecheck_syntax")
            conn.execute("RELEASE gatecheck_syntax")


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
        self._settings_guard = guard(self.conn, settings=True)
        #: A PRAGMA that sets something was refused in the current compile.
        self._setting = False
        self.conn.set_authorizer(self._guard)
        self._functions: set[str] = set()
        #: CREATE statements stopped for taking too long: never run again.
        self._endless: set[str] = set()
        self._collations: set[str] = set()
        # sqlite_sequence and sqlite_stat1 exist once something made them.
        for ddl in ("CREATE TABLE _gatecheck_seq (id INTEGER PRIMARY KEY AUTOINCREMENT)",
                    "ANALYZE"):
            try:
                self.conn.execute(ddl)
            except sqlite3.Error:
                pass
        #: The schema's tables and views by casefolded name, in the schema's
        #: order (a virtual table before its shadow tables): (rank, DDL, name,
        #: columns, is a view).  Made in the probe's savepoint only when a
        #: statement may name them, so every probe compiles against a small
        #: schema: SQLite reloads its whole schema after each ``ALTER TABLE``
        #: stand-in and each rollback, which on a copy of 2,000 tables cost
        #: ~25 ms a time.
        self._objects: dict[str, tuple[int, str | None, str, list[str], bool]] = {}
        for t in schema.tables:
            if not t.name.casefold().startswith("sqlite_"):
                self._objects.setdefault(t.name.casefold(), (
                    len(self._objects), t.sql, t.name, [c.name for c in t.columns], False))
        for v in schema.views:
            self._objects.setdefault(v.name.casefold(), (
                len(self._objects), v.sql, v.name, list(v.columns), True))
        #: Objects made for the current probe after the compiler asked for them.
        self._made: set[str] = set()

    def _guard(self, action: int, arg1: str | None, arg2: str | None, db: str | None,
               trigger: str | None) -> int:
        # A PRAGMA acts while it is compiled (``EXPLAIN PRAGMA query_only = 1``
        # would make every later stand-in fail): one that sets something is
        # refused, and names nothing (`missing` counts it as checked).
        if action == sqlite3.SQLITE_PRAGMA and arg2 is not None:
            self._setting = True
            return sqlite3.SQLITE_DENY
        return self._settings_guard(action, arg1, arg2, db, trigger)

    def _materialize(self, names: Iterable[str]) -> None:
        """Make the schema's tables and views among ``names`` (casefolded words of
        the text being compiled), and those their views name, in the schema's
        order.  What cannot be made from its DDL (a module that is not loaded)
        becomes a plain table with its columns.  Which objects exist is only a
        matter of speed: a name missed here is made when the compiler asks for
        it (`_stand_in`)."""
        objects = self._objects
        wanted: set[str] = set()
        todo = [name for name in names if name in objects]
        while todo:
            name = todo.pop()
            if name in wanted:
                continue
            wanted.add(name)
            _, sql, _, _, view = objects[name]
            if view and sql is not None:  # a table's REFERENCES need nothing made
                todo.extend(w for w in _words(sql) if w in objects and w not in wanted)
        conn = self.conn
        for _, sql, name, columns, _ in sorted(objects[w] for w in wanted):
            if sql:
                try:
                    conn.execute(sql)
                    continue
                except sqlite3.Error as exc:
                    if "already exists" in str(exc):
                        continue
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
        their columns where known: stood in for, never reported.  ``columns_of``:
        for a missing column, the tables it was expected in (casefolded column ->
        tables), where a stand-in column lets the compiler go on to the next
        name.  ``creates``:
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
        self._made.clear()
        try:
            self._materialize(w for t in (*creates, text) for w in _words(t))
            self._make(creates)
            complete = False
            self._setting = False
            for _ in range(_NAME_ROUNDS):
                try:
                    conn.execute(program)
                except sqlite3.ProgrammingError:
                    pass  # compiled: unbound parameters, or a second statement
                except sqlite3.Error as exc:
                    if self._setting:  # a PRAGMA that sets something: no names
                        complete = True
                        break
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
            if found.group(1) != "temp" and name.casefold() in self._objects \
                    and name.casefold() not in self._made:
                # The schema has it; no word of the text named it (a view's).
                self._made.add(name.casefold())
                self._materialize((name.casefold(),))
                return True
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
            # One stand-in is enough: an unqualified name the engine found in
            # none of its tables would be ambiguous if every one got it.
            for owner in sorted(owners):
                try:
                    conn.execute(f"ALTER TABLE {_quote(owner)} ADD COLUMN {_quote(name)}")
                    return True
                except sqlite3.Error:
                    pass  # a view, or the column is there and the qualifier is wrong
            return False
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


#: A word of SQL text that may be a name: bare, or quoted in any of SQLite's ways.
_WORD = re.compile(r'"((?:[^"]|"")+)"|`([^`]+)`|\[([^\]]+)\]|([^\W\d][\w$]*)')


@functools.lru_cache(maxsize=8192)  # a schema's DDL, statements that recur
def _words(text: str) -> frozenset[str]:
    """The casefolded names ``text`` may use (a superset: keywords, strings' words)."""
    return frozenset((quoted.replace('""', '"') if quoted else "".join(bare)).casefold()
                     for quoted, *bare in _WORD.findall(text))


def _stop() -> int:
    return 1


def _nothing(*_: object) -> None:
    return None


def _compare(a: str, b: str) -> int:
    return (a > b) - (a < b)
