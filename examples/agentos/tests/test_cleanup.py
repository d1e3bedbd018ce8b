"""The nightly cleanup job."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from app.jobs import cleanup
from app.store import sessions


def test_idle_sessions_expire(db: sqlite3.Connection) -> None:
    sessions.touch_session(db, "chat-0200", "Stale", "api", "2023-06-01T00:00:00+00:00")
    sessions.touch_session(db, "chat-0201", "Fresh", "api", "2024-01-19T00:00:00+00:00")
    assert cleanup.expire_idle_sessions(db, datetime(2024, 1, 20, tzinfo=timezone.utc)) == 1
    assert sessions.get_session(db, "chat-0200") is None
    assert sessions.get_session(db, "chat-0201") is not None
