"""The runtime guard on sqlite3 connections: SQLite's authorizer names what a statement touches.

SQLite calls a connection's authorizer while it compiles a statement, once
for each table and column the statement reads or writes, for DDL and for
PRAGMAs: the engine's own account of the names, whatever built the text (an
f-string, a query builder, an ORM).  `SQLiteGuard.authorize` is that
authorizer.  It runs when a statement is compiled, not each time it runs:
Python's sqlite3 keeps compiled statements per connection (128 by default),
so a hot loop over the same text pays nothing at all.

Where the guard gets its connections:

- ``sqlite3.connect/handle``, the audit event Python raises for every new
  connection however it is opened (`audit`): the authorizer is installed
  on it.  Audit hooks cannot be removed; the hook does nothing unless a
  pytest session with ``--gatecheck`` is running.
- While that session runs, ``sqlite3.connect`` (also as
  ``sqlite3.dbapi2.connect``, which SQLAlchemy's pysqlite calls) opens
  `GuardedConnection`s: sqlite3's own class with ``execute``,
  ``executemany``, ``executescript``, ``cursor`` and ``set_authorizer``
  wrapped, so the guard also sees the statement's text (its kind, the text a
  violation shows) and the error of a statement SQLite refused to compile
  ("no such table": ``references-exist``).  A factory the application
  passes is kept (the guarded class derives from it).
- `watch` on a connection already open: the authorizer is installed on it,
  and a `WatchedConnection` is returned that does what `GuardedConnection`
  does (Python cannot change the methods of an open sqlite3 connection).

An application's own authorizer set through a guarded or watched connection
is chained: it is asked first, and its DENY or IGNORE stands.  One set on
the raw connection replaces the guard (sqlite3 keeps one authorizer and has
no getter), and one set before the guard was installed is replaced by it.
"""

from __future__ import annotations

import re
import sqlite3
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from gatecheck.runtime._check import Candidate, Violation, Watcher, internal, is_internal

_OK = sqlite3.SQLITE_OK
_DENY = sqlite3.SQLITE_DENY
Authorizer = Callable[[int, "str | None", "str | None", "str | None", "str | None"], int]

#: Authorizer actions whose first argument is the table (second: a column).
_TABLE_FIRST = frozenset({
    sqlite3.SQLITE_READ, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_INSERT, sqlite3.SQLITE_DELETE,
    sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_TEMP_TABLE, sqlite3.SQLITE_DROP_TABLE,
    sqlite3.SQLITE_DROP_TEMP_TABLE, sqlite3.SQLITE_ANALYZE, sqlite3.SQLITE_CREATE_VTABLE,
    sqlite3.SQLITE_DROP_VTABLE})
#: Actions whose second argument is the table (the first names an index,
#: trigger or the schema).
_TABLE_SECOND = frozenset({
    sqlite3.SQLITE_ALTER_TABLE, sqlite3.SQLITE_CREATE_INDEX, sqlite3.SQLITE_CREATE_TEMP_INDEX,
    sqlite3.SQLITE_DROP_INDEX, sqlite3.SQLITE_DROP_TEMP_INDEX, sqlite3.SQLITE_CREATE_TRIGGER,
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER, sqlite3.SQLITE_DROP_TRIGGER,
    sqlite3.SQLITE_DROP_TEMP_TRIGGER})
