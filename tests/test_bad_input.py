"""Bad input: a clear message with its location, exit 2, no traceback, and every
good file in the same run still checked and reported."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import gatecheck, gatecheck_subprocess, write_tree

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
    """A warning, not an error: the tolerant parser reads the rest of the file (issue 12)."""
    code, err, findings = check(tmp_path, {
        "bad.py": 'x = "SELECT * FROM t"\ndef (:\ny = "DELETE FROM task_sessions"\n'})
    assert code == 1, err
    assert "gatecheck: warning: bad.py:2:5: Python syntax error: " in err
    assert "gatecheck: error" not in err
    assert ("bad.py", 3, 18) in {(f["path"], f["line"], f["column"]) for f in findings}


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


# ---------------------------------------------------------------- line endings, encodings, NUL


def positions(findings: list[dict[str, object]], path: str) -> set[tuple[object, object]]:
    return {(f["line"], f["column"]) for f in findings
            if f["path"] == path and f["rule"] == "no-task-sessions"}


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "lone-cr"])
def test_line_endings_keep_columns_exact(newline: str, tmp_path: Path) -> None:
    py = ('import sqlite3\n\ndef f(cur):\n    x = "é"; cur.execute("""\n'
          '        SELECT *\n        FROM task_sessions""")\n').replace("\n", newline)
    sql = "/* header */\nSELECT 1;\n  DELETE FROM task_sessions;\n".replace("\n", newline)
    code, err, findings = check(tmp_path, {"crlf.py": py.encode(), "crlf.sql": sql.encode()})
    assert code == 1, err
    assert positions(findings, "crlf.py") == {(6, 14)}
    assert positions(findings, "crlf.sql") == {(3, 15)}


def test_pep263_cookie_with_lone_cr_line_endings(tmp_path: Path) -> None:
    """Regression: the coding cookie was looked for in one "line" the size of the file
    (BytesIO splits at LF only), so this valid Python file was an error."""
    source = '# -*- coding: latin-1 -*-\rx = "café"\rcur.execute("SELECT * FROM task_sessions")\r'
    code, err, findings = check(tmp_path, {"mac.py": source.encode("latin-1")})
    assert code == 1 and err == "", err
    assert positions(findings, "mac.py") == {(3, 28)}


def test_nul_bytes_in_python(tmp_path: Path) -> None:
    code, err, _ = check(tmp_path, {"nul.py": b'x = "SELECT * FROM t"\x00\n'})
    assert code == 2 and "gatecheck: error: nul.py: binary file (contains NUL bytes)" in err


def test_utf16_python_with_bom(tmp_path: Path) -> None:
    source = 'def f(cur):\r\n    cur.execute("SELECT * FROM task_sessions")\r\n'
    code, err, findings = check(tmp_path, {"wide.py": source.encode("utf-16")})
    assert code == 1, err
    assert positions(findings, "wide.py") == {(2, 32)}


# ---------------------------------------------------------------- long lines, deep nesting


def test_one_megabyte_line(tmp_path: Path) -> None:
    filler = "1, " * 350_000
    line = f"X = [{filler}]; cur.execute('SELECT * FROM task_sessions')\n"
    code, err, findings = check(tmp_path, {"long.py": line, "long.sql": (
        "SELECT " + "1 + " * 250_000 + "1 FROM task_sessions;\n")})
    assert code == 1, err
    assert positions(findings, "long.py") == {(1, line.index("task_sessions") + 1)}
    assert positions(findings, "long.sql") == {(1, 7 + 4 * 250_000 + 8)}


def test_python_nested_too_deeply_to_parse(tmp_path: Path) -> None:
    code, err, _ = check(tmp_path, {"deep.py": "cur.execute(" + "(" * 5000 + ")" * 5000 + ")\n"})
    assert code == 1, err  # the good files' findings; deep.py is a warning
    assert "gatecheck: warning: deep.py:1:" in err and "too many nested parentheses" in err


@pytest.mark.parametrize("depth", [2_000, 20_000])
def test_sql_nested_thousands_of_levels(depth: int, tmp_path: Path) -> None:
    """Regression: 10,000 nested subqueries crashed the process (a segfault in sqlglot's
    compiled parser, not a RecursionError).  Past 256 levels a statement is reported and
    not parsed; the names after FROM are still checked.  Run as a real process, so that a
    crash is a failed test and not a dead test runner."""
    sql = "SELECT * FROM " + "(SELECT * FROM " * depth + "task_sessions" + ")" * depth + ";\n"
    write_tree(tmp_path, {"rules.yaml": RULES, **GOOD, "deep.sql": sql,
                          "deep.py": f'def f(cur):\n    cur.execute("{sql.strip()}")\n'})
    run = gatecheck_subprocess("run", "--format", "json", cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    findings = run.json["findings"]
    assert positions(findings, "deep.sql") == {(1, 15 + 15 * depth)}
    assert positions(findings, "deep.py") == {(2, 32 + 15 * depth)}
    [problem] = [f for f in findings if f["path"] == "deep.sql" and f["rule"] == "sql-parses"]
    assert problem["message"] == (f"SQL does not parse (sqlite): SQL nested {depth} levels deep "
                                  "(limit 256); not parsed")


def test_sqlglot_failing_on_odd_input_is_a_parse_problem(tmp_path: Path) -> None:
    """Regression: sqlglot raised TypeError on this (postgres dialect): an internal error."""
    write_tree(tmp_path, {"rules.yaml": "version: 1\ndialect: postgres\n" +
                          RULES.replace("version: 1\n", ""), **GOOD,
                          "odd.sql": "task_sessions ?;\nSELECT * FROM task_sessions;\n"})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.exit_code == 1 and "internal error" not in run.stderr, run.stderr
    # The compiled sqlglot (sqlglotc) raises TypeError here, pure sqlglot a ParseError:
    # either way the statement is a sql-parses finding, not an internal error.
    parse = [f for f in run.json["findings"]
             if f["path"] == "odd.sql" and f["rule"] == "sql-parses"]
    assert [f["line"] for f in parse] == [1], parse
    assert parse[0]["message"].startswith("SQL does not parse (postgres): ")
    assert positions(run.json["findings"], "odd.sql") == {(2, 15)}


# ---------------------------------------------------------------- files that go away


def test_file_deleted_between_discovery_and_reading(tmp_path: Path) -> None:
    """The engine's own discovery, then the file goes, then the same list is read."""
    from gatecheck.config import load_config
    from gatecheck.engine import Engine

    write_tree(tmp_path, {"rules.yaml": RULES, **GOOD, "gone.sql": "SELECT 1;\n",
                          "link.sql": "SELECT 2;\n"})
    engine = Engine(load_config(tmp_path / "rules.yaml"), tmp_path, use_cache=False)
    discovered = engine.source_paths()
    assert discovered == ["gone.sql", "good.py", "good.sql", "link.sql"]
    (tmp_path / "gone.sql").unlink()
    (tmp_path / "link.sql").unlink()
    (tmp_path / "link.sql").symlink_to(tmp_path / "elsewhere.sql")
    engine.only = discovered
    result = engine.run()
    assert [str(e) for e in result.errors] == [
        "gone.sql: file disappeared during the run; skipped",
        "link.sql: broken symbolic link; skipped"]
    assert {(f.path, f.line) for f in result.findings if f.rule == "no-task-sessions"} == {
        ("good.py", 2), ("good.sql", 1)}


def test_file_over_the_size_limit_is_skipped_unread(tmp_path: Path) -> None:
    from gatecheck.sources import MAX_FILE_BYTES

    with open(tmp_path / "dump.sql", "wb") as fh:  # sparse: no 64 MB written
        fh.truncate(MAX_FILE_BYTES + 1024 * 1024)
    code, err, _ = check(tmp_path, {})
    assert code == 2
    assert "gatecheck: error: dump.sql: file is 65 MB, over the 64 MB limit; skipped" in err


def test_migration_with_a_nul_byte_is_a_replay_finding(tmp_path: Path) -> None:
    """Regression: SQLite's statement splitter raised ValueError (an internal error)."""
    write_tree(tmp_path, {
        "rules.yaml": "version: 1\ndatabase: {migrations: 'migrations/*.sql'}\nrules:\n"
                      "  - {id: no-webui, kind: forbid-tables, pattern: 'webui_*'}\n",
        "migrations/0001.sql": b"CREATE TABLE webui_chats (a);\nSELECT 1\x00;\n"})
    run = gatecheck("run", "--no-cache", cwd=tmp_path)
    assert run.exit_code == 1 and run.stderr == "", run.stderr
    # Like an undecodable file, the file is not applied at all.
    assert run.stdout.splitlines()[0] == (
        "migrations/0001.sql:2:1: migrations-replay cannot read migration: it contains a NUL "
        "byte (binary file?); the replay stopped here, so the rules that need this database "
        "did not run (on_failure: continue checks the schema built so far)")


def test_parse_errors_point_inside_the_file(tmp_path: Path) -> None:
    """Regressions from the fuzz campaign: an error at the end of a file without a final
    newline pointed one past its end, and after a postgres "$" sqlglot counts lines wrong
    (line 4, column -5 for the first token here), which moved the error off its token."""
    write_tree(tmp_path, {"rules.yaml": "version: 1\ndialect: postgres\nrules:\n"
                                        "  - {id: sql-parses, kind: sql-parses}\n",
                          "a.sql": "SELECT 1;\n$0 SELECT;\n", "b.sql": "SELECT * FROM",
                          "c.sql": "$\n"})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    spans = {f["path"]: (f["line"], f["column"], f["end_line"], f["end_column"])
             for f in run.json["findings"]}
    assert spans["a.sql"][:2] == (2, 1)       # "$0", where PostgreSQL's own parser stops
    assert spans["b.sql"] == (1, 10, 1, 13)   # FROM, the last token
    assert spans["c.sql"][:2] == (1, 1)       # "$", not the line after it


def test_paths_the_system_refuses_are_errors_not_crashes(tmp_path: Path) -> None:
    """Regression (campaign): a file name over the system's limit raised OSError
    (ENAMETOOLONG) from pathlib, an internal error, for an include, a database path,
    a path argument and --config."""
    long = "x" * 300
    write_tree(tmp_path, {"rules.yaml": RULES.replace(
        "version: 1\n", f"version: 1\ndatabase: sqlite:///{long}.db\n") +
        "  - {id: no-webui, kind: forbid-tables, pattern: 'webui_*'}\n", **GOOD})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.exit_code == 2 and "internal error" not in run.stderr
    assert f"cannot use database path {tmp_path / long}.db: File name too long" in run.stderr
    assert run.json["findings"], "the source rules still ran"
    for args in ([f"{long}.sql"], ["--config", f"{long}.yaml"]):
        run = gatecheck("run", *args, cwd=tmp_path)
        assert run.exit_code == 2 and "internal error" not in run.stderr, run.stderr
        assert run.stderr.startswith(f"gatecheck: error: {long}") and \
            "File name too long" in run.stderr
