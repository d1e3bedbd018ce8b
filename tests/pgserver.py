"""A real PostgreSQL server for the tests (no mocks).

`server_url` returns ``$GATECHECK_TEST_PG_URL`` when set (``.ci/run`` starts a
server and exports it), else starts one with ``.ci/postgres.sh start`` -- the
same script, so local runs and CI get the same server -- once per test
process, and stops it at exit.  With no server to be had the tests that need
one are skipped locally but FAIL when ``CI`` is set: CI must never go green
without having run them.

`scratch_database` gives each test its own database on that server and drops it
afterwards.
"""

from __future__ import annotations

import atexit
import os
import secrets
import subprocess
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from conftest import REPO

SCRIPT = REPO / ".ci" / "postgres.sh"
_state: dict[str, str] = {}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL tests need a server in CI, and none could be had: {reason}",
                    pytrace=False)
    pytest.skip(f"no PostgreSQL server: {reason} (set GATECHECK_TEST_PG_URL, or install "
                "the postgresql package so .ci/postgres.sh can start one)")


def server_url() -> str:
    """The superuser URL of the test server (started on first use)."""
    if "url" in _state:
        return _state["url"]
    if "error" in _state:
        _unavailable(_state["error"])
    try:
        url = os.environ.get("GATECHECK_TEST_PG_URL") or _start()
        import psycopg

        with psycopg.connect(url, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any reason at all: reported once, as a skip or a failure
        _state["error"] = f"{type(exc).__name__}: {exc}"
        _unavailable(_state["error"])
    _state["url"] = url
    return url


def _start() -> str:
    proc = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f".ci/postgres.sh start failed: {proc.stderr.strip()[-2000:]}")
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in proc.stdout.splitlines() if line.startswith("export "))
    directory = exports["GATECHECK_TEST_PG_DIR"]
    atexit.register(subprocess.run, ["bash", str(SCRIPT), "stop", directory],
                    capture_output=True, timeout=120)
    return exports["GATECHECK_TEST_PG_URL"]


def require_pg_stat_statements(url: str) -> None:
    """Skip (fail in CI) unless the server preloads pg_stat_statements, as
    .ci/postgres.sh starts it (a server started by an older script does not)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        loaded = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
    if "pg_stat_statements" not in [name.strip() for name in loaded.split(",")]:
        _unavailable("the test server does not preload pg_stat_statements "
                     "(start it with .ci/postgres.sh)")


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def password_of(url: str) -> str:
    password = urlsplit(url).password
    assert password, "the test server's URL has a password"
    return password


def admin() -> Any:
    import psycopg

    return psycopg.connect(server_url(), autocommit=True)


def drop_database(name: str) -> None:
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def scratch_database(prefix: str = "gct") -> Iterator[str]:
    """A fresh, empty database on the test server; yields its superuser URL."""
    name = f"{prefix}_{secrets.token_hex(5)}"
    with admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    try:
        yield with_database(server_url(), name)
    finally:
        drop_database(name)


def run_sql(url: str, *scripts: str) -> None:
    """Run SQL scripts as written (several statements each), committing each."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for script in scripts:
            conn.execute(script)


def databases(pattern: str) -> list[str]:
    with admin() as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1",
                            (pattern,)).fetchall()
    return [r[0] for r in rows]


READER = "gct_reader"


def reader_url(url: str) -> str:
    """``url`` as a SELECT-only role (the recommended setup for data rules).

    The role is created once per server; each call grants it ``CONNECT`` on
    the URL's database and ``SELECT`` on every table that exists there now.
    """
    import psycopg

    password = _role(READER, "LOGIN")
    dbname = urlsplit(url).path.lstrip("/")
    with admin() as conn:
        conn.execute(f'GRANT CONNECT ON DATABASE "{dbname}" TO {READER}')
    with psycopg.connect(url, autocommit=True) as conn:
        schemas = [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname <> 'information_schema'").fetchall()]
        for schema in schemas:
            quoted = '"' + schema.replace('"', '""') + '"'
            conn.execute(f"GRANT USAGE ON SCHEMA {quoted} TO {READER}")
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {quoted} TO {READER}")
    return with_credentials(url, READER, password)


CREATOR = "gct_creator"


def creator_url() -> str:
    """The test server as a role with only CREATEDB: what a migrations replay should use."""
    password = _role(CREATOR, "LOGIN CREATEDB")
    return with_credentials(server_url(), CREATOR, password)


def _role(name: str, options: str) -> str:
    """Make role ``name`` with ``options`` once per server; its password for this process."""
    import psycopg

    password = _state.setdefault(f"{name}_password", secrets.token_hex(12))
    with admin() as conn:
        if conn.execute("SELECT FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is None:
            try:
                conn.execute(f"CREATE ROLE {name} {options} PASSWORD '{password}'")
            except psycopg.errors.DuplicateObject:  # another test process made it
                pass
        conn.execute(f"ALTER ROLE {name} {options} PASSWORD '{password}'")
    return password
