"""The engine decides: statements SQLite or PostgreSQL accept are never sql-parses findings.

sqlglot finds and locates; SQLite's own compiler (stdlib ``sqlite3``, under
``EXPLAIN``) and PostgreSQL's own grammar (pglast) say what parses.  Each list
holds statements that the real engine accepts, many in shapes sqlglot reads
wrongly or not at all; each has a broken neighbour that must still fire.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from conftest import gatecheck, write_tree
from gatecheck import engines

SQLITE_VALID = [
    "SELECT * FROM sqlite_master WHERE type = 'table'",
    "SELECT name FROM sqlite_schema",
    "SELECT seq FROM sqlite_sequence WHERE name = ?",
    "SELECT * FROM temp.t",
    "SELECT * FROM main.t",
    "SELECT rowid, oid, _rowid_ FROM t",
    "CREATE VIRTUAL TABLE docs USING fts5(title, body)",
    "SELECT * FROM docs WHERE docs MATCH ?",
    "SELECT * FROM t WHERE x IN t2",
    "UPDATE OR IGNORE t SET a = 1 WHERE id = ?",
    "INSERT OR REPLACE INTO t (a) VALUES (?)",
    "INSERT OR IGNORE INTO t (a) SELECT a FROM u",
    "REPLACE INTO t (a) VALUES (1)",
    "SELECT * FROM t WHERE id = ?1 OR id = ?2",
    "SELECT * FROM t WHERE a = :a AND b = @b AND c = $c",
    "CREATE TABLE refs (task INTEGER REFERENCES tasks(id) NOT DEFERRABLE)",
    "CREATE TABLE d (a INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)",
    "CREATE TABLE s (a TEXT) STRICT",
    "CREATE TABLE w (a TEXT PRIMARY KEY) WITHOUT ROWID",
    "CREATE TRIGGER touch AFTER UPDATE ON t BEGIN UPDATE t SET n = n + 1 WHERE id = NEW.id; END",
    "SELECT * FROM t INDEXED BY t_a",
    "SELECT * FROM t NOT INDEXED",
    "INSERT INTO t DEFAULT VALUES",
    "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = excluded.a",
    "SELECT a -> '$.x', a ->> '$.y' FROM t",
    "SELECT count(*) FILTER (WHERE a) FROM t",
    "SELECT a FROM t WINDOW w AS (ORDER BY a)",
    "SELECT * FROM pragma_table_info('t')",
    "PRAGMA foreign_keys = ON",
    "PRAGMA table_info(t)",
    "VACUUM",
    "REINDEX t",
    "ANALYZE",
    "SAVEPOINT sp",
    "RELEASE sp",
    "BEGIN IMMEDIATE",
    "SELECT * FROM t LIMIT 1, 2",
    "DELETE FROM t WHERE a = 1 RETURNING *",
    "ALTER TABLE t RENAME COLUMN a TO b",
    "ALTER TABLE t DROP COLUMN a",
    "SELECT iif(a, 1, 2) FROM t",
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5) SELECT x FROM c",
    "EXPLAIN QUERY PLAN SELECT * FROM t",
]
SQLITE_BROKEN = ["SELEC * FROM t", "SELECT * FROM", "UPDATE OR IGNORE t SET a = 1 WHER id = 1",
                 "UPSERT", "SELECT CAST(a AS TEXT COLLATE NOCASE) FROM t",
                 "CREATE TRIGGER x AFTER INSERT ON t BEGIN UPDAT t SET a = 1; END"]

POSTGRES_VALID = [
    "CREATE TRIGGER audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_fn()",
    "CREATE TRIGGER audit2 BEFORE UPDATE ON orders FOR EACH ROW EXECUTE PROCEDURE audit_fn()",
    "CREATE EVENT TRIGGER no_drops ON sql_drop EXECUTE FUNCTION stop_drops()",
    "CREATE TEMP TABLE scratch (a int) ON COMMIT DROP",
    "SELECT * FROM orders o JOIN lines l ON l.order_id = o.id FOR UPDATE OF o",
    "CREATE INDEX docs_gin ON docs USING gin (body jsonb_path_ops)",
    "CREATE INDEX names_trgm ON people USING gist (name gist_trgm_ops)",
    "DROP FUNCTION IF EXISTS audit_fn(integer)",
    "SELECT e FROM json_array_elements('[1, 2]') AS e",
    "SELECT * FROM generate_series(1, 10) AS g(n)",
    "SELECT p FROM participants p",
    "SELECT count(b) FROM books b",
    "UPDATE t SET a = 1 RETURNING t",
    "SELECT (a, b)::pair FROM t",
    "SELECT * FROM pg_catalog.pg_class",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM t WHERE a = $1 AND b = ANY($2)",
    "SELECT * FROM t WHERE a = ? AND b = ?",
    "SELECT value FROM cache WHERE key = :key AND now() < ttl",
    "SELECT object_id FROM acl WHERE principal IN :principals AND n::int > :n",
    "SELECT data ? 'key' FROM docs",
    "INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO NOTHING",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS b text",
    "CREATE MATERIALIZED VIEW mv AS SELECT 1 AS one WITH NO DATA",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "COMMENT ON TABLE t IS 'x'",
    "LISTEN events",
    "DO $$ BEGIN PERFORM 1; END $$",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$",
    "SELECT E'it\\'s', $tag$ a ; b $tag$",
    "VACUUM (ANALYZE) t",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
]
POSTGRES_BROKEN = ["SELEC 1", "SELECT * FROM t WHER a = 1", "CREATE TRIGGER x AFTER ON t",
                   "UPSERT", "SELECT value FROM cache WHERE key = :key AN now() < ttl"]


@pytest.mark.parametrize("sql", SQLITE_VALID)
def test_sqlite_accepts(sql: str) -> None:
    assert engines.syntax("sqlite", sql) is engines.ACCEPTED


@pytest.mark.parametrize("sql", SQLITE_BROKEN)
def test_sqlite_rejects(sql: str) -> None:
    assert isinstance(engines.syntax("sqlite", sql), engines.Rejected)


@pytest.mark.parametrize("sql", POSTGRES_VALID)
def test_postgres_accepts(sql: str) -> None:
    assert engines.syntax("postgres", sql) is engines.ACCEPTED


@pytest.mark.parametrize("sql", POSTGRES_BROKEN)
def test_postgres_rejects(sql: str) -> None:
    assert isinstance(engines.syntax("postgres", sql), engines.Rejected)


@pytest.mark.parametrize("dialect, valid, broken", [
    ("sqlite", SQLITE_VALID, SQLITE_BROKEN), ("postgres", POSTGRES_VALID, POSTGRES_BROKEN)])
def test_sql_parses_fires_exactly_on_what_the_engine_rejects(
        tmp_path: Path, dialect: str, valid: list[str], broken: list[str]) -> None:
    """Through the CLI: the valid statements are silent, each broken one is one finding
    on its own line, in a .sql file and as strings at an execute() sink."""
    statements = valid + broken
    sql_file = "".join(f"{s};\n" for s in statements)
    py_file = "def run(cur):\n" + "".join(f"    cur.execute({s!r})\n" for s in statements)
    write_tree(tmp_path, {"rules.yaml": f"version: 1\ndialect: {dialect}\nrules:\n"
                                        "  - {id: sql-parses, kind: sql-parses}\n",
                          "all.sql": sql_file, "app.py": py_file})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    lines = {f["path"]: set() for f in run.json["findings"]}
    for f in run.json["findings"]:
        lines[f["path"]].add(f["line"])
    first_broken = len(valid) + 1
    expected = set(range(first_broken, first_broken + len(broken)))
    assert lines.get("all.sql") == expected
    assert lines.get("app.py") == {n + 1 for n in expected}


def test_the_compile_check_runs_nothing(tmp_path: Path) -> None:
    """EXPLAIN compiles without running, on a private database that cannot attach."""
    target = tmp_path / "made.db"
    for sql in (f"ATTACH '{target}' AS x", f"VACUUM INTO '{target}'"):
        assert engines.syntax("sqlite", sql) is engines.ACCEPTED
    assert not target.exists()
    assert sqlite3.connect(":memory:") is not None


def test_the_engine_names_the_tables_a_create_makes() -> None:
    """sqlglot cannot read these CREATEs; SQLite's authorizer names what they create."""
    from gatecheck.engines.sqlite import NameOracle
    from gatecheck.model import Schema

    oracle = NameOracle(Schema())
    assert oracle.created('CREATE VIRTUAL TABLE "s_fts" USING FTS5 (a, content="s")') == \
        {"s_fts"}
    assert oracle.created("CREATE TABLE t (a, b, FOREIGN KEY (a) REFERENCES u(x) "
                          "FOREIGN KEY (b) REFERENCES u(y))") == {"t"}
    assert oracle.created("CREATE VIEW v AS SELECT 1") == {"v"}
    # Nothing was created: the statements were only compiled.
    assert oracle.missing("SELECT * FROM t").tables == {"t"}


