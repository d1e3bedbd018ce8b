"""A SQLite connection that cannot reach past its own database.

Every SQLite connection gatecheck opens (the live file data rules read, the
in-memory database migrations replay into) gets `guard`:

- ``ATTACH`` is impossible: a limit of 0 attached databases, and the
  authorizer denies ``ATTACH`` and ``DETACH``.  ``VACUUM INTO 'file'`` is an
  ``ATTACH`` of that file to SQLite's authorizer, so it is denied too (and
  so is a plain ``VACUUM``, which attaches a temporary database);
- extensions cannot load (``enable_load_extension(False)``, and the
  ``load_extension()`` function is denied);
- functions that touch files or memory (``readfile``, ``writefile``,
  ``edit``, ``fts3_tokenizer``, ``load_extension``) are denied, wherever
  they are called from: a statement, a view or a trigger body;
- PRAGMAs are allow-listed.  Those that only describe the schema
  (``table_info``, ``foreign_key_list``...) are always allowed; those that
  set something harmless and local to this database (``foreign_keys``,
  ``user_version``, ``recursive_triggers``, ``journal_mode``...) only where
  settings are allowed (a replay), elsewhere they may only be read; every
  other one (``temp_store_directory``, ``data_store_directory``,
  ``writable_schema``, ``soft_heap_limit``, ``query_only = OFF``...) is denied.

The authorizer runs when a statement is compiled, so a denied statement never
starts.  `Guard.explain` turns SQLite's bare "not authorized" into a
sentence that says what was refused and why.
"""

from __future__ import annotations

import sqlite3

#: Functions that read or write files, load code, or hand out raw pointers.
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit",
                              "fts3_tokenizer"})

#: PRAGMAs that only describe the database; their argument is a table or an
#: index name, never a setting.
DESCRIBING_PRAGMAS = frozenset({
    "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
    "collation_list", "function_list", "module_list", "pragma_list", "compile_options",
    "data_version", "freelist_count", "page_count", "schema_version",
})

#: PRAGMAs whose setting stays inside this connection and its database; a
#: replay may set them, a live connection may only read them.
LOCAL_SETTINGS = frozenset({
    "foreign_keys", "defer_foreign_keys", "recursive_triggers", "user_version",
    "application_id", "legacy_alter_table", "journal_mode", "synchronous", "busy_timeout",
    "cache_size", "cache_spill", "page_size", "auto_vacuum", "incremental_vacuum",
    "automatic_index", "case_sensitive_like", "cell_size_check", "checkpoint_fullfsync",
    "fullfsync", "ignore_check_constraints", "locking_mode", "max_page_count", "mmap_size",
    "optimize", "analysis_limit", "reverse_unordered_selects", "secure_delete", "temp_store",
    "wal_autocheckpoint", "wal_checkpoint", "shrink_memory", "encoding", "count_changes",
    "empty_result_callbacks", "full_column_names", "short_column_names",
    "legacy_file_format", "trusted_schema",
})

_ON = frozenset({"1", "on", "yes", "true"})


class Guard:
    """The authorizer of one connection; remembers why it last said no."""

    def __init__(self, *, settings: bool) -> None:
        #: Local PRAGMA settings may be changed (a replay), not only read.
        self.settings = settings
        #: What the last denied action was, for `explain`.
        self.denied: str | None = None

    def __call__(self, action: int, arg1: str | None, arg2: str | None,
                 _db: str | None, _trigger: str | None) -> int:
        reason = self._reason(action, arg1, arg2)
        if reason is None:
            return sqlite3.SQLITE_OK
        self.denied = reason
        return sqlite3.SQLITE_DENY

    def _reason(self, action: int, arg1: str | None, arg2: str | None) -> str | None:
        if action == sqlite3.SQLITE_ATTACH:
            if arg1 == "":
                return "VACUUM is not allowed (it attaches a temporary database)"
            return "ATTACH and VACUUM INTO are not allowed (they open other files)"
        if action == sqlite3.SQLITE_DETACH:
            return "DETACH is not allowed"
        if action == sqlite3.SQLITE_FUNCTION:
            name = (arg2 or "").casefold()
            if name in DENIED_FUNCTIONS:
                return f"the function {name}() is not allowed (it reaches files or memory)"
            return None
        if action == sqlite3.SQLITE_PRAGMA:
            return self._pragma(arg1, arg2)
        return None

    def _pragma(self, name: str | None, value: str | None) -> str | None:
        pragma = (name or "").casefold()
        if pragma in DESCRIBING_PRAGMAS:
            if pragma == "schema_version" and value is not None:
                return "PRAGMA schema_version = ... is not allowed (it corrupts the schema)"
            return None
        if pragma == "query_only" and (value is None or value.strip("'\"").casefold() in _ON):
            return None
        if pragma in LOCAL_SETTINGS and (self.settings or value is None):
            return None
        return f"PRAGMA {pragma} is not allowed (it reaches the host or weakens a safeguard)"

    def refusal(self, exc: sqlite3.Error) -> str | None:
        """What the guard refused, when that is why ``exc`` happened; else None."""
        message = str(exc)
        if self.denied is not None and ("not authorized" in message
                                        or "authorization denied" in message):
            return self.denied
        if "too many attached databases" in message:
            return "ATTACH, VACUUM and VACUUM INTO are not allowed (they open other files)"
        return None

    def explain(self, exc: sqlite3.Error) -> str:
        """SQLite's message, or what the guard refused when that is why it failed."""
        return self.refusal(exc) or str(exc)


def guard(conn: sqlite3.Connection, *, settings: bool = False) -> Guard:
    """Install the limits and the authorizer on ``conn``; returns the authorizer."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    try:
        conn.enable_load_extension(False)
    except AttributeError:  # built without extension loading: nothing to turn off
        pass
    authorizer = Guard(settings=settings)
    conn.set_authorizer(authorizer)
    return authorizer
