"""``gatecheck diff`` and `gatecheck.diff`: real SQLite files, real replays, real git, real PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO, build_db, gatecheck, git, new_repo, write_tree
from gatecheck.diff import diff, normal_type, render
from gatecheck.introspect.sqlite import read_schema

EXAMPLE_MIGRATIONS = "examples/agentos/migrations/*.sql"


def schemas(tmp_path: Path, a_sql: str, b_sql: str):  # type: ignore[no-untyped-def]
    """The schemas of two real SQLite files built from ``a_sql`` and ``b_sql``."""
    import tempfile

    where = Path(tempfile.mkdtemp(dir=tmp_path))
    a = read_schema(build_db(where / "a.db", a_sql))
    b = read_schema(build_db(where / "b.db", b_sql))
    return a, b


def lines(tmp_path: Path, a_sql: str, b_sql: str) -> list[str]:
    a, b = schemas(tmp_path, a_sql, b_sql)
    return render(diff(a, b), "a", "b", "text").splitlines()[2:-1]


# ---------------------------------------------------------------- structural equality


def test_the_same_structure_written_differently_is_equal(tmp_path: Path) -> None:
    a, b = schemas(tmp_path, """
        CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(10) NOT NULL DEFAULT 'x',
                            team INTEGER REFERENCES teams(id));
        CREATE TABLE teams (id INTEGER PRIMARY KEY, n INTEGER DEFAULT 0);
        CREATE INDEX users_email ON users (email);
        CREATE VIEW named AS SELECT email FROM users WHERE team IS NOT NULL;
        CREATE TRIGGER t AFTER INSERT ON users BEGIN UPDATE teams SET n = n + 1; END;
    """, """
        -- the same schema, another author
        create table "TEAMS" ( "id" integer , n integer default (0), primary key (id) );
        create table Users (
            id integer primary key,   -- rowid
            email varchar( 10 ) not null default 'x',
            team integer,
            foreign key (team) references teams
        );
        create index USERS_EMAIL on users(email);
        create view NAMED as
            select   EMAIL from USERS   /* still */ where team is not null;
        create trigger T after insert on users begin update teams set n = n + 1; end;
    """)
    result = diff(a, b)
    assert result.equal, render(result, "a", "b", "text")


def test_types_compare_without_case_and_blanks() -> None:
    assert normal_type("VARCHAR( 10 , 2 )") == normal_type("varchar(10,2)")
    assert normal_type("TEXT") != normal_type("INTEGER")


# ---------------------------------------------------------------- what is reported


def test_columns_added_removed_and_changed(tmp_path: Path) -> None:
    assert lines(tmp_path, """
        CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT NOT NULL, c INTEGER DEFAULT 1,
                        gone TEXT);
    """, """
        CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c INTEGER DEFAULT 2,
                        added TEXT NOT NULL DEFAULT '');
    """) == [
        "~ column t.a: type TEXT -> INTEGER",
        "+ column t.added TEXT NOT NULL DEFAULT ''",
        "~ column t.b: not_null yes -> no",
        "~ column t.c: default 1 -> 2",
        "- column t.gone TEXT",
    ]


def test_a_renamed_column_keeps_its_definition_and_place(tmp_path: Path) -> None:
    assert lines(tmp_path, "CREATE TABLE t (id INTEGER, mail TEXT NOT NULL, x INTEGER);",
                 "CREATE TABLE t (id INTEGER, email TEXT NOT NULL, x INTEGER);") == [
        "> column t.mail -> t.email"]
    # Dropped from the middle, added at the end: not a rename.
    assert lines(tmp_path, "CREATE TABLE t (id INTEGER, mail TEXT, x INTEGER);",
                 "CREATE TABLE t (id INTEGER, x INTEGER, email TEXT);") == [
        "+ column t.email TEXT", "- column t.mail TEXT"]


def test_a_renamed_table_and_what_follows_it(tmp_path: Path) -> None:
    assert lines(tmp_path, """
        CREATE TABLE s (id TEXT PRIMARY KEY, channel TEXT NOT NULL);
        CREATE INDEX s_channel ON s (channel);
        CREATE INDEX s_id ON s (id);
        CREATE TABLE tasks (id TEXT, session TEXT REFERENCES s(id));
        CREATE VIEW v AS SELECT channel FROM s;
    """, """
        CREATE TABLE s_legacy (id TEXT PRIMARY KEY, channel TEXT NOT NULL);
        CREATE INDEX s_id ON s_legacy (id);
        CREATE TABLE tasks (id TEXT, session TEXT REFERENCES s_legacy(id));
        CREATE VIEW v AS SELECT channel FROM s_legacy;
    """) == [
        "> table s -> s_legacy",
        "- index s_channel ON s (channel)",
        # The foreign key and the view followed the rename: no change.
    ]


def test_two_tables_of_the_same_shape_are_not_guessed_to_be_renames(tmp_path: Path) -> None:
    assert lines(tmp_path, "CREATE TABLE a (id INTEGER); CREATE TABLE b (id INTEGER);",
                 "CREATE TABLE c (id INTEGER); CREATE TABLE d (id INTEGER);") == [
        "- table a (id)", "- table b (id)", "+ table c (id)", "+ table d (id)"]


def test_indexes_foreign_keys_views_and_triggers(tmp_path: Path) -> None:
    assert lines(tmp_path, """
        CREATE TABLE p (id INTEGER PRIMARY KEY, k TEXT UNIQUE);
        CREATE TABLE q (id INTEGER PRIMARY KEY, b TEXT);
        CREATE TABLE c (id INTEGER, pid INTEGER REFERENCES p(id), other INTEGER);
        CREATE INDEX c_pid ON c (pid);
        CREATE VIEW v AS SELECT id FROM p;
        CREATE TRIGGER tr AFTER INSERT ON c BEGIN SELECT 1; END;
    """, """
        CREATE TABLE p (id INTEGER PRIMARY KEY, k TEXT);
        CREATE TABLE q (id INTEGER PRIMARY KEY, b TEXT UNIQUE);
        CREATE TABLE c (id INTEGER, pid INTEGER REFERENCES q(id) ON DELETE CASCADE,
                        other INTEGER REFERENCES q(id));
        CREATE UNIQUE INDEX c_pid ON c (pid, id);
        CREATE VIEW v AS SELECT id, k FROM p;
        CREATE TRIGGER tr AFTER DELETE ON c BEGIN SELECT 1; END;
        CREATE TRIGGER tr2 AFTER INSERT ON c BEGIN SELECT 2; END;
    """) == [
        "~ index c_pid: columns (pid) -> (pid, id), unique no -> yes",
        "+ foreign key c(other) REFERENCES q(id)",
        "~ foreign key c(pid): ref_table p -> q, on_delete NO ACTION -> CASCADE",
        "~ trigger tr: definition changed",
        "+ trigger tr2 ON c",
        "- index p(k) UNIQUE ON p (k)",  # a UNIQUE constraint: by table and columns
        "+ index q(b) UNIQUE ON q (b)",
        "~ view v: columns (id) -> (id, k), definition changed",
    ]


# ---------------------------------------------------------------- gatecheck diff


def test_the_example_between_v34_and_v36_is_what_the_readme_shows() -> None:
    run = gatecheck("diff", f"migrations:{EXAMPLE_MIGRATIONS}@schema_v34",
                    f"migrations:{EXAMPLE_MIGRATIONS}", cwd=REPO)
    assert run.exit_code == 0, run.stderr
    readme = (REPO / "examples" / "agentos" / "README.md").read_text(encoding="utf-8")
    match = re.search(r"\$ gatecheck diff (\S+) (\S+)\n(.*?)```", readme, re.DOTALL)
    assert match, "the example's README shows no gatecheck diff"
    assert run.stdout == match.group(3)
    assert "> table task_sessions -> task_sessions_legacy" in run.stdout


def test_formats_and_exit_code(tmp_path: Path) -> None:
    build_db(tmp_path / "a.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);")
    build_db(tmp_path / "b.db", "CREATE TABLE users (id INTEGER PRIMARY KEY);")
    build_db(tmp_path / "c.db", "create table USERS (id integer primary key, email text)")
    a, b, c = "sqlite:///a.db", "sqlite:///b.db", "sqlite:///c.db"
    assert gatecheck("diff", a, b, cwd=tmp_path).exit_code == 0  # like git diff
    assert gatecheck("diff", "--exit-code", a, b, cwd=tmp_path).exit_code == 1
    same = gatecheck("diff", "--exit-code", a, c, cwd=tmp_path)
    assert (same.exit_code, same.stdout.splitlines()[-1]) == (0, "No structural differences.")

    data = gatecheck("diff", "-f", "json", a, b, cwd=tmp_path).json
    assert data == {
        "version": 1, "a": a, "b": b, "equal": False,
        "changes": [{"action": "removed", "kind": "column", "object": "users.email",
                     "table": "users", "from": None, "attributes": [],
                     "before": {"name": "email", "type": "TEXT", "not_null": False,
                                "default": None, "primary_key": 0},
                     "after": None}],
        "summary": {"added": 0, "removed": 1, "changed": 0, "renamed": 0}}
    markdown = gatecheck("diff", "--format", "markdown", a, b, cwd=tmp_path).stdout
    assert markdown == ("**Schema diff** `sqlite:///a.db` → `sqlite:///b.db`: 1 change: 1 removed\n"
                        "\n| change | kind | object | details |\n|---|---|---|---|\n"
                        "| removed | column | `users.email` | TEXT |\n")


def test_markdown_and_text_keep_hostile_names_inert(tmp_path: Path) -> None:
    build_db(tmp_path / "a.db", "CREATE TABLE t (id INTEGER);")
    build_db(tmp_path / "b.db", 'CREATE TABLE "x|`y` <img src=z>\n::error::boom" (id INTEGER);'
                                "CREATE TABLE t (id INTEGER);")
    md = gatecheck("diff", "-f", "markdown", "sqlite:///a.db", "sqlite:///b.db", cwd=tmp_path)
    row = md.stdout.splitlines()[-1]
    assert len(re.split(r"(?<!\\)\|", row)) == 6, row  # four cells, whatever the name
    assert "\\n::error::" in row and not any(line.startswith("::")
                                              for line in md.stdout.splitlines())
    text = gatecheck("diff", "sqlite:///a.db", "sqlite:///b.db", cwd=tmp_path).stdout
    assert not any(line.startswith("::") for line in text.splitlines())


def test_migrations_up_to_a_named_one(tmp_path: Path) -> None:
    write_tree(tmp_path, {"db/v1.sql": "CREATE TABLE a (id INTEGER);",
                          "db/v2.sql": "CREATE TABLE b (id INTEGER);",
                          "db/v10.sql": "ALTER TABLE a ADD COLUMN x TEXT;"})
    run = gatecheck("diff", "migrations:db/*.sql@v2", "migrations:db/*.sql", cwd=tmp_path)
    assert run.stdout.splitlines()[2:-1] == ["+ column a.x TEXT"]
    run = gatecheck("diff", "migrations:db/*.sql@v1.sql", "migrations:db/*.sql@v2",
                    cwd=tmp_path)
    assert run.stdout.splitlines()[2:-1] == ["+ table b (id)"]
    for stop, message in (("v3", "no migration is named 'v3'"), ("", "nothing after '@'")):
        run = gatecheck("diff", f"migrations:db/*.sql@{stop}", "migrations:db/*.sql",
                        cwd=tmp_path)
        assert run.exit_code == 2 and message in run.stderr
    write_tree(tmp_path, {"db/v2_b.sql": "SELECT 1;"})
    run = gatecheck("diff", "migrations:db/*.sql@v2", "migrations:db/*.sql", cwd=tmp_path)
    assert run.exit_code == 2 and "'v2' names 2 migrations: v2.sql, v2_b.sql" in run.stderr


def test_a_side_that_cannot_be_read_is_one_error_line(tmp_path: Path) -> None:
    write_tree(tmp_path, {"db/v1.sql": "CREATE TABLE a (id INTEGER);\nCREATE TABLE a (x);\n"})
    cases = {
        "sqlite:///missing.db": "database file not found",
        "migrations:db/*.sql": "db/v1.sql:2: migration failed: table a already exists",
        "migrations:nothing/*.sql": "no migration files match 'nothing/*.sql'",
        "whatever": "not a schema; give sqlite:///PATH",
        "migrations:../*.sql": "outside the repository root",
    }
    for side, message in cases.items():
        run = gatecheck("diff", side, "sqlite:///missing.db", cwd=tmp_path)
        assert run.exit_code == 2, side
        assert message in run.stderr, (side, run.stderr)
        assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) == 1


def test_a_replay_in_diff_is_sandboxed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"db/v1.sql": "ATTACH DATABASE 'stolen.db' AS x;\n"})
    run = gatecheck("diff", "migrations:db/*.sql", "migrations:db/*.sql", cwd=tmp_path)
    assert run.exit_code == 2 and "migration refused" in run.stderr
    assert not (tmp_path / "stolen.db").exists()


# ---------------------------------------------------------------- git refs


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    path = new_repo(tmp_path / "repo", env)
    write_tree(path, {"db/v1.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);\n"})
    git("add", "-A", cwd=path, env=env)
    git("commit", "-qm", "v1", cwd=path, env=env)
    git("branch", "base", cwd=path, env=env)
    write_tree(path, {"db/v2.sql": "ALTER TABLE users RENAME COLUMN email TO mail;\n"})
    git("add", "-A", cwd=path, env=env)
    git("commit", "-qm", "v2", cwd=path, env=env)
    # Not committed: REF:GLOB reads the commit, never the work tree.
    write_tree(path, {"db/v3.sql": "CREATE TABLE work_tree_only (id INTEGER);\n"})
    return path


def test_migrations_at_a_git_ref(repo: Path) -> None:
    run = gatecheck("diff", "base:db/*.sql", "HEAD:db/*.sql", cwd=repo)
    assert run.stdout.splitlines()[2:] == ["> column users.email -> users.mail",
                                           "1 change: 1 renamed"], run.stderr
    run = gatecheck("diff", "HEAD:db/*.sql", "migrations:db/*.sql", cwd=repo)
    assert run.stdout.splitlines()[2:-1] == ["+ table work_tree_only (id)"]
    run = gatecheck("diff", "base:db/*.sql", "HEAD~1:db/*.sql@v1", "--exit-code", cwd=repo)
    assert run.exit_code == 0, run.stderr
    # From a subdirectory, globs are relative to it, at the ref too.
    run = gatecheck("diff", "base:*.sql", "HEAD:*.sql", cwd=repo / "db")
    assert run.stdout.splitlines()[2] == "> column users.email -> users.mail"


def test_a_git_ref_is_never_an_option(repo: Path) -> None:
    for ref in ("--output=pwned", "-p", "missing-branch"):
        run = gatecheck("diff", "--", f"{ref}:db/*.sql", "HEAD:db/*.sql", cwd=repo)
        assert run.exit_code == 2
        assert "not a git ref" in run.stderr or "not a commit" in run.stderr
    assert not (repo / "pwned").exists()


# ---------------------------------------------------------------- PostgreSQL


def test_diff_on_postgres_replays_in_scratch_databases_and_drops_them(tmp_path: Path) -> None:
    from pgserver import creator_url, databases, run_sql, scratch_database

    before = databases("gatecheck_replay_%")
    write_tree(tmp_path, {
        "db/v1.sql": "CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL);\n"
                     "CREATE INDEX users_email ON users (email);\n",
        "db/v2.sql": "ALTER TABLE users ADD COLUMN name text;\nDROP INDEX users_email;\n"
                     "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;\n",
    })
    replay = creator_url()
    run = gatecheck("diff", "--replay-url", replay, "migrations:db/*.sql@v1",
                    "migrations:db/*.sql", "-f", "json", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    assert [(c["action"], c["object"]) for c in run.json["changes"]] == [
        ("changed", "users.email"), ("added", "users.name"), ("removed", "users_email")]
    assert databases("gatecheck_replay_%") == before
    # A live database against the replay: written differently, the same structure.
    with scratch_database() as url:
        run_sql(url, "create table USERS (ID serial, EMAIL text, NAME text, primary key (ID))")
        run = gatecheck("diff", "--exit-code", "--replay-url", replay, url,
                        "migrations:db/*.sql", cwd=tmp_path)
        assert run.exit_code == 0, run.stdout + run.stderr
        assert "***" in run.stdout.splitlines()[0] or "@" not in run.stdout.splitlines()[0]
    assert databases("gatecheck_replay_%") == before


def test_json_is_stable(tmp_path: Path) -> None:
    """Same input, same bytes (the JSON is documented in docs/diff.md)."""
    args = ("diff", "-f", "json", f"migrations:{EXAMPLE_MIGRATIONS}@schema_v34",
            f"migrations:{EXAMPLE_MIGRATIONS}")
    first, second = gatecheck(*args, cwd=REPO), gatecheck(*args, cwd=REPO)
    assert first.stdout == second.stdout
    data = json.loads(first.stdout)
    assert list(data) == ["version", "a", "b", "equal", "changes", "summary"]
    for change in data["changes"]:
        assert list(change) == ["action", "kind", "object", "table", "from", "attributes",
                                "before", "after"]
