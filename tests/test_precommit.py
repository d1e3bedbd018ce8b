"""The ``gatecheck`` pre-commit hook, run by the real ``pre-commit`` in real git repositories.

pre-commit installs the hook the way a user's machine does: it clones the
hook repository at a commit, creates a virtualenv and pip-installs gatecheck
into it (this needs the package index).  The repository it clones is a
snapshot of this checkout's working tree, committed in a temporary
directory, rather than ``pre-commit try-repo .``: try-repo carries over only
changes to tracked files (a new, uncommitted hook manifest would be
missing) and installs into a throw-away store on every call, ignoring
PRE_COMMIT_HOME.  One PRE_COMMIT_HOME per test session makes the install
happen once.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import PRE_COMMIT, build_db, commit, git, new_repo, write_tree

RULES = """\
version: 1
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
"""
BAD = 'import sqlite3\n\nSQL = "SELECT * FROM task_sessions WHERE session_id = ?"\n'
GOOD = 'import sqlite3\n\nSQL = "SELECT * FROM chat_sessions WHERE session_id = ?"\n'


def project(path: Path, env: dict[str, str], hook_repo: tuple[str, str],
            files: dict[str, str | bytes]) -> Path:
    """A user's repository whose .pre-commit-config.yaml uses the gatecheck hook."""
    repo, rev = hook_repo
    config = f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: gatecheck\n"
    write_tree(new_repo(path, env), {".pre-commit-config.yaml": config, **files})
    return path


def test_hook_blocks_a_commit_until_the_reference_is_fixed(
        tmp_path: Path, env: dict[str, str], hook_repo: tuple[str, str]) -> None:
    repo = project(tmp_path / "project", env, hook_repo,
                   {"rules.yaml": RULES, "app/store.py": BAD, "README.md": "task_sessions\n"})
    proc = subprocess.run([PRE_COMMIT, "install"], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    git("add", "-A", cwd=repo, env=env)

    # The first commit also installs the hook's environment (once per session).
    blocked = commit(repo, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "gatecheck" in output and "Failed" in output
    assert "app/store.py:3:22: no-task-sessions" in output
    assert "README.md" not in output  # types_or: only Python and SQL reach the hook
    assert git("log", "--oneline", "--all", cwd=repo, env=env) == ""

    (repo / "app" / "store.py").write_text(GOOD, encoding="utf-8")
    git("add", "app/store.py", cwd=repo, env=env)
    passed = commit(repo, env)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout + passed.stderr
    assert git("log", "--oneline", cwd=repo, env=env).count("\n") == 1


def test_database_rules_run_once_however_many_files(
        tmp_path: Path, env: dict[str, str], hook_repo: tuple[str, str]) -> None:
    files: dict[str, str | bytes] = {f"app/m{i:03}.py": GOOD for i in range(200)}
    files["rules.yaml"] = RULES.replace(
        "rules:\n", "database: sqlite:///app.db\nrules:\n"
        "  - id: no-webui-tables\n    kind: forbid-tables\n    pattern: webui_*\n")
    repo = project(tmp_path / "project", env, hook_repo, files)
    build_db(repo / "app.db", "CREATE TABLE webui_chats (id INTEGER);")
    git("add", "-A", cwd=repo, env=env)
    proc = subprocess.run([PRE_COMMIT, "run", "gatecheck"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    # require_serial: one gatecheck process saw all 200 files, so the schema
    # finding is reported once, not once per parallel batch.
    assert output.count("db:webui_chats: no-webui-tables") == 1, output
    assert "(2 rules, 200 files," in output


def test_monorepo_without_config(tmp_path: Path, env: dict[str, str],
                                 hook_repo: tuple[str, str]) -> None:
    """Each staged file goes to the nearest rules file above it (issue 14, item 3): two
    projects, one commit, one report; paths from the repository's root."""
    repo = project(tmp_path / "project", env, hook_repo, {
        "backend/rules.yaml": RULES, "backend/app/store.py": BAD,
        "frontend/rules.yaml": RULES.replace("no-task-sessions", "frontend-sessions"),
        "frontend/app/store.py": BAD, "tools/cleanup.py": BAD})
    git("add", "-A", cwd=repo, env=env)
    proc = subprocess.run([PRE_COMMIT, "run", "gatecheck"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "backend/app/store.py:3:22: no-task-sessions" in output
    assert "frontend/app/store.py:3:22: frontend-sessions" in output
    assert output.count("Found 2 errors (2 rules, 2 files, 2 SQL fragments)") == 1
    assert "1 file with no rules file above it, not checked: tools/cleanup.py" in output
