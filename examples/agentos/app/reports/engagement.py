"""Engagement report: reads the analytics database, not agentos.db.

The events table calls its column ``event``; this report was written against
an early draft that called it ``kind``.  Checked against agentos.db it would
be "table events does not exist"; rules.yaml routes the SQL run on
``analytics_db`` to the analytics database, where the real mistake shows.
"""

from __future__ import annotations

import sqlite3

MESSAGES_PER_CHANNEL = """
    SELECT channel, COUNT(*) AS messages
    FROM events
    WHERE kind = 'message' AND at >= ?
    GROUP BY channel
"""


def messages_per_channel(analytics_db: sqlite3.Connection, since: str) -> list[tuple[str, int]]:
    return analytics_db.execute(MESSAGES_PER_CHANNEL, (since,)).fetchall()


def busiest_days(analytics_db: sqlite3.Connection, limit: int = 7) -> list[tuple[str, int]]:
    return analytics_db.execute(
        "SELECT day, SUM(sessions) FROM daily_active GROUP BY day ORDER BY 2 DESC LIMIT ?",
        (limit,)).fetchall()
