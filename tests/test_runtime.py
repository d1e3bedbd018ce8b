"""Issue 16: the rules checked on the SQL an application really executes (SQLite).

Everything here runs for real: SQLite files, the application's code in files
of a project directory (so that violations are placed at its lines), and
``pytest --gatecheck`` in its own process on sample projects, the bundled
example's test suite among them.  PostgreSQL: tests/test_runtime_postgres.py.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from conftest import REPO, SARIF_SCHEMA, build_db, write_tree
from gatecheck.runtime import Violation, watch
from gatecheck.runtime._check import statement_text

RULES = """\
version: 1
dialect: sqlite
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
    exclude: ["migrate.py"]
  - id: names-exist
    kind: references-exist
    columns: true
  - id: no-ddl
    kind: forbid-statements
    statements: [drop-*, alter-table]
    allow: ["migrate.py"]
"""

SCHEMA = """
CREATE TABLE task_sessions (session_id TEXT PRIMARY KEY, token TEXT);
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT, last_activity TEXT);
CREATE VIEW recent AS SELECT session_id FROM task_sessions;
INSERT INTO task_sessions VALUES ('s1', 'hunter2');
"""

#: The application: every statement naming a table builds its name at run time.
STORE = '''\
import sqlite3


def table(kind):
    return kind + "_sessions"


def count(conn, kind):
    return conn.execute("SELECT count(*) FROM " + table(kind)).fetchone()[0]


def add(conn, kind, session_id):
    conn.execute(f"INSERT INTO {table(kind)} (session_id) VALUES (?)", (session_id,))


def token(conn, session_id):
    sql = "SELECT token FROM " + table("task") + " WHERE session_id = 'hunter2' OR session_id = ?"
    return conn.execute(sql, (session_id,)).fetchone()


def drop(conn, name):
    conn.execute("DROP TABLE " + name)


def from_view(conn):
    return conn.execute("SELECT count(*) FROM recent").fetchone()[0]


def suppressed(conn):
    return conn.execute("SELECT count(*) FROM " + table("task")).fetchone()  # gatecheck: ignore[no-task-sessions]


def missing_column(conn):
    return conn.execute("SELECT titel FROM chat_sessions").fetchall()


def missing_table(conn):
    try:
        conn.execute("DELETE FROM " + table("webui") + " WHERE 1")
    except sqlite3.OperationalError:
        return "swallowed"
'''

MIGRATE = '''\
def run(conn):
    conn.execute("ALTER TABLE task_sessions RENAME TO task_sessions_legacy")
'''


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"gct_app_{abs(hash(path))}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def project(tmp_path: Path) -> Any:
    write_tree(tmp_path, {"rules.yaml": RULES, "app/store.py": STORE, "migrate.py": MIGRATE})
    build_db(tmp_path / "app.db", SCHEMA)

    class Project:
        root = tmp_path
        store = _module(tmp_path / "app" / "store.py")
        migrate = _module(tmp_path / "migrate.py")

        @staticmethod
        def line(text: str) -> int:
            lines = STORE.splitlines()
            return next(i for i, line in enumerate(lines, 1) if text in line)

        @staticmethod
        def connect(on_violation: Any = "raise") -> Any:
            conn = sqlite3.connect(tmp_path / "app.db")
            return watch(conn, config=tmp_path / "rules.yaml", on_violation=on_violation)

    return Project


# ---------------------------------------------------------------- watch()


def test_raise_refuses_a_table_named_at_run_time_before_it_runs(project: Any) -> None:
    conn = project.connect("raise")
    with pytest.raises(Violation) as caught:
        project.store.add(conn, "task", "s9")
    v = caught.value
    assert (v.rule, v.kind, v.object) == ("no-task-sessions", "forbid-table-references",
                                          "task_sessions")
    assert (v.path, v.line) == ("app/store.py", project.line("INSERT INTO"))
    assert v.column == 5  # the call, conn.execute(...)
    assert v.statement == "INSERT INTO task_sessions (session_id) VALUES (?)"
    conn.commit()
    raw = sqlite3.connect(project.root / "app.db")
    assert raw.execute("SELECT count(*) FROM task_sessions").fetchone()[0] == 1  # nothing ran
    # The allowed table goes through, on the same connection.
    project.store.add(conn, "chat", "c1")
    assert project.store.count(conn, "chat") == 1


def test_literal_values_never_reach_a_violation(project: Any) -> None:
    seen: list[Violation] = []
    conn = project.connect(seen.append)
    assert project.store.token(conn, "s1") == ("hunter2",)
    assert len(seen) == 1
    assert "hunter2" not in str(seen[0]) and "hunter2" not in (seen[0].statement or "")
    assert seen[0].statement == \
        "SELECT token FROM task_sessions WHERE session_id = ? OR session_id = ?"


def test_log_once_per_statement_and_rule(project: Any, caplog: pytest.LogCaptureFixture) -> None:
    conn = project.connect("log")
    with caplog.at_level(logging.INFO, logger="gatecheck.runtime"):
        for _ in range(3):
            assert project.store.count(conn, "task") == 1
        conn2 = project.connect("log")
        project.store.count(conn2, "task")
    records = [r for r in caplog.records if r.name == "gatecheck.runtime"]
    assert len(records) == 1
    assert records[0].levelno == logging.ERROR
    line = project.line("def count") + 1
    assert records[0].getMessage() == (
        f"app/store.py:{line}:12: "
        "no-task-sessions references forbidden table task_sessions; "
        "statement: SELECT count(*) FROM task_sessions")


def test_a_forbidden_statement_kind_never_runs(project: Any) -> None:
    conn = project.connect("raise")
    with pytest.raises(Violation) as caught:
        project.store.drop(conn, "chat_sessions")
    assert (caught.value.rule, caught.value.object) == ("no-ddl", "drop-table")
    assert conn.execute("SELECT count(*) FROM chat_sessions").fetchone() == (0,)
    # allow: the migration runner may; its statement is out of no-task-sessions' paths too.
    project.migrate.run(conn)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'task%'").fetchall() \
        == [("task_sessions_legacy",)]


def test_names_the_database_lacks_are_the_engines_verdict(project: Any) -> None:
    seen: list[Violation] = []
    conn = project.connect(seen.append)
    with pytest.raises(sqlite3.OperationalError, match="no such column: titel"):
        project.store.missing_column(conn)
    assert project.store.missing_table(conn) == "swallowed"  # the application hides it
    assert [(v.rule, v.message, v.line) for v in seen] == [
        ("names-exist", "column titel does not exist", project.line("SELECT titel")),
        ("names-exist", "table webui_sessions does not exist in the database",
         project.line("DELETE FROM")),
    ]
    raising = project.connect("raise")
    with pytest.raises(Violation) as caught:
        project.store.missing_column(raising)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


def test_views_and_suppressions_are_read_as_the_static_rules_read_them(project: Any) -> None:
    seen: list[Violation] = []
    conn = project.connect(seen.append)
    assert project.store.from_view(conn) == 1  # the view's own body is schema, not this code
    assert project.store.suppressed(conn) == (1,)  # gatecheck: ignore[...] at that line
    assert seen == []


def test_an_application_authorizer_is_chained_not_replaced(project: Any) -> None:
    conn = project.connect("raise")
    asked: list[str | None] = []

    def app_authorizer(action: int, arg1: str | None, arg2: str | None, db: str | None,
                       inner: str | None) -> int:
        asked.append(arg2)
        return sqlite3.SQLITE_DENY if arg2 == "token" else sqlite3.SQLITE_OK

    conn.set_authorizer(app_authorizer)
    with pytest.raises(sqlite3.DatabaseError, match="prohibited"):
        conn.execute("SELECT token FROM chat_sessions JOIN task_sessions USING (session_id)")
    assert "token" in asked
    with pytest.raises(Violation):  # the guard still stands behind it
        project.store.count(conn, "task")
    conn.set_authorizer(None)
    with pytest.raises(Violation):
        project.store.count(conn, "task")


def test_the_raw_connection_is_still_guarded(project: Any,
                                             caplog: pytest.LogCaptureFixture) -> None:
    conn = project.connect("raise")
    with caplog.at_level(logging.INFO, logger="gatecheck.runtime"):
        for _ in range(3):  # refused each time, from the same line
            with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
                project.store.count(conn.raw, "task")
    assert any("no-task-sessions" in r.getMessage() for r in caplog.records)


def test_a_service_engine_opens_guarded_connections(project: Any) -> None:
    import sqlalchemy

    from gatecheck.runtime import Connection

    engine = sqlalchemy.create_engine(f"sqlite:///{project.root / 'app.db'}",
                                      connect_args={"factory": Connection})
    sqlalchemy.event.listen(engine, "connect", lambda dbapi, _: watch(
        dbapi, config=project.root / "rules.yaml", on_violation="raise"))
    with engine.connect() as conn:
        with pytest.raises(Violation) as caught:
            project.store.count(conn.connection.dbapi_connection, "task")
        assert caught.value.line == project.line("def count") + 1
        assert conn.exec_driver_sql("SELECT count(*) FROM chat_sessions").scalar() == 0
    engine.dispose()


def test_watch_refuses_what_it_cannot_watch(project: Any, tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="sqlite3 or psycopg"):
        watch(object(), config=tmp_path / "rules.yaml")
    with pytest.raises(ValueError, match="on_violation"):
        watch(sqlite3.connect(":memory:"), config=tmp_path / "rules.yaml", on_violation="warn")


def test_statement_text_keeps_names_and_parameters_only() -> None:
    sql = ("SELECT \"it's\", [o'k], x1, $1, :name, ?2, %(p)s -- secret\n"
           "FROM t WHERE a = 'pass''word' AND b = 1.5e3 AND c = X'00ff' AND d = $$body$$")
    assert statement_text(sql) == ("SELECT \"it's\", [o'k], x1, $1, :name, ?2, %(p)s FROM t "
                                   "WHERE a = ? AND b = ? AND c = ? AND d = ?")
    assert statement_text("SELECT arr[1], E'a\\'b' FROM t", "postgres") == \
        "SELECT arr[?], ? FROM t"


# ---------------------------------------------------------------- pytest --gatecheck

SAMPLE_APP = '''\
import sqlite3


def session_table(kind):
    return f"{kind}_sessions"


def count_sessions(conn, kind):
    return conn.execute("SELECT count(*) FROM " + session_table(kind)).fetchone()[0]
'''

SAMPLE_CONFTEST = '''\
import sqlite3

import pytest

from sample import db as app_db


@pytest.fixture
def conn(tmp_path):
    connection = sqlite3.connect(tmp_path / "app.db")
    connection.executescript(
        "CREATE TABLE task_sessions (id); CREATE TABLE chat_sessions (id);")
    yield connection
    connection.close()
'''

SAMPLE_DB = '''\
import sqlite3
'''

SAMPLE_TESTS = '''\
import sqlite3
import sys

import sqlalchemy

from sample import app


def test_chat(conn):
    assert app.count_sessions(conn, "chat") == 0


def test_task(conn):
    assert app.count_sessions(conn, "task") == 0  # the only reference, built at run time


def test_sqlalchemy(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'orm.db'}")
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE task_sessions (id INTEGER)")
        assert app.count_sessions(c.connection.dbapi_connection, "task") == 0
    engine.dispose()


def test_a_connection_opened_without_sqlite3_connect(tmp_path):
    conn = sqlite3.Connection(tmp_path / "raw.db")
    conn.execute("CREATE TABLE task_sessions (id)")
    assert app.count_sessions(conn, "task") == 0


def test_the_runtime_is_loaded_only_when_asked():
    import gatecheck.pytest_plugin  # registered through the pytest11 entry point

    assert ("gatecheck.runtime" in sys.modules) == bool(
        __import__("os").environ.get("EXPECT_RUNTIME"))
'''


def _sample(root: Path, ini: str = "") -> Path:
    write_tree(root, {
        "rules.yaml": RULES,
        "pyproject.toml": f"[tool.pytest.ini_options]\naddopts = \"-p no:cacheprovider\"\n{ini}",
        "sample/__init__.py": "",
        "sample/app.py": SAMPLE_APP,
        "sample/db.py": SAMPLE_DB,
        "tests/conftest.py": SAMPLE_CONFTEST,
        "tests/test_app.py": SAMPLE_TESTS,
    })
    return root


def _pytest(root: Path, *args: str, expect_runtime: bool = False) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["PYTHONPATH"] = str(root)
    if expect_runtime:
        env["EXPECT_RUNTIME"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_plain_pytest_passes_and_never_imports_the_runtime(tmp_path: Path) -> None:
    proc = _pytest(_sample(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout
    assert "gatecheck" not in proc.stdout


def test_pytest_gatecheck_fails_naming_the_line_that_built_the_statement(tmp_path: Path) -> None:
    root = _sample(tmp_path)
    proc = _pytest(root, "--gatecheck", "--gatecheck-report", "out/report.json",
                   expect_runtime=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout  # every test passed; the session still fails
    out = proc.stdout
    assert "sample/app.py:9:12: no-task-sessions references forbidden table task_sessions" \
        in out
    assert "= statement: SELECT count(*) FROM task_sessions" in out
    assert "= test: tests/test_app.py::test_task" in out
    assert "violations in the SQL the tests executed" in out
    report = json.loads((root / "out" / "report.json").read_text(encoding="utf-8"))
    # One place: the direct connection, SQLAlchemy's pysqlite and a connection made
    # without sqlite3.connect all ran it there (the fixture's DDL is the tests' own
    # SQL, which rules.yaml's sources include: it names the table, at the conftest).
    places = {(f["rule"], f["path"], f["line"], f["test"]) for f in report["findings"]}
    assert ("no-task-sessions", "sample/app.py", 9, "tests/test_app.py::test_task") in places
    assert report["version"] == 1 and report["summary"]["errors"] == len(report["findings"])


def test_the_fixtures_and_every_connection_are_guarded(tmp_path: Path) -> None:
    root = _sample(tmp_path)
    (root / "rules.yaml").write_text(RULES.replace(
        "    exclude: [\"migrate.py\"]", "    exclude: [\"tests/conftest.py\"]"),
        encoding="utf-8")
    proc = _pytest(root, "--gatecheck", "--gatecheck-report", "report.json",
                   "-k", "sqlalchemy or without", expect_runtime=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((root / "report.json").read_text(encoding="utf-8"))
    tests = {(f["path"], f["line"], f["test"]) for f in report["findings"]}
    assert tests == {
        ("sample/app.py", 9, "tests/test_app.py::test_sqlalchemy"),
        ("tests/test_app.py", 20, "tests/test_app.py::test_sqlalchemy"),  # its own DDL
        ("tests/test_app.py", 27, "tests/test_app.py::test_a_connection_opened_without_"
                                  "sqlite3_connect"),
    }


def test_the_ini_option_turns_it_on_and_sarif_validates(tmp_path: Path) -> None:
    import jsonschema

    root = _sample(tmp_path, ini="gatecheck = true\n")
    proc = _pytest(root, "--gatecheck-report", "report.sarif", "-k", "task",
                   expect_runtime=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    sarif = json.loads((root / "report.sarif").read_text(encoding="utf-8"))
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text(encoding="utf-8")))
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "no-task-sessions" and
               r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] ==
               "sample/app.py" for r in results)


def test_a_missing_or_broken_rules_file_is_a_usage_error(tmp_path: Path) -> None:
    root = _sample(tmp_path)
    (root / "rules.yaml").unlink()
    proc = _pytest(root, "--gatecheck")
    assert proc.returncode == 4
    assert "--gatecheck: no rules file" in proc.stderr
    (root / "rules.yaml").write_text("version: 1\nrules:\n  - id: x\n    kind: nope\n",
                                     encoding="utf-8")
    proc = _pytest(root, "--gatecheck")
    assert proc.returncode == 4
    assert "rules.yaml:4:11" in proc.stderr and "unknown kind 'nope'" in proc.stderr
    proc = _pytest(root, "--gatecheck", "--gatecheck-config", "rules.yaml",
                   "--gatecheck-report", "x.txt")
    assert proc.returncode == 4 and "expected a .json or .sarif file" in proc.stderr


def test_the_example_suite_passes_and_fails_under_the_guard() -> None:
    """README: the bundled example's tests pass; with --gatecheck the session fails at
    the cleanup job's line that deletes from a table named at run time."""
    example = REPO / "examples" / "agentos" / "tests"
    plain = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            str(example)], cwd=REPO, capture_output=True, text=True,
                           timeout=300)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    guarded = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              str(example), "--gatecheck"], cwd=REPO, capture_output=True,
                             text=True, timeout=300)
    assert guarded.returncode == 1, guarded.stdout + guarded.stderr
    cleanup = (REPO / "examples/agentos/app/jobs/cleanup.py").read_text(encoding="utf-8")
    line = next(i for i, text in enumerate(cleanup.splitlines(), 1)
                if 'f"DELETE FROM {kind}_sessions' in text)
    for rule in ("code-matches-schema table task_sessions does not exist in the database",
                 "no-task-sessions task_sessions was merged into chat_sessions"):
        assert f"examples/agentos/app/jobs/cleanup.py:{line}:19: {rule}" in guarded.stdout
    assert "gatecheck: 2 violations" in guarded.stdout


def test_the_overhead_benchmark_runs() -> None:
    proc = subprocess.run([sys.executable, "bench/runtime_overhead.py", "-n", "3000",
                           "--rounds", "1"], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "ratio" in proc.stdout
