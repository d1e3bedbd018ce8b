"""PostgreSQL migrations replay on a real server: scratch databases built, checked, dropped.

Split from ``test_postgres.py``; the live read-only handle is tested there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import gatecheck, gatecheck_subprocess, write_tree
from pgserver import creator_url, databases, server_url
from test_postgres import PLANTED, _closed_port



REPLAY_RULES = """version: 1
database:
  migrations: "db/*.sql"
  replay_url: ${GATECHECK_TEST_PG_URL}
rules:
  - {id: built, kind: require-tables, tables: [sessions, never_built]}
  - {id: order, kind: query, sql: "SELECT string_agg(name, ',' ORDER BY step) AS applied FROM log HAVING string_agg(name, ',' ORDER BY step) <> 'v1,v2,v10'"}
"""
REPLAY_FILES = {
    "db/schema_v1.sql": """
        CREATE TABLE log (step serial PRIMARY KEY, name text NOT NULL);
        CREATE TABLE sessions (id text PRIMARY KEY);
        -- a function body's ; does not split the statement
        CREATE FUNCTION note(t text) RETURNS void LANGUAGE plpgsql AS $body$
        BEGIN INSERT INTO log (name) VALUES (t); END $body$;
        SELECT note('v1');
    """,
    "db/schema_v2.sql": "ALTER TABLE sessions ADD COLUMN channel text; SELECT note('v2');\n",
    "db/schema_v10.sql": "CREATE INDEX ON sessions (channel);\nSELECT note('v10');\n",
}


@pytest.fixture
def replay_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """A role with only CREATEDB, as docs/security.md recommends (a superuser is refused)."""
    url = creator_url()
    monkeypatch.setenv("GATECHECK_TEST_PG_URL", url)
    return url


def _scratch_left(pid: int | None = None) -> list[str]:
    return databases(f"gatecheck_replay_{pid if pid is not None else ''}%")


def test_replay_builds_checks_and_drops_a_scratch_database(replay_env: str,
                                                           tmp_path: Path) -> None:
    before = _scratch_left()
    write_tree(tmp_path, {**REPLAY_FILES, "rules.yaml": REPLAY_RULES})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert [f["object"] for f in run.json["findings"]] == ["never_built"]
    assert _scratch_left() == before


def test_a_failing_migration_is_a_finding_and_the_scratch_database_is_dropped(
        replay_env: str, tmp_path: Path) -> None:
    before = _scratch_left()
    write_tree(tmp_path, {**REPLAY_FILES, "rules.yaml": REPLAY_RULES,
                          "db/schema_v3.sql": "CREATE TABLE ok (x int);\n\n"
                                              "INSERT INTO missing VALUES (1);\n"
                                              "CREATE TABLE never_built (x int);\n"})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    replay = [f for f in run.json["findings"] if f["rule"] == "migrations-replay"]
    assert [(f["path"], f["line"]) for f in replay] == [("db/schema_v3.sql", 3)]
    assert 'relation "missing" does not exist' in replay[0]["message"]
    assert _scratch_left() == before


def test_replay_on_an_unreachable_server_creates_nothing(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATECHECK_TEST_PG_URL",
                       f"postgresql://postgres:{PLANTED}@127.0.0.1:{_closed_port()}/postgres")
    write_tree(tmp_path, {**REPLAY_FILES, "rules.yaml": REPLAY_RULES})
    run = gatecheck_subprocess("run", cwd=tmp_path, env=dict(os.environ))
    assert run.exit_code == 2
    assert PLANTED not in run.stderr + run.stdout
    assert "cannot connect to PostgreSQL" in run.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_an_interrupted_replay_drops_its_scratch_database(sig: signal.Signals, replay_env: str,
                                                          tmp_path: Path) -> None:
    write_tree(tmp_path, {**REPLAY_FILES, "rules.yaml": REPLAY_RULES,
                          "db/schema_v11_slow.sql": "SELECT pg_sleep(30);\n"})
    exe = Path(sys.executable).parent / "gatecheck"
    proc = subprocess.Popen([str(exe), "run"], cwd=tmp_path, env=dict(os.environ),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not _sleeping(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _scratch_left(proc.pid), "the replay never reached the slow migration"
        proc.send_signal(sig)
        proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert _scratch_left(proc.pid) == []


def _sleeping(pid: int) -> bool:
    from pgserver import admin

    with admin() as conn:
        return bool(conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname LIKE %s AND query LIKE %s",
            (f"gatecheck_replay_{pid}_%", "%pg_sleep%")).fetchall())


def test_postgres_statement_splitting() -> None:
    from gatecheck.introspect.postgres_replay import statements

    script = ("-- head;\nCREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n"
              "/* a; /* nested; */ */ SELECT 'x;y', E'it\\'s;';\n\nSELECT 2")
    assert statements(script) == [
        (2, "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;"),
        (3, "SELECT 'x;y', E'it\\'s;';"),
        (5, "SELECT 2")]


def test_unsupported_replay_url_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {**REPLAY_FILES, "rules.yaml": REPLAY_RULES.replace(
        "${GATECHECK_TEST_PG_URL}", "mysql://u:pw@h/db")})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "replay_url: expected a postgresql:// server URL, got mysql://u:***@h/db" in run.stderr
