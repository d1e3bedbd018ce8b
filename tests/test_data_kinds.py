"""Data kinds beyond what fixture cases express: scale, refusal, time limits, config.

Every database here is a real SQLite file; every run is the real CLI.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import build_db, gatecheck, write_tree
from gatecheck.kinds.registry import KINDS

DATA_KINDS = ("require-tables", "require-columns", "foreign-keys-resolve", "dependents-resolve",
              "rows-preserved", "no-orphans", "row-exists", "schema-version",
              "legacy-retention", "query")


def run_rules(root: Path, rules: str, *, database: str = "sqlite:///app.db",
              flags: tuple[str, ...] = ()) -> Any:
    write_tree(root, {"rules.yaml": f"version: 1\ndatabase: {database}\nrules:\n{rules}"})
    return gatecheck("run", "--format", "json", *flags, cwd=root)


def fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


@pytest.mark.parametrize("kind", DATA_KINDS)
def test_docstring_has_the_five_sections(kind: str) -> None:
    doc = KINDS[kind].__doc__ or ""
    for section in ("What it does", "Why it matters", "Example", "Fix", "Options"):
        assert f"**{section}**" in doc, f"{kind}: no {section} section"


# ---------------------------------------------------------------- scale


def test_rows_preserved_on_a_million_rows(tmp_path: Path) -> None:
    """One anti-join in the database: the exact count and the first 10 keys in order."""
    db = tmp_path / "app.db"
    conn = sqlite3.connect(db)
    conn.executescript("""
        CREATE TABLE sessions_legacy (session_id INTEGER PRIMARY KEY, channel TEXT);
        CREATE TABLE sessions (session_id INTEGER PRIMARY KEY, channel TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
        INSERT INTO sessions_legacy SELECT i, 'cli' FROM n;
        -- every key but the 13 multiples of 76923 made it across
        INSERT INTO sessions SELECT session_id, channel FROM sessions_legacy
        WHERE session_id % 76923 != 0;
    """)
    conn.close()
    run = run_rules(tmp_path, """
  - id: zero-loss
    kind: rows-preserved
    from: sessions_legacy
    to: sessions
    key: session_id
""", flags=("--show-data",))
    assert run.stderr == ""
    [finding] = run.json["findings"]
    assert finding["count"] == 13
    assert finding["sample"] == [76923 * i for i in range(1, 11)]
    assert finding["object"] == "sessions_legacy"
    assert run.exit_code == 1


# ---------------------------------------------------------------- the query kind


REFUSED = {
    "delete": ("DELETE FROM sessions", "delete statement"),
    "update": ("UPDATE sessions SET title = 'x'", "update statement"),
    "insert": ("INSERT INTO sessions VALUES ('s9', 't')", "insert statement"),
    "attach": ("ATTACH DATABASE 'other.db' AS other", "attach statement"),
    "pragma": ("PRAGMA writable_schema = ON", "pragma-writable-schema statement"),
    "second-statement": ("SELECT 1; DELETE FROM sessions", "2 statements (select, delete)"),
    "cte-delete": ("WITH d AS (DELETE FROM sessions RETURNING *) SELECT * FROM d",
                   "contains a delete statement"),
    "select-into": ("SELECT * INTO copy FROM sessions", "SELECT ... INTO"),
    "drop": ("DROP TABLE sessions", "drop-table statement"),
    "vacuum": ("VACUUM", "vacuum statement"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_query_refuses_anything_but_one_select(name: str, tmp_path: Path) -> None:
    sql, reason = REFUSED[name]
    db = build_db(tmp_path / "app.db", """
        CREATE TABLE sessions (session_id TEXT PRIMARY KEY, title TEXT);
        INSERT INTO sessions VALUES ('s1', 'one'), ('s2', 'two');
    """)
    before = fingerprint(db)
    time.sleep(0.01)  # a write would move the mtime past this
    run = run_rules(tmp_path, f"""
  - id: custom
    kind: query
    sql: "{sql}"
""")
    assert run.stderr == ""
    [finding] = run.json["findings"]
    assert finding["message"].startswith("refused to run the query: ")
    assert reason in finding["message"]
    assert finding["message"].endswith("nothing was run")
    assert fingerprint(db) == before
    assert not (tmp_path / "other.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "rules.yaml"]


def test_query_time_limit_stops_a_runaway_query(tmp_path: Path) -> None:
    build_db(tmp_path / "app.db", "CREATE TABLE t (x INTEGER);")
    started = time.monotonic()
    run = run_rules(tmp_path, """
  - id: forever
    kind: query
    sql: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT n FROM r WHERE n < 0"
    timeout_s: 0.2
""")
    elapsed = time.monotonic() - started
    [finding] = run.json["findings"]
    assert finding["message"] == ("the query failed: query exceeded its time limit of 0.2 s; "
                                  "raise 'timeout_s' or add an index, and run again")
    assert elapsed < 10  # stopped, not run to the end (it has none)


def test_data_rules_never_write(tmp_path: Path) -> None:
    """A whole run of data rules leaves the file byte-for-byte and mtime unchanged."""
    db = build_db(tmp_path / "app.db", """
        CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT);
        CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY);
        CREATE TABLE tasks (task_id TEXT PRIMARY KEY, session_id TEXT);
        CREATE TABLE schema_migrations (migration_id TEXT, status TEXT, applied_at TEXT);
        CREATE TABLE schema_version (version TEXT);
        INSERT INTO chat_sessions VALUES ('a', NULL);
        INSERT INTO task_sessions_legacy VALUES ('a'), ('b');
        INSERT INTO tasks VALUES ('t', 'c');
        INSERT INTO schema_migrations VALUES ('v35', 'success', '2025-06-02');
        INSERT INTO schema_version VALUES ('0.35.0');
    """)
    before = fingerprint(db)
    time.sleep(0.01)
    run = run_rules(tmp_path, """
  - {id: zero-loss, kind: rows-preserved, from: task_sessions_legacy, to: chat_sessions}
  - {id: tasks-resolve, kind: no-orphans, from: tasks.session_id, to: chat_sessions.session_id}
  - {id: recorded, kind: row-exists, table: schema_migrations, where: "status = 'success'"}
  - {id: version, kind: schema-version, table: schema_version, column: version, min: "0.35"}
  - id: cleanup
    kind: legacy-retention
    pattern: "*_legacy"
    max_age_days: 30
    record_table: schema_migrations
    record_column: applied_at
    today: 2025-06-20
  - {id: custom, kind: query, sql: "SELECT session_id FROM chat_sessions WHERE title IS NULL"}
