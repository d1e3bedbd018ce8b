#!/usr/bin/env python3
"""Benchmark: gatecheck on PostgreSQL vs the bare SQL it stands for.

    .venv/bin/python bench/postgres.py [--tables 2000] [--rows 1000000] [--repeat 5]

Needs a PostgreSQL server: ``$GATECHECK_TEST_PG_URL`` (a superuser URL, as
``.ci/run`` exports), else one started with ``.ci/postgres.sh start`` for the
run and stopped after.  Everything happens in a scratch database, dropped at
the end.  Two measurements, side by side:

1. Introspection of a ``--tables``-table schema (each table with a primary
   key, a foreign key to the previous table and a secondary index; plus a
   view and a trigger every 100 tables): ``PostgresDatabase.schema()`` (its
   five bulk catalog queries in one read-only transaction, then the
   frozen model) against the same five queries run bare with psycopg and
   fetched, and against those joined to the connection time; gatecheck's
   column adds its own connection (read-only options, search_path).
2. ``rows-preserved`` over two ``--rows``-row tables (text keys): a whole
   in-process ``gatecheck run`` of one rule (config, connect, introspection,
   the count and, when rows are missing, the sample query) against the bare
   anti-join (``LEFT JOIN ... IS NULL`` count, plus the sample) on an
   open connection.  Scenarios: every row preserved; 1% lost.

Prints the best of ``--repeat`` runs (median in parentheses).  A benchmark,
not a test: nothing is asserted except that gatecheck and the bare SQL agree.
"""

from __future__ import annotations

import argparse
import atexit
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit, urlunsplit

import psycopg

from gatecheck.config import DatabaseSpec, load_config
from gatecheck.engine import Engine
from gatecheck.introspect import postgres

REPO = Path(__file__).resolve().parent.parent

RULES = """version: 1
rules:
  - id: zero-loss
    kind: rows-preserved
    from: sessions_legacy
    to: sessions
    key: session_id
    timeout_s: 600
"""
ANTI_JOIN = """FROM sessions_legacy AS a
LEFT JOIN sessions AS b ON b.session_id = a.session_id WHERE b.session_id IS NULL"""
SCENARIOS = {"all preserved": 0, "1% lost": 1}


