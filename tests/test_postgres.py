"""PostgreSQL on a real server: introspection, read-only sessions, errors.

Every test gets its own database on the test server (`pgserver`); nothing is
mocked.  Findings parity with SQLite is in ``test_postgres_parity.py``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import REPO, gatecheck, gatecheck_subprocess, write_tree
from pgserver import (password_of, reader_url, run_sql, scratch_database, server_url,
                      with_credentials, with_database)

from gatecheck.config import DatabaseSpec
from gatecheck.errors import DatabaseError
from gatecheck.introspect import open_database, redact


@pytest.fixture
def pg() -> Iterator[str]:
    """The superuser URL of a fresh database."""
    with scratch_database() as url:
        yield url


SHOP = """
CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL UNIQUE);
CREATE TABLE orders (
    shop text, number integer, customer_id integer REFERENCES customers ON DELETE CASCADE,
    placed_at timestamptz DEFAULT now(),
    PRIMARY KEY (shop, number));
CREATE TABLE order_lines (
    shop text, order_no integer, line integer, sku text,
    FOREIGN KEY (order_no, shop) REFERENCES orders (number, shop) ON UPDATE CASCADE);
CREATE INDEX order_lines_sku ON order_lines (lower(sku), line);
CREATE VIEW big_orders AS SELECT o.shop, o.number FROM orders o JOIN order_lines l
    ON l.shop = o.shop AND l.order_no = o.number GROUP BY 1, 2 HAVING count(*) > 10;
