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
database: {migrations: "migrations/*.sql", on_failure: continue}
rules:
  - {id: built, kind: require-tables, tables: [sessions, users, never_built, after_failure]}
""",
}


def test_a_failing_migration_is_a_finding_at_its_statement(tmp_path: Path) -> None:
    """``on_failure: continue``: the rules check the schema built up to the failure."""
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

    text = gatecheck("run", "--format", "concise", cwd=tmp_path).stdout.splitlines()
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


def test_by_default_a_failed_replay_stops_the_rules_that_need_the_database(
        tmp_path: Path) -> None:
    """Issue 12: rules on half a schema reported what the failure left out (~40 bogus
    findings a run); now the failure is the one finding, and those rules say they did not run."""
    write_tree(tmp_path, {**FAILING, "app/store.py": "SQL = 'SELECT * FROM task_sessions'\n",
                          "rules.yaml": """version: 1
database: {migrations: "migrations/*.sql"}
rules:
  - {id: built, kind: require-tables, tables: [sessions, users, never_built, after_failure]}
  - {id: no-orphans, kind: no-orphans, from: tasks.session_id, to: sessions.session_id}
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
"""})
    run = gatecheck("run", "--format", "concise", cwd=tmp_path)
    assert run.stderr == ""
    assert run.stdout.splitlines() == [
        "app/store.py:1:22: no-task-sessions references forbidden table task_sessions",
        "migrations/schema_v3_bad.sql:4:1: migrations-replay migration failed: table users "
        "has no column named email; the replay stopped here, so the rules that need this "
        "database did not run (on_failure: continue checks the schema built so far)",
        "Found 2 errors; 2 rules not run (built, no-orphans: the migrations replay failed, "
        "see migrations-replay) (3 rules, 6 files, 6 SQL fragments)",
    ]
    assert run.exit_code == 1
    summary = gatecheck("run", "--format", "json", cwd=tmp_path).json["summary"]
    assert (summary["errors"], summary["rules_not_run"]) == (2, 2)
    # `gatecheck schema` does not print half a schema either.
    schema = gatecheck("schema", cwd=tmp_path)
    assert schema.exit_code == 2
    assert "the migrations replay failed at " in schema.stderr
    assert "schema_v3_bad.sql:4: migration failed" in schema.stderr


#: A runner that picks ``V<n>__*.sql`` by a regex, sorts by the number and
#: skips the files a component owns.
RUNNER = {
    "db/V1__initial.sql": "CREATE TABLE log (step INTEGER PRIMARY KEY AUTOINCREMENT, "
                          "name TEXT NOT NULL);\nCREATE TABLE sessions (id TEXT);\n"
                          "INSERT INTO log (name) VALUES ('V1');\n",
    "db/V2__channel.sql": "ALTER TABLE sessions ADD COLUMN channel TEXT;\n"
                          "INSERT INTO log (name) VALUES ('V2');\n",
    # Needs V2's column: V10 sorts after V2 by number (and after V2 by name too, so
    # 1.sql-style names below check the numeric sort on its own).
    "db/V10__index.sql": "CREATE INDEX idx_channel ON sessions (channel);\n"
                         "INSERT INTO log (name) VALUES ('V10');\n",
    # Equal versions keep natural order.
    "db/V10__index_b.sql": "INSERT INTO log (name) VALUES ('V10b');\n",
    # Not picked by the runner: no version, a component's file, a nested legacy file.
    "db/README.sql": "this is not SQL at all;\n",
    "db/V3__component_billing.sql": "CREATE TABLE billing_owned (x INTEGER);\n",
    "db/legacy/V4__old.sql": "DROP TABLE sessions;\n",
    "db/V5__draft.sql.txt": "DROP TABLE sessions;\n",
}


def _runner_rules(database: str, order: str) -> str:
    return f"""version: 1
database: {database}
rules:
  - {{id: order, kind: query, sql: "SELECT applied FROM (SELECT group_concat(name, ',') AS applied FROM (SELECT name FROM log ORDER BY step)) WHERE applied != '{order}'"}}
  - {{id: no-component-tables, kind: forbid-tables, pattern: "billing_*"}}
"""


def test_pattern_and_skip_pick_and_order_files_as_the_runner_does(tmp_path: Path) -> None:
    write_tree(tmp_path, {**RUNNER, "rules.yaml": _runner_rules(
        "{migrations: 'db/**/*.sql', pattern: '^V(?P<version>\\d+)__.*\\.sql$', "
        "skip: ['*component*', 'db/legacy/']}", "V1,V2,V10,V10b")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert run.json["findings"] == []
    assert run.exit_code == 0


def test_the_version_is_compared_as_a_number_and_may_be_the_first_group(
        tmp_path: Path) -> None:
    files = {"db/10.sql": "INSERT INTO log (name) VALUES ('10');\n",
             "db/2.sql": "INSERT INTO log (name) VALUES ('2');\n",
             "db/1.sql": "CREATE TABLE log (step INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);\n"
                         "INSERT INTO log (name) VALUES ('1');\n",
             "db/1.9.1.sql": "INSERT INTO log (name) VALUES ('1.9.1');\n",
             "db/1.10.sql": "INSERT INTO log (name) VALUES ('1.10');\n",
             "db/notes.sql": "garbage;\n"}
    write_tree(tmp_path, {**files, "rules.yaml": _runner_rules(
        "{migrations: 'db/*.sql', pattern: '^([0-9.]+?)\\.sql$'}", "1,1.9.1,1.10,2,10")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert run.json["findings"] == []


def test_without_a_pattern_every_file_replays_and_fails(tmp_path: Path) -> None:
    write_tree(tmp_path, {**RUNNER, "rules.yaml": _runner_rules(
        "{migrations: 'db/**/*.sql'}", "V1,V2,V10,V10b")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    [finding] = run.json["findings"]
    assert (finding["rule"], finding["path"]) == ("migrations-replay", "db/README.sql")


def test_a_selection_that_leaves_nothing_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {**RUNNER, "rules.yaml": _runner_rules(
        "{migrations: 'db/*.sql', pattern: '^R(\\d+)__'}", "")})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert ("database: 6 files match 'db/*.sql', but 'pattern'/'skip' leave none to replay"
            in run.stderr)
