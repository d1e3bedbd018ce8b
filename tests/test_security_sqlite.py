"""Security (issue 13 items 2, 6, 11): SQLite connections cannot reach past their database.

A migrations replay runs SQL a pull request wrote; a live SQLite file is
read by data rules the pull request may have written too.  These tests plant
real files next to the repository and check, after real runs of the CLI,
that nothing outside was read, changed or created, that each refusal is a
finding at the statement's file and line, and that an endless statement ends
at the replay's deadline.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import gatecheck, write_tree

REPLAY_RULES = """\
version: 1
database: {migrations: "migrations/*.sql"}
rules:
  - {id: built, kind: require-tables, tables: [a]}
"""


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory beside the repository holding ``prod.db`` with three rows in ``t``."""
    where = tmp_path / "outside"
    where.mkdir()
    conn = sqlite3.connect(where / "prod.db")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    conn.commit()
    conn.close()
    return where


def rows(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])
    finally:
        conn.close()


def replay(repo: Path, migration: str, *args: str) -> tuple[int, str, list[dict[str, object]]]:
    write_tree(repo, {"rules.yaml": REPLAY_RULES,
                      "migrations/v1.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n",
                      "migrations/v2.sql": migration})
    run = gatecheck("run", "--format", "json", *args, cwd=repo)
    return run.exit_code, run.stderr, run.json["findings"]


def replay_finding(findings: list[dict[str, object]]) -> dict[str, object]:
    [finding] = [f for f in findings if f["rule"] == "migrations-replay"]
    return finding


# ---------------------------------------------------------------- item 2: the SQLite replay

ESCAPES = {
    "attach-and-delete": "ATTACH '../outside/prod.db' AS p;\nDELETE FROM p.t;\n",
    "attach-absolute": "ATTACH '{outside}/prod.db' AS p;\nDELETE FROM p.t;\n",
    "vacuum-into": "VACUUM INTO '../outside/copy.db';\n",
    "vacuum-into-absolute": "VACUUM INTO '{outside}/copy.db';\n",
    "load-extension": "SELECT load_extension('{outside}/evil');\n",
    "pragma-temp-dir": "PRAGMA temp_store_directory = '{outside}';\n",
    # The body is compiled when the trigger fires, so the INSERT is refused.
    "trigger-calls-denied-function": (
        "INSERT INTO a VALUES (1);\n"
        "CREATE TRIGGER tr AFTER INSERT ON a BEGIN SELECT load_extension('x'); END;\n"
        "INSERT INTO a VALUES (2);\n"),
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_a_replay_cannot_reach_other_files(name: str, tmp_path: Path, outside: Path) -> None:
    """ATTACH of a file beside the repository and deleting its rows, VACUUM INTO, an
    extension, a PRAGMA naming a host directory: refused when compiled, reported at the
    statement (line 1 of v2.sql, or the INSERT that fires a trigger), the outside file intact and nothing created, exit 1."""
    before = sorted(p.name for p in outside.iterdir())
    code, stderr, findings = replay(tmp_path / "repo",
                                    ESCAPES[name].format(outside=outside))
    assert stderr == ""
    finding = replay_finding(findings)
    line = 3 if name == "trigger-calls-denied-function" else 1
    assert (finding["path"], finding["line"]) == ("migrations/v2.sql", line)
    assert str(finding["message"]).startswith("migration refused: "), finding
    assert code == 1
    assert rows(outside / "prod.db") == 3
    assert sorted(p.name for p in outside.iterdir()) == before
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["migrations", "rules.yaml"]


def test_harmless_pragmas_and_a_plain_vacuum_still_replay(tmp_path: Path) -> None:
    """The guard refuses what reaches out, not what migrations commonly do."""
    code, stderr, findings = replay(tmp_path / "repo", (
        "PRAGMA foreign_keys = ON;\nPRAGMA user_version = 7;\nPRAGMA journal_mode = WAL;\n"
        "VACUUM;\nCREATE TABLE b (id INTEGER REFERENCES a(id));\n"
        "SELECT * FROM pragma_table_info('b');\n"))
    assert (code, stderr, findings) == (0, "", [])


def test_an_endless_statement_ends_at_the_replay_deadline(tmp_path: Path) -> None:
    """Item 11: an endless recursive CTE ran forever; with --replay-timeout 2 the run ends
    within seconds, with a finding at that statement naming the flag."""
    started = time.monotonic()
    code, stderr, findings = replay(
        tmp_path / "repo",
        "CREATE TABLE b (x);\n"
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r)\n"
        "SELECT count(*) FROM r;\n", "--replay-timeout", "2")
    assert time.monotonic() - started < 30
    finding = replay_finding(findings)
    assert (finding["path"], finding["line"]) == ("migrations/v2.sql", 2)
    assert "--replay-timeout" in str(finding["message"])
    assert (code, stderr) == (1, "")


