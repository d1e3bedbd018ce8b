"""Sessions live in chat_sessions (schema v35 merged task_sessions into it)."""

from __future__ import annotations

import sqlite3

from app.store import sessions


def test_a_touched_session_can_be_read_back(db: sqlite3.Connection) -> None:
    sessions.touch_session(db, "chat-0100", "Plan the offsite", "slack", "2025-06-20T10:00:00Z")
    row = sessions.get_session(db, "chat-0100")
    assert row is not None
    assert (row["title"], row["channel"]) == ("Plan the offsite", "slack")


def test_sessions_are_listed_newest_first(db: sqlite3.Connection) -> None:
    sessions.touch_session(db, "chat-0101", "Old", "api", "2025-06-01T00:00:00Z")
    sessions.touch_session(db, "chat-0102", "New", "api", "2025-06-02T00:00:00Z")
    assert [r["session_id"] for r in sessions.list_sessions(db, "api", limit=2)] == \
        ["chat-0102", "chat-0101"]


def test_the_archive_is_still_readable(db: sqlite3.Connection) -> None:
    assert sum(r["sessions"] for r in sessions.legacy_report(db)) == 6
