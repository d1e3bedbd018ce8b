"""Inline suppressions, baselines and --changed-since, round-tripped through the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import gatecheck, write_tree

RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses}
"""


def found(root: Path, *args: str) -> list[tuple[str, int, str]]:
    run = gatecheck("run", "--format", "json", *args, cwd=root)
    assert run.exit_code in (0, 1), run.stderr
    return [(f["path"], f["line"], f["rule"]) for f in run.json["findings"]]


def test_inline_suppressions_python_and_sql(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES,
                          "app.py": (
                              'def f(cur):\n'
                              '    cur.execute("SELECT * FROM task_sessions")  # gatecheck: ignore[no-task-sessions]\n'
                              '    cur.execute("SELECT * FROM task_sessions")  # gatecheck: ignore[sql-parses]\n'
                              '    cur.execute("DELETE FROM task_sessions WHERE")  # gatecheck: ignore[sql-parses, no-task-sessions]\n'
                              '    cur.execute("""\n'
                              '        SELECT *\n'
                              '        FROM task_sessions  -- gatecheck: ignore\n'
                              '    """)\n'),
                          "q.sql": ("SELECT * FROM task_sessions; -- gatecheck: ignore[no-task-sessions]\n"
                                    "SELECT * FROM task_sessions;\n")})
    # line 3's suppression names another rule; q.sql line 2 has none.
    assert found(tmp_path) == [("app.py", 3, "no-task-sessions"),
                               ("q.sql", 2, "no-task-sessions")]


def test_unused_suppressions_are_reported_on_request(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES,
                          "q.sql": ("SELECT * FROM task_sessions; -- gatecheck: ignore[no-task-sessions]\n"
                                    "SELECT 1; -- gatecheck: ignore[sql-parses]\n")})
    assert found(tmp_path) == []
    run = gatecheck("run", "--format", "json", "--warn-unused-ignores", cwd=tmp_path)
    [unused] = run.json["findings"]
    assert (unused["path"], unused["line"], unused["column"], unused["rule"],
            unused["severity"]) == ("q.sql", 2, 11, "unused-ignore", "warning")
    assert "(sql-parses)" in unused["message"]


def test_schema_findings_are_suppressed_by_the_rules_ignore_list(tmp_path: Path) -> None:
    import sqlite3
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.executescript("CREATE TABLE webui_chats (id); CREATE TABLE webui_files (id);")
    conn.close()
    write_tree(tmp_path, {"rules.yaml": "version: 1\ndatabase: sqlite:///app.db\nrules:\n"
                          "  - {id: no-webui, kind: forbid-tables, pattern: 'webui_*', "
                          "ignore: [webui_files]}\n"})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [f["object"] for f in run.json["findings"]] == ["webui_chats"]


def test_baseline_round_trip(tmp_path: Path) -> None:
    old = 'def f(cur):\n    cur.execute("SELECT * FROM task_sessions")\n'
    write_tree(tmp_path, {"rules.yaml": RULES, "app.py": old,
                          "q.sql": "SELECT * FROM task_sessions;\nSELECT * FROM task_sessions;\n"})
    assert len(found(tmp_path)) == 3
    made = gatecheck("baseline", cwd=tmp_path)
    assert made.exit_code == 0 and "wrote 3 finding(s)" in made.stderr
    run = gatecheck("run", "--baseline", ".gatecheck-baseline.json", cwd=tmp_path)
    assert run.exit_code == 0
    assert "3 known finding(s) not reported, 0 baseline entries now fixed" in run.stderr

    # Shift every line: nothing new.
    (tmp_path / "app.py").write_text("import os\n\n\n" + old)
    (tmp_path / "q.sql").write_text("-- moved\n\nSELECT * FROM task_sessions;\n"
                                    "SELECT * FROM task_sessions;\n")
    assert found(tmp_path, "--baseline", ".gatecheck-baseline.json") == []

    # A new violation is reported, and only it; a fixed one is counted.
    (tmp_path / "app.py").write_text("import os\n\n\n" + old +
                                     '    cur.execute("DELETE FROM task_sessions")\n')
    (tmp_path / "q.sql").write_text("SELECT * FROM task_sessions;\n")
    run = gatecheck("run", "--format", "json", "--baseline", ".gatecheck-baseline.json",
                    cwd=tmp_path)
    assert [(f["path"], f["line"]) for f in run.json["findings"]] == [("app.py", 6)]
    assert "2 known finding(s) not reported, 1 baseline entry now fixed" in run.stderr


def test_bad_baseline_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "b.json": "{not json"})
    run = gatecheck("run", "--baseline", "b.json", cwd=tmp_path)
    assert run.exit_code == 2 and "b.json: not a gatecheck baseline file" in run.stderr
    run = gatecheck("run", "--baseline", "missing.json", cwd=tmp_path)
    assert run.exit_code == 2 and "baseline file not found" in run.stderr


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid",
                    "-c", "commit.gpgsign=false", *args], cwd=root, check=True,
                   capture_output=True)


def test_changed_since(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "old.sql": "SELECT * FROM task_sessions;\n",
                          "same.sql": "SELECT * FROM task_sessions;\n"})
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "base")
    (tmp_path / "old.sql").write_text("SELECT 1;\nDELETE FROM task_sessions;\n")
    write_tree(tmp_path, {"new.sql": "UPDATE task_sessions SET x = 1;\n"})
    assert found(tmp_path, "--changed-since", "HEAD") == [
        ("new.sql", 1, "no-task-sessions"), ("old.sql", 2, "no-task-sessions")]
    assert len(found(tmp_path)) == 3
    run = gatecheck("run", "--changed-since", "no-such-ref", cwd=tmp_path)
    assert run.exit_code == 2 and "--changed-since no-such-ref" in run.stderr


def test_changed_since_outside_git(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES})
    run = gatecheck("run", "--changed-since", "HEAD", cwd=tmp_path)
    assert run.exit_code == 2 and "needs a git work tree" in run.stderr
