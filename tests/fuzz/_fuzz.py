"""Shared settings, strategies and invariant checks of the fuzz tests.

How many examples each fuzz test runs: a small fixed number in the normal
suite (derandomized, so CI never fails on an input nobody saw before), or
``GATECHECK_FUZZ_EXAMPLES`` per test for a campaign (random, with the
failures Hypothesis finds kept in ``.hypothesis/`` and replayed first next
time; ``--hypothesis-seed=N`` reproduces a whole run).  See
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from conftest import write_tree

REPO = Path(__file__).resolve().parents[2]
CAMPAIGN = int(os.environ.get("GATECHECK_FUZZ_EXAMPLES", "0") or 0)
#: Wall-clock limit of one example: a hang is a failure with its input, not a stuck run.
EXAMPLE_TIMEOUT_S = float(os.environ.get("GATECHECK_FUZZ_TIMEOUT_S", "30"))


def fuzz_settings(normal: int) -> settings:
    """``normal`` examples in the test suite, ``GATECHECK_FUZZ_EXAMPLES`` in a campaign."""
    common: dict[str, Any] = dict(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example],
        print_blob=True,
    )
    if CAMPAIGN:
        return settings(max_examples=CAMPAIGN,
                        database=DirectoryBasedExampleDatabase(str(REPO / ".hypothesis" /
                                                                   "examples")),
                        **common)
    return settings(max_examples=normal, derandomize=True, database=None, **common)


class Hang(Exception):
    """An example ran past `EXAMPLE_TIMEOUT_S`."""


@contextmanager
def time_limit(seconds: float = EXAMPLE_TIMEOUT_S) -> Iterator[None]:
    """Fail (rather than hang) when the body runs longer than ``seconds`` (main thread, POSIX)."""
    def expire(signum: int, frame: object) -> None:
        raise Hang(f"example ran longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A fresh directory per example (pytest's tmp_path is per test, not per example)."""
    with tempfile.TemporaryDirectory(prefix="gatecheck-fuzz-") as name:
        yield Path(name)


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    write_tree(root, files)  # conftest's: exact bytes, the strategy chose the line endings


# ---------------------------------------------------------------- strategies

TABLE = "task_sessions"
#: Identifiers SQL strategies draw from: the forbidden table, look-alikes that
#: must never be reported, and ordinary names.
NAMES = [TABLE, "chat_sessions", "task_sessions_legacy", "tasks", "webui_chats", "t",
         "Task_Sessions", "schema_migrations", "x"]
SQL_WORDS = ["SELECT", "FROM", "WHERE", "JOIN", "ON", "INSERT", "INTO", "VALUES", "UPDATE",
             "SET", "DELETE", "CREATE", "TABLE", "TRIGGER", "BEGIN", "END", "WITH", "AS",
             "REPLACE", "ALTER", "RENAME", "TO", "DROP", "IF", "EXISTS", "PRAGMA", "(", ")",
             ",", ";", "*", "=", "1", "'x'", "'task_sessions'", '"task_sessions"', "`t`",
             "[t]", "--", "/*", "*/", "\n", "?", ":name", "%s", "main.", "UNION", "CASE",
             "WHEN", "THEN", "NULL", "AFTER", "FOR", "EACH", "ROW", "$$", "\\", "e'"]

sql_soup = st.lists(st.one_of(st.sampled_from(SQL_WORDS), st.sampled_from(NAMES),
                              st.text(max_size=3)), max_size=40).map(" ".join)

SQL_STATEMENTS = [
    "SELECT * FROM {t}", "SELECT a, b FROM {t} WHERE a = 1", "INSERT INTO {t} (a) VALUES (1)",
    "UPDATE {t} SET a = 2 WHERE b = 'task_sessions'", "DELETE FROM {t}",
    "REPLACE INTO {t} (a) VALUES (1)", "CREATE TABLE {t} (a INTEGER PRIMARY KEY, b TEXT)",
    "DROP TABLE IF EXISTS {t}", "ALTER TABLE {t} RENAME TO {t}_legacy",
    "WITH c AS (SELECT * FROM {t}) SELECT * FROM c",
    "SELECT * FROM chat_sessions JOIN {t} ON chat_sessions.id = {t}.id",
    "CREATE TRIGGER tr AFTER INSERT ON {t} BEGIN INSERT INTO log VALUES (1); END",
    "CREATE VIEW v AS SELECT * FROM {t}", "SELECT (SELECT count(*) FROM {t})",
    "PRAGMA table_info({t})", "SELECT * FROM main.{t}", "CREATE INDEX i ON {t} (a)",
]
sql_statement = st.builds(lambda s, t: s.format(t=t), st.sampled_from(SQL_STATEMENTS),
                          st.sampled_from(NAMES + ['"task_sessions"', "`task_sessions`",
                                                   "[task_sessions]", "TASK_SESSIONS"]))
sql_script = st.lists(st.one_of(sql_statement, sql_soup), max_size=8).map(
    lambda stmts: ";\n".join(stmts) + ";\n")

#: Valid rules files whose kinds need no database (source rules).
SOURCE_RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: no-webui, kind: forbid-table-references, tables: ["webui_*"], except: ["*_legacy"]}
  - {id: sql-parses, kind: sql-parses}
  - id: ddl-in-migrations
    kind: forbid-statements
    statements: [create-table, drop-table, alter-table, pragma-table-info]
    allow: ["**/migrations/**"]
  - {id: single-entry, kind: forbid-calls, calls: [sqlite3.connect], allow: ["db.py"]}
