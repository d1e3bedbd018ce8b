"""The per-file cache (.gatecheck_cache/) and worker processes never change results.

The cache is one SQLite database per settings key with a signed row per file
(`gatecheck.filecache`): a run reads the rows of the files it checks, no others.
"""

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
    cache_files = list((tmp_path / ".gatecheck_cache").glob("files-*.db"))
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
    assert len(list((tmp_path / ".gatecheck_cache").glob("files-*.db"))) == 2


def test_corrupt_cache_is_ignored_with_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    expected = findings(tmp_path)
    [cache] = (tmp_path / ".gatecheck_cache").glob("files-*.db")
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
    [cache] = (tmp_path / ".gatecheck_cache").glob("files-*.db")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[object, ...]:
            return (open, (str(marker), "w"))

    from test_security_files import signed_cache

    cache.unlink()
    signed_cache(cache, b"\0" * 32, {"a.sql": Exploit()})  # signed, but not with the user's key
    run = gatecheck("run", cwd=tmp_path)
    assert not marker.exists(), "a cache row signed with another key was unpickled"
    assert run.exit_code == 1 and run.stdout.count("no-task-sessions") == 1
    # A whole file that is no cache database (a signed pickle of the old layout) is refused.
    cache.write_bytes(b"GCC1" + b"\0" * 32 + pickle.dumps({"a.sql": Exploit()}))
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


# ---------------------------------------------------------------- issue 15: rows per file


COLUMNS_RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - {id: refs, kind: references-exist, columns: true}
  - {id: sql-parses, kind: sql-parses}
"""


def _columns_tree(tmp_path: Path, n: int) -> Path:
    from conftest import build_db

    files: dict[str, str | bytes] = {"rules.yaml": COLUMNS_RULES}
    for i in range(n):
        files[f"pkg{i % 7}/m{i}.py"] = (
            "def f(cur):\n"
            f'    cur.execute("SELECT t.titel, t.id FROM tasks t WHERE t.id = {i}")\n'
            f'    cur.execute("UPDATE tasks SET nme = ? WHERE id = {i}")\n'
            "    cur.execute('WITH r AS (SELECT id FROM tasks) SELECT r.idd FROM r')\n"
            f'    cur.execute("INSERT INTO tasks (id, title, oops) VALUES ({i}, 1, 2)")\n')
    root = write_tree(tmp_path, files)
    build_db(root / "app.db", "CREATE TABLE tasks (id INTEGER, title TEXT);")
    return root


def test_column_facts_are_cached_and_made_by_workers(tmp_path: Path) -> None:
    """``columns: true`` uses the cache and the workers like every source rule: cold in one
    process, cold in two workers, and warm (facts and engine verdicts from the cache) agree."""
    root = _columns_tree(tmp_path, 200)
    outputs = []
    for args in (("--no-cache", "-j", "1"), ("--no-cache", "-j", "2"), ("-j", "2"), (), ()):
        run = gatecheck("run", "--format", "json", *args, cwd=root)
        assert run.exit_code == 1, run.stderr
        assert "--jobs" not in run.stderr, "--jobs must be honoured"
        outputs.append(run.stdout)
    assert len(set(outputs)) == 1
    found = {(f["object"]) for f in json.loads(outputs[0])["findings"]}
    assert found == {"tasks.titel", "tasks.nme", "r.idd", "tasks.oops"}
    assert list((root / ".gatecheck_cache").glob("verdicts-*.db"))


def test_a_warm_run_asks_the_engine_nothing(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from gatecheck.engines import sqlite as engine

    root = _columns_tree(tmp_path, 5)
    first = gatecheck("run", "--format", "json", cwd=root)

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("the engine was asked again")

    monkeypatch.setattr(engine.NameOracle, "missing", refuse)
    monkeypatch.setattr(engine.NameOracle, "created", refuse)
    assert gatecheck("run", "--format", "json", cwd=root).stdout == first.stdout
    # A changed schema has another fingerprint: nothing stale is served.
    monkeypatch.undo()
    import sqlite3
    conn = sqlite3.connect(root / "app.db")
    conn.execute("ALTER TABLE tasks ADD COLUMN nme TEXT")
    conn.commit()
    conn.close()
    objects = {f["object"] for f in gatecheck("run", "--format", "json", cwd=root).json["findings"]}
    assert "tasks.nme" not in objects and "tasks.titel" in objects


def test_a_one_file_run_reads_one_row_and_keeps_the_others(tmp_path: Path) -> None:
    from gatecheck.filecache import FileCache
    from gatecheck.pipeline import CACHE_DIR

    files = {"rules.yaml": RULES}
    for i in range(50):
        files[f"m{i}.sql"] = f"SELECT * FROM task_sessions WHERE id = {i};\n"
    write_tree(tmp_path, files)
    findings(tmp_path)
    [db] = (tmp_path / CACHE_DIR).glob("files-*.db")
    key = db.stem.removeprefix("files-")
    cache = FileCache(tmp_path / CACHE_DIR, key, enabled=True)
    cache.lookup(["m7.sql"])
    assert list(cache._rows) == ["m7.sql"]
    cache.close()
    assert findings(tmp_path, "m7.sql") == [("m7.sql", 1, 15, "no-task-sessions")]
    cache = FileCache(tmp_path / CACHE_DIR, key, enabled=True)
    cache.lookup([f"m{i}.sql" for i in range(50)])
    assert len(cache._rows) == 50, "a one-file run dropped the other files' rows"
    cache.close()


def test_same_bytes_with_a_new_mtime_are_not_parsed_again(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh clone or a checkout gives every file a new mtime: the digest of its
    bytes still matches its row, so it is not analysed again."""
    from gatecheck import pipeline

    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n",
                          "b.sql": "SELECT 1;\n"})
    expected = findings(tmp_path)
    for name in ("a.sql", "b.sql"):
        os.utime(tmp_path / name, ns=(5, 5_000_000_000))
    analysed: list[str] = []
    real = pipeline.analyse_file

    def counting(root: str, rel: str, settings: object, memo: object = None) -> object:
        analysed.append(rel)
        return real(root, rel, settings, memo)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "analyse_file", counting)
    assert findings(tmp_path) == expected
    assert analysed == []
    (tmp_path / "b.sql").write_text("SELECT 2;\n")  # same size, other bytes
    os.utime(tmp_path / "b.sql", ns=(6, 6_000_000_000))
    assert findings(tmp_path) == expected
    assert analysed == ["b.sql"]


