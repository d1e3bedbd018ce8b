"""Tasks, and the chat session that owns each one."""

from __future__ import annotations

import sqlite3

from app.store import tasks


def test_tasks_by_status(db: sqlite3.Connection) -> None:
    assert [r["task_id"] for r in tasks.list_by_status(db, "done")] == ["task-0001", "task-0003"]


def test_a_status_change_is_counted(db: sqlite3.Connection) -> None:
    tasks.set_status(db, "task-0004", "done", "2025-06-20T10:00:00Z")
    counts = {r["status"]: r["n"] for r in tasks.count_by(db, "status")}
    assert counts["done"] == 3


def test_sessions_with_tasks(db: sqlite3.Connection) -> None:
    assert len(tasks.sessions_with_tasks(db)) >= 1