#: Statement kinds (``forbid-statements``) by authorizer action, for a
#: connection whose statements' text the guard does not see.
_KINDS = {
    sqlite3.SQLITE_CREATE_TABLE: "create-table", sqlite3.SQLITE_CREATE_TEMP_TABLE: "create-table",
    sqlite3.SQLITE_CREATE_VTABLE: "create-table", sqlite3.SQLITE_CREATE_INDEX: "create-index",
    sqlite3.SQLITE_CREATE_TEMP_INDEX: "create-index", sqlite3.SQLITE_CREATE_VIEW: "create-view",
    sqlite3.SQLITE_CREATE_TEMP_VIEW: "create-view",
    sqlite3.SQLITE_CREATE_TRIGGER: "create-trigger",
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "create-trigger",
    sqlite3.SQLITE_DROP_TABLE: "drop-table", sqlite3.SQLITE_DROP_TEMP_TABLE: "drop-table",
    sqlite3.SQLITE_DROP_VTABLE: "drop-table", sqlite3.SQLITE_DROP_INDEX: "drop-index",
    sqlite3.SQLITE_DROP_TEMP_INDEX: "drop-index", sqlite3.SQLITE_DROP_VIEW: "drop-view",
    sqlite3.SQLITE_DROP_TEMP_VIEW: "drop-view", sqlite3.SQLITE_DROP_TRIGGER: "drop-trigger",
    sqlite3.SQLITE_DROP_TEMP_TRIGGER: "drop-trigger", sqlite3.SQLITE_ALTER_TABLE: "alter-table",
    sqlite3.SQLITE_ATTACH: "attach", sqlite3.SQLITE_DETACH: "detach",
    sqlite3.SQLITE_ANALYZE: "analyze", sqlite3.SQLITE_REINDEX: "reindex",
    sqlite3.SQLITE_INSERT: "insert", sqlite3.SQLITE_UPDATE: "update",
    sqlite3.SQLITE_DELETE: "delete",
}
_NO_TABLE = (re.compile(r"^no such table: (?:(?P<schema>[^.]+)\.)?(?P<name>.+)$", re.DOTALL),)
_NO_COLUMN = (re.compile(r"^no such column: (?:(?P<table>.+)\.)?(?P<name>[^.]+)$", re.DOTALL),
              re.compile(r"^table (?P<table>.+) has no column named (?P<name>.+)$", re.DOTALL))


