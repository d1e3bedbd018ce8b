"""The console entry's fast path (`gatecheck.launch`) gives what the click application gives.

``gatecheck --version`` and a plain ``gatecheck run`` skip click (start-up
is most of a warm or pre-commit run); every other command line goes to
click.  Each case here runs both ways as real processes and compares exit
code, stdout and stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import build_db, write_tree

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses, severity: warning}
  - {id: code-matches-schema, kind: references-exist, columns: true}
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*"}
"""
FILES = {
    "rules.yaml": RULES,
    "app/a.py": 'def f(cur):\n    cur.execute("SELECT titel FROM tasks")\n'
                '    cur.execute("SELECT * FROM task_sessions")\n',
    "app/b.sql": "SELECT FROM WHERE;\n",
    "app/bad.py": b"x = '\xff'\n",
    "other/c.py": "def f(cur):\n    cur.execute('SELECT id FROM tasks')\n",
}


def _both(args: list[str], cwd: Path) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("GITHUB_STEP_SUMMARY", "FORCE_COLOR", "NO_COLOR")}
    fast = subprocess.run([str(Path(sys.executable).parent / "gatecheck"), *args], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=120)
    slow = subprocess.run([sys.executable, "-c", "from gatecheck.cli import main; main()", *args],
                          cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    return ((fast.returncode, fast.stdout, fast.stderr),
            (slow.returncode, slow.stdout, slow.stderr))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_tree(tmp_path_factory.mktemp("launch"), FILES)
    build_db(root / "app.db", "CREATE TABLE tasks (id INTEGER, title TEXT);"
                              "CREATE TABLE webui_chats (id INTEGER);")
    return root


@pytest.mark.parametrize("args", [
    ["run"], ["run", "--no-cache"], ["run", "-f", "json"], ["run", "--format=sarif"],
    ["run", "-f", "concise", "-q"], ["run", "-f", "github"], ["run", "-f", "junit"],
    ["run", "-f", "gitlab"], ["run", "--fail-on", "error", "--exit-zero"],
    ["run", "app/a.py"], ["run", "app/a.py", "other/c.py", "-j", "1"],
    ["run", "--shard", "2/2", "-f", "json"], ["run", "missing.py"],
    ["run", "-c", "rules.yaml", "app"], ["--version"],
])
def test_the_fast_path_gives_what_click_gives(repo: Path, args: list[str]) -> None:
    fast, slow = _both(args, repo)
    assert fast == slow


def test_other_command_lines_go_to_click(repo: Path) -> None:
    from gatecheck.launch import parse_run

    assert parse_run(["app", "-f", "json", "--no-cache"]) is not None
    for args in (["--output", "x"], ["-f", "yaml"], ["--jobs", "0"], ["-f", "json", "-f", "text"],
                 ["--shard", "3/2"], ["--verbose"], ["--help"], ["-fjson"], ["-"]):
        assert parse_run(args) is None, args
    fast, slow = _both(["run", "--format", "yaml"], repo)
    assert fast[0] == slow[0] == 2
    assert fast[2].replace("gatecheck run", "-c run") == slow[2]  # the program's name aside
