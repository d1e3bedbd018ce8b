"""Each test gets its own agentos database, built from the migrations (schema v36)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.store.db import connect

EXAMPLE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database as the migration tool builds it: once, in its own process."""
    path = tmp_path_factory.mktemp("agentos") / "agentos.db"
    subprocess.run([sys.executable, str(EXAMPLE / "build_db.py"), "--out", str(path)],
                   check=True, capture_output=True)
    return path


@pytest.fixture
def db(built: Path, tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A fresh copy for one test, opened the way the app opens it."""
    path = tmp_path / "agentos.db"
    path.write_bytes(built.read_bytes())
    conn = connect(path)
    try:
        yield conn
    finally:
        conn.close()
