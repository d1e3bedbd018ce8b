"""Same input, same bytes: in every format, whatever --jobs, the cache state, the order
in which the file system lists the files, and the process's hash seed."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import gatecheck

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
from _fuzz import DATABASE_RULES, SCHEMA_SQL, SOURCE_RULES  # noqa: E402

FORMATS = ["text", "json", "sarif", "github", "junit"]


def tree_files() -> dict[str, bytes]:
    """140 files (enough for two worker processes) with findings, errors and suppressions."""
    files: dict[str, bytes] = {}
    for i in range(70):
        files[f"app/mod{i:02d}/store.py"] = (
            f"import sqlite3\n\ndef load{i}(cur, value):\n"
            f"    cur.execute('SELECT * FROM task_sessions WHERE id = ?', (value,))\n"
            f"    cur.execute(f\"SELECT {{value}} FROM chat_sessions\")  "
            f"# gatecheck: ignore[sql-parses]\n"
            f"    return sqlite3.connect('x{i}.db')\n").encode()
        files[f"db/migrations/{i:04d}_step.sql"] = (
            f"CREATE TABLE t{i} (a INTEGER);\nINSERT INTO task_sessions VALUES ({i});\n"
            f"SELECT FROM WHERE;\n").encode()
    files["app/broken.py"] = b"def f(:\n"
    files["app/binary.sql"] = b"SELECT\x00"
    files["rules.yaml"] = (SOURCE_RULES.replace("version: 1\n",
                                                "version: 1\ndatabase: sqlite:///app.db\n")
                           + DATABASE_RULES).encode()
    return files


def build(root: Path, order: list[str], files: dict[str, bytes]) -> Path:
    root.mkdir()
    for rel in order:  # directories and files come into being in this order
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(files[rel])
    conn = sqlite3.connect(root / "app.db")
    conn.executescript(SCHEMA_SQL)
    conn.close()
    return root


@pytest.fixture(scope="module")
def copies() -> Iterator[tuple[Path, Path]]:
    # ext4 lists a directory in hash order, whatever the creation order; tmpfs
    # lists it newest first, so there two creation orders give two listings.
    shm = Path("/dev/shm")
    base = Path(tempfile.mkdtemp(prefix="gatecheck-order-",
                                 dir=shm if shm.is_dir() and os.access(shm, os.W_OK) else None))
    try:
        files = tree_files()
        forward = sorted(files)
        shuffled = forward[:]
        random.Random(8).shuffle(shuffled)
        a = build(base / "a", forward, files)
        b = build(base / "b", shuffled, files)
        if os.listdir(a / "app") == os.listdir(b / "app"):
            pytest.skip("this file system lists both copies in one order (no tmpfs)")
        yield a, b
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_bytes_whatever_the_jobs_cache_and_order(fmt: str, copies: tuple[Path, Path]) -> None:
    a, b = copies
    for root in (a, b):
        shutil.rmtree(root / ".gatecheck_cache", ignore_errors=True)
    args = ["run", "--format", fmt, "--verbose", "--warn-unused-ignores"]
    reference = gatecheck(*args, "--jobs", "1", "--no-cache", cwd=a)
    assert reference.exit_code == 2  # the broken files are errors; everything else reported
    assert reference.stdout
    variants = [
        gatecheck(*args, "--jobs", "2", cwd=b),        # cold cache, two worker processes
        gatecheck(*args, "--jobs", "2", cwd=b),        # warm cache
        gatecheck(*args, "--jobs", "1", cwd=a),        # cold cache, this process
        gatecheck(*args, cwd=a),                       # warm, default jobs
        gatecheck(*args, "--no-cache", cwd=b),
    ]
    for run in variants:
        assert run.exit_code == reference.exit_code
        assert run.stdout == reference.stdout
        assert run.stderr == reference.stderr


def test_same_bytes_across_hash_seeds(copies: tuple[Path, Path]) -> None:
    """Set and dict iteration orders differ between processes; output must not."""
    a, b = copies
    outputs = []
    for seed, root in (("1", a), ("2", b), ("3", a)):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([str(Path(sys.executable).parent / "gatecheck"), "run",
                               "--format", "json", "--jobs", "2", "--no-cache"],
                              cwd=root, env=env, capture_output=True, timeout=300)
        outputs.append((proc.returncode, proc.stdout, proc.stderr))
    assert outputs[0] == outputs[1] == outputs[2]
