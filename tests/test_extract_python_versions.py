"""Python that gatecheck's interpreter cannot parse: read with the tolerant parser.

Newer syntax (PEP 695, PEP 701, 3.14 t-strings), Python 2, and a file with a
syntax error in the middle are read with tree-sitter (`python_tolerant`).
Each fixture under ``tests/python_versions/`` is a pair: ``new.py`` and a
Python 3.11 twin with every SQL character at the same line and column; both
must give the same fragments, character for character, as CPython's ``ast``
gives on the twin.  A syntax problem is a warning naming the file and line,
never an error.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write_tree
from gatecheck.extract import Fragment, python_tolerant
from gatecheck.extract.python_files import extract_python
from gatecheck.extract.python_sinks import Walker
from gatecheck.positions import LineIndex

CASES = Path(__file__).parent / "python_versions"
NAME = "task_sessions"
TOLERANT = ("(read with the tolerant parser; strings outside the error are still checked)")


def extract(text: str, notes: list[str] | None = None) -> list[Fragment]:
    return extract_python("pkg/mod.py", text, notes)


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def located(text: str, fragment: Fragment) -> tuple[object, ...]:
    """A fragment as a finding sees it: SQL, each character's (line, column), flags."""
    index = LineIndex(text)
    return (fragment.sql, [index.line_col(o) for o in fragment.origin], fragment.sink,
            fragment.placeholders, fragment.piece)


def position(text: str, fragment: Fragment, name: str = NAME) -> tuple[int, int]:
    offset = fragment.file_offset(fragment.sql.index(name))
    assert text[offset:offset + len(name)] == name
    return LineIndex(text).line_col(offset)


# --- the fixture pairs ---------------------------------------------------------------

#: case -> the warning the new-syntax file gives (None: valid Python of another version).
NOTES = {
    "pep695": None,
    "pep701": None,
    "tstrings": None,
    "python2": "pkg/mod.py:9:5: Python syntax error: Python 2 print statement; 7 more after it ",
    "broken_middle": "pkg/mod.py:10:11: Python syntax error: '(' was never closed ",
}


@pytest.mark.parametrize("case", sorted(NOTES))
def test_new_syntax_reads_like_its_311_twin(case: str) -> None:
    new = (CASES / case / "new.py").read_text(encoding="utf-8")
    twin = (CASES / case / "twin.py").read_text(encoding="utf-8")
    with pytest.raises(SyntaxError):
        ast.parse(new)  # the fallback is what is tested
    ast.parse(twin)
    notes: list[str] = []
    got = extract(new, notes)
    want = extract(twin)
    assert len(want) >= 3
    assert [located(new, f) for f in got] == [located(twin, f) for f in want]
    expected = NOTES[case]
    if expected is None:
        assert notes == []
    else:
        assert notes == [expected + TOLERANT]


def test_fixture_positions_are_exact() -> None:
    """Spot checks on the pairs' shared positions (1-based line and column)."""
    def fragments(case: str) -> tuple[str, list[Fragment]]:
        text = (CASES / case / "new.py").read_text(encoding="utf-8")
        return text, extract(text)

    text, got = fragments("pep695")
    assert [(f.sql, position(text, f)) for f in got] == [
        ("SELECT id, title FROM task_sessions WHERE archived = 0", (9, 37)),
        ("DELETE FROM task_sessions WHERE id = ?", (13, 34)),
        ("SELECT * FROM task_sessions WHERE id = ?", (4, 10)),   # the constant's own line
        ("SELECT count(*) FROM task_sessions WHERE __gc0__", (4, 10))]
    text, got = fragments("pep701")
    assert [position(text, f) for f in got] == [(2, 10), (8, 49), (11, 12), (2, 10)]
    assert got[2].sql == "SELECT __gc0__ FROM task_sessions"
    text, got = fragments("tstrings")
    assert [(f.sql, position(text, f)) for f in got] == [
        ("SELECT * FROM task_sessions WHERE id = $1   ", (6, 33)),
        ("SELECT * FROM task_sessions WHERE id IN __gc0__ AND __gc1__ AND f = $1       ",
         (2, 10)),
        ("DELETE FROM task_sessions WHERE id = $1     ", (9, 28))]
    text, got = fragments("python2")
    assert [position(text, f) for f in got] == [(11, 34), (5, 10), (16, 33)]
    text, got = fragments("broken_middle")
    assert [position(text, f) for f in got] == [(3, 26), (2, 10), (11, 37), (15, 25), (2, 10)]


# --- shapes --------------------------------------------------------------------------

