"""The per-file cache (.gatecheck_cache/) and worker processes never change results."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from conftest import gatecheck, write_tree

RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
"""


def findings(root: Path, *args: str) -> list[tuple[str, int, int, str]]:
    run = gatecheck("run", "--format", "json", *args, cwd=root)
    assert run.exit_code in (0, 1), run.stderr
    return [(f["path"], f["line"], f["column"], f["rule"]) for f in run.json["findings"]]


def test_cache_is_written_and_reused(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    first = findings(tmp_path)
    cache_files = list((tmp_path / ".gatecheck_cache").glob("files-*.pickle"))
    assert len(cache_files) == 1
    assert (tmp_path / ".gatecheck_cache" / ".gitignore").read_text().splitlines()[-1] == "*"
    stamp = cache_files[0].stat().st_mtime_ns
    assert findings(tmp_path) == first == [("a.sql", 1, 15, "no-task-sessions")]
    assert cache_files[0].stat().st_mtime_ns == stamp, "an unchanged tree must not rewrite it"


def test_editing_a_file_changes_its_findings(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    assert findings(tmp_path) == [("a.sql", 1, 15, "no-task-sessions")]
    # Same size, new content: mtime differs (set explicitly: coarse clocks).
    (tmp_path / "a.sql").write_text("SELECT * FROM chat_sessions;;\n")
    os.utime(tmp_path / "a.sql", ns=(1, 1_000_000_000))
    assert findings(tmp_path) == []
    (tmp_path / "a.sql").write_text("\nDELETE FROM task_sessions;\n")
    assert findings(tmp_path) == [("a.sql", 2, 13, "no-task-sessions")]


def test_changing_rules_is_never_served_stale(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM chat_sessions;\n"})
    assert findings(tmp_path) == []
    (tmp_path / "rules.yaml").write_text(RULES.replace("task_sessions", "chat_sessions"))
    assert findings(tmp_path) == [("a.sql", 1, 15, "no-task-sessions")]
    # The dialect changes what is parsed: a separate cache entry.
    (tmp_path / "rules.yaml").write_text(
        "version: 1\ndialect: postgres\n" + RULES.replace("version: 1\n", "")
        .replace("task_sessions", "chat_sessions"))
    assert findings(tmp_path) == [("a.sql", 1, 15, "no-task-sessions")]
    assert len(list((tmp_path / ".gatecheck_cache").glob("files-*.pickle"))) == 2


def test_corrupt_cache_is_ignored_with_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    expected = findings(tmp_path)
    [cache] = (tmp_path / ".gatecheck_cache").glob("files-*.pickle")
    for garbage in (b"", b"not a pickle", b"\x80\x05K\x01.", cache.read_bytes()[:50]):
        cache.write_bytes(garbage)
        run = gatecheck("run", "--format", "json", cwd=tmp_path)
        assert run.exit_code == 1
        assert "gatecheck: warning: ignoring unreadable cache" in run.stderr
        assert "Traceback" not in run.stderr
        assert [(f["path"], f["line"], f["column"], f["rule"])
                for f in run.json["findings"]] == expected
    # ...and it was rebuilt.
    assert gatecheck("run", cwd=tmp_path).stderr == ""


def test_no_cache_flag_writes_nothing(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT 1;\n"})
    findings(tmp_path, "--no-cache")
    assert not (tmp_path / ".gatecheck_cache").exists()


def test_read_only_tree_still_checks(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    (tmp_path / ".gatecheck_cache").write_text("a file where the directory should be")
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 1 and "cannot write cache" in run.stderr


def test_jobs_and_cache_state_give_identical_output(tmp_path: Path) -> None:
    files = {"rules.yaml": RULES + "  - {id: sql-parses, kind: sql-parses}\n"}
    for i in range(300):  # enough files for the pool to start workers
        files[f"pkg{i % 7}/m{i}.py"] = (
            f'def f(cur):\n    cur.execute("SELECT * FROM task_sessions WHERE id = {i}")\n'
            f'    cur.execute("SELECT FROM WHERE {i}")\n')
    write_tree(tmp_path, files)
    outputs = set()
    for args in (("--no-cache", "-j", "1"), ("--no-cache", "-j", "2"), (), ()):
        run = gatecheck("run", "--format", "json", *args, cwd=tmp_path)
        assert run.exit_code == 1
        outputs.add(run.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop())["summary"]["errors"] == 600


def test_concurrent_runs_share_the_cache_safely(tmp_path: Path) -> None:
    files = {"rules.yaml": RULES}
    for i in range(80):
        files[f"m{i}.sql"] = f"SELECT * FROM task_sessions WHERE id = {i};\n"
    write_tree(tmp_path, files)
    import subprocess
    import sys
    exe = str(Path(sys.executable).parent / "gatecheck")
    results: list[subprocess.CompletedProcess[str]] = []

    def one() -> None:
        results.append(subprocess.run([exe, "run", "-f", "json"], cwd=tmp_path,
                                      capture_output=True, text=True, timeout=120))
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.stdout for r in results}) == 1
    assert all(r.returncode == 1 and "warning" not in r.stderr for r in results)
    assert not list((tmp_path / ".gatecheck_cache").glob(".tmp-*")), "temp files left behind"


def test_a_cache_file_from_elsewhere_is_never_unpickled(tmp_path: Path) -> None:
    """A hostile repository may commit a .gatecheck_cache pickle: it must not run."""
    import pickle

    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    findings(tmp_path)
    [cache] = (tmp_path / ".gatecheck_cache").glob("files-*.pickle")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (open, (str(marker), "w"))

    payload = pickle.dumps({"a.sql": Exploit()})
    cache.write_bytes(b"GCC1" + b"\0" * 32 + payload)
    run = gatecheck("run", cwd=tmp_path)
    assert not marker.exists(), "an unsigned cache file was unpickled"
    assert run.exit_code == 1 and "ignoring unreadable cache" in run.stderr


def test_schema_cache_follows_schema_changes(tmp_path: Path,
                                             monkeypatch: "pytest.MonkeyPatch") -> None:
    import sqlite3

    from conftest import build_db

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    write_tree(tmp_path, {"rules.yaml": "version: 1\ndatabase: sqlite:///app.db\nrules:\n"
                          "  - {id: no-webui, kind: forbid-tables, pattern: 'webui_*'}\n"})
    build_db(tmp_path / "app.db", "CREATE TABLE users (id INTEGER);")
    assert findings(tmp_path) == []
    assert list((tmp_path / "xdg" / "gatecheck" / "schemas").glob("*.pickle"))
    assert findings(tmp_path) == []  # served from the cache
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("CREATE TABLE webui_chats (id INTEGER)")
    conn.commit()
    conn.close()
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [f["object"] for f in run.json["findings"]] == ["webui_chats"]
    # WAL mode: the change sits in the -wal file until a checkpoint.
    conn = sqlite3.connect(tmp_path / "app.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE webui_files (id INTEGER)")
    conn.commit()
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    conn.close()
    assert [f["object"] for f in run.json["findings"]] == ["webui_chats", "webui_files"]
