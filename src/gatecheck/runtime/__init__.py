"""The runtime guard: a rules file's SQL rules checked on the statements an application executes.

Static checks read the SQL written in the sources; SQL built at run time
(``"SELECT ... FROM " + kind + "_sessions"``, query builders, ORMs) is only
seen when it runs.  The rules that apply to SQL text --
``forbid-table-references``, ``references-exist`` and ``forbid-statements``
-- are checked here on every statement a watched connection executes:

- `watch` puts one sqlite3 or psycopg 3 connection of a service under guard;
- ``pytest --gatecheck`` (`gatecheck.pytest_plugin`) guards every connection
  the tests open, and fails the session when a test ran a violating statement.

A violation names the rule, the statement (literal values replaced by
``?``) and the innermost line of the project that executed it; rule paths
and inline suppressions apply to that line.  See ``docs/runtime.md``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, TypeVar

from gatecheck.runtime._check import KINDS, Violation
from gatecheck.runtime._sqlite import GuardedConnection as Connection

if TYPE_CHECKING:
    from gatecheck.runtime._check import Checker

__all__ = ["KINDS", "Connection", "Violation", "watch", "load"]

_C = TypeVar("_C")


def watch(connection: _C, config: "str | os.PathLike[str]" = "rules.yaml",
          on_violation: "str | Callable[[Violation], object]" = "log") -> _C:
    """Check every statement ``connection`` executes against the SQL rules of ``config``.

    ``connection`` is a ``sqlite3.Connection`` or a psycopg 3 connection.
    ``config`` is a rules file (or a directory: the rules file ``gatecheck
    run`` would find from it).  ``on_violation``:

    - ``"raise"``: `Violation` is raised before the statement runs (a
      statement naming a table the database lacks never runs anyway: the
      driver's error becomes the `Violation`'s cause);
    - ``"log"``: logged on the ``gatecheck.runtime`` logger (error, warning
      or info, as the rule's severity), once per distinct statement and rule;
    - a callable: called with each `Violation`, after the call that found it.

    Returns the connection to use.  A psycopg connection is hooked in place
    and returned, and so is a sqlite3 connection opened with
    ``factory=gatecheck.runtime.Connection`` (sqlite3's class with its
    methods wrapped).  Python cannot change the methods of any other open
    sqlite3 connection: the guard's authorizer is installed on it, and a thin
    wrapper is returned that also reads each statement's text and raises.
    Used directly, such a connection is still guarded, but without the
    statements' text, ``"raise"`` shows as SQLite's own ``not authorized``
    error (the violation is logged), and a callable is called from inside
    SQLite's compiler (it must not use the connection).
    """
    from gatecheck.runtime._check import Watcher

    if on_violation in ("raise", "log"):
        watcher = Watcher(load(config), mode=str(on_violation))
    elif callable(on_violation):
        watcher = Watcher(load(config), mode="call", callback=on_violation)
    else:
        raise ValueError(f"on_violation: expected 'raise', 'log' or a callable, got "
                         f"{on_violation!r}")
    import sqlite3

    if isinstance(connection, sqlite3.Connection):
        from gatecheck.runtime import _sqlite

        return _sqlite.watch(connection, watcher)  # type: ignore[no-any-return]
    if type(connection).__module__.split(".")[0] == "psycopg":
        from gatecheck.runtime import _postgres

        return _postgres.watch(connection, watcher)  # type: ignore[no-any-return]
    raise TypeError(f"cannot watch a {type(connection).__module__}."
                    f"{type(connection).__qualname__}: expected a sqlite3 or psycopg 3 "
                    "connection")


def load(config: "str | os.PathLike[str]" = "rules.yaml") -> "Checker":
    """The SQL rules of a rules file (loaded once per file)."""
    path = Path(config)
    if path.is_dir():
        from gatecheck.config import find_config
        from gatecheck.errors import ConfigError

        found = find_config(path)
        if found is None:
            raise ConfigError(f"no rules file in {path} or its parents")
        path = found
    return _load(str(path.resolve()))


@functools.lru_cache(maxsize=16)
def _load(path: str) -> "Checker":
    from gatecheck.config import load_config
    from gatecheck.runtime._check import Checker, internal

    with internal():
        return Checker(load_config(Path(path), display_root=Path(path).parent))