CREATE MATERIALIZED VIEW order_counts AS SELECT customer_id, count(*) AS n FROM orders GROUP BY 1;
CREATE TABLE events (id bigint, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE "Audit" ("Id" integer PRIMARY KEY, note text);
CREATE FUNCTION audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    IF NEW.number > 0 THEN
        INSERT INTO "Audit" ("Id", note) VALUES (NEW.number, 'placed');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_fn();
"""


# ---------------------------------------------------------------- introspection


def test_introspection_reads_every_kind_of_object(pg: str) -> None:
    run_sql(pg, SHOP)
    db = open_database(DatabaseSpec(url=pg))
    try:
        schema = db.schema()
    finally:
        db.close()
    assert [t.name for t in schema.tables] == ["Audit", "customers", "events", "order_lines",
                                               "orders"]  # the partition is left out
    orders = schema.table("ORDERS")
    assert orders is not None and orders.primary_key == ("shop", "number")
    assert [(c.name, c.type, c.not_null) for c in orders.columns] == [
        ("shop", "text", True), ("number", "integer", True), ("customer_id", "integer", False),
        ("placed_at", "timestamp with time zone", False)]
    assert orders.column("placed_at").default == "now()"  # type: ignore[union-attr]
    [fk] = orders.foreign_keys
    assert (fk.columns, fk.ref_table, fk.ref_columns, fk.on_delete) == (
        ("customer_id",), "customers", ("id",), "CASCADE")
    lines = schema.table("order_lines")
    assert lines is not None
    [composite] = lines.foreign_keys
    assert (composite.columns, composite.ref_columns, composite.on_update) == (
        ("order_no", "shop"), ("number", "shop"), "CASCADE")
    assert [(i.name, i.columns, i.unique, i.origin) for i in lines.indexes] == [
        ("order_lines_sku", ("lower(sku)", "line"), False, "c")]
    customers = schema.table("customers")
    assert customers is not None
    assert [(i.name, i.columns, i.unique, i.origin) for i in customers.indexes] == [
        ("customers_email_key", ("email",), True, "u"), ("customers_pkey", ("id",), True, "pk")]
    assert [v.name for v in schema.views] == ["big_orders", "order_counts"]
    assert schema.view("order_counts").sql.startswith(  # type: ignore[union-attr]
        'CREATE MATERIALIZED VIEW "order_counts" AS')
    assert schema.view("big_orders").columns == ("shop", "number")  # type: ignore[union-attr]
    [trigger] = schema.triggers
    assert (trigger.name, trigger.table) == ("orders_audit", "orders")
    assert trigger.sql is not None and trigger.sql.startswith("CREATE TRIGGER orders_audit")
    assert 'INSERT INTO "Audit"' in trigger.sql and "DECLARE" not in trigger.sql
    # Quoted names keep their case, and an exact match wins over a folded one.
    assert schema.table('Audit') is not None and schema.table("audit") is not None
    assert schema.dialect == "postgres"


def test_schema_command_prints_the_postgres_schema(pg: str) -> None:
    run_sql(pg, SHOP)
    run = gatecheck("schema", "--db", pg)
    assert run.exit_code == 0, run.stderr
    assert "customers_pkey" in run.stdout and password_of(pg) not in run.stdout


def test_trigger_bodies_do_not_follow_a_rename_in_postgres(pg: str, tmp_path: Path) -> None:
    """The one engine difference dependents-resolve sees: PL/pgSQL bodies are text.

    SQLite rewrites a trigger's body on ALTER TABLE ... RENAME; PostgreSQL
    rewrites views (kept by OID) but not a trigger function, which then fails
    at the next write.
    """
    run_sql(pg, SHOP, 'ALTER TABLE "Audit" RENAME TO audit_legacy',
            "ALTER TABLE customers RENAME TO clients")
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: dependents, kind: dependents-resolve}\n"})
    run = gatecheck("run", "--db", pg, "--format", "json", cwd=tmp_path)
    assert [(f["object"], f["message"]) for f in run.json["findings"]] == [
        ("orders_audit", "trigger orders_audit references Audit, which does not exist")]


# ---------------------------------------------------------------- read-only


ALL_KINDS = """version: 1
dialect: postgres
include: [gates/session-tables.yaml, gates/migration-integrity.yaml]
rules:
  - {id: q, kind: query, sql: "SELECT session_id FROM chat_sessions ORDER BY 1 LIMIT 3"}
  - {id: refs, kind: references-exist}
"""


def _agentos(url: str) -> None:
    from test_postgres_parity import build_postgres

    build_postgres(url, 35, False)


def test_a_select_only_role_runs_every_rule_with_the_same_findings(
        pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """gatecheck needs no privilege beyond SELECT and USAGE: it writes nothing."""
    _agentos(pg)
    role = f"gc_reader_{os.getpid()}"
    dbname = pg.rsplit("/", 1)[1]
    run_sql(pg, f"""
        DROP ROLE IF EXISTS {role};
        CREATE ROLE {role} LOGIN PASSWORD 'reader-pw-123';
        REVOKE ALL ON DATABASE "{dbname}" FROM PUBLIC;
        REVOKE CREATE ON SCHEMA public FROM PUBLIC;
        GRANT CONNECT ON DATABASE "{dbname}" TO {role};
        GRANT USAGE ON SCHEMA public TO {role};
        GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};
    """)
    try:
        reader = with_credentials(pg, role, "reader-pw-123")
        shutil.copytree(REPO / "gates", tmp_path / "gates")
        write_tree(tmp_path, {"rules.yaml": ALL_KINDS,
                              "app/db.py": 'SQL = "SELECT * FROM chat_sessions"\n'})
        monkeypatch.setenv("GATECHECK_TODAY", "2025-06-20")
        before = _fingerprint(pg)
        as_reader = gatecheck("run", "--db", reader, "--format", "json", cwd=tmp_path)
        as_owner = gatecheck("run", "--db", pg, "--format", "json", "--allow-privileged-role",
                             cwd=tmp_path)
        assert as_reader.stderr == ""
        assert as_reader.json["findings"] == as_owner.json["findings"]
        assert {f["rule"] for f in as_reader.json["findings"]} == {
            "fk-resolve", "no-leftovers", "q"}
        assert _fingerprint(pg) == before
        # The role really can write nothing: not even a temporary table.
        import psycopg

        with psycopg.connect(reader, autocommit=True) as conn:
            for sql in ("CREATE TEMP TABLE t (x int)", "CREATE TABLE t (x int)",
                        "DELETE FROM chat_sessions"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    conn.execute(sql)
    finally:
        run_sql(pg, f"DROP OWNED BY {role}")
        run_sql(server_url(), f"DROP ROLE IF EXISTS {role}")


def _fingerprint(url: str) -> list[tuple[str, str]]:
    """Every table's name and an md5 of its rows: any write changes it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind = 'r' ORDER BY 1").fetchall()]
        return [(t, conn.execute(f'SELECT md5(coalesce(string_agg(x::text, \'|\' ORDER BY '
                                 f'x::text), \'\')) FROM "{t}" AS x').fetchone()[0])
                for t in tables]