# ---------------------------------------------------------------- item 6: the globs


def test_migration_globs_stay_inside_the_repository(tmp_path: Path, outside: Path) -> None:
    """``migrations: ../outside/*.sql``, an absolute glob, a committed link out of the
    repository: refused with the key and the glob named, no content quoted, exit 2;
    --allow-outside-includes lets them through."""
    (outside / "secret.sql").write_text("SUPERSECRET-4b1d not sql\n")
    repo = tmp_path / "repo"
    write_tree(repo, {"migrations/v1.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"})
    for pattern in ("../outside/*.sql", f"{outside}/*.sql"):
        (repo / "rules.yaml").write_text(REPLAY_RULES.replace("migrations/*.sql", pattern))
        run = gatecheck("run", cwd=repo)
        assert run.exit_code == 2
        assert (f"database › migrations: '{pattern}' reaches outside the repository root"
                in run.stderr), run.stderr
        assert "--allow-outside-includes" in run.stderr
        assert "SUPERSECRET" not in run.stdout + run.stderr
    (repo / "rules.yaml").write_text(REPLAY_RULES)
    (repo / "migrations" / "v2.sql").symlink_to(outside / "secret.sql")
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 2
    assert ("'migrations/*.sql' matches migrations/v2.sql, which resolves outside the "
            "repository root") in run.stderr, run.stderr
    assert "SUPERSECRET" not in run.stdout + run.stderr
    # Seed data is confined the same way.
    (repo / "migrations" / "v2.sql").unlink()
    (repo / "rules.yaml").write_text(REPLAY_RULES.replace(
        '"migrations/*.sql"}', '"migrations/*.sql", seed_data: ["../outside/*.sql"]}'))
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 2 and "database › seed_data: '../outside/*.sql' reaches" in run.stderr
    # The flag widens it, from the command line only: the file is then replayed.
    run = gatecheck("run", "--allow-outside-includes", cwd=repo)
    assert run.exit_code == 1, run.stderr
    assert "outside/secret.sql:1:1: migrations-replay migration failed" in run.stdout


