"""The runtime guard on psycopg 3 connections: PostgreSQL's grammar and the server decide.

psycopg's cursor classes are Python classes, so their methods are wrapped
(once, for every connection): ``execute``, ``executemany``, ``stream`` and
``copy`` of ``Cursor``, ``ServerCursor`` and their async twins
(``Connection.execute`` goes through a cursor).  A wrapper does nothing
unless the connection is watched (`watch`) or a pytest session with
``--gatecheck`` runs.

Before a statement is sent, its text (a ``str``, ``bytes`` or a
``psycopg.sql`` composition, with psycopg's ``%s`` placeholders) is read by
PostgreSQL's own parser (pglast): the relations it names are checked
against ``forbid-table-references``, its kind against ``forbid-statements``,
once per distinct text.  Whether a name exists is the server's to say: an
``undefined_table`` or ``undefined_column`` error of the very connection that
ran the statement is a ``references-exist`` violation.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable
from typing import Any

from gatecheck.runtime._check import Candidate, Watcher, internal, is_internal

_COLUMN = (re.compile(r'^column "(?P<name>(?:[^"]|"")+)" of relation "(?P<table>(?:[^"]|"")+)" '
                      r'does not exist'),
           re.compile(r'^column (?P<table>[^\s."]+)\.(?P<name>[^\s"]+) does not exist'),
           re.compile(r'^column "(?P<name>(?:[^"]|"")+)" does not exist'))
_TABLE = re.compile(r'^relation "(?P<name>(?:[^"]|"")+)" does not exist')

#: The watcher of the running pytest session (every connection), or None.
_SESSION: Watcher | None = None
_PATCHED = False


class PostgresGuard:
    """What the wrappers do around a statement on a watched connection."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def before(self, cursor: Any, query: Any) -> str | None:
        """Check ``query`` before it is sent; its text (None if it has none)."""
        text = _text(query, cursor)
        if text is None:
            return None
        watcher = self.watcher
        plan = watcher.plans.get(text)
        if plan is None:
            with internal():
                plan = watcher.plan(text, "postgres", names=self._names)
        if plan:
            with internal():
                violations = watcher.violations(plan, text, "postgres", sys._getframe())
            if violations and watcher.raising:
                raise violations[0]
            watcher.deliver(violations)
        return text

    def _names(self, text: str) -> tuple[Candidate, ...]:
        from gatecheck.engines.postgres import _PSYCOPG, _number, relations

        found = relations(_number(text, _PSYCOPG).text) or ()
        checker = self.watcher.checker
        out: dict[tuple[str, str], Candidate] = {}
        for rel in found:
            for c in checker.table(rel.name, rel.schema, rel.quoted, "postgres"):
                out.setdefault((c.rule.id, rel.name), c)
        return tuple(out.values())

    def failed(self, text: str, exc: BaseException) -> None:
        """A statement the server refused: a missing name is a ``references-exist`` violation."""
        missing = _missing(exc)
        if missing is None:
            return
        what, name, table = missing
        watcher = self.watcher
        with internal():
            violations = watcher.violations(watcher.checker.missing(what, name, table), text,
                                            "postgres", sys._getframe())
        if violations and watcher.raising:
            raise violations[0] from exc
        watcher.deliver(violations)


def _text(query: Any, cursor: Any) -> str | None:
    if isinstance(query, str):
        return query
    if isinstance(query, (bytes, bytearray, memoryview)):
        return bytes(query).decode("utf-8", "replace")
    as_string = getattr(query, "as_string", None)  # psycopg.sql.Composable
    if as_string is not None:
        try:
            text = as_string(cursor)
        except Exception:
            return None
        return text if isinstance(text, str) else None
    return None


def _missing(exc: BaseException) -> tuple[str, str, str | None] | None:
    state = getattr(exc, "sqlstate", None)
    if state not in ("42P01", "42703"):
        return None
    diag = getattr(exc, "diag", None)
    message = getattr(diag, "message_primary", None) or str(exc)
    if state == "42P01":
        found = _TABLE.match(message)
        return ("table", found.group("name").replace('""', '"'), None) if found else None
    for pattern in _COLUMN:
        hit = pattern.match(message)
        if hit is not None:
            return ("column", hit.group("name").replace('""', '"'),
                    hit.group("table").replace('""', '"') if "table" in hit.groupdict()
                    else None)
    return None


# ---------------------------------------------------------------- the wrappers


def _guard(cursor: Any) -> PostgresGuard | None:
    guard = getattr(getattr(cursor, "connection", None), "_gatecheck", None)
    if guard is None and _SESSION is not None:
        return _SESSION_GUARD
    return guard if isinstance(guard, PostgresGuard) else None


_SESSION_GUARD: PostgresGuard | None = None


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def method(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        guard = _guard(self)
        if guard is None or is_internal():
            return original(self, query, *args, **kwargs)
        text = guard.before(self, query)
        try:
            return original(self, query, *args, **kwargs)
        except Exception as exc:
            if text is not None:
                guard.failed(text, exc)
            raise
    method.__gatecheck_original__ = original  # type: ignore[attr-defined]
    return method


def _wrap_async(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def method(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        guard = _guard(self)
        if guard is None or is_internal():
            return await original(self, query, *args, **kwargs)
        text = guard.before(self, query)
        try:
            return await original(self, query, *args, **kwargs)
        except Exception as exc:
            if text is not None:
                guard.failed(text, exc)
            raise
    method.__gatecheck_original__ = original  # type: ignore[attr-defined]
    return method


def _wrap_lazy(original: Callable[..., Any]) -> Callable[..., Any]:
    """``stream`` and ``copy`` return an iterator or a context manager: checked
    before, their errors come later, outside the call."""
    @functools.wraps(original)
    def method(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        guard = _guard(self)
        if guard is not None and not is_internal():
            guard.before(self, query)
        return original(self, query, *args, **kwargs)
    method.__gatecheck_original__ = original  # type: ignore[attr-defined]
    return method


def patch() -> None:
    """Wrap psycopg's cursor methods (once; they pass through when nothing watches)."""
    global _PATCHED
    if _PATCHED:
        return
    import psycopg

    sync = [psycopg.Cursor, psycopg.ServerCursor]
    asyncs = [psycopg.AsyncCursor, psycopg.AsyncServerCursor]
    for cls in sync:
        for name in ("execute", "executemany"):
            if name in vars(cls):
                setattr(cls, name, _wrap(vars(cls)[name]))
        for name in ("stream", "copy"):
            if name in vars(cls):
                setattr(cls, name, _wrap_lazy(vars(cls)[name]))
    for cls in asyncs:
        for name in ("execute", "executemany"):
            if name in vars(cls):
                setattr(cls, name, _wrap_async(vars(cls)[name]))
        for name in ("stream", "copy"):
            if name in vars(cls):
                setattr(cls, name, _wrap_lazy(vars(cls)[name]))
    _PATCHED = True


def watch(conn: Any, watcher: Watcher) -> Any:
    """`gatecheck.runtime.watch` for a psycopg connection: hooked in place."""
    patch()
    conn._gatecheck = PostgresGuard(watcher)
    return conn


def start_session(watcher: Watcher) -> None:
    global _SESSION, _SESSION_GUARD
    patch()
    _SESSION = watcher
    _SESSION_GUARD = PostgresGuard(watcher)


def stop_session() -> None:
    global _SESSION, _SESSION_GUARD
    _SESSION = None
    _SESSION_GUARD = None
