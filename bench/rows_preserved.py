#!/usr/bin/env python3
"""Benchmark: gatecheck's rows-preserved rule vs the bare anti-join SQL.

    .venv/bin/python bench/rows_preserved.py [--rows 1000000] [--repeat 3]

Builds, in a temporary directory, SQLite files holding two tables of
``--rows`` rows each (text keys, as session ids are) and times, side by
side, a whole in-process ``gatecheck run`` of one rows-preserved rule
(config load, read-only open, schema introspection, the count query and,
when rows are missing, the sample query) against the same anti-join typed
by hand into ``sqlite3`` (``LEFT JOIN ... IS NULL``, count plus sample), and
the ``NOT EXISTS`` spelling of it, stopped after ``--not-exists-limit``
seconds.  Scenarios: every row preserved; 1% of rows lost; and the target
without an index on the key, where SQLite builds an automatic index for the
join but none for the correlated NOT EXISTS subquery, which then scans the
whole target once per source row.  Prints the best of ``--repeat`` runs
(median in parentheses).  A benchmark, not a test: nothing is asserted
except that gatecheck and the bare SQL agree on the count.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from gatecheck.config import DatabaseSpec, load_config
from gatecheck.engine import Engine

ANTI_JOIN = """FROM sessions_legacy AS a
LEFT JOIN sessions AS b ON b.session_id = a.session_id WHERE b.session_id IS NULL"""
BARE_COUNT = f"SELECT COUNT(*) {ANTI_JOIN}"
BARE_SAMPLE = f"SELECT DISTINCT a.session_id {ANTI_JOIN} ORDER BY 1 LIMIT 10"
NOT_EXISTS_COUNT = """SELECT COUNT(*) FROM sessions_legacy AS a
WHERE NOT EXISTS (SELECT 1 FROM sessions AS b WHERE b.session_id = a.session_id)"""

RULES = """version: 1
rules:
  - id: zero-loss
    kind: rows-preserved
    from: sessions_legacy
    to: sessions
    key: session_id
    timeout_s: 600
"""

#: name -> (rows lost out of every 100, target has an index on the key)
SCENARIOS = {
    "all preserved, target indexed": (0, True),
    "1% lost, target indexed": (1, True),
    "1% lost, target not indexed": (1, False),
}


def build(path: Path, rows: int, lost_per_100: int, indexed: bool) -> None:
    key = "TEXT PRIMARY KEY" if indexed else "TEXT"
    conn = sqlite3.connect(path)
    conn.executescript(f"""
        CREATE TABLE sessions_legacy (session_id TEXT PRIMARY KEY, channel TEXT);
        CREATE TABLE sessions (session_id {key}, channel TEXT);
        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
        INSERT INTO sessions_legacy SELECT printf('sess-%08d', i), 'cli' FROM n;
        INSERT INTO sessions SELECT session_id, channel FROM sessions_legacy
        WHERE {lost_per_100} = 0 OR rowid % 100 >= {lost_per_100};
    """)
    conn.close()


def best_of(repeat: int, fn: Callable[[], int]) -> tuple[float, float, int]:
    times, result = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def run_gatecheck(root: Path, db: Path) -> int:
    config = load_config(root / "rules.yaml")
    spec = DatabaseSpec(url=f"sqlite:///{db}", base_dir=root)
    result = Engine(config, root, database=spec).run()
    if result.errors:
        raise SystemExit(f"gatecheck failed: {result.errors[0]}")
    counts = [dict(f.extra)["count"] for f in result.findings]
    return int(counts[0]) if counts else 0


def run_bare(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        count = int(conn.execute(BARE_COUNT).fetchone()[0])
        if count:
            conn.execute(BARE_SAMPLE).fetchall()
        return count
    finally:
        conn.close()


def run_not_exists(db: Path, limit_s: float) -> str:
    """The NOT EXISTS count's time, or how long it ran before it was stopped."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    started = time.perf_counter()
    conn.set_progress_handler(lambda: int(time.perf_counter() - started > limit_s), 10_000)
    try:
        conn.execute(NOT_EXISTS_COUNT).fetchone()
        return f"{time.perf_counter() - started:.3f}s"
    except sqlite3.OperationalError:
        return f"stopped >{limit_s:g}s"
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--not-exists-limit", type=float, default=20.0, metavar="SECONDS")
    args = parser.parse_args(argv)

    print(f"rows-preserved on {args.rows:,} + {args.rows:,} rows, SQLite "
          f"{sqlite3.sqlite_version}, Python {sys.version.split()[0]}, best of {args.repeat}"
          " (median in parentheses)\n")
    header = (f"{'scenario':30} {'missing':>7} {'build':>6} {'gatecheck':>17} "
              f"{'bare anti-join':>17} {'overhead':>8} {'NOT EXISTS':>13}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory(prefix="gatecheck-bench-") as tmp:
        root = Path(tmp)
        (root / "rules.yaml").write_text(RULES, encoding="utf-8")
        for name, (lost, indexed) in SCENARIOS.items():
            db = root / f"{len(list(root.glob('*.db')))}.db"
            started = time.perf_counter()
            build(db, args.rows, lost, indexed)
            built = time.perf_counter() - started
            g_best, g_median, g_count = best_of(args.repeat, lambda: run_gatecheck(root, db))
            b_best, b_median, b_count = best_of(args.repeat, lambda: run_bare(db))
            if g_count != b_count:
                raise SystemExit(f"{name}: gatecheck counted {g_count}, bare SQL {b_count}")
            not_exists = run_not_exists(db, args.not_exists_limit)
            print(f"{name:30} {g_count:>7,} {built:>5.2f}s "
                  f"{g_best:>7.3f}s ({g_median:.3f}s) {b_best:>7.3f}s ({b_median:.3f}s) "
                  f"{g_best - b_best:>+7.3f}s {not_exists:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