def test_every_query_runs_in_a_read_only_transaction(pg: str, tmp_path: Path) -> None:
    """Even as a superuser (allowed by flag), and whatever a query tried to switch off."""
    run_sql(pg, "CREATE SEQUENCE s; CREATE TABLE t (x int);"
                "CREATE FUNCTION w() RETURNS int LANGUAGE sql AS 'INSERT INTO t VALUES (1) "
                "RETURNING x'")
    write_tree(tmp_path, {"rules.yaml": """version: 1
rules:
  - id: loosen
    kind: query
    sql: "SELECT set_config('default_transaction_read_only', 'off', false) WHERE false"
  - {id: sequence, kind: query, sql: "SELECT nextval('s')"}
  - {id: function, kind: query, sql: "SELECT w()"}
  - id: settings
    kind: query
    sql: >-
      SELECT current_setting('transaction_read_only') AS ro,
             current_setting('statement_timeout') AS timeout
  - {id: existing, kind: row-exists, table: t}
"""})
    run = gatecheck("run", "--db", pg, "--format", "json", "--show-data",
                    "--allow-privileged-role", cwd=tmp_path)
    messages = {f["rule"]: f["message"] for f in run.json["findings"]}
    # Functions known to act beyond a read are refused before anything is sent ...
    assert "calls set_config" in messages["loosen"]
    assert "calls nextval" in messages["sequence"]
    # ... and what a user-defined function does meets the read-only transaction.
    assert "read-only transaction" in messages["function"]
    assert messages["settings"] == "the query returned a row: ro='on', timeout='10s'"
    assert messages["existing"] == "table t is empty"


def test_a_slow_data_query_is_stopped_by_statement_timeout(pg: str, tmp_path: Path) -> None:
    pg = reader_url(pg)
    write_tree(tmp_path, {"rules.yaml": """version: 1
rules:
  - {id: slow, kind: query, timeout_s: 0.3, sql: "SELECT pg_sleep(5)"}
"""})
    started = time.monotonic()
    run = gatecheck("run", "--db", pg, "--format", "json", cwd=tmp_path)
    assert time.monotonic() - started < 4
    [finding] = run.json["findings"]
    assert finding["message"] == ("the query failed: query exceeded its time limit of 0.3 s; "
                                  "raise 'timeout_s' or add an index, and run again")


# ---------------------------------------------------------------- schemas and names


