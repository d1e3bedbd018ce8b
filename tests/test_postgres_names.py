"""references-exist on PostgreSQL: names are resolved with the server's rules.

Each statement in ``VALID`` names only what a real PostgreSQL database (built
here from ``SCHEMA`` on the test server) has, in shapes sqlglot's resolution
alone took for missing names (whole-row references, system catalogs,
functions in FROM, ``excluded``, output names); each must stay silent.  Each
``BROKEN`` neighbour misspells one name and must fire at exactly that name.
The server itself is the witness: every VALID statement is PREPAREd there
(parse analysis, nothing runs) and every BROKEN one is refused as undefined.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from conftest import gatecheck, write_tree
from pgserver import run_sql, scratch_database

SCHEMA = """
CREATE TABLE participants (id integer PRIMARY KEY, username text, claimed_time timestamptz);
CREATE TABLE books (id integer PRIMARY KEY, title text, author_id integer);
CREATE TABLE tips (id serial PRIMARY KEY, tipper text, tippee text, amount numeric,
                   ctime timestamptz DEFAULT now(), UNIQUE (tipper, tippee));
CREATE TYPE pair AS (a integer, b text);
CREATE VIEW tip_totals AS SELECT tippee, sum(amount) AS total FROM tips GROUP BY tippee;
"""

VALID = [
    "SELECT p FROM participants p",
    "SELECT p.*::participants FROM participants p WHERE p.username = %s",
    "SELECT count(b) FROM books b",
    "SELECT participants FROM participants",
    "UPDATE participants SET username = %s WHERE id = %s RETURNING participants",
    "UPDATE participants p SET claimed_time = now() RETURNING p",
    "SELECT (id, title)::pair FROM books",
    "SELECT relname FROM pg_class WHERE relkind = 'r'",
    "SELECT c.relname FROM pg_catalog.pg_class c",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    "SELECT e FROM json_array_elements('[1, 2]') AS e",
    "SELECT elem->>'x' FROM json_array_elements(%s::json) elem",
    "SELECT n FROM generate_series(1, 10) AS g(n)",
    "SELECT p.username, x FROM participants p, LATERAL unnest(ARRAY[1, 2]) x",
    "INSERT INTO tips (tipper, tippee, amount) VALUES (%(a)s, %(b)s, %(c)s) "
    "ON CONFLICT (tipper, tippee) DO UPDATE SET amount = excluded.amount RETURNING id",
    "SELECT tippee AS who, sum(amount) AS s FROM tips GROUP BY who ORDER BY s DESC",
    "WITH recent(name) AS (SELECT tippee FROM tips WHERE ctime > now() - interval '1 day') "
    "SELECT name FROM recent",
    "SELECT title FROM books WHERE author_id IN "
    "(SELECT id FROM participants WHERE claimed_time IS NOT NULL)",
    "SELECT b.title FROM books b WHERE EXISTS (SELECT 1 FROM participants p WHERE p.id = b.author_id)",
    "SELECT total FROM tip_totals WHERE tippee = $1",
    "SELECT * FROM books b JOIN participants p ON p.id = b.author_id FOR UPDATE OF b",
    "DELETE FROM tips t USING participants p WHERE p.username = t.tipper RETURNING t",
    "SELECT sub.n FROM (SELECT count(*) AS n FROM books) sub",
    "SELECT now(), current_user, CURRENT_TIMESTAMP",
]

BROKEN = [
    ("SELECT p.usernam FROM participants p", "usernam"),
    ("SELECT count(bk) FROM books b", "bk"),
    ("UPDATE participants SET usrname = %s WHERE id = %s", "usrname"),
    ("INSERT INTO tips (tipper, tipee) VALUES (%s, %s)", "tipee"),
    ("SELECT title FROM book", "book"),
    ("SELECT n FROM generate_series(1, 10) AS g(n) JOIN books b ON b.id = g.n "
     "WHERE b.titel = 'x'", "titel"),
    ("SELECT tippee FROM tips WHERE EXISTS (SELECT 1 FROM participants WHERE claimed_tim > ctime)",
     "claimed_tim"),
    ("SELECT totl FROM tip_totals", "totl"),
]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database() as url:
        run_sql(url, SCHEMA)
        yield url


def _analyse(url: str, sql: str) -> str | None:
    """The server's parse analysis of ``sql`` (PREPARE in a read-only transaction
    that is rolled back; nothing executes): None, or the SQLSTATE it refuses with."""
    import psycopg

    text = sql.replace("%(a)s", "%s").replace("%(b)s", "%s").replace("%(c)s", "%s")
    with psycopg.connect(url) as conn:
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute("PREPARE probe AS " + _numbered(text))
        except psycopg.Error as exc:
            return exc.sqlstate
    return None


def _numbered(text: str) -> str:
    n = 0
    while "%s" in text:
        n += 1
        text = text.replace("%s", f"${n}", 1)
    return text


def test_the_server_agrees_with_the_lists(database: str) -> None:
    """The lists are true of PostgreSQL itself: VALID analyses, BROKEN is undefined."""
    for sql in VALID:
        assert _analyse(database, sql) is None, sql
    for sql, _ in BROKEN:
        assert _analyse(database, sql) in ("42703", "42P01"), sql


def _run(tmp_path: Path, url: str, statements: list[str]) -> list[dict]:
    body = "".join(f"    cur.execute({s!r})\n" for s in statements)
    write_tree(tmp_path, {
        "rules.yaml": (f"version: 1\ndialect: postgres\ndatabase: {url}\nrules:\n"
                       "  - {id: refs, kind: references-exist, columns: true}\n"),
        "app.py": "def run(cur):\n" + body})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    return run.json["findings"]


def test_valid_names_are_silent(tmp_path: Path, database: str) -> None:
    assert _run(tmp_path, database, VALID) == []


def test_each_broken_neighbour_fires_at_its_name(tmp_path: Path, database: str) -> None:
    findings = _run(tmp_path, database, [sql for sql, _ in BROKEN])
    got = {(f["line"], f["object"].rsplit(".", 1)[-1]) for f in findings}
    assert got == {(i + 2, name) for i, (_, name) in enumerate(BROKEN)}, findings
    lines = (tmp_path / "app.py").read_text().splitlines()
    for f in findings:
        token = lines[f["line"] - 1][f["column"] - 1:f["end_column"]]
        assert token == f["object"].rsplit(".", 1)[-1]


def test_templates_and_driver_parameters(tmp_path: Path, database: str) -> None:
    """psycopg's %s / %(name)s and SQLAlchemy's :name are values, never reported
    as unchecked columns; a hole standing for rows (``VALUES {rows}``) or a
    condition does not stop the names around it from being checked."""
    write_tree(tmp_path, {
        "rules.yaml": (f"version: 1\ndialect: postgres\ndatabase: {database}\nrules:\n"
                       "  - {id: refs, kind: references-exist, columns: true}\n"),
        "app.py": (
            "def run(cur, sa, rows, cond):\n"
            '    cur.execute("SELECT title FROM books WHERE id = %s AND author_id = %(a)s", {})\n'
            '    cur.execute(sa.text("SELECT title FROM books WHERE id = :id"))\n'
            '    cur.execute(f"WITH r AS (VALUES {rows}) SELECT title FROM bookz, r")\n'
            '    cur.execute(sa.text("SELECT titel FROM books WHERE {c} AND id = :id"'
            ".format_map(cond)))\n")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [(f["line"], f["object"]) for f in run.json["findings"]] == \
        [(4, "bookz"), (5, "books.titel")], run.json
    assert [u for u in run.json["not_checked"] if u["line"] in (2, 3)] == []


def test_columns_a_file_adds_or_renames_are_known(tmp_path: Path, database: str) -> None:
    """gratipay's deploy-hook test: CREATE TABLE foo (bar), then ALTER ... RENAME COLUMN
    bar TO baz and ADD COLUMN; baz and qux are known, a name neither has still fires."""
    write_tree(tmp_path, {
        "rules.yaml": (f"version: 1\ndialect: postgres\ndatabase: {database}\nrules:\n"
                       "  - {id: refs, kind: references-exist, columns: true}\n"),
        "app.py": (
            "def run(db):\n"
            "    db.run('CREATE TABLE foo (bar int)')\n"
            "    db.run('ALTER TABLE foo RENAME COLUMN bar TO baz')\n"
            "    db.run('ALTER TABLE books ADD COLUMN qux text')\n"
            "    db.all('SELECT baz FROM foo ORDER BY baz')\n"
            "    db.all('SELECT qux, title FROM books')\n"
            "    db.all('SELECT name FROM foo')\n")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [(f["line"], f["object"]) for f in run.json["findings"]] == [(7, "foo.name")], \
        run.json


def test_a_cast_to_a_row_type_names_the_table(tmp_path: Path) -> None:
    """``r.*::exchange_routes`` (gratipay) reads the table's row type: a reference."""
    write_tree(tmp_path, {
        "rules.yaml": ("version: 1\ndialect: postgres\nrules:\n"
                       "  - {id: f, kind: forbid-table-references, tables: [routes]}\n"),
        "app.py": ("def run(db):\n"
                   "    db.all('SELECT r.*::routes FROM x r')\n"
                   "    db.all('SELECT (a, b)::public.routes, c::int FROM y')\n")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [(f["line"], f["column"]) for f in run.json["findings"]] == [(2, 25), (3, 35)]