""")
    assert sorted(f["rule"] for f in run.json["findings"]) == ["custom", "tasks-resolve",
                                                               "zero-loss"]
    assert fingerprint(db) == before


# ---------------------------------------------------------------- legacy-retention's today


RETENTION = """
  - id: cleanup
    kind: legacy-retention
    pattern: "*_legacy"
    max_age_days: 30
    since: 2025-06-02
"""


def test_gatecheck_today_pins_the_date(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_db(tmp_path / "app.db", "CREATE TABLE task_sessions_legacy (session_id TEXT);")
    monkeypatch.setenv("GATECHECK_TODAY", "2025-07-02")
    assert run_rules(tmp_path, RETENTION).json["findings"] == []
    monkeypatch.setenv("GATECHECK_TODAY", "2025-07-03")
    [finding] = run_rules(tmp_path, RETENTION).json["findings"]
    assert finding["age_days"] == 31
    assert finding["date_source"] == "since"
    assert "date from since: in the rule" in finding["message"]


def test_bad_gatecheck_today_is_a_usage_error(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    build_db(tmp_path / "app.db", "CREATE TABLE task_sessions_legacy (session_id TEXT);")
    monkeypatch.setenv("GATECHECK_TODAY", "yesterday")
    run = run_rules(tmp_path, RETENTION)
    assert run.exit_code == 2
    assert "GATECHECK_TODAY='yesterday': expected an ISO date" in run.stderr


# ---------------------------------------------------------------- config errors


@pytest.mark.parametrize(("rule", "error"), [
    ("{id: r, kind: rows-preserved, from: a, to: b, key: 5}",
     "key: expected a column name, a list of column names, {from: a, to: b} or a list of "
     "such mappings, got int"),
    ("{id: r, kind: rows-preserved, from: a, to: b, key: {from: x}}",
     "a key mapping needs both 'from' and 'to'"),
    ("{id: r, kind: rows-preserved, from: a, to: b, key: {from: [x, y], to: z}}",
     "a key mapping pairs columns one to one; got 2 'from' and 1 'to' columns"),
    ("{id: r, kind: rows-preserved, from: a, to: b, key: {from: x, to: y, via: z}}",
     "unknown key 'via' in a key mapping; valid keys: from, to"),
    ("{id: r, kind: rows-preserved, from: a.x, to: b.x, key: x}",
     "with 'key' set, 'from' names a table, got 'a.x'"),
    ("{id: r, kind: no-orphans, from: tasks, to: chat_sessions}",
     "name the columns: from: table.column and to: table.column"),
    ("{id: r, kind: no-orphans, from: tasks.session_id, to: chat_sessions}",
     "must both be table.column"),
    ("{id: r, kind: schema-version, table: v, column: v, min: 0.35}",
     "min: write the version as a string: min: \"0.35.0\""),
    ("{id: r, kind: schema-version, table: v, column: v, min: \"0.35-rc1\"}",
     "'0.35-rc1' is not a version"),
    ("{id: r, kind: legacy-retention, pattern: '*_legacy', max_age_days: 30}",
     "say where the archive date comes from"),
    ("{id: r, kind: legacy-retention, pattern: x, max_age_days: 30, since: 'June'}",
     "since: expected an ISO date such as 2025-06-02, got 'June'"),
    ("{id: r, kind: legacy-retention, pattern: x, max_age_days: 30, record_table: m}",
     "record_table and record_column go together"),
    ("{id: r, kind: query, sql: 'SELECT 1', timeout_s: 0}", "timeout_s must be positive"),
])
def test_option_errors_name_the_rule(rule: str, error: str, tmp_path: Path) -> None:
    build_db(tmp_path / "app.db", "CREATE TABLE t (x);")
    run = run_rules(tmp_path, f"  - {rule}\n")
    assert run.exit_code == 2
    # Located at the option, or at the rule for errors across options.
    assert run.stderr.startswith("gatecheck: error: rules.yaml:4:")
    assert "rules[0] (id=r)" in run.stderr
    assert error in run.stderr


def test_schema_version_compares_as_versions(tmp_path: Path) -> None:
    build_db(tmp_path / "app.db", """
        CREATE TABLE schema_version (version TEXT);
        INSERT INTO schema_version VALUES ('0.35.0');
    """)
    rules = ("  - {id: v, kind: schema-version, table: schema_version, column: version, "
             "min: \"%s\"}\n")
    for minimum, fires in (("0.9.1", False), ("v0.35", False), ("0.35.0.0", False),
                           ("0.35.1", True), ("1", True), ("0.100", True)):
        findings = run_rules(tmp_path, rules % minimum).json["findings"]
        assert bool(findings) == fires, minimum
