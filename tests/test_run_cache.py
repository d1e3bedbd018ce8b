"""A run whose inputs did not change is answered from the last one (`gatecheck.replay`,
`gatecheck.runcache`); any change to what it read gives a fresh run."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import build_db, gatecheck, write_tree

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: refs, kind: references-exist, columns: true}
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*"}
"""


def _age(root: Path) -> None:
    """Every file and directory a minute old: stamps a run may trust."""
    past = time.time() - 60
    for path in [root, *root.rglob("*")]:
        os.utime(path, (past, past), follow_symlinks=False)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = write_tree(tmp_path / "repo", {
        "rules.yaml": RULES,
        "app/a.py": 'def f(cur):\n    cur.execute("SELECT * FROM task_sessions")\n',
        "app/b.py": 'def f(cur):\n    cur.execute("SELECT titel FROM tasks")\n',
    })
    build_db(root / "app.db", "CREATE TABLE tasks (id INTEGER, title TEXT);")
    _age(root)
    return root


def run(root: Path, *args: str) -> tuple[int, list[str]]:
    exe = Path(sys.executable).parent / "gatecheck"
    proc = subprocess.run([str(exe), "run", "-f", "json", *args], cwd=root, capture_output=True,
                          text=True, timeout=120, env=os.environ.copy())
    assert proc.returncode in (0, 1), proc.stderr
    assert proc.stderr == ""
    return proc.returncode, sorted({f"{f['path']}:{f['line']}:{f['object']}"
                                    for f in json.loads(proc.stdout)["findings"]})


def _warm(root: Path, *args: str) -> tuple[int, list[str]]:
    """Run until recorded: a run is recorded once what earlier runs wrote (the caches
    in the repository) is older than it, so that the stamps can be trusted."""
    first = run(root, *args)
    records = Path(os.environ["XDG_CACHE_HOME"]) / "gatecheck" / "runs"
    for _ in range(3):
        time.sleep(0.1)
        assert run(root, *args) == first
        if list(records.glob("*")):
            break
    assert list(records.glob("*")), "the run was not recorded"
    assert run(root, *args) == first  # answered from the record
    return first


def test_every_input_of_a_recorded_run_is_watched(repo: Path) -> None:
    """Each step changes one input of a recorded run and nothing else: the next run
    must see it (then is recorded again, for the next step)."""
    assert _warm(repo) == (1, ["app/a.py:2:task_sessions", "app/b.py:2:tasks.titel"])
    # A source file edited.
    (repo / "app" / "a.py").write_text('def f(cur):\n    cur.execute("SELECT 1")\n')
    assert run(repo)[1] == ["app/b.py:2:tasks.titel"]
    _warm(repo)
    # A new file, in a new directory.
    write_tree(repo, {"lib/deep/c.sql": "DELETE FROM task_sessions;\n"})
    assert "lib/deep/c.sql:1:task_sessions" in run(repo)[1]
    _warm(repo)
    # The rules file.
    (repo / "rules.yaml").write_text(RULES.replace("task_sessions", "tasks"))
    assert "app/b.py:2:tasks" in run(repo)[1]  # forbidden now
    _warm(repo)
    # The database's schema.
    conn = sqlite3.connect(repo / "app.db")
    conn.execute("ALTER TABLE tasks ADD COLUMN titel TEXT")
    conn.execute("CREATE TABLE webui_x (id INTEGER)")
    conn.commit()
    conn.close()
    after = run(repo)[1]
    assert "app/b.py:2:tasks.titel" not in after and "None:None:webui_x" in after
    _warm(repo)
    # A .gitignore that leaves a directory out.
    (repo / ".gitignore").write_text("lib/\n")
    assert not any(f.startswith("lib/") for f in run(repo)[1])
    _warm(repo)
    # A file removed.
    (repo / "app" / "b.py").unlink()
    assert not any(f.startswith("app/b.py") for f in run(repo)[1])


def test_a_file_given_on_the_command_line_is_watched(repo: Path) -> None:
    assert _warm(repo, "app/a.py")[1] == ["app/a.py:2:task_sessions"]
    (repo / "app" / "a.py").write_text('def f(cur):\n    cur.execute("SELECT * FROM tasks")\n')
    assert run(repo, "app/a.py")[1] == []


def test_runs_that_read_more_are_never_answered_from_a_record(repo: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    """A data rule reads rows, which change without a trace in any stamp."""
    (repo / "rules.yaml").write_text(RULES + "  - {id: q, kind: query, sql: 'SELECT id FROM tasks'}\n")
    _age(repo)
    run(repo)
    _age(repo)
    run(repo)
    assert not list((Path(os.environ["XDG_CACHE_HOME"]) / "gatecheck" / "runs").glob("*"))
    conn = sqlite3.connect(repo / "app.db")
    conn.execute("INSERT INTO tasks VALUES (1, 'x')")  # rows only: the schema is the same
    conn.commit()
    conn.close()
    assert len([f for f in run(repo)[1] if ":None:" in f]) == 1


def test_the_engine_result_is_reused_in_process(repo: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """`gatecheck.runcache`: the click path (any command line) reuses the engine's result."""
    from gatecheck.engine import Engine

    first = gatecheck("run", "--format", "sarif", cwd=repo).stdout
    assert gatecheck("run", "--format", "sarif", cwd=repo).stdout == first

    def refuse(self: Engine) -> None:
        raise AssertionError("the engine ran again")

    monkeypatch.setattr(Engine, "run", refuse)
    assert gatecheck("run", "--format", "sarif", cwd=repo).stdout == first
    assert gatecheck("run", "--format", "sarif", "--verbose", cwd=repo).stdout == first