def test_a_fifo_among_the_migrations_is_an_error_not_a_hang(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write_tree(repo, {"rules.yaml": REPLAY_RULES,
                      "migrations/v1.sql": "CREATE TABLE a (id INTEGER PRIMARY KEY);\n"})
    os.mkfifo(repo / "migrations" / "v2.sql")
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 2
    assert ("'migrations/*.sql' matches migrations/v2.sql, which is not a regular file"
            in run.stderr), run.stderr


# ---------------------------------------------------------------- live SQLite files

LIVE_RULES = """\
version: 1
database: {{url: "sqlite:///live.db"}}
rules:
  - {{id: probe, kind: query, sql: "{sql}"}}
"""


@pytest.mark.parametrize("sql", [
    "SELECT load_extension('{outside}/evil')",
    "SELECT name FROM pragma_table_info('a') WHERE load_extension('x') IS NULL",
    "WITH c AS (SELECT 1) SELECT * FROM c WHERE (SELECT load_extension('y')) IS NULL",
])
def test_a_live_sqlite_file_is_guarded_too(sql: str, tmp_path: Path, outside: Path) -> None:
    """Data rules on a live file get the same guard: a function that loads code is
    refused when the query is compiled; the live file is unchanged."""
    repo = tmp_path / "repo"
    repo.mkdir()
    conn = sqlite3.connect(repo / "live.db")
    conn.execute("CREATE TABLE a (id INTEGER)")
    conn.commit()
    conn.close()
    before = (repo / "live.db").read_bytes()
    (repo / "rules.yaml").write_text(LIVE_RULES.format(sql=sql.format(outside=outside)))
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 1, run.stderr
    assert "the function load_extension() is not allowed" in run.stdout, run.stdout
    assert (repo / "live.db").read_bytes() == before
    assert sorted(p.name for p in repo.iterdir()) == ["live.db", "rules.yaml"]


def test_the_guard_refuses_attach_on_any_connection(tmp_path: Path) -> None:
    """The guard itself (also what the data-rule statement check would miss): ATTACH and
    VACUUM INTO are refused at compile time, and no file is created."""
    from gatecheck.introspect.sqlite_guard import guard

    conn = sqlite3.connect(":memory:")
    authorizer = guard(conn)
    for sql in (f"ATTACH '{tmp_path}/a.db' AS a", f"VACUUM INTO '{tmp_path}/b.db'"):
        with pytest.raises(sqlite3.DatabaseError) as exc:
            conn.execute(sql)
        assert "not allowed" in authorizer.explain(exc.value)
    assert list(tmp_path.iterdir()) == []
    assert conn.execute("PRAGMA table_info('x')").fetchall() == []


# ---------------------------------------------------------------- the statement splitter


def _reference_statements(script: str) -> Iterator[str]:
    """The replay's former splitter: `sqlite3.complete_statement` at every ``;``."""
    start, pos = 0, script.find(";")
    while pos != -1:
        if sqlite3.complete_statement(script[start:pos + 1]):
            yield script[start:pos + 1]
            start = pos + 1
        pos = script.find(";", pos + 1)


_PIECES = ["SELECT 1", ";", " ", "\n", "'a;b'", "'", '"x;"', "`q;`", "[w;]", "-- c;\n",
           "/* c; */", "/*", "CREATE", "TEMP", "TRIGGER", "tr", "BEGIN", "END", "EXPLAIN",
           "temporary", "end;", "creates", "ñ", "$x", "x", "_end"]


def test_the_splitter_agrees_with_sqlite_on_random_scripts() -> None:
    """The splitter runs SQLite's own complete.c state machine once over a script; on
    10,000 random scripts of the tokens that steer it, it cuts exactly where asking
    `sqlite3.complete_statement` at every ``;`` does."""
    from gatecheck.introspect.migrations import statements

    rng = random.Random(13)
    for _ in range(10_000):
        script = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 30)))
        got = [sql for _, sql in statements(script)]
        want = list(_reference_statements(script))
        assert got[:len(want)] == want, script
        rest = script[sum(map(len, want)):]
        assert got[len(want):] == ([rest] if len(got) > len(want) else []), script


def test_a_huge_string_full_of_semicolons_splits_in_one_pass() -> None:
    """Asking complete_statement at every ``;`` of a 2 MB string literal was quadratic
    (hours); one pass is not. A deadline of 60 s turns a regression into a failure."""
    from gatecheck.introspect.migrations import statements

    script = "INSERT INTO t VALUES ('" + ";" * 2_000_000 + "');\nSELECT 2;\n"

    def stop(*_: object) -> None:
        raise TimeoutError("statements() took more than 60 s: quadratic again?")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    try:
        out = statements(script)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert [line for line, _ in out] == [1, 2]
