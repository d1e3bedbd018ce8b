"""``rollback-restores``: real replays of migrations and their rollbacks (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import REPO, gatecheck, write_tree

RULES = """version: 1
rules:
  - id: rollbacks-restore
    kind: rollback-restores
    migrations: "db/*.sql"
    rollback: "{rollback}"
"""
V1 = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n" \
     "CREATE INDEX users_email ON users (email);\n"


def project(tmp_path: Path, files: dict[str, str], rollback: str = "db/down/{name}") -> Path:
    return write_tree(tmp_path, {"rules.yaml": RULES.format(rollback=rollback), **files})


def findings(tmp_path: Path, *args: str) -> list[tuple[str, int, int, str]]:
    run = gatecheck("run", "--format", "json", *args, cwd=tmp_path)
    assert run.stderr == "", run.stderr
    return [(f["path"], f["line"], f["column"], f["message"]) for f in run.json["findings"]]


def test_the_example_rollback_keeps_the_columns_v35_added() -> None:
    """The merge report's rollback plan, checked in the bundled example."""
    run = gatecheck("run", "--config", "examples/agentos/review.yaml", "--format", "json",
                    cwd=REPO)
    assert run.exit_code == 1, run.stderr
    rollback = "examples/agentos/migrations/rollback/schema_v35_merge_task_sessions.down.sql"
    assert [(f["path"], f["line"], f["object"], f["message"]) for f in run.json["findings"]] == [
        (rollback, 1, "chat_sessions.channel", "chat_sessions.channel was added by "
         "schema_v35_merge_task_sessions.sql and is still there after its rollback"),
        (rollback, 1, "chat_sessions.last_activity", "chat_sessions.last_activity was added "
         "by schema_v35_merge_task_sessions.sql and is still there after its rollback"),
    ]
    # The example's README shows exactly these lines.
    concise = gatecheck("run", "--config", "examples/agentos/review.yaml", "--format",
                        "concise", cwd=REPO)
    readme = (REPO / "examples" / "agentos" / "README.md").read_text(encoding="utf-8")
    shown = re.search(r"review\.yaml\n\n```\n(.*?)```", readme, re.DOTALL)
    assert shown, "the example's README does not show the rollback findings"
    assert shown.group(1).splitlines() == concise.stdout.splitlines()[:2]


def test_a_complete_rollback_passes_and_each_gap_is_named(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": V1 + "CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT);\n",
        "db/v2.sql": "ALTER TABLE users ADD COLUMN name TEXT;\nDROP INDEX users_email;\n"
                     "ALTER TABLE tags RENAME TO labels;\n"
                     "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n",
        "db/down/v2.sql": "DROP TABLE notes;\n",
        "db/v3.sql": "CREATE TABLE other (id INTEGER);\n",
        "db/down/v3.sql": "DROP TABLE other;\n",
    })
    assert findings(tmp_path) == [
        ("db/down/v2.sql", 1, 1, "table tags was renamed to labels by v2.sql and its rollback "
                                 "does not rename it back"),
        ("db/down/v2.sql", 1, 1, "users.name was added by v2.sql and is still there after its "
                                 "rollback"),
        ("db/down/v2.sql", 1, 1, "index users_email was removed by v2.sql and its rollback does "
                                 "not restore it"),
    ]
    write_tree(tmp_path, {"db/down/v2.sql": "DROP TABLE notes;\n"
                                            "ALTER TABLE labels RENAME TO tags;\n"
                                            "ALTER TABLE users DROP COLUMN name;\n"
                                            "CREATE INDEX users_email ON users (email);\n"})
    assert findings(tmp_path) == []


def test_a_changed_column_is_named_with_both_values(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": "CREATE TABLE t (id INTEGER, n TEXT);\n",
        "db/v2.sql": "CREATE TABLE t2 (id INTEGER, n INTEGER NOT NULL DEFAULT 0);\n"
                     "INSERT INTO t2 SELECT id, coalesce(n, 0) FROM t;\nDROP TABLE t;\n"
                     "ALTER TABLE t2 RENAME TO t;\n",
        "db/down/v2.sql": "-- rebuilt, almost\n"
                          "CREATE TABLE t2 (id INTEGER, n TEXT NOT NULL);\n"
                          "INSERT INTO t2 SELECT * FROM t;\nDROP TABLE t;\n"
                          "ALTER TABLE t2 RENAME TO t;\n",
    })
    assert findings(tmp_path) == [
        ("db/down/v2.sql", 1, 1, "t.n was changed by v2.sql and its rollback does not restore "
                                 "it: not_null yes (before v2.sql: no)")]


def test_a_rollback_that_fails_is_a_finding_at_its_statement(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": V1,
        "db/v2.sql": "ALTER TABLE users ADD COLUMN name TEXT;\n",
        "db/down/v2.sql": "-- undo v2\n\n   ALTER TABLE users DROP COLUMN nmae;\n",
    })
    assert findings(tmp_path) == [
        ("db/down/v2.sql", 3, 4, "the rollback of v2.sql fails: migration failed: no such "
                                 'column: "nmae"')]


