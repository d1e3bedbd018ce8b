"""Schema from migrations: ``database: {migrations: ..., seed_data: [...]}`` end to end.

The migrations are real files replayed by the real CLI into an in-memory
SQLite; the rules then check what was built.
"""

from __future__ import annotations

from pathlib import Path

from conftest import gatecheck, write_tree

#: Each migration appends its name to a log, so a query rule can see the order.
MIGRATIONS = {
    "migrations/schema_v1_initial.sql": """
        CREATE TABLE log (step INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL);
        CREATE TABLE sessions (session_id TEXT PRIMARY KEY);
        CREATE TABLE tasks (task_id TEXT PRIMARY KEY, session_id TEXT);
        INSERT INTO log (name) VALUES ('v1');
    """,
    "migrations/schema_v2_channel.sql": """
        ALTER TABLE sessions ADD COLUMN channel TEXT;
        INSERT INTO log (name) VALUES ('v2');
    """,
    # Needs v2's column: a lexical order (v1, v10, v2) fails here.
    "migrations/schema_v10_channel_index.sql": """
        CREATE INDEX idx_sessions_channel ON sessions(channel);
        INSERT INTO log (name) VALUES ('v10');
    """,
}

ORDER_RULES = """version: 1
database: {migrations: "migrations/*.sql"}
rules:
  - {id: channel, kind: require-columns, table: sessions, columns: [channel]}
  - id: replay-order
    kind: query
    sql: >-
      SELECT applied FROM (SELECT group_concat(name, ',') AS applied
                           FROM (SELECT name FROM log ORDER BY step))
      WHERE applied != 'v1,v2,v10'
"""


def test_migrations_replay_in_natural_order(tmp_path: Path) -> None:
    write_tree(tmp_path, {**MIGRATIONS, "rules.yaml": ORDER_RULES})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert run.json["findings"] == []
    assert run.exit_code == 0
    # Nothing was written next to the migrations: the scratch database is in memory.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["migrations", "rules.yaml"]


FAILING = {
    **MIGRATIONS,
    "migrations/schema_v3_bad.sql": (
        "-- v3: the first statement applies, the second fails.\n"
        "CREATE TABLE users (user_id INTEGER PRIMARY KEY);\n"
        "\n"
        "INSERT INTO users (user_id, email)\n"
        "VALUES (1, 'ada@example.com');\n"
        "CREATE TABLE never_built (x TEXT);\n"
    ),
    "migrations/schema_v4_after.sql": "CREATE TABLE after_failure (x TEXT);\n",
    "rules.yaml": """version: 1
database: {migrations: "migrations/*.sql"}
rules:
  - {id: built, kind: require-tables, tables: [sessions, users, never_built, after_failure]}
""",
}


def test_a_failing_migration_is_a_finding_at_its_statement(tmp_path: Path) -> None:
    write_tree(tmp_path, FAILING)
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    # Later rules still ran, on the schema built up to the failure.
    assert [f["object"] for f in run.json["findings"] if f["rule"] == "built"] == \
        ["after_failure", "never_built"]
    replay = next(f for f in run.json["findings"] if f["rule"] == "migrations-replay")
    assert replay["path"] == "migrations/schema_v3_bad.sql"
    assert replay["line"] == 4  # the INSERT, not the file's start or the comment
    assert replay["message"] == (
        "migration failed: table users has no column named email; the replay stopped here "
        "and the other rules checked the schema built so far")
    assert run.exit_code == 1

    text = gatecheck("run", cwd=tmp_path).stdout.splitlines()
    assert text == [
        "db:after_failure: built required table after_failure does not exist",
        "db:never_built: built required table never_built does not exist",
        "migrations/schema_v3_bad.sql:4:1: migrations-replay migration failed: table users "
        "has no column named email; the replay stopped here and the other rules checked the "
        "schema built so far",
        "Found 3 errors (1 rule, 0 files, 0 SQL fragments)",
    ]


def test_replay_runs_are_identical(tmp_path: Path) -> None:
    write_tree(tmp_path, {**FAILING, "seed/seed.sql": "INSERT INTO tasks VALUES ('t1', 's9');\n"})
    (tmp_path / "rules.yaml").write_text("""version: 1
database: {migrations: "migrations/*.sql", seed_data: ["seed/*.sql"]}
rules:
  - {id: built, kind: require-tables, tables: [sessions, never_built]}
  - {id: tasks-resolve, kind: no-orphans, from: tasks.session_id, to: sessions.session_id}
""", encoding="utf-8")
    first = gatecheck("run", "--format", "json", cwd=tmp_path)
    second = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert first.stdout == second.stdout
    assert first.exit_code == second.exit_code == 1


def test_seed_data_runs_after_the_migrations(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        **MIGRATIONS,
        "seed/seed_1_sessions.sql": "INSERT INTO sessions VALUES ('s1', 'cli'), ('s2', 'api');\n",
        "seed/seed_2_tasks.sql": "INSERT INTO tasks VALUES ('t1', 's1'), ('t2', 's3'), "
                                 "('t3', 's4'), ('t4', NULL);\n",
        "rules.yaml": """version: 1
database:
  migrations: "migrations/*.sql"
  seed_data: ["seed/seed_1_sessions.sql", "seed/seed_2_tasks.sql"]
rules:
  - {id: tasks-resolve, kind: no-orphans, from: tasks.session_id, to: sessions.session_id}
  - {id: has-sessions, kind: row-exists, table: sessions, where: "channel = 'api'"}
""",
    })
    run = gatecheck("run", "--format", "json", "--show-data", cwd=tmp_path)
    assert run.stderr == ""
    [finding] = run.json["findings"]
    assert finding["rule"] == "tasks-resolve"
    assert (finding["count"], finding["sample"]) == (2, ["s3", "s4"])