"""

SCHEMA_SQL = """
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT, channel TEXT);
CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY,
                    session_id TEXT REFERENCES task_sessions (session_id));
CREATE TABLE webui_chats (id INTEGER);
CREATE TABLE schema_version (version TEXT);
CREATE VIEW open_tasks AS SELECT * FROM tasks WHERE session_id IS NOT NULL;
INSERT INTO chat_sessions VALUES ('a', NULL, 'cli');
INSERT INTO task_sessions_legacy VALUES ('a'), ('b');
INSERT INTO tasks VALUES ('t1', 'a'), ('t2', 'zz');
INSERT INTO schema_version VALUES ('0.34.0');
"""

#: Every kind, against SCHEMA_SQL (the database rules of the fuzzed CLI runs).
DATABASE_RULES = """\
  - {id: no-webui-tables, kind: forbid-tables, pattern: "webui_*", except: ["*_legacy"]}
  - {id: one-session-table, kind: unique-family, pattern: "*session*", except: ["*_legacy"]}
  - {id: no-conflicts, kind: name-conflicts, prefixes: [chat_, task_]}
  - {id: legacy-kept, kind: require-tables, tables: [task_sessions_legacy, missing_table]}
  - {id: columns, kind: require-columns, table: chat_sessions, columns: [channel, last_activity]}
  - {id: fks, kind: foreign-keys-resolve, archived: ["*_legacy"]}
  - {id: dependents, kind: dependents-resolve}
  - {id: refs, kind: references-exist, columns: true}
  - {id: zero-loss, kind: rows-preserved, from: task_sessions_legacy, to: chat_sessions}
  - {id: orphans, kind: no-orphans, from: tasks.session_id, to: chat_sessions.session_id}
  - {id: recorded, kind: row-exists, table: schema_version, where: "version = '0.35.0'"}
  - {id: version, kind: schema-version, table: schema_version, column: version, min: "0.35.0"}
  - {id: cleanup, kind: legacy-retention, pattern: "*_legacy", max_age_days: 30,
     since: 2025-01-01, today: 2025-06-01}
  - {id: custom, kind: query, sql: "SELECT task_id FROM tasks WHERE session_id = 'zz'"}
"""


# ---------------------------------------------------------------- invariants


def check_cli_output(root: Path, exit_code: int, stdout: str, stderr: str, *,
                     fmt: str = "json") -> Any:
    """The invariants every run must hold; returns the parsed JSON (json format)."""
    assert exit_code in (0, 1, 2), (exit_code, stderr)
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    for line in stderr.splitlines():
        assert line.startswith(("gatecheck: error: ", "gatecheck: warning: ",
                                "gatecheck: baseline: ")), line
        if line.startswith("gatecheck: error: "):
            check_error_names_its_source(root, line[len("gatecheck: error: "):])
    if fmt != "json" or not stdout:
        return None
    payload = json.loads(stdout)
    findings = payload["findings"]
    keys = [(f["path"] or "", f["line"] or 0, f["column"] or 0, f["rule"]) for f in findings]
    assert keys == sorted(keys), "findings are not sorted by path, line, column, rule"
    texts: dict[str, str] = {}
    for f in findings:
        if f["path"] is None:
            assert f["line"] is None and f["column"] is None
            continue
        check_position(root, f, texts)
    return payload


#: Errors about the database (or the whole run) rather than one file.
_RUN_ERRORS = ("a schema or data rule is configured", "database", "cannot open SQLite",
               "cannot read the schema", "unsupported database URL", "not a SQLite URL",
               "an in-memory SQLite", "invalid PostgreSQL URL", "cannot connect to PostgreSQL",
               "PostgreSQL support needs", "no rules.yaml found")


def check_error_names_its_source(root: Path, message: str) -> None:
    if message.startswith(_RUN_ERRORS):
        return
    where = message.split(": ", 1)[0]
    path = re.sub(r"(:\d+){1,2}$", "", where)
    assert (root / path).exists() or (root / path).is_symlink(), \
        f"error does not start with the file it concerns: {message!r}"


def check_position(root: Path, finding: dict[str, Any], texts: dict[str, str]) -> None:
    from gatecheck.errors import SourceError
    from gatecheck.positions import LineIndex
    from gatecheck.sources import decode

    path = finding["path"]
    if path not in texts:
        data = (root / path).read_bytes()
        try:
            texts[path] = decode(path, data)
        except SourceError:  # a migration that cannot be read is still a finding
            assert finding["kind"] == "migrations-replay" and finding["column"] == 1, finding
            texts[path] = data.decode("utf-8", "replace")
    text = texts[path]
    index = LineIndex(text)
    line, column = finding["line"], finding["column"]
    end_line, end_column = finding["end_line"], finding["end_column"]
    assert 1 <= line <= index.line_count, finding
    assert 1 <= end_line <= index.line_count and (end_line, end_column) >= (line, column), finding
    start = index.line_start(line) + column - 1
    end = index.line_start(end_line) + end_column  # end_column is inclusive
    line_end = index.line_start(line + 1) if line < index.line_count else len(text)
    if text:
        assert start < max(line_end, start + 1) and start < len(text) or start == 0, finding
        assert end <= len(text), finding
    if finding["kind"] == "forbid-table-references":
        spelled = text[start:end]
        # The name as written: quotes and a schema prefix are not part of it;
        # a Python escape (\x74ask_sessions) maps to its backslash.
        bare = spelled.strip('"`[]\'').casefold()
        assert bare == finding["object"].casefold() or "\\" in spelled, (spelled, finding)
