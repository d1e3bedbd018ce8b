"""Issue 13, live PostgreSQL: data rules cannot write, act beyond a read, or hang CI.

Items 1 (no statement smuggling, no session state carried between queries,
URL options refused), 7 (functions with side effects, privileged roles) and
11 (connect_timeout floor, a stalled backend abandoned from the client), each
on the real test server (`pgserver`).  The data-values half of item 7 is in
``test_security_data_output.py``.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import pytest

from conftest import gatecheck, write_tree
from pgserver import reader_url, run_sql, scratch_database, with_credentials

from gatecheck.errors import DatabaseError
from gatecheck.introspect.postgres import PostgresDatabase
from gatecheck.policy import Policy

VICTIMS = """
CREATE TABLE victims (id int PRIMARY KEY);
INSERT INTO victims SELECT generate_series(1, 5);
CREATE TABLE schema_migrations (migration_id text, applied_at text, status text);
INSERT INTO schema_migrations VALUES ('v35_archive_x', '2025-01-01', 'success');
CREATE TABLE x_legacy (id int);
"""


@pytest.fixture
def pg() -> Iterator[str]:
    with scratch_database("gct_sec") as url:
        run_sql(url, VICTIMS)
        yield url


def _count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM victims").fetchone()
    assert row is not None
    return int(row[0])


# ---------------------------------------------------------------- item 1


# sqlglot (and PostgreSQL with standard_conforming_strings on) reads '\'' as an
# escaped quote inside one string that runs to the last quote; with the setting
# off PostgreSQL ends the string there, and the rest ran as statements.
SMUGGLED = ("status = '\\'' ; COMMIT; BEGIN READ WRITE; DELETE FROM victims; "
            "SELECT 1 WHERE '' = '")


def test_the_audit_proof_of_concept_deletes_nothing(pg: str, tmp_path: Path) -> None:
    """The PoC of item 1, as the owner (even a privileged role allowed by flag)."""
    write_tree(tmp_path, {"rules.yaml": f"""version: 1
rules:
  - id: loosen
    kind: query
    sql: "SELECT set_config('standard_conforming_strings', 'off', false) WHERE false"
  - id: cleanup
    kind: legacy-retention
    pattern: "*_legacy"
    max_age_days: 30
    record_table: schema_migrations
    record_column: applied_at
    record_where: {SMUGGLED!r}
