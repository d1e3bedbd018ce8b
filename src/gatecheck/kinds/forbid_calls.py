"""Python call sites of forbidden functions, outside allowed files.

**What it does**
Finds every call in Python sources whose callee resolves, through the
file's imports, to one of ``calls``: ``import sqlite3 as s; s.connect()``,
``from sqlite3 import connect; connect()`` and ``sqlite3.connect()`` all
resolve to ``sqlite3.connect``.  Files matching ``allow`` globs are exempt.
Entries may be globs (``sqlite3.*``).

**Why it matters**
A single database entry point is where read-only mode, timeouts, pragmas and
the path of the database file are decided.  Every direct
``sqlite3.connect`` elsewhere opens the database differently, and one of
them eventually creates an empty database at the wrong path.

**Example**
```yaml
rules:
  - id: single-db-entry
    kind: forbid-calls
    calls: [sqlite3.connect]
    allow: ["app/store/db.py"]
```
fails on ``conn = sqlite3.connect(path)`` in ``app/jobs/cleanup.py``, at the
callee.

**Fix**
Call the project's entry point (``app.store.db.connect()``) instead.

**Options**
- ``calls``: dotted names or globs of them (required).
- ``allow``: gitignore-style globs of files where the calls are fine.
"""

from __future__ import annotations

from dataclasses import dataclass

from gatecheck.kinds import CALLS, Context, Emit, glob_match
from gatecheck.paths import PathMatcher

KIND = "forbid-calls"
NEEDS = frozenset({CALLS})


@dataclass(frozen=True)
class Options:
    calls: tuple[str, ...]
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.calls:
            raise ValueError("'calls' must name at least one function")


def check(ctx: Context, options: Options, emit: Emit) -> None:
    allow = PathMatcher(options.allow)
    for path, site in ctx.calls:
        if allow.matches(path):
            continue
        pattern = glob_match(site.name, options.calls)
        if pattern is not None:
            emit(f"call to {site.name} outside the allowed paths", obj=site.name,
                 path=path, span=site.span)
