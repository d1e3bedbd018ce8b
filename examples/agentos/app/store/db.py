"""The single entry point to the agentos database."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# examples/agentos/agentos.db, as written by build_db.py.
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "agentos.db"


def database_path() -> Path:
    """AGENTOS_DB wins over the default so tests and jobs can point elsewhere."""
    return Path(os.environ.get("AGENTOS_DB", DEFAULT_PATH))


def connect(path: str | os.PathLike[str] | None = None) -> sqlite3.Connection:
    """Open an existing database; never create one by accident."""
    target = Path(path) if path is not None else database_path()
    conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=rw", uri=True)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn
