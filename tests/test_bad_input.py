"""Bad input: a clear message with its location, exit 2, no traceback, and every
good file in the same run still checked and reported."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import gatecheck, write_tree

RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses}
"""
GOOD = {"good.py": 'def f(cur):\n    cur.execute("DELETE FROM task_sessions")\n',
        "good.sql": "SELECT * FROM task_sessions;\n"}


def check(tmp_path: Path, bad: dict[str, str | bytes]) -> tuple[int, str, list[dict[str, object]]]:
    write_tree(tmp_path, {"rules.yaml": RULES, **GOOD, **bad})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert "Traceback" not in run.stderr
    findings = run.json["findings"]
    # The good files are checked and reported in the same run.
    assert {(f["path"], f["line"]) for f in findings if f["rule"] == "no-task-sessions"} >= {
        ("good.py", 2), ("good.sql", 1)}
    return run.exit_code, run.stderr, findings


def test_python_syntax_error(tmp_path: Path) -> None:
    code, err, _ = check(tmp_path, {"bad.py": 'x = "SELECT * FROM t"\ndef (:\n'})
    assert code == 2
    assert "gatecheck: error: bad.py:2:" in err and "syntax error" in err


def test_binary_file(tmp_path: Path) -> None:
    code, err, _ = check(tmp_path, {"blob.sql": b"SELECT\x00\x01\x02 FROM x"})
    assert code == 2 and "blob.sql: binary file" in err


def test_non_utf8_file(tmp_path: Path) -> None:
    code, err, _ = check(tmp_path, {"latin.sql": "SELECT 'café' FROM t;\n".encode("latin-1")})
    assert code == 2 and "latin.sql:1: not valid utf-8 (byte 0xe9)" in err


def test_pep263_latin1_python_is_decoded(tmp_path: Path) -> None:
    source = '# -*- coding: latin-1 -*-\nx = "café"; cur.execute("SELECT * FROM task_sessions")\n'
    code, err, findings = check(tmp_path, {"old.py": source.encode("latin-1")})
    assert code == 1, err
    assert ("old.py", 2, 40) in {(f["path"], f["line"], f["column"]) for f in findings}


def test_utf16_with_bom(tmp_path: Path) -> None:
    code, err, findings = check(tmp_path, {"wide.sql": "\r\nSELECT * FROM task_sessions;\r\n"
                                           .encode("utf-16")})
    assert code == 1, err
    assert ("wide.sql", 2, 15) in {(f["path"], f["line"], f["column"]) for f in findings}


def test_garbage_sql(tmp_path: Path) -> None:
    code, err, findings = check(tmp_path, {"junk.sql": "SELECT FROM WHERE (((;\n"
                                                      "DELETE FROM task_sessions;\n"})
    assert code == 1, err
    assert any(f["path"] == "junk.sql" and f["rule"] == "sql-parses" and f["line"] == 1
               for f in findings)
    # The statement after the broken one is still checked.
    assert any(f["path"] == "junk.sql" and f["line"] == 2 for f in findings)


def test_unterminated_sql_string(tmp_path: Path) -> None:
    code, err, findings = check(tmp_path, {"open.sql": "SELECT 'never closed FROM x;\n"})
    assert code == 1, err
    assert [f["rule"] for f in findings if f["path"] == "open.sql"] == ["sql-parses"]


def test_unreadable_file_subprocess() -> None:
    """A file gatecheck may not read is skipped with a message naming it.

    CI runs as root, which reads everything, so the check runs as ``nobody``
    (``setpriv``) in a world-readable directory with one file closed to it.
    """
    import shutil
    import subprocess
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="gatecheck-perm-", dir="/tmp"))
    try:
        root.chmod(0o755)
        write_tree(root, {"rules.yaml": RULES, **GOOD, "secret.sql": "SELECT 1;"})
        for p in root.iterdir():
            p.chmod(0o644)
        (root / "secret.sql").chmod(0)
        exe = str(Path(sys.executable).parent / "gatecheck")
        cmd = [exe, "run", "--no-color"]
        if os.geteuid() == 0:
            assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop root"
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stderr
        assert "gatecheck: error: secret.sql: permission denied; skipped" in proc.stderr
        assert "good.sql:1:15: no-task-sessions" in proc.stdout
        assert "Traceback" not in proc.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_symlink_loop_and_directory_named_like_a_file(tmp_path: Path) -> None:
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "self").symlink_to(tmp_path / "loop")
    (tmp_path / "dir.sql").mkdir()
    (tmp_path / "dangling.sql").symlink_to(tmp_path / "nowhere.sql")
    code, err, _ = check(tmp_path, {})
    assert code == 2
    assert "dangling.sql: broken symbolic link; skipped" in err
    assert "loop" not in err and "dir.sql" not in err