def test_only_sqlalchemy_text_is_a_sink(tmp_path: Path) -> None:
    """``Response.text("Method not allowed")`` is a web response, not SQL; ``sa.text``
    and a bare ``text`` are SQLAlchemy's."""
    write_tree(tmp_path, {
        "rules.yaml": "version: 1\nrules:\n  - {id: parses, kind: sql-parses}\n",
        "app.py": ('return Response.text("Method not allowed", status=405)\n'
                   'q = sa.text("SELEC 1")\n'
                   'r = text("SELEC 2")\n')})
    run = gatecheck("run", "--format", "concise", cwd=tmp_path)
    assert [line.split(":")[1] for line in run.stdout.splitlines()[:-1]] == ["2", "3"], \
        run.stdout


def test_translated_ui_text_is_never_sql(tmp_path: Path) -> None:
    """``_("Delete from gPodder")`` is valid SQL to SQLite, and a UI label: the argument
    of a translation call is never a candidate; the same text in execute() still is."""
    write_tree(tmp_path, {
        "rules.yaml": ("version: 1\nrules:\n  - {id: no-gpodder, kind: forbid-table-references,"
                       " tables: [gPodder]}\n"),
        "app.py": ('label = _("Delete from gPodder")\n'
                   'other = gettext("Delete from gPodder")\n'
                   'cur.execute("Delete from gPodder")\n')})
    run = gatecheck("run", "--format", "concise", cwd=tmp_path)
    assert [line.split(":")[1] for line in run.stdout.splitlines()[:-1]] == ["3"], run.stdout


