"""Tasks and the chat session that owns each one."""

from __future__ import annotations

import sqlite3

LIST_BY_STATUS = (
    "SELECT t.task_id, t.title, t.priority, s.title AS session_title "
    "FROM tasks AS t "
    "JOIN chat_sessions AS s ON s.session_id = t.session_id "
    "WHERE t.status = ? "
    "ORDER BY t.priority DESC, t.created_at"
)

COUNT_BY = "SELECT {column}, COUNT(*) AS n FROM tasks GROUP BY {column} ORDER BY n DESC"
COUNTABLE = frozenset({"status", "priority", "session_id"})

SET_STATUS = "UPDATE tasks SET status = ?, updated_at = ? WHERE task_id = ?"

# The CTE keeps the name the dashboards know; it reads chat_sessions.
SESSIONS_WITH_TASKS = """
WITH task_sessions AS (
    SELECT session_id, task_id, channel FROM chat_sessions WHERE task_id IS NOT NULL
)
SELECT t.task_id, t.status, ts.session_id, ts.channel
FROM tasks AS t
JOIN task_sessions AS ts ON ts.task_id = t.task_id
ORDER BY t.task_id
"""


def list_by_status(conn: sqlite3.Connection, status: str) -> list[sqlite3.Row]:
    return conn.execute(LIST_BY_STATUS, (status,)).fetchall()


def count_by(conn: sqlite3.Connection, column: str) -> list[sqlite3.Row]:
    if column not in COUNTABLE:
        raise ValueError(f"cannot count tasks by {column!r}")
    return conn.execute(COUNT_BY.format(column=column)).fetchall()


def set_status(conn: sqlite3.Connection, task_id: str, status: str, now: str) -> None:
    conn.execute(SET_STATUS, (status, now, task_id))


def sessions_with_tasks(conn: sqlite3.Connection) -> list[sqlite3.Row]:
    return conn.execute(SESSIONS_WITH_TASKS).fetchall()