class SQLiteGuard:
    """The guard of one sqlite3 connection: its authorizer, and what the
    wrappers of its methods do when a statement fails or found violations."""

    __slots__ = ("watcher", "app_authorizer", "pending", "refused", "untold", "_events",
                 "_by_text", "_planned", "_compiling", "_told")

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher
        #: The application's own authorizer (set through a wrapped connection).
        self.app_authorizer: Authorizer | None = None
        #: Violations found while compiling, delivered once the call returns
        #: (never from inside SQLite's compiler).
        self.pending: list[Violation] = []
        #: ``raise`` mode: the violation the authorizer refused a statement for.
        self.refused: Violation | None = None
        #: Violations of a statement whose text no wrapper gave, waiting for
        #: SQLite's trace of it (`trace`), where one is installed.
        self.untold: list[Violation] | None = None
        self._events = watcher.events
        #: Statement kinds are read from the text (when a wrapper runs it).
        self._by_text = watcher.checker.checks_statements
        #: The text whose kinds the current compilation was checked for.
        self._planned: str | None = None
        #: The compilation being authorized (the calling frame and instruction),
        #: and what was found in it already: one violation per rule and name,
        #: however many columns of the table the statement reads.
        self._compiling: tuple[int, int, int] = (0, -1, 0)
        self._told: set[tuple[str, str | None]] = set()

    # -- the authorizer

    def authorize(self, action: int, arg1: str | None, arg2: str | None, db: str | None,
                  inner: str | None) -> int:
        app = self.app_authorizer
        if app is not None:
            verdict = app(action, arg1, arg2, db, inner)
            if verdict != _OK:
                return verdict
        key = (action, arg1, arg2, db, inner)
        found = self._events.get(key)
        if found is None:
            found = self._events[key] = _event(self.watcher, action, arg1, arg2, db, inner)
        if not found[0] and not found[1] and not self._by_text:
            return _OK
        # The wrapper (if any) that called into SQLite holds the statement's text.
        frame = sys._getframe(1)
        text = _wrapped_text(frame)
        candidates = found[0]
        if candidates and arg2 == "" and db is None and text is not None and \
                not _mentions(text, arg1 or ""):
            # SQLite's "no column of this table is used" (count(*)) names the
            # table under a view too; a statement that does not name it read it
            # through a view, whose body is the schema's, not this code's.
            candidates = ()
        if text is None:
            # Statement kinds from the authorizer's actions: the text is unknown.
            candidates += found[1]
        elif self._by_text and text is not self._planned:
            # Statement kinds from the text (exactly as forbid-statements reads
            # sources), once per compilation.
            self._planned = text
            plan = self.watcher.plans.get(text)
            if plan is None:
                with internal():
                    plan = self.watcher.plan(text, "sqlite")
            candidates += plan
        if not candidates:
            return _OK
        return self._found(candidates, frame, text)

    def _found(self, candidates: tuple[Candidate, ...], frame: Any, text: str | None) -> int:
        watcher = self.watcher
        compiling = (id(frame), frame.f_lasti, id(frame.f_code))
        if compiling != self._compiling:
            self._compiling = compiling
            self._told = set()
        fresh = tuple(c for c in candidates if (c.rule.id, c.obj) not in self._told)
        if watcher.raising:
            # Every event of a forbidden name is refused; each is said once.
            with internal():
                violations = watcher.violations(candidates, text, "sqlite", frame)
            if not violations:
                return _OK
            if text is None:
                told = {(c.rule.id, c.obj) for c in fresh}
                watcher.deliver([v for v in violations if (v.rule, v.object) in told])
            elif self.refused is None:
                self.refused = violations[0]
            self._told.update((c.rule.id, c.obj) for c in fresh)
            return _DENY
        if not fresh:
            return _OK
        self._told.update((c.rule.id, c.obj) for c in fresh)
        with internal():
            violations = watcher.violations(fresh, text, "sqlite", frame)
        if not violations:
            return _OK
        if text is not None and watcher.mode == "call":
            # An application's callable may use the connection: not from inside
            # SQLite's compiler (logging and recording may).
            self.pending.extend(violations)
        elif text is not None:
            watcher.deliver(violations)
        elif self.untold is not None:
            if self.untold:
                self._tell(None)  # an earlier statement that never ran
            self.untold.extend(violations)
        else:
            watcher.deliver(violations)
        return _OK

    def trace(self, sql: str) -> None:
        """SQLite's trace of a statement starting to run, on a connection no wrapper
        covers: the text of the statement the authorizer just found violations in.
        (Python gives it with the bound values written in: `statement_text`
        takes them out again.)"""
        if self.untold:
            self._tell(sql)

    def _tell(self, sql: str | None) -> None:
        from gatecheck.runtime._check import statement_text

        untold = self.untold or []
        self.untold = []
        shown = statement_text(sql) if sql is not None else None
        self.watcher.deliver([
            Violation(v.rule, v.kind, v.severity, v.message, shown, v.place, v.object, v.test)
            for v in untold])

    # -- after a statement (the wrappers)

    def failed(self, sql: Any, exc: sqlite3.DatabaseError) -> None:
        """The statement ``sql`` failed with ``exc``: the guard refused it (``raise``:
        the violation is raised instead), or SQLite found a name missing
        (``references-exist``)."""
        __tracebackhide__ = True  # pytest shows the application's frames, not these
        self._planned = None
        self._told = set()
        refused, self.refused = self.refused, None
        if refused is not None:
            self.flush()
            raise refused from exc
        watcher = self.watcher
        missing = _missing(str(exc)) if isinstance(sql, str) else None
        if missing is not None:
            what, name, table = missing
            checker = watcher.checker
            candidates = checker.missing(what, name, table)
            if what == "table":
                # The statement names the table even though SQLite has none: the
                # authorizer never saw it, a forbidden name is still forbidden.
                candidates += checker.table(name, table or "main", False, "sqlite")
            with internal():
                violations = watcher.violations(candidates, sql, "sqlite", sys._getframe())
            if violations and watcher.raising:
                self.flush()
                raise violations[0] from exc
            self.pending.extend(violations)
        self.flush()

    def flush(self) -> None:
        """Deliver the violations found while compiling (after the call returned)."""
        self._planned = None
        self._told = set()
        pending = self.pending[:]
        self.pending.clear()  # the same list: the wrappers hold it
        self.watcher.deliver(pending)


