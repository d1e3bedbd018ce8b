"""Issue 16 on a real PostgreSQL server: psycopg 3 connections under the runtime guard,
``pytest --gatecheck`` on a project that talks to PostgreSQL, and the
``executed-references`` rule's refusals (its findings: tests/kinds/executed-references)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import gatecheck, write_tree
from gatecheck.runtime import Violation, watch
from pgserver import require_pg_stat_statements, run_sql, scratch_database

psycopg = pytest.importorskip("psycopg")

RULES = """\
version: 1
dialect: postgres
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
  - id: names-exist
    kind: references-exist
    columns: true
  - id: no-ddl
    kind: forbid-statements
    statements: [drop-*, truncate*]
"""

STORE = '''\
from psycopg import sql


def table(kind):
    return kind + "_sessions"


def count(conn, kind):
    return conn.execute("SELECT count(*) FROM " + table(kind)).fetchone()[0]


def add(conn, kind, session_id):
    conn.execute(f"INSERT INTO {table(kind)} (session_id, token) VALUES (%s, 'hunter2')",
                 (session_id,))


def composed(conn, kind):
    query = sql.SQL("SELECT * FROM {} WHERE session_id = %s").format(sql.Identifier(table(kind)))
    return conn.cursor().execute(query, ("x",)).fetchall()


def wrong_column(conn):
    return conn.execute("SELECT titel FROM chat_sessions").fetchall()


def wipe(conn):
    conn.execute("TRUNCATE chat_sessions")
'''


@pytest.fixture
def database() -> Any:
    with scratch_database("gcr") as url:
        run_sql(url, "CREATE TABLE task_sessions (session_id text PRIMARY KEY, token text);"
                     "CREATE TABLE chat_sessions (session_id text PRIMARY KEY, title text, token text);")
        yield url


@pytest.fixture
def project(tmp_path: Path, database: str) -> Any:
    write_tree(tmp_path, {"rules.yaml": RULES, "app/store.py": STORE})
    spec = importlib.util.spec_from_file_location("gct_pg_store", tmp_path / "app/store.py")
    assert spec is not None and spec.loader is not None
    store = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(store)

    class Project:
        root = tmp_path
        url = database

        @staticmethod
        def line(text: str) -> int:
            return next(i for i, line in enumerate(STORE.splitlines(), 1) if text in line)

        @staticmethod
        def connect(on_violation: Any = "raise") -> Any:
            conn = psycopg.connect(database, autocommit=True)
            return watch(conn, config=tmp_path / "rules.yaml", on_violation=on_violation)

    Project.store = store  # type: ignore[attr-defined]
    return Project


def test_raise_before_the_statement_is_sent(project: Any) -> None:
    conn = project.connect("raise")
    with pytest.raises(Violation) as caught:
        project.store.add(conn, "task", "s1")
    v = caught.value
    assert (v.rule, v.path, v.line) == ("no-task-sessions", "app/store.py",
                                        project.line("INSERT INTO"))
    assert v.statement == "INSERT INTO task_sessions (session_id, token) VALUES (%s, ?)"
    assert "hunter2" not in str(v)
    with psycopg.connect(project.url) as plain:
        assert plain.execute("SELECT count(*) FROM task_sessions").fetchone() == (0,)
    project.store.add(conn, "chat", "c1")  # the new table is fine, on the same connection
    assert project.store.count(conn, "chat") == 1


def test_composed_queries_and_statement_kinds(project: Any) -> None:
    seen: list[Violation] = []
    conn = project.connect(seen.append)
    assert project.store.composed(conn, "task") == []
    project.store.wipe(conn)
    assert [(v.rule, v.object, v.statement) for v in seen] == [
        ("no-task-sessions", "task_sessions",
         'SELECT * FROM "task_sessions" WHERE session_id = %s'),
        ("no-ddl", "truncatetable", "TRUNCATE chat_sessions"),
    ]


def test_the_server_decides_what_exists(project: Any) -> None:
    seen: list[Violation] = []
    conn = project.connect(seen.append)
    with pytest.raises(psycopg.errors.UndefinedColumn):
        project.store.wrong_column(conn)
    assert [(v.rule, v.message, v.line) for v in seen] == [
        ("names-exist", "column titel does not exist", project.line("SELECT titel"))]
    raising = project.connect("raise")
    with pytest.raises(Violation) as caught:
        project.store.count(raising, "webui")
    assert caught.value.message == "table webui_sessions does not exist in the database"
    assert isinstance(caught.value.__cause__, psycopg.errors.UndefinedTable)


def test_async_connections_and_copy(project: Any) -> None:
    import asyncio

    async def run() -> None:
        conn = await psycopg.AsyncConnection.connect(project.url, autocommit=True)
        watched = watch(conn, config=project.root / "rules.yaml", on_violation="raise")
        try:
            with pytest.raises(Violation, match="forbidden table task_sessions"):
                await watched.execute("SELECT * FROM task_sessions")
            assert (await (await watched.execute("SELECT 1")).fetchone()) == (1,)
        finally:
            await conn.close()

    asyncio.run(run())
    conn = project.connect("raise")
    with pytest.raises(Violation, match="forbidden table task_sessions"):
        with conn.cursor().copy("COPY task_sessions (session_id) FROM STDIN") as copy:
            copy.write_row(("s1",))


def test_an_unwatched_connection_is_left_alone(project: Any) -> None:
    project.connect("raise")  # psycopg's classes are hooked from now on
    with psycopg.connect(project.url, autocommit=True) as plain:
        assert project.store.count(plain, "task") == 0


CONFTEST = '''\
import os

import psycopg
import pytest


@pytest.fixture
def conn():
    with psycopg.connect(os.environ["SAMPLE_PG_URL"], autocommit=True) as connection:
        yield connection
'''

TESTS = '''\
from app import store


def test_counts(conn):
    assert store.count(conn, "chat") == 0
    assert store.count(conn, "task") == 0
'''


def test_pytest_gatecheck_on_psycopg_connections(tmp_path: Path, database: str) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "app/__init__.py": "", "app/store.py": STORE,
                          "tests/conftest.py": CONFTEST, "tests/test_store.py": TESTS})
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(PYTHONPATH=str(tmp_path), SAMPLE_PG_URL=database)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    plain = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    guarded = subprocess.run([*command, "--gatecheck"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert guarded.returncode == 1, guarded.stdout + guarded.stderr
    line = next(i for i, text in enumerate(STORE.splitlines(), 1) if "SELECT count(*)" in text)
    assert f"app/store.py:{line}:12: no-task-sessions references forbidden table " \
           "task_sessions" in guarded.stdout
    assert "= test: tests/test_store.py::test_counts" in guarded.stdout


# ---------------------------------------------------------------- executed-references

EXECUTED = """\
version: 1
database: ${ER_URL}
dialect: postgres
rules:
  - id: nothing-queries-task-sessions
    kind: executed-references
    tables: [task_sessions]