"""})
    run = gatecheck("run", "--db", pg, "--format", "json", "--allow-privileged-role",
                    cwd=tmp_path)
    assert _count(pg) == 5
    messages = {f["rule"]: f["message"] for f in run.json["findings"]}
    assert "calls set_config" in messages["loosen"]
    assert run.exit_code == 1


def test_a_second_statement_is_refused_by_the_protocol(pg: str) -> None:
    """Past every check gatecheck makes itself, the server refuses a second statement."""
    db = PostgresDatabase.open(pg, policy=Policy(allow_privileged_role=True))
    try:
        with pytest.raises(DatabaseError, match="multiple commands"):
            db.query("SELECT 1; COMMIT; BEGIN READ WRITE; DELETE FROM victims")
        with pytest.raises(DatabaseError, match="multiple commands"):
            db.query("SELECT 1; DELETE FROM victims", limit=1)
    finally:
        db.close()
    assert _count(pg) == 5


def test_no_session_setting_outlives_its_query(pg: str) -> None:
    """A function the denylist cannot see changes session settings; the next query is reset."""
    run_sql(pg, """
        CREATE FUNCTION loosen() RETURNS text LANGUAGE sql AS $$
          SELECT set_config('standard_conforming_strings', 'off', false)
                 || set_config('default_transaction_read_only', 'off', false)
                 || set_config('search_path', 'pg_temp', false)
        $$""")
    db = PostgresDatabase.open(pg, policy=Policy(allow_privileged_role=True))
    try:
        db.query("SELECT loosen()")
        [row] = db.query("SELECT current_setting('standard_conforming_strings'), "
                         "current_setting('default_transaction_read_only'), "
                         "current_setting('search_path')").rows
        assert row == ("on", "on", '"public"')
        [(text,)] = db.query("SELECT '\\'' ; DELETE FROM victims; SELECT ' AS s").rows
        assert text == "\\' ; DELETE FROM victims; SELECT "
    finally:
        db.close()
    assert _count(pg) == 5


@pytest.mark.parametrize("options", ["-c standard_conforming_strings=off",
                                     "-c search_path=evil,public",
                                     "-c default_transaction_read_only=off",
                                     "--statement_timeout=0", "-c role=postgres",
                                     "-c backslash_quote=on", "-d 5"])
def test_url_options_that_change_parsing_or_guards_are_refused(
        pg: str, tmp_path: Path, options: str) -> None:
    url = f"{reader_url(pg)}?options={quote(options)}"
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: q, kind: query, sql: SELECT 1 WHERE false}\n"})
    run = gatecheck("run", "--db", url, cwd=tmp_path)
    assert run.exit_code == 2
    assert "refused" in run.stderr
    assert "Traceback" not in run.stderr


def test_harmless_url_options_still_work(pg: str, tmp_path: Path) -> None:
    url = f"{reader_url(pg)}?options={quote('-c timezone=UTC -c DateStyle=ISO')}"
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n  - id: q\n    kind: query\n"
                          "    sql: SELECT current_setting('TimeZone') AS tz\n"})
    run = gatecheck("run", "--db", url, "--format", "json", "--show-data", cwd=tmp_path)
    assert run.stderr == ""
    [finding] = run.json["findings"]
    assert finding["message"] == "the query returned a row: tz='UTC'"


# ---------------------------------------------------------------- item 7


SIDE_EFFECTS = {
    "terminate": "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE application_name = 'victim'",
    "cancel": "SELECT pg_cancel_backend(1)",
    "reload": "SELECT pg_reload_conf()",
    "read-file": "SELECT pg_read_file('/etc/passwd')",
    "ls-dir": "SELECT * FROM pg_ls_dir('.') AS d",
    "notify": "SELECT pg_notify('chan', 'x')",
    "advisory": "SELECT 1 WHERE pg_try_advisory_lock(42)",
    "set-config": "WITH s AS (SELECT set_config('work_mem', '1MB', false)) SELECT * FROM s",
    "dblink": "SELECT * FROM victims WHERE id = (SELECT dblink_exec('x', 'DELETE'))::int",
    "lo-export": "SELECT lo_export(1, '/tmp/gatecheck-lo')",
    "xml": "SELECT query_to_xml('DELETE FROM victims', true, false, '')",
}


@pytest.mark.parametrize("name", sorted(SIDE_EFFECTS))
def test_functions_with_side_effects_are_refused_before_sending(
        pg: str, tmp_path: Path, name: str) -> None:
    import psycopg

    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n  - id: q\n    kind: query\n"
                          f"    sql: {SIDE_EFFECTS[name]!r}\n"})
    with psycopg.connect(pg, autocommit=True, application_name="victim") as victim:
        victim.execute("LISTEN chan")
        run = gatecheck("run", "--db", pg, "--format", "json", "--allow-privileged-role",
                        cwd=tmp_path)
        [finding] = run.json["findings"]
        assert "nothing was sent" in finding["message"]
        # The other session is alive and was not notified.
        assert victim.execute("SELECT 1").fetchone() == (1,)
        assert list(victim.notifies(timeout=0.1, stop_after=1)) == []
    assert not Path("/tmp/gatecheck-lo").exists()


PRIVILEGED = ["SUPERUSER", "IN ROLE pg_signal_backend", "IN ROLE pg_read_server_files",
              "IN ROLE pg_write_server_files", "IN ROLE pg_execute_server_program"]


@pytest.mark.parametrize("grant", PRIVILEGED)
def test_a_privileged_role_runs_no_data_rule_unless_allowed(
        pg: str, tmp_path: Path, grant: str) -> None:
    role = f"gct_priv_{PRIVILEGED.index(grant)}_{os.getpid()}"
    run_sql(pg, f"DROP ROLE IF EXISTS {role}; CREATE ROLE {role} LOGIN PASSWORD 'pw-12345' "
                f"{grant}; GRANT SELECT ON victims TO {role}")
    try:
        url = with_credentials(pg, role, "pw-12345")
        write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                              "  - {id: q, kind: query, sql: SELECT id FROM victims}\n"})
        refused = gatecheck("run", "--db", url, "--format", "json", cwd=tmp_path)
        [finding] = refused.json["findings"]
        assert f"refused to run data queries as role {role}" in finding["message"]
        assert "--allow-privileged-role" in finding["message"]
        held = "superuser" if grant == "SUPERUSER" else grant.split()[-1]
        assert held in finding["message"]
        allowed = gatecheck("run", "--db", url, "--format", "json", "--allow-privileged-role",
                            cwd=tmp_path)
        assert allowed.json["findings"][0]["message"].startswith("the query returned")
    finally:
        run_sql(pg, f"DROP OWNED BY {role}; DROP ROLE {role}")


def test_a_select_only_role_runs_data_rules(pg: str, tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: q, kind: query, sql: SELECT id FROM victims}\n"
                          "  - {id: e, kind: row-exists, table: victims}\n"})
    run = gatecheck("run", "--db", reader_url(pg), "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert {f["rule"] for f in run.json["findings"]} == {"q"}


# ---------------------------------------------------------------- item 11


def test_connect_timeout_zero_is_refused(pg: str, tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: t, kind: require-tables, tables: [victims]}\n"})
    run = gatecheck("run", "--db", f"{pg}?connect_timeout=0", cwd=tmp_path)
    assert run.exit_code == 2
    assert "connect_timeout=0 would wait forever" in run.stderr


def test_a_server_that_never_answers_is_given_up_on(tmp_path: Path) -> None:
    """A listener that accepts and says nothing: connect_timeout applies."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    port = listener.getsockname()[1]
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: t, kind: require-tables, tables: [victims]}\n"})
    started = time.monotonic()
    run = gatecheck("run", "--db", f"postgresql://u:pw@127.0.0.1:{port}/db?connect_timeout=1",
                    cwd=tmp_path)
    assert time.monotonic() - started < 10
    assert run.exit_code == 2
    assert "cannot connect" in run.stderr
    listener.close()


def test_a_stalled_backend_is_abandoned_after_the_time_limit(pg: str) -> None:
    """statement_timeout is applied by the backend: a stopped one needs the client's deadline."""
    db = PostgresDatabase.open(reader_url(pg))
    pid = db.conn.info.backend_pid
    db.schema()
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="did not answer"):
            db.query("SELECT count(*) FROM victims", timeout_s=1)
        assert time.monotonic() - started < 15
    finally:
        os.kill(pid, signal.SIGCONT)
        db.close()