def _event(watcher: Watcher, action: int, arg1: str | None, arg2: str | None, db: str | None,
           inner: str | None) -> tuple[tuple[Candidate, ...], tuple[Candidate, ...]]:
    """(tables the rules forbid, statement kinds they forbid) of one authorizer
    event.  Only what the statement itself names counts: not what a view or a
    trigger it sets off reads (``inner``), not SQLite's own tables."""
    if inner is not None:
        return (), ()
    table = arg1 if action in _TABLE_FIRST else arg2 if action in _TABLE_SECOND else None
    checker = watcher.checker
    tables: tuple[Candidate, ...] = ()
    if table and not table.casefold().startswith("sqlite_"):
        with internal():
            tables = checker.table(table, db or "main", False, "sqlite")
    kinds: tuple[Candidate, ...] = ()
    if checker.checks_statements:
        kind = _KINDS.get(action)
        if action == sqlite3.SQLITE_PRAGMA and arg1:
            kind = "pragma-" + arg1.casefold().replace("_", "-")
        if kind is not None and not (table or "").casefold().startswith("sqlite_"):
            with internal():
                kinds = checker.statement_kind(kind, "sqlite")
    return tables, kinds


def _mentions(text: str, name: str) -> bool:
    """Whether ``text`` has ``name`` as a word (any case, quoted or not)."""
    at = text.casefold().find(name.casefold())
    while at != -1:
        before = text[at - 1] if at else " "
        after = text[at + len(name)] if at + len(name) < len(text) else " "
        if not (before.isalnum() or before in "_$") and not (after.isalnum() or after in "_$"):
            return True
        at = text.casefold().find(name.casefold(), at + 1)
    return False


def _missing(message: str) -> tuple[str, str, str | None] | None:
    """("table" or "column", name, table) of SQLite's "no such ..." message."""
    for pattern in _NO_TABLE:
        found = pattern.match(message)
        if found is not None:
            # For a table, the third item is its schema (main, temp, an attached one).
            return "table", found.group("name"), found.group("schema")
    for pattern in _NO_COLUMN:
        found = pattern.match(message)
        if found is not None:
            return "column", found.group("name"), found.group("table")
    return None


# ---------------------------------------------------------------- connections


def install(conn: sqlite3.Connection, watcher: Watcher, *, trace: bool = False) -> SQLiteGuard:
    """Put a guard on ``conn``: its authorizer now, and its wrappers if it has them.

    ``trace``: a connection without wrappers also gets a trace callback, whose
    text completes the violations the authorizer finds (tests only: it costs a
    call per statement, and replaces a trace callback set earlier).
    """
    guard = SQLiteGuard(watcher)
    sqlite3.Connection.set_authorizer(conn, guard.authorize)
    if trace and not isinstance(conn, GuardedConnection):
        guard.untold = []
        conn.set_trace_callback(guard.trace)
    if isinstance(conn, GuardedConnection):
        old = conn._gatecheck
        if old is not None:
            guard.app_authorizer = old.app_authorizer
        conn._gatecheck = guard
    return guard


