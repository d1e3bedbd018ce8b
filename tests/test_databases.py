"""Several databases in one rules file (``databases:``): real SQLite files and a real server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import build_db, gatecheck, write_tree

RULES = """\
version: 1
databases:
  app: {url: "sqlite:///app.db"}
  analytics:
    url: sqlite:///analytics.db
    paths: ["reports/**"]
    receivers: [analytics_db]
  chat:
    external: true
    receivers: [chat_db]
external: ["bridge/**", imessage]
rules:
  - {id: refs, kind: references-exist, columns: true}
  - {id: no-old, kind: forbid-tables, pattern: "old_*"}
  - {id: app-only, kind: forbid-tables, pattern: "old_*", database: app}
  - {id: no-old-refs, kind: forbid-table-references, tables: [old_x]}
"""

SOURCES = {
    "app/a.py": (
        "def f(conn, analytics_db, chat_db):\n"
        "    conn.execute('SELECT name FROM users')\n"                   # 2: app, fine
        "    conn.execute('SELECT kind FROM events')\n"                  # 3: events is not in app
        "    analytics_db.execute('SELECT kind FROM events')\n"          # 4: receiver -> analytics
        "    chat_db.execute('SELECT text FROM message')\n"              # 5: external receiver
        "    conn.execute('SELECT naem FROM users')\n"                   # 6: a column app lacks
        "    conn.execute('SELECT kind FROM events')  # gatecheck: database=analytics\n"
        "    conn.execute('SELECT body FROM chat')  # gatecheck: database=imessage\n"
        "    conn.execute('SELECT id FROM old_x')\n"                     # 9: ftr, any database
    ),
    "reports/r.py": "def g(c):\n    c.execute('SELECT kind, nope FROM events')\n",
    "reports/two.py": "# gatecheck: database=app\ndef g(c):\n    c.execute('SELECT name FROM users')\n",
    "bridge/b.py": "def h(c):\n    c.execute('SELECT text FROM message')\n",
    "reports/q.sql": "SELECT user_id, kind FROM events;\nSELECT name FROM users;\n",
}


def project(root: Path, rules: str = RULES) -> Path:
    write_tree(root, {"rules.yaml": rules, **SOURCES})
    build_db(root / "app.db", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);"
                              "CREATE TABLE old_x (id INTEGER);")
    build_db(root / "analytics.db", "CREATE TABLE events (id INTEGER, user_id INTEGER, "
                                    "kind TEXT); CREATE TABLE old_y (id INTEGER);")
    return root


def places(findings: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {(f["rule"], f["path"], f["line"], f["object"], f.get("database")) for f in findings}


def test_each_piece_of_sql_is_checked_against_its_own_database(tmp_path: Path) -> None:
    run = gatecheck("run", "-f", "json", "--no-cache", cwd=project(tmp_path))
    assert run.exit_code == 1, run.stderr
    assert places(run.json["findings"]) == {
        # schema rules run once per database, each finding naming which
        ("no-old", None, None, "old_x", "app"),
        ("no-old", None, None, "old_y", "analytics"),
        ("app-only", None, None, "old_x", "app"),
        # source SQL against the database of its file, receiver or comment
        ("refs", "app/a.py", 3, "events", "app"),
        ("refs", "app/a.py", 6, "users.naem", "app"),
        ("refs", "reports/r.py", 2, "events.nope", "analytics"),
        ("refs", "reports/q.sql", 2, "users", "analytics"),
        # rules that need no schema see every file once, with no database
        ("no-old-refs", "app/a.py", 9, "old_x", None),
    }
    messages = {f["line"]: f["message"] for f in run.json["findings"] if f["path"] == "app/a.py"}
    assert messages[3] == "table events does not exist in database app"


def test_sql_for_an_unconfigured_database_is_listed_never_checked(tmp_path: Path) -> None:
    run = gatecheck("run", "-f", "json", "--no-cache", "--select", "refs", cwd=project(tmp_path))
    unchecked = {(u["path"], u["line"], u["why"]) for u in run.json["not_checked"]}
    assert ("app/a.py", 5, "SQL for the external database chat") in unchecked
    assert ("app/a.py", 8, "SQL for the external database imessage") in unchecked
    assert ("bridge/b.py", 2, "SQL for an external database (external: in the rules file)") \
        in unchecked
    assert not any(f["path"] == "bridge/b.py" for f in run.json["findings"])


def test_text_output_names_the_database_of_a_schema_finding(tmp_path: Path) -> None:
    run = gatecheck("run", "--no-cache", "--select", "no-old", cwd=project(tmp_path))
    assert run.stdout.splitlines()[:2] == [
        "db[analytics]:old_y: no-old table old_y matches forbidden pattern 'old_*'",
        "db[app]:old_x: no-old table old_x matches forbidden pattern 'old_*'",
    ]


def test_db_name_equals_url_overrides_one_database(tmp_path: Path) -> None:
    root = project(tmp_path)
    build_db(root / "other.db", "CREATE TABLE events (id INTEGER, kind TEXT, nope TEXT);")
    run = gatecheck("run", "-f", "json", "--no-cache", "--select", "refs",
                    "--db", "analytics=sqlite:///other.db", cwd=root)
    found = places(run.json["findings"])
    assert ("refs", "reports/r.py", 2, "events.nope", "analytics") not in found
    assert ("refs", "app/a.py", 3, "events", "app") in found
    run = gatecheck("run", "--db", "sqlite:///other.db", cwd=root)
    assert run.exit_code == 2 and "several databases (app, analytics, chat)" in run.stderr
    run = gatecheck("run", "--db", "nope=sqlite:///other.db", cwd=root)
    assert run.exit_code == 2 and "unknown database 'nope'" in run.stderr


def test_one_missing_database_leaves_the_others_checked(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "analytics.db").unlink()
    run = gatecheck("run", "-f", "json", "--no-cache", cwd=root)
    assert run.exit_code == 2
    assert "database analytics: " in run.stderr and "database file not found" in run.stderr
    assert not (root / "analytics.db").exists()
    assert ("refs", "app/a.py", 3, "events", "app") in places(run.json["findings"])
    assert set(run.json["summary"]) >= {"rules_not_run"}
    assert run.json["summary"]["rules_not_run"] == 2  # refs and no-old on analytics


@pytest.mark.parametrize("rules, message", [
    ("version: 1\ndatabase: sqlite:///a.db\ndatabases: {a: 'sqlite:///a.db'}\nrules: []\n",
     "rules.yaml:3:12: databases: goes instead of 'database:'"),
    ("version: 1\ndatabases: {'a b': 'sqlite:///a.db'}\nrules: []\n",
     "rules.yaml:2:13: databases › a b: invalid name"),
    ("version: 1\ndatabases: {a: {url: 'sqlite:///a.db', paths: 3}}\nrules: []\n",
     "rules.yaml:2:47: databases › a › paths: expected string or list of strings, got int"),
    ("version: 1\ndatabases: {a: {url: 'sqlite:///a.db', bogus: 1}}\nrules: []\n",
     "rules.yaml:2:40: databases › a › unknown key 'bogus'; valid keys: url, migrations, "),
    ("version: 1\ndatabases: {a: {external: true, url: 'sqlite:///a.db'}}\nrules: []\n",
     "rules.yaml:2:33: databases › a: an external database is not opened"),
    ("version: 1\ndatabases: {a: 'sqlite:///a.db'}\n"
     "rules: [{id: x, kind: forbid-tables, pattern: y, database: b}]\n",
     "unknown database 'b'; valid: a"),
    ("version: 1\ndatabase: sqlite:///a.db\n"
     "rules: [{id: x, kind: forbid-tables, pattern: y, database: a}]\n",
     "only rules files with 'databases:' name their databases"),
])
def test_configuration_mistakes_name_the_place(tmp_path: Path, rules: str, message: str) -> None:
    write_tree(tmp_path, {"rules.yaml": rules})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2 and message in run.stderr, run.stderr


def test_one_database_form_is_unchanged(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": "version: 1\ndatabase: sqlite:///app.db\nrules:\n"
                                        "  - {id: refs, kind: references-exist}\n"
                                        "  - {id: no-old, kind: forbid-tables, pattern: 'old_*'}\n",
                          "a.py": "def f(c):\n    c.execute('SELECT 1 FROM nope')\n"})
    build_db(tmp_path / "app.db", "CREATE TABLE old_x (id INTEGER);")
    run = gatecheck("run", "--no-cache", cwd=tmp_path)
    assert run.stdout.splitlines()[:2] == [
        "db:old_x: no-old table old_x matches forbidden pattern 'old_*'",
        "a.py:2:30: refs table nope does not exist in the database"]
    assert "database" not in gatecheck("run", "-f", "json", cwd=tmp_path).json["findings"][0]


def test_schema_command_picks_one_of_several(tmp_path: Path) -> None:
    root = project(tmp_path)
    run = gatecheck("schema", cwd=root)
    assert run.exit_code == 2 and "pass --database NAME" in run.stderr
    run = gatecheck("schema", "--database", "analytics", cwd=root)
    assert run.exit_code == 0 and "events" in run.stdout and "users" not in run.stdout


def test_a_postgres_and_a_sqlite_database_in_one_rules_file(tmp_path: Path) -> None:
    from pgserver import scratch_database

    with scratch_database() as url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE accounts (id integer, email text)")
        os.environ["GC_TEST_ACCOUNTS_URL"] = url
        try:
            rules = ("version: 1\ndialect: sqlite\ndatabases:\n"
                     "  local: {url: 'sqlite:///app.db'}\n"
                     "  accounts: {url: '${GC_TEST_ACCOUNTS_URL}', receivers: [pg]}\n"
                     "rules:\n  - {id: refs, kind: references-exist, columns: true}\n")
            write_tree(tmp_path, {"rules.yaml": rules, "a.py": (
                "def f(c, pg):\n"
                "    c.execute('SELECT name FROM users')\n"
                "    pg.execute('SELECT emial FROM accounts')\n"
                "    c.execute('SELECT email FROM accounts')\n")})
            build_db(tmp_path / "app.db", "CREATE TABLE users (id INTEGER, name TEXT);")
            run = gatecheck("run", "-f", "json", "--no-cache", cwd=tmp_path)
        finally:
            del os.environ["GC_TEST_ACCOUNTS_URL"]
    assert places(run.json["findings"]) == {
        ("refs", "a.py", 3, "accounts.emial", "accounts"),
        ("refs", "a.py", 4, "accounts", "local")}
    assert "postgresql://" not in run.stdout + run.stderr or "***" in run.stdout + run.stderr