def test_several_schemas_qualify_names(pg: str, tmp_path: Path) -> None:
    run_sql(pg, """
        CREATE SCHEMA app;
        CREATE TABLE sessions (id text PRIMARY KEY);
        CREATE TABLE app.sessions (id text PRIMARY KEY);
        CREATE TABLE app.tasks (id text PRIMARY KEY, session_id text REFERENCES sessions);
        CREATE TABLE app.webui_chats (id text);
        CREATE TABLE app."Tasks" (id text);
        CREATE SCHEMA other;
        CREATE TABLE other.webui_ignored (id text PRIMARY KEY);
        CREATE TABLE app.outside (id text REFERENCES other.webui_ignored);
        INSERT INTO sessions VALUES ('a'), ('b');
        INSERT INTO app.sessions VALUES ('a');
        INSERT INTO app.tasks VALUES ('t1', 'a');
        INSERT INTO app."Tasks" VALUES ('t1'), ('t2');
    """)
    pg = reader_url(pg)  # data rules run as a SELECT-only role, as docs/security.md says
    write_tree(tmp_path, {"rules.yaml": f"""version: 1
database: {{url: "{pg}", schemas: [public, app]}}
rules:
  - {{id: no-webui, kind: forbid-tables, pattern: "webui_*"}}
  - {{id: one-session-table, kind: unique-family, pattern: "*session*"}}
  - {{id: required, kind: require-tables, tables: [app.tasks, sessions, app.nope, other.webui_ignored]}}
  - {{id: copied, kind: rows-preserved, from: sessions.id, to: app.sessions.id}}
  - {{id: mixed-case, kind: rows-preserved, from: app.Tasks.id, to: app.tasks.id}}
  - {{id: fk, kind: foreign-keys-resolve, archived: ["public.*"]}}
"""})
    run = gatecheck("run", "--format", "json", "--show-data", cwd=tmp_path)
    assert run.stderr == ""
    assert [(f["rule"], f["object"]) for f in run.json["findings"]] == [
        ("copied", "public.sessions"),
        ("fk", "app.tasks.session_id"),
        ("mixed-case", "app.Tasks"),
        ("no-webui", "app.webui_chats"),
        ("one-session-table", "app.sessions"),
        ("one-session-table", "public.sessions"),
        ("required", "app.nope"),
        ("required", "other.webui_ignored"),
    ]
    [copied] = [f for f in run.json["findings"] if f["rule"] == "copied"]
    assert copied["sample"] == ["b"]
    [mixed] = [f for f in run.json["findings"] if f["rule"] == "mixed-case"]
    assert mixed["sample"] == ["t2"]
    # --db swaps the server, not the schemas the rules file chose.
    swapped = gatecheck("run", "--db", pg, "--format", "json", "--show-data",
                        cwd=tmp_path)
    assert swapped.json["findings"] == run.json["findings"]
    # One schema: plain names, and public.x names x.
    rules = (tmp_path / "rules.yaml").read_text()
    (tmp_path / "one.yaml").write_text(rules.replace(
        f'{{url: "{pg}", schemas: [public, app]}}', f'"{pg}"'))
    one = gatecheck("run", "--config", "one.yaml", "--format", "json", cwd=tmp_path)
    assert ("required", "app.tasks") in [(f["rule"], f["object"])
                                         for f in one.json["findings"]]
    assert not any(f["object"].startswith("public.") for f in one.json["findings"])
    # A foreign key into a schema not read (app.outside -> other.*) is not checked.
    assert not any(f["rule"] == "fk" and "outside" in f["object"]
                   for f in run.json["findings"] + one.json["findings"])


def test_schemas_only_for_postgres(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": """version: 1
database: {url: "sqlite:///app.db", schemas: [main]}
rules: [{id: t, kind: require-tables, tables: [x]}]
""", "app.db": b""})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "only PostgreSQL has schemas" in run.stderr


# ---------------------------------------------------------------- errors


def _silent_server() -> tuple[int, threading.Event]:
    """A loopback port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    stop = threading.Event()

    def serve() -> None:
        held = []
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue
        for conn in held:
            conn.close()
        sock.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1], stop


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


PLANTED = "Pl4nted-s3cret"


@pytest.mark.parametrize("case", ["unreachable", "bad-credentials", "missing-database",
                                  "connect-timeout"])