def test_a_migration_that_fails_stops_the_check_there(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": V1,
        "db/v2.sql": "CREATE TABLE a (id INTEGER);\nCREATE TABLE users (x);\n",
        "db/down/v2.sql": "DROP TABLE a;\n",
        "db/v3.sql": "CREATE TABLE b (id INTEGER);\n",
        "db/down/v3.sql": "SELECT 1;\n",  # would be reported: it does not drop b
    })
    assert findings(tmp_path) == [
        ("db/v2.sql", 2, 1, "migration failed: table users already exists; the replay stopped "
                            "here, so the rollbacks of this migration and the later ones were "
                            "not checked")]


def test_template_placeholders(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": "CREATE TABLE a (id INTEGER);\n",
        "db/rollback/v1.down.sql": "SELECT 1;\n",
        "db/v2.sql": "CREATE TABLE b (id INTEGER);\n",
    }, rollback="{dir}/rollback/{stem}.down.sql")
    assert findings(tmp_path) == [
        ("db/rollback/v1.down.sql", 1, 1, "table a was added by v1.sql and is still there after "
                                          "its rollback")]


@pytest.mark.parametrize("template, message", [
    ("down/{version}.sql", "rollback: unknown placeholder {version}; valid: {stem}, {name}, {dir}"),
    ("down/{stem!r}.sql", "rollback: unknown placeholder {stem!r}"),
    ("down/all.sql", "the template must name the migration with {stem} or {name}"),
    ("down/{stem.sql", "rollback: invalid template"),
])
def test_a_bad_template_is_a_config_error(tmp_path: Path, template: str, message: str) -> None:
    project(tmp_path, {"db/v1.sql": "SELECT 1;\n"}, rollback=template)
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "rules.yaml:6:15: rules[0] (id=rollbacks-restore) › " in run.stderr
    assert message in run.stderr


# ---------------------------------------------------------------- the sandbox


def test_a_rollback_outside_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    write_tree(outside, {"v1.sql": "DROP TABLE a;\n"})
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    project(repo, {"db/v1.sql": "CREATE TABLE a (id INTEGER);\n"}, rollback="../outside/{name}")
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 2
    assert "rule rollbacks-restore › rollback: '../outside/v1.sql' reaches outside the " \
           "repository root" in run.stderr
    os.symlink(outside / "v1.sql", repo / "db" / "v1.down.sql")
    project(repo, {}, rollback="db/{stem}.down.sql")
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 2 and "which resolves outside the repository root" in run.stderr


def test_a_rollback_cannot_reach_other_files(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": "CREATE TABLE a (id INTEGER);\n",
        "db/down/v1.sql": "DROP TABLE a;\nVACUUM INTO 'copy.db';\n",
    })
    assert findings(tmp_path) == [
        ("db/down/v1.sql", 2, 1, "the rollback of v1.sql fails: migration refused: ATTACH and "
                                 "VACUUM INTO are not allowed (they open other files)")]
    assert not (tmp_path / "copy.db").exists()


def test_an_endless_rollback_stops_at_the_replay_deadline(tmp_path: Path) -> None:
    project(tmp_path, {
        "db/v1.sql": "CREATE TABLE a (id INTEGER);\n",
        "db/down/v1.sql": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                          "SELECT count(*) FROM n;\n",
    })
    (path, line, _, message), = findings(tmp_path, "--replay-timeout", "1")
    assert (path, line) == ("db/down/v1.sql", 1)
    assert "ran out of time" in message and "--replay-timeout" in message


# ---------------------------------------------------------------- PostgreSQL


def test_rollbacks_on_postgres_in_scratch_databases_dropped_afterwards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pgserver import creator_url, databases

    monkeypatch.setenv("GATECHECK_TEST_PG_URL", creator_url())
    before = databases("gatecheck_replay_%")
    write_tree(tmp_path, {
        "rules.yaml": """version: 1
dialect: postgres
database:
  migrations: "db/*.sql"
  replay_url: ${GATECHECK_TEST_PG_URL}
rules:
  - id: rollbacks-restore
    kind: rollback-restores
    migrations: "db/*.sql"
    rollback: "db/down/{name}"
""",
        "db/v1.sql": "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);\n"
                     "CREATE INDEX users_email ON users (email);\n",
        "db/v2.sql": "ALTER TABLE users ADD COLUMN name text;\nDROP INDEX users_email;\n"
                     "CREATE TABLE notes (id int PRIMARY KEY, user_id int REFERENCES users(id));\n",
        "db/down/v2.sql": "DROP TABLE notes;\n",
        "db/v3.sql": "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);\n",
        "db/down/v3.sql": "ALTER TABLE users ALTER COLUMN email TYPE text;\n"
                          "ALTER TABLE nope ADD COLUMN x int;\n",
    })
    assert findings(tmp_path) == [
        ("db/down/v2.sql", 1, 1, "users.name was added by v2.sql and is still there after its "
                                 "rollback"),
        ("db/down/v2.sql", 1, 1, "index users_email was removed by v2.sql and its rollback does "
                                 "not restore it"),
        ("db/down/v3.sql", 2, 1, 'the rollback of v3.sql fails: migration failed: relation '
                                 '"nope" does not exist'),
    ]
    assert databases("gatecheck_replay_%") == before
