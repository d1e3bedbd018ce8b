"""Session storage.

Every session lives in chat_sessions. Before schema v35 the task runner kept its
own rows in task_sessions; v35 merged them into chat_sessions and archived the
old table.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

SESSION_COLUMNS = ("session_id", "task_id", "title", "channel", "created_at", "last_activity")

GET_SESSION = "SELECT session_id, task_id, title, channel, last_activity FROM chat_sessions WHERE session_id = ?"

UPSERT_SESSION = """
    INSERT INTO chat_sessions (session_id, task_id, title, channel, created_at, last_activity)
    VALUES (:session_id, :task_id, :title, :channel, :now, :now)
    ON CONFLICT (session_id) DO UPDATE SET last_activity = excluded.last_activity
"""

# TODO(v35 step 5): the task runner still writes task_sessions; move it to
# UPSERT_SESSION and delete this constant.
RECORD_TASK_SESSION = """
    INSERT INTO task_sessions (session_id, channel, created_at, last_activity, metadata)
    VALUES (?, ?, ?, ?, ?)
"""

LEGACY_REPORT = """
    SELECT channel, COUNT(*) AS sessions, MIN(created_at) AS first_seen
    FROM task_sessions_legacy
    GROUP BY channel
    ORDER BY sessions DESC
"""


def get_session(conn: sqlite3.Connection, session_id: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(GET_SESSION, (session_id,)).fetchone()
    return row


def list_sessions(conn: sqlite3.Connection, channel: str, limit: int = 50,
                  columns: Sequence[str] = SESSION_COLUMNS) -> list[sqlite3.Row]:
    """Newest first. Reads chat_sessions only: task_sessions is archived."""
    cols = ", ".join(columns)
    sql = f"SELECT {cols} FROM chat_sessions WHERE channel = ? ORDER BY last_activity DESC LIMIT ?"
    return conn.execute(sql, (channel, limit)).fetchall()


def touch_session(conn: sqlite3.Connection, session_id: str, title: str, channel: str,
                  now: str, task_id: str | None = None) -> None:
    params = {"session_id": session_id, "task_id": task_id, "title": title,
              "channel": channel, "now": now}
    conn.execute(UPSERT_SESSION, params)


def record_task_session(conn: sqlite3.Connection, session_id: str, channel: str,
                        now: str, metadata: dict[str, Any]) -> None:
    """Called by the task runner when a run starts."""
    conn.execute(RECORD_TASK_SESSION, (session_id, channel, now, now, json.dumps(metadata)))


def legacy_report(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    """Read-only: sessions per channel in the archive, until it is dropped."""
    return conn.execute(LEGACY_REPORT).fetchall()
