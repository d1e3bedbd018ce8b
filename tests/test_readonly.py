"""Read-only proofs: gatecheck never changes, creates or litters the database it inspects.

Every database is a real SQLite file, every run the real CLI; the busy cases
hold a lock from a real second process.  (tests/test_data_kinds.py shows
each refused ``query`` statement on its own; here every kind runs at once,
in both journal modes, and the directory is compared too.)
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import gatecheck, write_tree
from gatecheck.introspect import sqlite as sqlite_introspect

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
from _fuzz import DATABASE_RULES, SCHEMA_SQL, SOURCE_RULES  # noqa: E402

#: Statements a query rule must refuse, never send (each its own rule).
HOSTILE_QUERIES = {
    "delete": "DELETE FROM chat_sessions",
    "update": "UPDATE chat_sessions SET title = 'x'",
    "attach": "ATTACH DATABASE 'other.db' AS other",
    "writable-schema": "PRAGMA writable_schema = ON",
    "second-statement": "SELECT 1; DELETE FROM chat_sessions",
    "cte-write": "WITH d AS (DELETE FROM chat_sessions RETURNING *) SELECT * FROM d",
    "vacuum-into": "VACUUM INTO 'copy.db'",
}


def build(path: Path, journal_mode: str) -> Path:
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
        conn.executescript(SCHEMA_SQL)
    finally:
        conn.close()
    return path


def state(directory: Path, db: Path) -> tuple[list[str], bytes, int]:
    """The directory listing, the database's bytes and its mtime."""
    return sorted(os.listdir(directory)), db.read_bytes(), db.stat().st_mtime_ns


def every_kind_rules(database: str = "sqlite:///app.db") -> str:
    hostile = "".join(f'  - {{id: refuse-{name}, kind: query, sql: "{sql}"}}\n'
                      for name, sql in HOSTILE_QUERIES.items())
    return (SOURCE_RULES.replace("version: 1\n", f"version: 1\ndatabase: {database}\n")
            + DATABASE_RULES + hostile)


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_no_rule_kind_changes_or_litters_the_database(journal_mode: str,
                                                      tmp_path: Path) -> None:
    db = build(tmp_path / "app.db", journal_mode)
    write_tree(tmp_path, {"rules.yaml": every_kind_rules(),
                          "app.py": 'def f(cur):\n    cur.execute("SELECT * FROM task_sessions")\n'})
    before = state(tmp_path, db)
    time.sleep(0.01)  # a write would move the mtime past this
    for command in (["run", "--format", "json", "--no-cache"], ["schema"], ["rules"]):
        run = gatecheck(*command, cwd=tmp_path)
        assert run.exit_code in (0, 1), run.stderr
        assert "Traceback" not in run.stderr
    assert state(tmp_path, db) == before, "the database or its directory changed"
    findings = gatecheck("run", "--format", "json", "--no-cache", cwd=tmp_path).json["findings"]
    refused = {f["rule"]: f["message"] for f in findings if f["rule"].startswith("refuse-")}
    assert sorted(refused) == sorted(f"refuse-{name}" for name in HOSTILE_QUERIES)
    for message in refused.values():
        assert message.startswith("refused to run the query: ") and "nothing was run" in message
    assert "2 statements (select, delete)" in refused["refuse-second-statement"]
    assert "pragma-writable-schema" in refused["refuse-writable-schema"]
    # Every other kind did run and report (the rules are written to fire).
    assert {"zero-loss", "orphans", "version", "cleanup", "custom", "fks"} <= \
        {f["rule"] for f in findings}
    assert state(tmp_path, db) == before