# The execute wrappers below repeat one pattern on purpose: they are the hot
# path of every statement a test runs, and the authorizer finds the statement's
# text in their frames (`_WRAPPERS`, at most `_WRAPPER_DEPTH` frames up), so a
# shared helper would cost a call and a frame on each.
class GuardedCursor(sqlite3.Cursor):
    """sqlite3's cursor, its statements run under the connection's guard."""

    def _guard(self) -> SQLiteGuard | None:
        conn = self.connection
        return conn._gatecheck if isinstance(conn, GuardedConnection) else None

    def execute(self, sql: str, parameters: Any = (), /) -> "GuardedCursor":
        __tracebackhide__ = True
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            _failed(self._guard(), sql, exc)
            raise
        finally:
            _flush(self._guard())

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> "GuardedCursor":
        __tracebackhide__ = True
        try:
            return super().executemany(sql, seq_of_parameters)
        except sqlite3.DatabaseError as exc:
            _failed(self._guard(), sql, exc)
            raise
        finally:
            _flush(self._guard())

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        __tracebackhide__ = True
        try:
            return super().executescript(sql_script)
        except sqlite3.DatabaseError as exc:
            _failed(self._guard(), sql_script, exc)
            raise
        finally:
            _flush(self._guard())


def _failed(guard: SQLiteGuard | None, sql: Any, exc: sqlite3.DatabaseError) -> None:
    __tracebackhide__ = True
    if guard is not None:
        guard.failed(sql, exc)


def _flush(guard: SQLiteGuard | None) -> None:
    if guard is not None and guard.pending:
        guard.flush()


_CURSORS: dict[type, type] = {sqlite3.Cursor: GuardedCursor}


def _guarded_subclass(factory: Any, base: type, guarded: type, made: dict[type, type]) -> Any:
    """``guarded`` mixed into ``factory``, an application's subclass of ``base``
    (made once per class and kept in ``made``); a factory function as it is."""
    if isinstance(factory, type) and issubclass(factory, base):
        if issubclass(factory, guarded):
            return factory
        cls = made.get(factory)
        if cls is None:
            cls = made[factory] = type(f"Guarded{factory.__name__}", (guarded, factory),
                                       {"__module__": factory.__module__})
        return cls
    return factory


def _guarded_cursor(factory: Any) -> Any:
    # A factory function's cursors are not wrapped (the authorizer still runs).
    return _guarded_subclass(factory, sqlite3.Cursor, GuardedCursor, _CURSORS)


class GuardedConnection(sqlite3.Connection):
    """sqlite3's connection with its statements run under a guard (see the module)."""

    _gatecheck: SQLiteGuard | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        watcher = _SESSION
        if watcher is not None and not is_internal():
            install(self, watcher)

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        __tracebackhide__ = True
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            _failed(self._gatecheck, sql, exc)
            raise
        finally:
            _flush(self._gatecheck)

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        __tracebackhide__ = True
        try:
            return super().executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            _failed(self._gatecheck, sql, exc)
            raise
        finally:
            _flush(self._gatecheck)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        __tracebackhide__ = True
        try:
            return super().executescript(sql_script)
        except sqlite3.DatabaseError as exc:
            _failed(self._gatecheck, sql_script, exc)
            raise
        finally:
            _flush(self._gatecheck)

    def cursor(self, factory: Any = sqlite3.Cursor) -> Any:
        if self._gatecheck is None:
            return super().cursor(factory)
        return super().cursor(_guarded_cursor(factory))

    def set_authorizer(self, authorizer_callback: Authorizer | None, /) -> None:
        guard = self._gatecheck
        if guard is None:
            super().set_authorizer(authorizer_callback)
            return
        # Chained, not replaced; setting it again expires compiled statements,
        # so the application's authorizer sees them all from now on.
        guard.app_authorizer = authorizer_callback
        super().set_authorizer(guard.authorize)


_CONNECTIONS: dict[type, type] = {sqlite3.Connection: GuardedConnection}


def guarded_factory(factory: Any) -> Any:
    """The guarded class for a ``factory=`` of ``sqlite3.connect`` (kept as the base)."""
    return _guarded_subclass(factory, sqlite3.Connection, GuardedConnection, _CONNECTIONS)


