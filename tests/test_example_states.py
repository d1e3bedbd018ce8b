"""The bundled example's three states, checked by Gate 2 and the migration-integrity pack.

Each state is built by the example's own ``build_db.py`` into a temporary
file and checked with ``examples/agentos/integrity.yaml`` (both packs) and
``--db``.  ``GATECHECK_TODAY`` pins "today" to two and a half weeks after
the merge, so the 30-day ``cleanup`` rule does not depend on the calendar.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, gatecheck

EXAMPLE = REPO / "examples" / "agentos"
CONFIG = EXAMPLE / "integrity.yaml"

EXPECTED: dict[str, list[tuple[str, str]]] = {
    # Before the merge: Gate 2 fails, and so does every check of the merge.
    "34": [
        ("legacy-kept", "task_sessions_legacy"),
        ("new-columns", "chat_sessions.channel"),
        ("new-columns", "chat_sessions.last_activity"),
        ("no-duplicate-session-tables", "task_sessions"),
        ("no-leftovers", "tasks_new"),
        ("no-table-name-conflicts", "task_sessions"),
        ("old-gone", "task_sessions"),
        ("recorded", "schema_migrations"),
        ("tasks-resolve", "tasks.session_id"),
        ("version", "schema_version.version"),
        ("zero-loss", "task_sessions_legacy"),
    ],
    # After the merge: Gate 2 passes, but the rename moved the foreign keys of tasks
    # (and of v21's leftover tasks_new) to the archive.
    "35": [
        ("fk-resolve", "tasks.session_id"),
        ("fk-resolve", "tasks_new.session_id"),
        ("no-leftovers", "tasks_new"),
    ],
    # After v36 rebuilt tasks and dropped tasks_new: everything passes.
    "full": [],
}


def build(out: Path, state: str) -> Path:
    upto = [] if state == "full" else ["--upto", state]
    subprocess.run([sys.executable, str(EXAMPLE / "build_db.py"), "--out", str(out), *upto],
                   check=True, capture_output=True, text=True, timeout=120)
    return out


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_example_state(state: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = build(tmp_path / f"agentos-{state}.db", state)
    monkeypatch.setenv("GATECHECK_TODAY", "2025-06-20")
    run = gatecheck("run", "--config", str(CONFIG), "--db", f"sqlite:///{db}",
                    "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert [(f["rule"], f["object"]) for f in run.json["findings"]] == EXPECTED[state]
    assert run.json["summary"]["rules"] == 15
    assert run.exit_code == (1 if EXPECTED[state] else 0)


def test_example_zero_loss_and_orphans_before_the_merge(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = build(tmp_path / "agentos.db", "34")
    monkeypatch.setenv("GATECHECK_TODAY", "2025-06-20")
    run = gatecheck("run", "--config", str(CONFIG), "--db", f"sqlite:///{db}",
                    "--format", "json", "--show-data", cwd=tmp_path)
    [orphans] = [f for f in run.json["findings"] if f["rule"] == "tasks-resolve"]
    # Only sess-0003 was in chat_sessions before the merge.
    assert (orphans["count"], orphans["sample"]) == (
        4, ["sess-0001", "sess-0002", "sess-0004", "sess-0005"])


def test_example_cleanup_fires_after_thirty_days(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    db = build(tmp_path / "agentos.db", "full")
    monkeypatch.setenv("GATECHECK_TODAY", "2025-07-03")  # v35 was recorded 2025-06-02
    run = gatecheck("run", "--config", str(CONFIG), "--db", f"sqlite:///{db}", cwd=tmp_path)
    # The date comes from a row of the migrations record: data, hidden by default.
    assert run.stdout.splitlines() == [
        "db:task_sessions_legacy: cleanup task_sessions_legacy was archived on <hidden> "
        "(date from the migrations record schema_migrations.applied_at; values hidden, pass "
        "--show-data to show them), <hidden> days ago, past max_age_days 30: drop it once "
        "nothing reads it",
        "Found 1 error (15 rules, 0 files, 0 SQL fragments)",
    ]
    run = gatecheck("run", "--config", str(CONFIG), "--db", f"sqlite:///{db}", "--show-data",
                    cwd=tmp_path)
    assert run.stdout.splitlines() == [
        "db:task_sessions_legacy: cleanup task_sessions_legacy was archived on 2025-06-02 "
        "(date from the migrations record schema_migrations.applied_at), 31 days ago, past "
        "max_age_days 30: drop it once nothing reads it",
        "Found 1 error (15 rules, 0 files, 0 SQL fragments)",
    ]