def server() -> str:
    url = os.environ.get("GATECHECK_TEST_PG_URL")
    if url:
        return url
    proc = subprocess.run(["bash", str(REPO / ".ci" / "postgres.sh"), "start"],
                          capture_output=True, text=True, check=True)
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in proc.stdout.splitlines() if line.startswith("export "))
    atexit.register(subprocess.run, ["bash", str(REPO / ".ci" / "postgres.sh"), "stop",
                                     exports["GATECHECK_TEST_PG_DIR"]], capture_output=True)
    return exports["GATECHECK_TEST_PG_URL"]


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def build_schema(url: str, tables: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("""CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN NEW.created_at = now(); RETURN NEW; END $f$""")
        # Batches: one transaction locking 2,000 new tables overflows the lock table.
        for first in range(1, tables + 1, 200):
            last = min(first + 199, tables)
            conn.execute(f"""
DO $$
BEGIN
  FOR i IN {first}..{last} LOOP
    EXECUTE format('CREATE TABLE t%s (id integer PRIMARY KEY, parent_id integer %s,
                    name text NOT NULL DEFAULT %L, created_at timestamptz DEFAULT now())',
                   i, CASE WHEN i > 1 THEN format('REFERENCES t%s (id)', i - 1) ELSE '' END,
                   'x');
    EXECUTE format('CREATE INDEX t%s_name ON t%s (name, created_at)', i, i);
    IF i % 100 = 0 THEN
      EXECUTE format('CREATE VIEW v%s AS SELECT a.id, b.name FROM t%s a JOIN t%s b
                      ON b.id = a.parent_id', i, i, i - 1);
      EXECUTE format('CREATE TRIGGER t%s_touch BEFORE UPDATE ON t%s FOR EACH ROW
                      EXECUTE FUNCTION touch()', i, i);
    END IF;
  END LOOP;
END $$""")
        conn.execute("ANALYZE")


def build_rows(url: str, rows: int, lost_per_100: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"""
DROP TABLE IF EXISTS sessions_legacy, sessions;
CREATE TABLE sessions_legacy (session_id text PRIMARY KEY, channel text);
CREATE TABLE sessions (session_id text PRIMARY KEY, channel text);
INSERT INTO sessions_legacy
SELECT 'sess-' || lpad(i::text, 8, '0'), 'cli' FROM generate_series(1, {rows}) AS i;
INSERT INTO sessions SELECT session_id, channel FROM sessions_legacy
WHERE {lost_per_100} = 0 OR right(session_id, 2)::int >= {lost_per_100};
""")
        for table in ("sessions_legacy", "sessions"):  # one statement each: not in a transaction
            conn.execute(f"VACUUM ANALYZE {table}")


def raw_catalog(conn: psycopg.Connection[Any]) -> int:
    """The introspection's five catalog queries, run bare and fetched."""
    total = 0
    for sql in (postgres._RELATIONS, postgres._COLUMNS, postgres._FOREIGN_KEYS,
                postgres._INDEXES, postgres._TRIGGERS):
        total += len(conn.execute(sql, (["public"],)).fetchall())
    return total


def gatecheck_schema(url: str) -> int:
    db = postgres.PostgresDatabase.open(url)
    try:
        return len(db.schema().tables)
    finally:
        db.close()


def gatecheck_run(root: Path, url: str) -> int:
    config = load_config(root / "rules.yaml")
    result = Engine(config, root, database=DatabaseSpec(url=url, base_dir=root)).run()
    if result.errors:
        raise SystemExit(f"gatecheck failed: {result.errors[0]}")
    counts = [dict(f.extra)["count"] for f in result.findings]
    return int(counts[0]) if counts else 0


def bare_anti_join(conn: psycopg.Connection[Any]) -> int:
    count = int(conn.execute(f"SELECT COUNT(*) {ANTI_JOIN}").fetchone()[0])  # type: ignore[index]
    if count:
        conn.execute(f"SELECT DISTINCT a.session_id {ANTI_JOIN} ORDER BY 1 LIMIT 10").fetchall()
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    admin_url = server()
    name = f"gatecheck_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = with_database(admin_url, name)
    try:
        print(f"PostgreSQL {version}, psycopg {psycopg.__version__}, Python "
              f"{sys.version.split()[0]}, best of {args.repeat} (median in parentheses)\n")

        started = time.perf_counter()
        build_schema(url, args.tables)
        built = time.perf_counter() - started
        with psycopg.connect(url, autocommit=True) as conn:
            r_best, r_median, _ = best_of(args.repeat, lambda: raw_catalog(conn))
        c_best, c_median, _ = best_of(args.repeat, lambda: psycopg.connect(url).close())
        g_best, g_median, n = best_of(args.repeat, lambda: gatecheck_schema(url))
        if n != args.tables:
            raise SystemExit(f"gatecheck read {n} tables, expected {args.tables}")
        header = (f"{'introspection':42} {'build':>6} {'gatecheck':>17} {'raw queries':>17} "
                  f"{'raw + connect':>17} {'ratio':>6}")
        print(header)
        print("-" * len(header))
        raw_connect = (r_best + c_best, r_median + c_median)
        print(f"{f'{args.tables:,} tables, FKs, indexes':42} {built:>5.1f}s "
              f"{g_best:>7.3f}s ({g_median:.3f}s) {r_best:>7.3f}s ({r_median:.3f}s) "
              f"{raw_connect[0]:>7.3f}s ({raw_connect[1]:.3f}s) "
              f"{g_best / raw_connect[0]:>5.1f}x\n")

        header = (f"{'rows-preserved':42} {'build':>6} {'gatecheck':>17} "
                  f"{'bare anti-join':>17} {'missing':>9} {'ratio':>6}")
        print(header)
        print("-" * len(header))
        with tempfile.TemporaryDirectory(prefix="gatecheck-bench-") as tmp:
            root = Path(tmp)
            (root / "rules.yaml").write_text(RULES, encoding="utf-8")
            for scenario, lost in SCENARIOS.items():
                started = time.perf_counter()
                build_rows(url, args.rows, lost)
                built = time.perf_counter() - started
                g_best, g_median, g_count = best_of(args.repeat, lambda: gatecheck_run(root, url))
                with psycopg.connect(url, autocommit=True) as conn:
                    b_best, b_median, b_count = best_of(args.repeat,
                                                        lambda: bare_anti_join(conn))
                if g_count != b_count:
                    raise SystemExit(f"{scenario}: gatecheck counted {g_count}, bare {b_count}")
                label = f"2 x {args.rows:,} rows, {scenario}"
                print(f"{label:42} {built:>5.1f}s {g_best:>7.3f}s ({g_median:.3f}s) "
                      f"{b_best:>7.3f}s ({b_median:.3f}s) {g_count:>9,} "
                      f"{g_best / b_best:>5.1f}x")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