class WatchedCursor:
    """A sqlite3 cursor whose statements run under a watched connection's guard."""

    def __init__(self, cursor: sqlite3.Cursor, guard: SQLiteGuard) -> None:
        object.__setattr__(self, "_cursor", cursor)
        object.__setattr__(self, "_gatecheck", guard)

    def execute(self, sql: str, parameters: Any = (), /) -> "WatchedCursor":
        guard = self._gatecheck
        try:
            self._cursor.execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            guard.failed(sql, exc)
            raise
        if guard.pending:
            guard.flush()
        return self

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /) -> "WatchedCursor":
        guard = self._gatecheck
        try:
            self._cursor.executemany(sql, seq_of_parameters)
        except sqlite3.DatabaseError as exc:
            guard.failed(sql, exc)
            raise
        if guard.pending:
            guard.flush()
        return self

    def executescript(self, sql_script: str, /) -> "WatchedCursor":
        guard = self._gatecheck
        try:
            self._cursor.executescript(sql_script)
        except sqlite3.DatabaseError as exc:
            guard.failed(sql_script, exc)
            raise
        if guard.pending:
            guard.flush()
        return self

    def __iter__(self) -> "WatchedCursor":
        return self

    def __next__(self) -> Any:
        return next(self._cursor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._cursor, name, value)


class WatchedConnection:
    """An open sqlite3 connection under a guard (what `watch` returns for one).

    Every attribute is the connection's; ``execute``, ``executemany``,
    ``executescript``, ``cursor`` and ``set_authorizer`` go through the
    guard.  The raw connection stays guarded by its authorizer.
    """

    def __init__(self, conn: sqlite3.Connection, guard: SQLiteGuard) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_gatecheck", guard)
        object.__setattr__(self, "execute", _hot_execute(conn.execute, guard))

    @property
    def raw(self) -> sqlite3.Connection:
        """The connection itself (still refused or logged by the authorizer)."""
        return self._conn  # type: ignore[no-any-return]

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        # Replaced per instance by `_hot_execute`; kept for the class's interface.
        guard = self._gatecheck
        try:
            cursor: sqlite3.Cursor = self._conn.execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            guard.failed(sql, exc)
            raise
        if guard.pending:
            guard.flush()
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Any], /) -> sqlite3.Cursor:
        guard = self._gatecheck
        try:
            cursor: sqlite3.Cursor = self._conn.executemany(sql, parameters)
        except sqlite3.DatabaseError as exc:
            guard.failed(sql, exc)
            raise
        if guard.pending:
            guard.flush()
        return cursor

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:
        guard = self._gatecheck
        try:
            cursor: sqlite3.Cursor = self._conn.executescript(sql_script)
        except sqlite3.DatabaseError as exc:
            guard.failed(sql_script, exc)
            raise
        if guard.pending:
            guard.flush()
        return cursor

    def cursor(self, *args: Any, **kwargs: Any) -> WatchedCursor:
        return WatchedCursor(self._conn.cursor(*args, **kwargs), self._gatecheck)

    def set_authorizer(self, authorizer_callback: Authorizer | None, /) -> None:
        guard = self._gatecheck
        guard.app_authorizer = authorizer_callback
        sqlite3.Connection.set_authorizer(self._conn, guard.authorize)

    def __enter__(self) -> "WatchedConnection":
        self._conn.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._conn.__exit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._conn, name, value)


