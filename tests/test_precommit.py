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

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, build_db, write_tree

PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")

RULES = """\
version: 1
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
"""
BAD = 'import sqlite3\n\nSQL = "SELECT * FROM task_sessions WHERE session_id = ?"\n'
GOOD = 'import sqlite3\n\nSQL = "SELECT * FROM chat_sessions WHERE session_id = ?"\n'


def git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, f"git {' '.join(args)}:\n{proc.stdout}{proc.stderr}"
    return proc.stdout


def new_repo(path: Path, env: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=path, env=env)
    git("config", "user.name", "gatecheck tests", cwd=path, env=env)
    git("config", "user.email", "tests@gatecheck.invalid", cwd=path, env=env)
    git("config", "commit.gpgsign", "false", cwd=path, env=env)
    return path


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for git and pre-commit: no user or system git config, one store."""
    home = tmp_path_factory.mktemp("pre-commit-home")
    return {**os.environ, "PRE_COMMIT_HOME": str(home), "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1", "PRE_COMMIT_COLOR": "never"}


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> tuple[str, str]:
    """(path, commit) of a git repository holding this checkout's working tree."""
    listing = git("ls-files", "-z", "--cached", "--others", "--exclude-standard",
                  cwd=REPO, env=env)
    snapshot = new_repo(tmp_path_factory.mktemp("hook-repo") / "gatecheck", env)
    for rel in filter(None, listing.split("\0")):
        source = REPO / rel
        if source.is_file():  # a tracked file deleted in the working tree is gone
            (snapshot / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, snapshot / rel)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    git("add", "-A", cwd=snapshot, env=env)
    git("commit", "-q", "-m", "snapshot of the working tree", cwd=snapshot, env=env)
    return str(snapshot), git("rev-parse", "HEAD", cwd=snapshot, env=env).strip()


def project(path: Path, env: dict[str, str], hook_repo: tuple[str, str],
            files: dict[str, str | bytes]) -> Path:
    """A user's repository whose .pre-commit-config.yaml uses the gatecheck hook."""
    repo, rev = hook_repo
    config = f"repos:\n  - repo: {repo}\n    rev: {rev}\n    hooks:\n      - id: gatecheck\n"
    write_tree(new_repo(path, env), {".pre-commit-config.yaml": config, **files})
    return path


def commit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-m", "change"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)


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
