"""references-exist ``server_check``: the PostgreSQL server analyses the statement.

With ``server_check: true`` each statement the static resolution leaves open
(a name it calls missing, or something it cannot decide: a function's result
columns, a field of a composite type) is sent to the server as ``PREPARE``
inside a read-only transaction, then ``DEALLOCATE``, then ``ROLLBACK``: the
server's own analysis decides, and nothing is executed.  All of it on the real
test server (`pgserver`), as a SELECT-only role (the recommended setup).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import build_db, gatecheck, write_tree
from pgserver import reader_url, run_sql, scratch_database

from gatecheck.engines.postgres import for_server
from gatecheck.introspect.postgres import PostgresDatabase

SCHEMA = """
CREATE TYPE pair AS (a integer, b text);
CREATE TABLE books (id serial PRIMARY KEY, title text, author_id integer, p pair);
INSERT INTO books (title, p) VALUES ('a', (1, 'x')), ('b', (2, 'y')), ('c', NULL);
CREATE SEQUENCE tickets;
CREATE VIEW shelf AS SELECT id, title AS name FROM books;
CREATE FUNCTION catalogue() RETURNS TABLE (code integer, label text)
    LANGUAGE sql AS $$ SELECT 1, 'a' $$;
"""


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database("gct_srv") as url:
        run_sql(url, SCHEMA)
        yield url


@pytest.fixture(scope="module")
def reader(database: str) -> str:
    return reader_url(database)


def _run(tmp_path: Path, url: str, body: str, *flags: str, server: bool = True) -> Any:
    write_tree(tmp_path, {
        "rules.yaml": (f"version: 1\ndialect: postgres\ndatabase: {url}\nrules:\n"
                       "  - {id: refs, kind: references-exist, columns: true, "
                       f"server_check: {'true' if server else 'false'}}}\n"),
        "app.py": "def run(cur, x):\n" + body})
    return gatecheck("run", "--format", "json", "--verbose", *flags, cwd=tmp_path)


def _found(run: Any) -> list[tuple[int, str]]:
    return [(f["line"], f["object"]) for f in run.json["findings"]]


def _token(tmp_path: Path, finding: dict[str, Any]) -> str:
    line = (tmp_path / "app.py").read_text().splitlines()[finding["line"] - 1]
    return line[finding["column"] - 1:finding["end_column"]]


# Names only the server's analysis can see: a function's result columns, a field
# of a composite type, a function's columns through LATERAL.
UNSEEN = (
    '    cur.execute("SELECT labl FROM catalogue() WHERE code = %s", (x,))\n'
    '    cur.execute("SELECT (p).c FROM books")\n'
    '    cur.execute("SELECT b.title, r.cod FROM books b, LATERAL catalogue() r")\n'
    '    cur.execute("SELECT (b.p).a FROM books b WHERE (b.p).bb = %s", (x,))\n'
)


def test_the_server_sees_names_the_static_resolution_cannot(tmp_path: Path,
                                                            reader: str) -> None:
    static = _run(tmp_path, reader, UNSEEN, server=False)
    assert static.exit_code == 0 and _found(static) == [], static.stdout
    run = _run(tmp_path, reader, UNSEEN)
    assert run.exit_code == 1, run.stdout + run.stderr
    assert _found(run) == [(2, "labl"), (3, "c"), (4, "cod"), (5, "bb")], run.json
    for finding in run.json["findings"]:
        assert _token(tmp_path, finding) == finding["object"]
        assert "PostgreSQL's analysis" in finding["message"]
    assert "statements analysed by the server: 4" in run.stderr


def test_statements_valid_by_the_servers_rules_are_decided(tmp_path: Path, reader: str) -> None:
    """What the static resolution must leave unchecked (a function's columns, a
    composite's fields) the server analyses: no finding, and nothing left unchecked."""
    body = ('    cur.execute("SELECT code, label FROM catalogue() WHERE code = %s", (x,))\n'
            '    cur.execute("SELECT (p).a, (b.p).b FROM books b")\n'
            '    cur.execute("SELECT r.label FROM books b, LATERAL catalogue() r")\n'
            '    cur.execute("SELECT ctid, xmin, tableoid FROM books")\n'
            '    cur.execute("SELECT name FROM shelf WHERE id = $1")\n')
    static = _run(tmp_path, reader, body, server=False)
    assert _found(static) == [] and static.json["not_checked"], static.json
    run = _run(tmp_path, reader, body)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert _found(run) == [] and run.json["not_checked"] == [], run.json


def test_static_findings_stay_and_the_server_confirms_them(tmp_path: Path, reader: str) -> None:
    """The server stops at the first missing name; the static verdicts on the others
    stand.  A table the file creates is not one the server can know."""
    body = ('    cur.execute("SELECT b.titel, b.autor FROM books b")\n'
            '    cur.execute("SELECT nme FROM shelf")\n'
            '    cur.execute("INSERT INTO books (title) VALUES (%s) RETURNING titel", (x,))\n'
            '    cur.execute("CREATE TEMP TABLE scratch (a int)")\n'
            '    cur.execute("SELECT a FROM scratch")\n'
            '    cur.execute("SELECT b FROM scratch")\n'
            '    cur.execute("SELECT title FROM bookz")\n')
    run = _run(tmp_path, reader, body)
    assert _found(run) == [(2, "books.titel"), (2, "books.autor"), (3, "shelf.nme"),
                           (4, "titel"), (7, "scratch.b"), (8, "bookz")], run.json
    static = _run(tmp_path, reader, body, server=False)
    # sqlglot's scopes do not reach RETURNING: only the server saw that one.
    assert _found(static) == [f for f in _found(run) if f != (4, "titel")]


def test_a_hole_or_a_row_parameter_may_be_several_columns(tmp_path: Path, reader: str) -> None:
    """Kinto: ``VALUES {rows}`` is sent as one value, ``(NULL)``; ``column2`` of it is not
    missing.  psycopg2's ``execute_values`` writes ``VALUES %s`` the same way."""
    body = ('    cur.execute(f"WITH req AS (VALUES {x}) SELECT title FROM req JOIN books '
            'ON (id = column1 AND title = column2)")\n'
            '    cur.execute("WITH req AS (VALUES %s) SELECT column2 FROM req", x)\n'
            '    cur.execute(f"SELECT titl FROM books WHERE {x}")\n')
    run = _run(tmp_path, reader, body)
    assert _found(run) == [(4, "books.titl")], run.json


def _state(url: str) -> tuple[Any, ...]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, title, p::text FROM books ORDER BY id").fetchall()
        seq = conn.execute("SELECT last_value, is_called FROM tickets").fetchone()
        ids = conn.execute("SELECT last_value, is_called FROM books_id_seq").fetchone()
    return rows, seq, ids


def test_nothing_is_executed(tmp_path: Path, database: str, reader: str) -> None:
    """Statements that would write, sent because they hold a name the static check
    cannot decide: rows and sequences unchanged (a sequence never rolls back, so
    an INSERT that ran would show), and a side-effect call is never sent."""
    before = _state(database)
    body = ('    cur.execute("INSERT INTO books (title) VALUES (%s) RETURNING (p).zz", (x,))\n'
            '    cur.execute("UPDATE books SET title = %s WHERE (p).a = 1", (x,))\n'
            '    cur.execute("DELETE FROM books WHERE (p).b = %s", (x,))\n'
            '    cur.execute("INSERT INTO books (title) SELECT label FROM catalogue()")\n'
            '    cur.execute("SELECT nextval(\'tickets\'), (p).zz FROM books")\n'
            '    cur.execute("MERGE INTO books b USING catalogue() c ON c.code = b.id '
            'WHEN MATCHED THEN DELETE")\n')
    run = _run(tmp_path, reader, body)
    assert _found(run) == [(2, "zz")], run.json
    assert "statements analysed by the server: 5" in run.stderr
    assert "statements not sent to the server: 1" in run.stderr
    assert _state(database) == before


def test_the_session_keeps_no_prepared_statement(database: str, reader: str) -> None:
    """In gatecheck's own session: refused text is never sent, and after analyses
    that succeed and fail no prepared statement is left."""
    db = PostgresDatabase.open(reader)
    try:
        for sql in ("SELECT title FROM books WHERE id = $1", "SELECT titel FROM books",
                    "INSERT INTO books (title) VALUES ($1)", "DELETE FROM books",
                    "SELECT 1 +"):
            db.analyse(sql)
        refused = [db.analyse(sql) for sql in (
            "SELECT 1; DELETE FROM books", "SELECT pg_advisory_lock(1)",
            "SELECT nextval('tickets')", "CREATE TABLE x (a int)",
            "DELETE FROM books; SELECT 1")]
        assert [a.sent for a in refused] == [False] * 5
        answer = db.analyse("SELECT titel FROM books")
        assert answer.sqlstate == "42703" and answer.position == 7
        [(left,)] = db.conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchall()
        assert left == 0
    finally:
        db.close()
    assert len(_state(database)[0]) == 3


def test_a_privileged_role_is_refused_unless_allowed(tmp_path: Path, database: str) -> None:
    refused = _run(tmp_path, database, UNSEEN)
    assert refused.exit_code == 2
    assert "--allow-privileged-role" in refused.stderr and "analysis" in refused.stderr
    allowed = _run(tmp_path, database, UNSEEN, "--allow-privileged-role")
    assert allowed.exit_code == 1 and len(allowed.json["findings"]) == 4


def test_on_sqlite_the_option_changes_nothing(tmp_path: Path) -> None:
    """SQLite has no server: its own compiler already decides (EXPLAIN on a schema
    copy), so the option is a documented no-op, not an error -- one rules file
    may run against a SQLite test database and a PostgreSQL server."""
    build_db(tmp_path / "app.db", "CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT);")
    body = ('    cur.execute("SELECT titel FROM books WHERE id = ?", (x,))\n'
            '    cur.execute("SELECT rowid, title FROM books")\n')
    runs = []
    for server in (False, True):
        write_tree(tmp_path, {
            "rules.yaml": ("version: 1\ndialect: sqlite\ndatabase: sqlite:///app.db\nrules:\n"
                           "  - {id: refs, kind: references-exist, columns: true, "
                           f"server_check: {'true' if server else 'false'}}}\n"),
            "app.py": "def run(cur, x):\n" + body})
        runs.append(gatecheck("run", "--format", "json", "--verbose", cwd=tmp_path))
    assert runs[0].json["findings"] == runs[1].json["findings"]
    assert [(f["line"], f["object"]) for f in runs[1].json["findings"]] == [(2, "books.titel")]
    assert "server_check: no server" in runs[1].stderr


def test_parameters_are_numbered_for_the_server() -> None:
    """Driver parameters become ``$n`` (one number per name); literals, comments and
    dollar quotes keep theirs; offsets map back to the statement as written."""
    prepared = for_server("SELECT a FROM t WHERE b = %s AND c = %(k)s AND d = %(k)s "
                          "AND e LIKE '%s' -- %s")
    assert not isinstance(prepared, str)
    assert prepared.text == ("SELECT a FROM t WHERE b = $1 AND c = $2 AND d = $2 "
                             "AND e LIKE '%s' -- %s")
    prepared = for_server("SELECT a FROM t WHERE b = ? AND c IN :names AND d = :d::int")
    assert not isinstance(prepared, str)
    assert prepared.text == "SELECT a FROM t WHERE b = $1 AND c IN ($2) AND d = $3::int"
    assert prepared.original(prepared.text.index("d = $3") + 4) == \
        "SELECT a FROM t WHERE b = ? AND c IN :names AND d = :d::int".index(":d::")
    for sql in ("CREATE TABLE x (a int)", "SELECT nextval('s')", "SELECT FROM WHERE",
                "SELECT 1; SELECT 2"):
        assert isinstance(for_server(sql), str), sql


def test_a_replay_on_a_scratch_server_is_analysed_too(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrations replayed into a scratch database (as a role with only CREATEDB): the
    server that built it analyses the statements."""
    from pgserver import creator_url

    monkeypatch.setenv("REPLAY_URL", creator_url())
    write_tree(tmp_path, {
        "rules.yaml": ("version: 1\ndialect: postgres\n"
                       "database: {migrations: \"db/*.sql\", replay_url: \"${REPLAY_URL}\"}\n"
                       "rules:\n  - {id: refs, kind: references-exist, columns: true, "
                       "server_check: true}\n"),
        "db/v1.sql": SCHEMA,
        "app.py": "def run(cur, x):\n" + UNSEEN})
    run = gatecheck("run", "--format", "json", "--verbose", cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    assert _found(run) == [(2, "labl"), (3, "c"), (4, "cod"), (5, "bb")], run.json