def test_a_foreign_or_linked_cache_database_is_replaced(tmp_path: Path) -> None:
    """A committed database with another schema (a view where the table should be,
    triggers), or a journal that is a link, is not used: a warning, and it is rebuilt."""
    import sqlite3

    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    expected = findings(tmp_path)
    [db] = (tmp_path / ".gatecheck_cache").glob("files-*.db")
    db.unlink()
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE other (x)")
    conn.execute("CREATE VIEW files AS SELECT 'a.sql', 0, 0, x'', 0, x'', x'' FROM other")
    conn.commit()
    conn.close()
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert "ignoring unreadable cache" in run.stderr and "Traceback" not in run.stderr
    assert findings(tmp_path) == expected
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    journal = Path(f"{db}-journal")
    journal.symlink_to(outside)
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert "ignoring unreadable cache" in run.stderr
    assert not outside.exists() and not journal.is_symlink()
    assert findings(tmp_path) == expected


def test_jobs_is_honoured_or_the_run_says_why(tmp_path: Path) -> None:
    """Only parse trees (which no rule kind asks of the file pipeline any more; the
    migrations review makes its own) keep the work in one process: ``--jobs`` then
    gets a note, never silence."""
    from gatecheck.pipeline import Settings, _run

    files = {f"m{i}.sql": f"SELECT {i};\n" for i in range(200)}
    write_tree(tmp_path, files)
    rels = sorted(files)
    trees = Settings("sqlite", sql=True, call_names=frozenset(), keep_trees=True)
    results, note = _run(tmp_path, rels, trees, 2)
    assert len(results) == 200 and note is not None and "--jobs 2" in note
    plain = Settings("sqlite", sql=True, call_names=frozenset(), columns=True)
    results, note = _run(tmp_path, rels, plain, 2)
    assert len(results) == 200 and note is None