def test_template_string_fields_follow_psycopg() -> None:
    """``{x}``, ``:s``/``:b``/``:t``/``:l``: a value (``$1``); after IN: a hole; ``:i``: an
    identifier (a constant substituted); ``:q`` and anything else: a hole."""
    text = lines(
        'T = "task_sessions"',
        "def f(cur, a, b, c, ids, w):",
        '    cur.execute(t"SELECT {a:t} FROM {T:i} WHERE x = {b:l} AND y IN {ids} AND {w:q} "',
        '                t"AND z = {c!r} AND q = {c:>3}")',
    )
    fragment, = extract(text)
    assert fragment.sql == ("SELECT $1    FROM task_sessions WHERE x = $1    AND y IN __gc0__ "
                            "AND __gc1__ AND z = $1    AND q = __gc2__")
    assert fragment.sink
    assert position(text, fragment) == (1, 6)
    # The value's characters are the field's own.
    dollar = fragment.sql.index("$1")
    assert text[fragment.file_offset(dollar):fragment.file_offset(dollar) + 5] == "{a:t}"


def test_raw_and_mixed_template_prefixes() -> None:
    text = lines('Q = (Rt"SELECT * FROM task_sessions WHERE p ~ \'\\d+\' AND id = {i}" '
                 'TR"")')
    fragment, = extract(text)
    assert fragment.sql == "SELECT * FROM task_sessions WHERE p ~ '\\d+' AND id = $1 "
    assert position(text, fragment) == (1, 23)


def test_pep701_nested_same_quotes_and_deep_f_strings() -> None:
    text = lines(
        'T = "task_sessions"',
        'def f(cur, d):',
        '    cur.execute(f"SELECT {f"{f"{d["a"]}"}"} FROM {T} WHERE k = {d["}"]}"'
        ' f" AND {"{"}")',
    )
    fragment, = extract(text)
    assert fragment.sql == "SELECT __gc0__ FROM task_sessions WHERE k = __gc1__ AND __gc2__"
    assert position(text, fragment) == (1, 6)
    deep = 'x = f"SELECT ' + '{f"' * 400 + "1" + '"}' * 400 + ' FROM task_sessions"\n'
    notes: list[str] = []
    extract(deep + 'Q = "DELETE FROM task_sessions"\n', notes)  # no crash: skipped or read


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_bom_and_non_ascii_keep_columns(newline: str) -> None:
    text = "\ufeff" + newline.join([
        "type Ünï = int  # PEP 695",
        'é = "ü"; Q = ("SELECT * FROM "',
        '             "task_sessions")',
        "def f[T](cur: T):",
        '    cur.execute(f"""DELETE FROM {"x"}',
        '    WHERE t IN (SELECT id FROM task_sessions)""")',
        ""])
    notes: list[str] = []
    got = extract(text, notes)
    assert notes == []
    assert [position(text, f) for f in got] == [(3, 15), (6, 32)]
    assert got[0].sql == "SELECT * FROM task_sessions"


def test_a_syntax_error_is_a_warning_and_the_rest_is_read() -> None:
    text = lines(
        'A = "SELECT * FROM task_sessions"',
        "def broken(:",
        '    x = "unterminated',
        "    return x",
        "class Ok:",
        "    def run(self, cur):",
        '        cur.execute("DELETE FROM task_sessions")',
    )
    notes: list[str] = []
    got = extract(text, notes)
    assert [(f.sql, f.sink, position(text, f)) for f in got] == [
        ("SELECT * FROM task_sessions", False, (1, 20)),
        ("DELETE FROM task_sessions", True, (7, 34))]
    assert notes == [f"pkg/mod.py:2:12: Python syntax error: invalid syntax {TOLERANT}"]


@pytest.mark.parametrize("source, note", [
    ("try:\n    pass\nexcept ValueError, TypeError:\n    pass\n", None),    # PEP 758 (3.14)
    ("def f[T = int, *Ts = *tuple[int]](x: T) -> T:\n    return x\n", None),  # PEP 696 (3.13)
    ("class C[T: (int, str) = int]:\n    pass\n", None),
    ("try:\n    pass\nexcept ValueError, e:\n    pass\n",
     "pkg/mod.py:3:1: Python syntax error: Python 2 except clause 'except A, e:' "),
    ("x = 0777\n", "pkg/mod.py:1:5: Python syntax error: Python 2 number 0777 "),
    ("x = `y`\n", "pkg/mod.py:1:5: Python syntax error: Python 2 backquotes "),
    ("raise E, 'no'\n", "pkg/mod.py:1:1: Python syntax error: Python 2 raise statement "),
])
def test_what_is_reported(source: str, note: str | None) -> None:
    notes: list[str] = []
    extract(source + 'Q = "DELETE FROM task_sessions"\n', notes)
    assert notes == ([] if note is None else [note + TOLERANT])


