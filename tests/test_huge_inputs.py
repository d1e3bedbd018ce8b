"""Huge sources: checked completely, in memory proportional to what is kept, not to
tokens or parse trees.

Peak RSS is measured in a fresh process (the run itself, in-process, then
``getrusage``).  The normal suite uses a few megabytes; ``GATECHECK_HUGE_MB=50``
runs the sizes docs/reliability.md reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import write_tree

SQL_MB = float(os.environ.get("GATECHECK_HUGE_MB", "4"))
LITERAL_MB = float(os.environ.get("GATECHECK_HUGE_LITERAL_MB", str(min(SQL_MB, 2))))
MB = 1024 * 1024

RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses}
"""

#: Runs gatecheck in this process and reports its own peak RSS last.
MEASURE = """
import json, resource, sys
from gatecheck.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                  / 1024}), file=sys.stderr)
"""


def measure(root: Path, *args: str) -> tuple[int, dict[str, object], float]:
    proc = subprocess.run([sys.executable, "-c", MEASURE, "run", "--format", "json", *args],
                          cwd=root, capture_output=True, text=True, timeout=900)
    *errors, last = proc.stderr.strip().splitlines()
    report = json.loads(last)
    assert not errors, errors
    return int(report["exit"]), json.loads(proc.stdout), float(report["peak_mb"])


def baseline_mb(root: Path) -> float:
    empty = root / "empty"
    write_tree(empty, {"rules.yaml": RULES, "a.sql": "SELECT 1;\n"})
    return measure(empty, "--no-cache")[2]


def test_dump_sized_sql_file(tmp_path: Path) -> None:
    """Every statement is parsed and checked, and memory does not follow the tokens.

    Before pieces, a 50 MB dump peaked at 5.3 GB (all tokens and trees at once)."""
    line = ("INSERT INTO chat_sessions (session_id, channel, created_at) "
            "VALUES ('s-000001', 'cli', '2025-06-01T00:00:00');\n")
    count = int(SQL_MB * MB) // len(line)
    root = tmp_path / "dump"
    with open(write_tree(root, {"rules.yaml": RULES}) / "dump.sql", "w") as fh:
        fh.write(line * (count // 2))
        fh.write("DELETE FROM task_sessions WHERE 'it is' = 'in the middle';\n")
        fh.write(line * (count - count // 2))
    code, payload, peak = measure(root, "--no-cache")
    assert code == 1
    assert [(f["line"], f["column"]) for f in payload["findings"]] == [(count // 2 + 1, 13)]
    base = baseline_mb(tmp_path)
    # One piece's tokens (a few dozen MB, whatever the size), then about 8 bytes
    # of facts per byte of SQL (a statement and a table reference per line
    # here); tokens and trees for the whole file were about 100.
    assert peak - base < 30 + 12 * SQL_MB, (peak, base)


def test_ten_megabyte_sql_literal(tmp_path: Path) -> None:
    statement = "INSERT INTO chat_sessions (session_id, channel) VALUES ('s-1', 'cli');\n"
    body = statement * int(LITERAL_MB * MB // len(statement))
    source = ('def load(cur):\n    cur.executescript("""' + body +
              'SELECT * FROM task_sessions;\n""")\n')
    root = write_tree(tmp_path / "lit", {"rules.yaml": RULES, "huge.py": source})
    code, payload, peak = measure(root, "--no-cache")
    assert code == 1
    assert [(f["line"], f["column"]) for f in payload["findings"]] == \
        [(body.count("\n") + 2, 15)]
    base = baseline_mb(tmp_path)
    assert peak - base < 40 + 30 * LITERAL_MB, (peak, base)


def test_a_broken_dump_is_linear(tmp_path: Path) -> None:
    """Regression: each parse error indexed the lines of the whole fragment again, so
    a dump of broken statements took quadratic time (380 KB: 24 s; 50 MB: days)."""
    import time

    from gatecheck.extract import Fragment
    from gatecheck.sqlfacts import analyse

    sql = "SELECT FROM WHERE;\n" * 60_000  # 1.1 MB, 60,000 parse errors
    started = time.process_time()
    facts = analyse(Fragment("dump.sql", sql, sink=True), keep_trees=False)
    elapsed = time.process_time() - started
    assert len(facts.errors) == 60_000
    # each at its FROM, the token SQLite stops at
    assert [e.span for e in facts.errors[:2]] == [(7, 11), (26, 30)]
    assert elapsed < 15, elapsed
