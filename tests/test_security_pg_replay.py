"""Issue 13 items 3 and 11 (PostgreSQL): a migrations replay stays in its scratch database.

On the real test server: the replay role is checked, statements that reach
outside the scratch database are refused before they are sent (asserted on
the server: the role, database or file does not exist afterwards), each
statement goes alone through the extended protocol, and the replay has an
overall deadline.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import gatecheck, write_tree
from pgserver import admin, creator_url, databases, run_sql, scratch_database, server_url

RULES = """version: 1
database:
  migrations: "db/*.sql"
  replay_url: ${REPLAY_URL}
rules:
  - {id: built, kind: require-tables, tables: [sessions]}
"""


@pytest.fixture
def creator(monkeypatch: pytest.MonkeyPatch) -> str:
    url = creator_url()
    monkeypatch.setenv("REPLAY_URL", url)
    return url


def _replay(tmp_path: Path, migration: str, *flags: str) -> tuple[int, str, list[dict[str, object]]]:
    write_tree(tmp_path, {"rules.yaml": RULES,
                          "db/v1.sql": "CREATE TABLE sessions (id text PRIMARY KEY);\n",
                          "db/v2.sql": migration})
    run = gatecheck("run", "--format", "json", *flags, cwd=tmp_path)
    findings = run.json["findings"] if run.stdout.strip() else []
    return run.exit_code, run.stderr, findings


def _exists(sql: str, *params: object) -> bool:
    with admin() as conn:
        return conn.execute(sql, params).fetchone() is not None


def test_a_superuser_replay_url_is_refused_unless_allowed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLAY_URL", server_url())
    code, stderr, _ = _replay(tmp_path, "SELECT 1;\n")
    assert code == 2
    assert "refused to replay migrations as role postgres" in stderr
    assert "--allow-privileged-role" in stderr
    assert databases(f"gatecheck_replay_{os.getpid()}_%") == []
    code, stderr, findings = _replay(tmp_path, "SELECT 1;\n", "--allow-privileged-role")
    assert (code, stderr, findings) == (0, "", [])


def test_a_role_that_can_create_roles_is_refused(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    role = f"gct_cr_{os.getpid()}"
    run_sql(server_url(), f"DROP ROLE IF EXISTS {role}; "
                          f"CREATE ROLE {role} LOGIN CREATEDB CREATEROLE PASSWORD 'pw-12345'")
    try:
        from pgserver import with_credentials

        monkeypatch.setenv("REPLAY_URL", with_credentials(server_url(), role, "pw-12345"))
        code, stderr, _ = _replay(tmp_path, "SELECT 1;\n")
        assert code == 2
        assert "allowed to CREATEROLE" in stderr
    finally:
        run_sql(server_url(), f"DROP ROLE {role}")


@pytest.fixture
def victim_db() -> Iterator[str]:
    with scratch_database("gct_victim") as url:
        run_sql(url, "CREATE TABLE precious (x int); INSERT INTO precious VALUES (1)")
        yield url.rsplit("/", 1)[1]


ESCAPES = {
    "drop-database": "DROP DATABASE {victim};",
    "create-role": "CREATE ROLE gct_evil_{pid} SUPERUSER LOGIN;",
    "alter-system": "ALTER SYSTEM SET log_min_messages = 'panic';",
    "copy-program": "COPY sessions TO PROGRAM 'touch /tmp/gct_pwned_{pid}';",
    "copy-file": "COPY sessions TO '/tmp/gct_pwned_{pid}';",
    "dblink": "CREATE EXTENSION dblink;",
    "dblink-call": "SELECT dblink_exec('dbname={victim}', 'DROP TABLE precious');",
    "timeout-off": "SET statement_timeout = 0;",
    "do-block": "DO $$ BEGIN PERFORM pg_terminate_backend(1); END $$;",
    "load": "LOAD 'auto_explain';",
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_statements_reaching_outside_the_scratch_database_are_refused(
        name: str, tmp_path: Path, victim_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused before sending, even as a superuser allowed by flag: the parser decides."""
    pid = os.getpid()
    monkeypatch.setenv("REPLAY_URL", server_url())
    statement = ESCAPES[name].format(victim=victim_db, pid=pid)
    code, stderr, findings = _replay(tmp_path, f"-- v2\n{statement}\n",
                                     "--allow-privileged-role")
    assert stderr == ""
    [finding] = [f for f in findings if f["kind"] == "migrations-replay"] or [None]
    assert finding is not None, findings
    assert (finding["path"], finding["line"]) == ("db/v2.sql", 2)
    assert "migration refused" in str(finding["message"])
    assert code == 1
    assert _exists("SELECT FROM pg_database WHERE datname = %s", victim_db)
    assert not _exists("SELECT FROM pg_roles WHERE rolname = %s", f"gct_evil_{pid}")
    assert not Path(f"/tmp/gct_pwned_{pid}").exists()
    assert databases(f"gatecheck_replay_{os.getpid()}_%") == []


def test_each_statement_is_sent_alone(tmp_path: Path, creator: str) -> None:
    """A file the splitter cannot take apart is sent whole, and the protocol refuses it."""
    code, stderr, findings = _replay(tmp_path, "SELECT 'unterminated; DROP TABLE sessions;\n")
    assert stderr == ""
    [finding] = [f for f in findings if f["kind"] == "migrations-replay"]
    assert "migration failed" in str(finding["message"])
    # A % in a migration is SQL, not a placeholder.
    code, stderr, findings = _replay(
        tmp_path, "CREATE VIEW v AS SELECT id FROM sessions WHERE id LIKE 'a%';\n")
    assert (code, stderr) == (0, "")


def test_the_replay_has_an_overall_deadline(tmp_path: Path, creator: str) -> None:
    started = time.monotonic()
    code, stderr, findings = _replay(tmp_path, "SELECT 1;\nSELECT pg_sleep(60);\n",
                                     "--replay-timeout", "2")
    assert time.monotonic() - started < 30
    [finding] = [f for f in findings if f["kind"] == "migrations-replay"]
    assert (finding["path"], finding["line"]) == ("db/v2.sql", 2)
    assert "--replay-timeout" in str(finding["message"])
    assert databases(f"gatecheck_replay_{os.getpid()}_%") == []