def test_the_engine_makes_the_files_own_tables_first() -> None:
    """A file's CREATE statements run on the schema copy before the probe, so SQLite
    knows their columns by its own account (typeless columns too); a CREATE TABLE
    ... AS SELECT that would compute rows forever is stopped, not waited for."""
    from gatecheck.engines.sqlite import NameOracle
    from gatecheck.model import Schema

    oracle = NameOracle(Schema())
    creates = ["CREATE TABLE made (pk integer primary key, untyped, n text)",
               "CREATE TABLE loop AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
               "SELECT x + 1 FROM c) SELECT x FROM c"]
    found = oracle.missing("SELECT untyped, n FROM made", creates=creates)
    assert found == (frozenset(), frozenset(), True)
    found = oracle.missing("SELECT untypd FROM made", creates=creates,
                           columns_of={"untypd": {"made"}})
    assert found.columns == {"untypd"}
    # Rolled back after each probe: nothing made survives.
    assert oracle.missing("SELECT * FROM made").tables == {"made"}


def test_each_probe_makes_only_what_the_statement_may_name() -> None:
    """The schema copy is made per probe from the tables and views a statement may
    name (a view's own tables followed), so a stand-in ALTER on a large schema does
    not reload all of it; names are still resolved exactly as against the whole
    schema, a table known only by its columns included."""
    from gatecheck.engines.sqlite import NameOracle
    from gatecheck.model import Column, Schema, Table, View

    tables = tuple(Table(f"t{i}", (Column("id", "INTEGER"),),
                         sql=f"CREATE TABLE t{i} (id INTEGER)") for i in range(300))
    schema = Schema(tables=(*tables,
                            Table("users", (Column("id"), Column("email")),
                                  sql='CREATE TABLE "users" (id INTEGER, email TEXT)'),
                            Table("legacy", (Column("id"), Column("note")), sql=None)),
                    views=(View("active", "CREATE VIEW active AS SELECT id, email FROM users",
                                ("id", "email")),))
    oracle = NameOracle(schema)
    assert oracle.missing("SELECT email FROM active") == (frozenset(), frozenset(), True)
    assert oracle.missing("SELECT note FROM legacy JOIN t7 USING (id)") == \
        (frozenset(), frozenset(), True)
    found = oracle.missing("SELECT emial, nope FROM users", columns_of={
        "emial": {"users"}, "nope": {"users"}})
    assert found == (frozenset(), frozenset({"emial", "nope"}), True)
    assert oracle.missing("SELECT * FROM t299 JOIN gone USING (id)").tables == {"gone"}
    # Nothing made for one probe is left for the next.
    assert oracle.conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE 't%'"
                               ).fetchone()[0] == 0


def test_a_pragma_checked_before_changes_no_verdict() -> None:
    """``EXPLAIN PRAGMA query_only = 1`` sets the pragma while it compiles.  A
    statement of the user's code checked earlier must not change a later verdict:
    on the syntax check's database a CREATE then still gets its stand-ins (and its
    syntax error), and on the schema copy an existing table is still found."""
    from gatecheck.engines.sqlite import NameOracle, syntax_error
    from gatecheck.model import Column, Schema, Table

    trigger = ("CREATE TRIGGER tr AFTER UPDATE ON gone BEGIN "
               "INSERT INTO log (id) FROM VALUES (1); END")
    for pragma in ("PRAGMA query_only = 1", "PRAGMA main.query_only = ON",
                   "PRAGMA writable_schema = 1"):
        assert syntax_error(pragma) is None
        verdict = syntax_error(trigger)
        assert verdict is not None and verdict.near == "FROM", verdict
        assert syntax_error("SELECT * FROM elsewhere WHERE") is not None
        assert syntax_error("SELECT * FROM elsewhere") is None
    assert syntax_error("PRAGMA query_only = = 1") is not None

    schema = Schema(tables=(Table("t", (Column("id"), Column("name")),
                                  sql="CREATE TABLE t (id INTEGER, name TEXT)"),))
    oracle = NameOracle(schema)
    assert oracle.missing("PRAGMA query_only = 1") == (frozenset(), frozenset(), True)
    assert oracle.missing("PRAGMA table_info(t)") == (frozenset(), frozenset(), True)
    found = oracle.missing("SELECT nope, name FROM t", columns_of={"nope": {"t"}})
    assert found == (frozenset(), frozenset({"nope"}), True)
    assert oracle.missing("SELECT * FROM t JOIN gone USING (id)").tables == {"gone"}