def _hot_execute(execute: Callable[..., sqlite3.Cursor],
                 guard: SQLiteGuard) -> Callable[..., sqlite3.Cursor]:
    """``execute`` of a watched connection: a closure in the instance (no method to
    bind, no attribute to look up), and nothing but the call unless it fails.
    Only an ``on_violation`` callable has violations waiting after the call."""
    failed = guard.failed

    if guard.watcher.mode != "call":
        def execute_(sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            try:
                return execute(sql, parameters)
            except sqlite3.DatabaseError as exc:
                failed(sql, exc)
                raise
        return execute_

    pending = guard.pending

    def execute_calling(sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        try:
            cursor = execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            failed(sql, exc)
            raise
        if pending:
            guard.flush()
        return cursor
    return execute_calling


#: The methods that call into SQLite with a statement's text, and the name of
#: that argument: the authorizer reads the text from their frames.
_WRAPPERS: dict[Any, str] = {code: "sql" for code in _hot_execute.__code__.co_consts
                             if isinstance(code, types.CodeType)}
for _cls in (GuardedConnection, GuardedCursor, WatchedConnection, WatchedCursor):
    for _name, _arg in (("execute", "sql"), ("executemany", "sql"),
                        ("executescript", "sql_script")):
        _WRAPPERS[vars(_cls)[_name].__code__] = _arg
del _cls, _name, _arg
#: Frames between the authorizer and a wrapper: an application's own subclass
#: of a connection may sit in between (its execute calling super's).
_WRAPPER_DEPTH = 4


def _wrapped_text(frame: Any) -> str | None:
    """The text of the statement a wrapper is running, from its frame; None when
    the statement did not come through one."""
    for _ in range(_WRAPPER_DEPTH):
        if frame is None:
            return None
        name = _WRAPPERS.get(frame.f_code)
        if name is not None:
            text = frame.f_locals.get(name)
            return text if isinstance(text, str) else None
        frame = frame.f_back
    return None


def watch(conn: sqlite3.Connection, watcher: Watcher) -> Any:
    """`gatecheck.runtime.watch` for a sqlite3 connection."""
    guard = install(conn, watcher)
    if isinstance(conn, GuardedConnection):
        return conn
    return WatchedConnection(conn, guard)


# ---------------------------------------------------------------- the pytest session

#: The watcher of the running pytest session; None: the audit hook does nothing.
_SESSION: Watcher | None = None
_HOOKED = False
_ORIGINAL_CONNECT = sqlite3.connect


def audit(event: str, args: tuple[Any, ...]) -> None:
    """The audit hook (``sys.addaudithook``; it cannot be removed, so it is a
    no-op unless a session is active).

    It sees every connection, also one opened through a ``connect`` bound
    before the session started.  Python raises the event before the
    connection is ready for an authorizer, so the guard is installed at the
    next profiler event of the thread (the connect call returning), through
    a profile function that lives only until then and calls any other.
    """
    if event != "sqlite3.connect/handle":
        return
    watcher = _SESSION
    if watcher is None or is_internal():
        return
    conn = args[0] if args else None
    if not isinstance(conn, sqlite3.Connection) or isinstance(conn, GuardedConnection):
        return  # a guarded connection installs its guard itself
    previous: Any = sys.getprofile()

    def profile(frame: Any, what: Any, arg: Any) -> None:
        if previous is not None:
            previous(frame, what, arg)
        try:
            install(conn, watcher, trace=True)
        except sqlite3.ProgrammingError:
            return  # not ready yet
        except sqlite3.Error:
            pass
        sys.setprofile(previous)

    sys.setprofile(profile)


def _connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` during a session: connections of a guarded class
    (`GuardedConnection.__init__` installs the guard)."""
    if _SESSION is not None and not is_internal():
        if len(args) > 5:
            args = (*args[:5], guarded_factory(args[5]), *args[6:])
        else:
            kwargs["factory"] = guarded_factory(kwargs.get("factory", sqlite3.Connection))
    conn: sqlite3.Connection = _ORIGINAL_CONNECT(*args, **kwargs)
    return conn


def start_session(watcher: Watcher) -> None:
    """Guard every sqlite3 connection opened from now on, until `stop_session`."""
    global _SESSION, _HOOKED
    if not _HOOKED:
        sys.addaudithook(audit)
        _HOOKED = True
    _SESSION = watcher
    setattr(sqlite3, "connect", _connect)
    setattr(sqlite3.dbapi2, "connect", _connect)


def stop_session() -> None:
    global _SESSION
    _SESSION = None
    setattr(sqlite3, "connect", _ORIGINAL_CONNECT)
    setattr(sqlite3.dbapi2, "connect", _ORIGINAL_CONNECT)