def test_connection_errors_are_one_line_without_the_password(case: str,
                                                             tmp_path: Path) -> None:
    url = server_url()
    stop = None
    if case == "unreachable":
        db = f"postgresql://postgres:{PLANTED}@127.0.0.1:{_closed_port()}/postgres"
        expected = "Connection refused"
    elif case == "bad-credentials":
        db = with_credentials(url, "postgres", PLANTED)
        expected = 'password authentication failed for user "postgres"'
    elif case == "missing-database":
        db = with_database(url, "no_such_db")
        expected = 'database "no_such_db" does not exist'
    else:
        port, stop = _silent_server()
        db = f"postgresql://postgres:{PLANTED}@127.0.0.1:{port}/postgres?connect_timeout=2"
        expected = "timeout expired"
    secret = PLANTED if case != "missing-database" else password_of(url)
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: t, kind: require-tables, tables: [x]}\n"
                          "  - {id: q, kind: query, sql: 'SELECT 1 WHERE false'}\n"})
    try:
        outputs = []
        # Each connect-timeout run waits out libpq's 2 s minimum: two formats suffice.
        formats = ("text", "json") if case == "connect-timeout" else \
            ("text", "json", "sarif", "github", "junit")
        for fmt in formats:
            run = gatecheck_subprocess("run", "--db", db, "--format", fmt, "--verbose",
                                       cwd=tmp_path)
            assert run.exit_code == 2, (fmt, run.stderr)
            lines = run.stderr.strip().splitlines()
            assert len(lines) == 1, lines
            assert lines[0].startswith("gatecheck: error: cannot connect to PostgreSQL at "
                                       "postgresql://postgres:***@127.0.0.1:")
            assert expected in lines[0]
            assert "Traceback" not in run.stderr
            outputs += [run.stdout, run.stderr]
        schema = gatecheck_subprocess("schema", "--db", db, cwd=tmp_path)
        assert schema.exit_code == 2
        outputs += [schema.stdout, schema.stderr]
    finally:
        if stop is not None:
            stop.set()
    for text in outputs:
        assert secret not in text


def test_redact_hides_passwords_in_every_url_form() -> None:
    assert redact("postgresql://u:s3cret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db?password=s3cret&sslmode=require") == \
        "postgresql://u@h/db?password=***&sslmode=require"
    assert redact("postgresql://h/db") == "postgresql://h/db"


def test_missing_driver_is_a_clear_usage_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: t, kind: require-tables, tables: [x]}\n"})
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from gatecheck.cli import main\n"
            "main(['run', '--db', 'postgresql://u:pw-xyz@127.0.0.1:1/db'])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "gatecheck: error: PostgreSQL support needs the psycopg driver, which is not "
        "installed: pip install 'gatecheck[postgres]'")


def test_database_mapping_config_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": """version: 1
database: {url: "postgresql://h/db", migrations: "m/*.sql"}
rules: [{id: t, kind: require-tables, tables: [x]}]
"""})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "a mapping needs either 'url: URL' or 'migrations: GLOB' (not both)" in run.stderr
    write_tree(tmp_path, {"rules.yaml": """version: 1
database: {url: "${NO_SUCH_VAR_X}", schemas: [public]}
rules: [{id: t, kind: require-tables, tables: [x]}]
"""})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "environment variable NO_SUCH_VAR_X is not set" in run.stderr


def test_env_expansion_in_the_url_mapping(pg: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    run_sql(pg, "CREATE TABLE x (id int)")
    monkeypatch.setenv("GC_TEST_DB_URL", pg)
    write_tree(tmp_path, {"rules.yaml": """version: 1
database: {url: "${GC_TEST_DB_URL}", schemas: [public]}
rules: [{id: t, kind: require-tables, tables: [x, y]}]
"""})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [f["object"] for f in run.json["findings"]] == ["y"]


def test_open_database_rejects_a_bad_url() -> None:
    with pytest.raises(DatabaseError, match="invalid PostgreSQL URL"):
        open_database(DatabaseSpec(url="postgresql://u:pw@h:notaport/db?bogus_option=1"))