def test_nested_too_deeply_for_any_parser_is_still_read_flat() -> None:
    text = "x = " + "(" * 5000 + '"DELETE FROM task_sessions"' + ")" * 5000 + "\n"
    notes: list[str] = []
    fragment, = extract(text, notes)
    assert position(text, fragment) == (1, 5018)
    assert notes == [f"pkg/mod.py:1:205: Python syntax error: too many nested parentheses "
                     f"{TOLERANT}"]


def test_without_tree_sitter_the_file_is_named_not_fatal(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    monkeypatch.setitem(sys.modules, "tree_sitter", None)  # import fails
    monkeypatch.setattr(python_tolerant, "_PARSER", [])
    notes: list[str] = []
    assert extract(lines("def f[T](): pass", 'Q = "DELETE FROM task_sessions"'), notes) == []
    assert notes == ["pkg/mod.py:1:6: Python syntax error: expected '('; not checked: the "
                     "tolerant parser (tree-sitter-python) is not installed"]


def test_valid_files_read_the_same_through_either_parser() -> None:
    """Differential: on ~2 MB of the standard library, every string site the walker
    finds, with its kind, spans, sink and piece flags and value, is the same from the
    tolerant reader as from ``ast.parse`` (measured on 161 MB: 1 file of 13,341 differs,
    a tree-sitter grammar bug on a dedent inside parentheses, in CPython's test_compile)."""
    def sites(tree: ast.Module) -> list[tuple[object, ...]]:
        walker = Walker()
        walker.walk(tree)
        out = []
        for kind, root, operands, _ in walker.sites:
            value = root.value if isinstance(root, ast.Constant) else None
            out.append((kind, _span(root), [_span(o) for o in operands], id(root) in
                        walker.sink_ids, id(root) in walker.piece_ids, value))
        return sorted(out, key=repr)

    stdlib = Path(os.__file__).parent
    size = 0
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree, problems = python_tolerant.read(text, 0)
        assert problems == [], path
        assert sites(tree) == sites(ast.parse(text)), path
        size += len(text)
        if size > 2_000_000:
            break


def _span(node: ast.expr) -> tuple[int, int, int | None, int | None]:
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset)


def test_call_sites_of_a_file_only_the_tolerant_parser_reads(tmp_path: Path) -> None:
    """forbid-calls reads the same tree: a byte-order mark and newer syntax keep spans exact,
    and the file without SQL still gets its warning."""
    from gatecheck import sources

    write_tree(tmp_path, {"a.py": "\ufeffimport sqlite3\ndef f[T](p: T):\n"
                                  "    return sqlite3.connect(p)\nprint 'x'\n"})
    source = sources.load(tmp_path, "a.py", call_names=frozenset({"connect"}))
    assert source.fragments == []
    site, = (c for c in source.calls if c.name == "sqlite3.connect")
    assert source.text[site.span.start:site.span.end] == "sqlite3.connect"
    assert source.warnings == [
        f"a.py:4:1: Python syntax error: Python 2 print statement {TOLERANT}"]


# --- the command line ----------------------------------------------------------------

RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
"""


def _run(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "gatecheck"
    return subprocess.run([sys.executable, "-X", "importtime", str(exe), "run", "--format",
                           "json"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          check=False)


def test_cli_finds_sql_in_newer_python_and_warns_on_the_broken_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "rules.yaml": RULES,
        "app/new.py": (CASES / "pep695" / "new.py").read_text(encoding="utf-8"),
        "app/broken.py": (CASES / "broken_middle" / "new.py").read_text(encoding="utf-8"),
        "app/ok.py": 'def f(cur):\n    cur.execute("SELECT 1")\n'})
    cold = _run(tmp_path)
    assert cold.returncode == 1, cold.stderr  # findings, not an error
    places = {(f["path"], f["line"], f["column"]) for f in json.loads(cold.stdout)["findings"]}
    assert {("app/new.py", 9, 37), ("app/new.py", 13, 34), ("app/new.py", 4, 10),
            ("app/broken.py", 3, 26), ("app/broken.py", 11, 37),
            ("app/broken.py", 15, 25)} <= places
    warning = ("gatecheck: warning: app/broken.py:10:11: Python syntax error: '(' was never "
               f"closed {TOLERANT}")
    assert warning in cold.stderr.splitlines()
    assert "gatecheck: error" not in cold.stderr
    # Served from the cache: the same findings and warning, without tree-sitter.
    warm = _run(tmp_path)
    assert warm.returncode == 1
    assert json.loads(warm.stdout)["findings"] == json.loads(cold.stdout)["findings"]
    assert warning in warm.stderr.splitlines()
    assert "tree_sitter" not in warm.stderr


def test_valid_python_never_imports_tree_sitter(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": RULES,
                          "app/q.py": 'def f(cur):\n    cur.execute("DELETE FROM task_sessions")\n'})
    run = _run(tmp_path)
    assert run.returncode == 1, run.stderr
    assert "tree_sitter" not in run.stderr