def test_wal_database_leaves_no_side_files(tmp_path: Path) -> None:
    """A read-only connection to a WAL file would create -wal and -shm and leave them."""
    db = build(tmp_path / "app.db", "wal")
    write_tree(tmp_path, {"rules.yaml": every_kind_rules()})
    assert sorted(os.listdir(tmp_path)) == ["app.db", "rules.yaml"]
    run = gatecheck("run", "--no-cache", "--select", "custom,zero-loss", cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    assert sorted(os.listdir(tmp_path)) == ["app.db", "rules.yaml"]
    assert db.read_bytes()[18:20] == b"\x02\x02", "still a WAL database"


# ---------------------------------------------------------------- missing databases


@pytest.mark.parametrize("url", ["sqlite:///missing.db", "sqlite:///no/such/dir/app.db",
                                 "sqlite:///missing.db?mode=rwc", "${GC_TEST_DB_URL}"])
def test_a_missing_database_is_never_created(url: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_TEST_DB_URL", "sqlite:///from-env.db")
    write_tree(tmp_path, {"rules.yaml": every_kind_rules(url)})
    before = sorted(os.listdir(tmp_path))
    run = gatecheck("run", "--no-cache", cwd=tmp_path)
    assert run.exit_code == 2
    assert "database file not found" in run.stderr and "never creates it" in run.stderr
    schema = gatecheck("schema", "--db", url.replace("${GC_TEST_DB_URL}", "sqlite:///x.db"),
                       cwd=tmp_path)
    assert schema.exit_code == 2 and "database file not found" in schema.stderr
    assert sorted(os.listdir(tmp_path)) == before
    assert not (tmp_path / "no").exists()


# ---------------------------------------------------------------- read-only directory


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_database_in_a_read_only_directory(journal_mode: str) -> None:
    """Run as an unprivileged user (root ignores permissions) in a 0555 directory."""
    root = Path(tempfile.mkdtemp(prefix="gatecheck-ro-", dir="/tmp"))
    try:
        build(root / "app.db", journal_mode)
        write_tree(root, {"rules.yaml": every_kind_rules()})
        for p in root.iterdir():
            p.chmod(0o644)
        root.chmod(0o555)
        before = state(root, root / "app.db")
        exe = str(Path(sys.executable).parent / "gatecheck")
        cmd = [exe, "run", "--format", "json", "--no-cache"]
        if os.geteuid() == 0:
            assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root"
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        env = {**os.environ, "XDG_CACHE_HOME": "/nonexistent/cache"}
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120,
                              env=env)
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == ""
        assert '"rule": "zero-loss"' in proc.stdout
        assert state(root, root / "app.db") == before
    finally:
        root.chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- another process writing

WRITER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "exclusive-wal":
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
conn.execute("BEGIN IMMEDIATE" if sys.argv[2] == "wal" else "BEGIN EXCLUSIVE")
conn.execute("INSERT INTO chat_sessions VALUES ('uncommitted', 'x', 'cli')")
print("ready", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


@contextmanager
def writer(db: Path, how: str) -> Iterator[None]:
    """A second process holding an open write transaction on ``db``."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), how],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield
    finally:
        proc.communicate("\n", timeout=30)


def test_wal_database_with_an_active_writer(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """WAL readers do not wait for a writer: the committed snapshot is checked."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    tmp_path = tmp_path / "project"
    tmp_path.mkdir()
    db = build(tmp_path / "app.db", "wal")
    write_tree(tmp_path, {"rules.yaml": every_kind_rules()})
    with writer(db, "wal"):
        before = state(tmp_path, db)
        assert {"app.db-wal", "app.db-shm"} <= set(before[0]), "the writer's own files"
        started = time.monotonic()
        run = gatecheck("run", "--format", "json", "--no-cache", "--show-data", "--select",
                        "custom,zero-loss", cwd=tmp_path)
        assert time.monotonic() - started < 5
        assert run.exit_code == 1, run.stderr
        # zero-loss sees the committed chat_sessions ('a' only), not the writer's row.
        [loss] = [f for f in run.json["findings"] if f["rule"] == "zero-loss"]
        assert loss["sample"] == ["b"]
        assert state(tmp_path, db)[0] == before[0]
    assert db.read_bytes() == before[1]


@pytest.mark.parametrize("journal_mode,how", [("delete", "exclusive"),
                                              ("wal", "exclusive-wal")])
def test_a_locked_database_is_a_clear_error_after_the_busy_timeout(
        journal_mode: str, how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(sqlite_introspect, "BUSY_TIMEOUT_MS", 300)
    db = build(tmp_path / "app.db", journal_mode)
    write_tree(tmp_path, {"rules.yaml": every_kind_rules(),
                          "a.sql": "SELECT * FROM task_sessions;\n"})
    with writer(db, how):
        started = time.monotonic()
        run = gatecheck("run", "--format", "json", "--no-cache", cwd=tmp_path)
        elapsed = time.monotonic() - started
    assert run.exit_code == 2
    # One wait of the busy timeout for the run, not one per rule (14 rules here:
    # 70 s at the default 5 s before that was fixed).
    assert 0.3 <= elapsed < 2, elapsed
    assert f"cannot open SQLite database {db}: database is locked (another process holds " \
        "a write lock on it; gave up after waiting 0.3 s)" in run.stderr
    assert "Traceback" not in run.stderr
    # Source rules still ran.
    assert any(f["path"] == "a.sql" for f in run.json["findings"])
