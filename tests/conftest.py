"""Shared fixtures: real SQLite files and real directory trees, no mocks."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gatecheck.cli import main

REPO = Path(__file__).resolve().parent.parent
#: The official SARIF 2.1.0 schema, vendored (tests/schemas/README.md says whence).
SARIF_SCHEMA = REPO / "tests" / "schemas" / "sarif-schema-2.1.0.json"


def build_db(path: Path, sql: str) -> Path:
    """A real SQLite file built from SQL (the only way fixtures get a database)."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(sql)
    finally:
        conn.close()
    return path


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            # newline="": the text is written as given (CRLF and lone CR kept).
            with open(target, "w", encoding="utf-8", newline="") as fh:
                fh.write(content)
    return root


def copy_case(case: Path, dest: Path) -> Path:
    """Copy a fixture case and build its ``app.db`` from ``schema.sql``."""
    shutil.copytree(case, dest, ignore=shutil.ignore_patterns("expected.json"))
    schema = dest / "schema.sql"
    if schema.exists():
        build_db(dest / "app.db", schema.read_text(encoding="utf-8"))
    return dest


class Run:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def gatecheck(*args: str, cwd: Path | None = None) -> Run:
    """Run the CLI in-process through click's runner."""
    import tempfile

    runner = CliRunner()
    with tempfile.TemporaryDirectory() as scratch, _chdir(Path(scratch) if cwd is None else cwd):
        result = runner.invoke(main, list(args), catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def gatecheck_subprocess(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run the installed console script as a real process."""
    exe = Path(sys.executable).parent / "gatecheck"
    proc = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)
    return Run(proc.returncode, proc.stdout, proc.stderr)


class _chdir:
    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> None:
        import os
        self.old = os.getcwd()
        os.chdir(self.path)

    def __exit__(self, *exc: object) -> None:
        import os
        os.chdir(self.old)


@pytest.fixture
def tree(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write files into a fresh directory: ``tree({"rules.yaml": ...})``."""
    def make(files: dict[str, str | bytes]) -> Path:
        return write_tree(tmp_path, files)
    return make


# ---------------------------------------------------------------- git and pre-commit

PRE_COMMIT = str(Path(sys.executable).parent / "pre-commit")


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


def commit(repo: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "commit", "-m", "change"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)
