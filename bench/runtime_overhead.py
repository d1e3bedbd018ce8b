#!/usr/bin/env python3
"""The runtime guard's cost on a hot loop: N simple SQLite statements, watched or not.

    .venv/bin/python bench/runtime_overhead.py            # 100,000 statements, 5 rounds
    .venv/bin/python bench/runtime_overhead.py -n 20000 --rounds 3

One process, one SQLite file with 1,000 rows, one rules file with a rule of
each kind the guard checks (none of which the loop breaks).  Each round runs
the loop on a plain ``sqlite3`` connection and on the connection
``gatecheck.runtime.watch`` returns (``on_violation="log"``), one after the
other (which goes first alternates).  Times are the process's CPU time, so
that other processes sharing the machine do not count; the best time of
each is kept and their ratio printed, with the median of the rounds' ratios.  The loop is
a point query fetched, an update and an insert, in turn, with parameters: the
texts repeat, as in a service, so SQLite compiles each once and the guard's
authorizer runs only then; what every statement pays is the wrapper around
``execute``.  The issue's bound is a ratio of 1.10.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

RULES = """\
version: 1
dialect: sqlite
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
  - id: names-exist
    kind: references-exist
    columns: true
  - id: no-ddl
    kind: forbid-statements
    statements: [create-*, drop-*, alter-table]
"""

STATEMENTS = (
    ("SELECT v FROM kv WHERE k = ?", lambda i: (i % 1000,)),
    ("UPDATE kv SET v = ? WHERE k = ?", lambda i: (str(i), i % 1000)),
    ("INSERT INTO log (k, at) VALUES (?, ?)", lambda i: (i % 1000, i)),
)


def setup(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT);
        CREATE TABLE log (id INTEGER PRIMARY KEY, k INTEGER, at INTEGER);
    """)
    conn.executemany("INSERT INTO kv VALUES (?, ?)", [(i, str(i)) for i in range(1000)])
    conn.commit()
    conn.close()


def loop(conn: sqlite3.Connection, n: int) -> float:
    statements = STATEMENTS
    start = time.process_time()
    for i in range(n):
        sql, args = statements[i % 3]
        conn.execute(sql, args(i)).fetchone()
    elapsed = time.process_time() - start
    conn.rollback()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="statements per loop")
    parser.add_argument("--rounds", type=int, default=9, help="rounds (best kept)")
    args = parser.parse_args(argv)

    from gatecheck.runtime import watch

    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "rules.yaml").write_text(RULES, encoding="utf-8")
        db = root / "bench.db"
        setup(db)
        plain = sqlite3.connect(db)
        watched = watch(sqlite3.connect(db), config=root / "rules.yaml", on_violation="log")
        loop(plain, 1000)  # warm both: the first compile pays for the rules
        loop(watched, 1000)
        gc.disable()
        plains, watches = [], []
        for round_ in range(args.rounds):
            if round_ % 2:
                watches.append(loop(watched, args.n))
                plains.append(loop(plain, args.n))
            else:
                plains.append(loop(plain, args.n))
                watches.append(loop(watched, args.n))
        gc.enable()
        plain.close()
        watched.close()
    best_plain, best_watched = min(plains), min(watches)
    ratio = best_watched / best_plain
    median = statistics.median(w / p for w, p in zip(watches, plains))
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
          f"{args.n:,} statements, best of {args.rounds} rounds (CPU time)")
    print(f"plain   {best_plain:.3f} s  ({best_plain / args.n * 1e6:.2f} us/statement)")
    print(f"watched {best_watched:.3f} s  ({best_watched / args.n * 1e6:.2f} us/statement)")
    print(f"ratio   {ratio:.3f}  (overhead {100 * (ratio - 1):+.1f}%; median of the rounds' "
          f"ratios {median:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