"""


def test_executed_references_without_the_extension_is_an_error(
        tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, {"rules.yaml": EXECUTED})
    monkeypatch.setenv("ER_URL", database)
    run = gatecheck("run", "--allow-privileged-role", cwd=tmp_path)
    assert run.exit_code == 2
    assert "the pg_stat_statements extension is not installed in the database: add " \
           "pg_stat_statements to shared_preload_libraries" in run.stderr
    assert "NOT CHECKED: 1 rule not run" in run.stdout


def test_executed_references_with_a_select_only_role(
        tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The recommended setup: a SELECT-only role with pg_read_all_stats (not one of the
    privileged roles data rules refuse); without it, other roles' texts are hidden."""
    from pgserver import READER, admin, reader_url

    require_pg_stat_statements(database)
    run_sql(database, "CREATE EXTENSION pg_stat_statements",
            "SELECT token FROM task_sessions WHERE session_id = 'x'")
    url = reader_url(database)
    write_tree(tmp_path, {"rules.yaml": EXECUTED})
    monkeypatch.setenv("ER_URL", url)
    with admin() as conn:
        conn.execute(f"REVOKE pg_read_all_stats FROM {READER}")
    hidden = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert hidden.exit_code == 0, hidden.stderr
    with admin() as conn:
        conn.execute(f"GRANT pg_read_all_stats TO {READER}")
    try:
        run = gatecheck("run", "--format", "json", cwd=tmp_path)
    finally:
        with admin() as conn:
            conn.execute(f"REVOKE pg_read_all_stats FROM {READER}")
    assert run.exit_code == 1, run.stderr
    [finding] = run.json["findings"]
    assert finding["statement"] == "SELECT token FROM task_sessions WHERE session_id = $1"
    assert (finding["calls"], finding["since"]) == (1, "<hidden>")


def test_executed_references_on_sqlite_says_where_to_look(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": EXECUTED.replace("${ER_URL}", "sqlite:///app.db")
                          .replace("postgres\n", "sqlite\n")})
    import sqlite3

    sqlite3.connect(tmp_path / "app.db").close()
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "reads PostgreSQL's pg_stat_statements; the database is sqlite" in run.stderr
