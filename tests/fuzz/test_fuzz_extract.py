"""Fuzzing the extractors: arbitrary bytes as source files, and random valid
Python whose SQL sits in every string shape gatecheck reads.

Invariants: a file is either analysed or reported as a `SourceError` naming
it; every span lies inside the file; a table name in a ``.sql`` file is
reported on its own characters; splitting a long fragment into pieces changes
nothing; and in generated Python every planted reference of the forbidden
table is found, at its exact line and column, while no decoy (comment,
docstring, SQL string literal, longer identifier) is.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fuzz import (TABLE, check_cli_output, fuzz_settings, scratch_dir,  # noqa: E402
                   sql_script, sql_soup, time_limit, write_files)
from conftest import gatecheck  # noqa: E402
from gatecheck import sqlfacts  # noqa: E402
from gatecheck.errors import SourceError  # noqa: E402
from gatecheck.extract import Fragment  # noqa: E402
from gatecheck.pipeline import Settings, analyse_file  # noqa: E402
from gatecheck.positions import LineIndex  # noqa: E402
from gatecheck.sources import decode  # noqa: E402

DIALECTS = ["sqlite", "postgres", "mysql"]

python_noise = st.lists(st.sampled_from([
    "import sqlite3\n", "x = 1\n", "def f(cur):\n    cur.execute(", '"""doc"""\n', "'''\n",
    "f'{x}'\n", "# comment\n", "\\\n", "SQL = 'SELECT * FROM task_sessions'\n",
    "cur.execute(SQL)\n", "cur.execute(f\"SELECT {a} FROM {b}\")\n", "text(\"", ")\n",
    "    ", "\t", "\r\n", "\r", "é", "\x00", "\ufeff", "%s", "{}", ".format(1)", " % (1,)"]),
    max_size=30).map("".join)


@fuzz_settings(600)
@given(st.one_of(st.binary(max_size=400), python_noise.map(str.encode),
                 sql_script.map(str.encode), sql_soup.map(str.encode)),
       st.sampled_from(["a.py", "a.sql"]), st.sampled_from(DIALECTS), st.booleans())
def test_arbitrary_bytes_as_source(data: bytes, name: str, dialect: str, trees: bool) -> None:
    with scratch_dir() as root, time_limit():
        (root / name).write_bytes(data)
        result = analyse_file(str(root), name, Settings(dialect, sql=True,
                                                        call_names=frozenset({"connect"}),
                                                        keep_trees=trees))
        if result.error is not None:
            assert isinstance(result.error, SourceError) and result.error.path == name
            assert str(result.error).startswith(name)
            return
        try:
            text = decode(name, data)
        except SourceError:
            pytest.fail("decoding failed but the file was analysed")
        for facts in result.facts:
            spans = [t.span for t in facts.tables] + [e.span for e in facts.errors] + \
                [s.span for s in facts.statements]
            for span in spans:
                assert 0 <= span.start < span.end <= max(len(text), 1), (span, len(text))
            if name.endswith(".sql"):
                for ref in facts.tables:
                    spelled = text[ref.span.start:ref.span.end]
                    # Quotes are not part of the name (SQLite reads FROM 'x' as a table).
                    if not any(q in ref.name for q in "\"`'"):
                        assert spelled.strip('"`[]\'').casefold() == ref.name.casefold(), \
                            (spelled, ref)


@fuzz_settings(400)
@given(st.lists(st.one_of(sql_script, sql_soup), min_size=1, max_size=12),
       st.integers(1, 64), st.sampled_from(DIALECTS))
def test_pieces_change_nothing(scripts: list[str], piece: int, dialect: str) -> None:
    """A fragment analysed in pieces has exactly the facts of one analysed whole."""
    sql = "\n".join(scripts)
    fragment = Fragment("a.sql", sql, sink=True)
    with time_limit():
        whole = sqlfacts.analyse(fragment, dialect, keep_trees=True)
        if not _tokenizes(sql, dialect):
            return  # pieces then check what precedes the bad token; the whole cannot
        saved = sqlfacts.PIECE_CHARS
        sqlfacts.PIECE_CHARS = piece
        try:
            pieces = sqlfacts.analyse(fragment, dialect, keep_trees=True)
        finally:
            sqlfacts.PIECE_CHARS = saved
    assert pieces.tables == whole.tables
    assert pieces.errors == whole.errors
    assert [(s.kind, s.span, s.first_token) for s in pieces.statements] == \
        [(s.kind, s.span, s.first_token) for s in whole.statements]
    assert [_positions(s.tree) for s in pieces.statements] == \
        [_positions(s.tree) for s in whole.statements], "tree positions moved with their piece"


def _tokenizes(sql: str, dialect: str) -> bool:
    from sqlglot.dialects.dialect import Dialect

    try:
        Dialect.get_or_raise(dialect).tokenize(sql)
    except Exception:  # noqa: BLE001 - TokenError, or sqlglot's own bug on odd input
        return False
    return True


def _positions(tree: object) -> list[tuple[str, int | None]]:
    if tree is None:
        return []
    # Identifiers come from the text; other nodes may be synthesised with any meta.
    return [(n.name, n.meta.get("start")) for n in tree.walk()  # type: ignore
            if type(n).__name__ == "Identifier"]


# ---------------------------------------------------------------- Python shapes

#: SQL with one table position ({T}) and one value position ({P}).
TEMPLATES = [
    "SELECT id FROM {T} WHERE id = {P}",
    "INSERT INTO {T} (session_id) VALUES ({P})",
    "UPDATE {T} SET title = 'task_sessions' WHERE id = {P}",
    "DELETE FROM {T} WHERE id = {P} -- not task_sessions_legacy",
    "SELECT c.id FROM chat_sessions c JOIN {T} t ON t.id = c.id WHERE c.id = {P}",
    "WITH recent AS (SELECT * FROM {T} WHERE id > {P}) SELECT * FROM recent",
    "REPLACE INTO {T} (id) VALUES ({P})",
    "SELECT 'café' AS label, id FROM {T} WHERE id = {P}",
    "SELECT\\tid FROM {T} WHERE id = {P}",
]
#: SQL that names the table only where it must not be reported.
DECOYS = [
    "SELECT * FROM task_sessions_legacy WHERE id = {P}",
    "SELECT 'task_sessions' AS name FROM chat_sessions WHERE id = {P}",
    "WITH task_sessions AS (SELECT 1 AS id) SELECT * FROM task_sessions WHERE id = {P}",
    "SELECT id FROM chat_sessions /* was task_sessions */ WHERE id = {P}",
]
SPELLINGS = ["task_sessions", "TASK_SESSIONS", "Task_Sessions", "main.task_sessions",
             '"task_sessions"', "`task_sessions`", "[task_sessions]"]
SHAPES = ["plain", "single", "triple", "implicit", "fstring", "percent", "pyformat", "format",
          "text", "script", "constant", "plus", "raw", "keyword", "bare", "fconst", "plusconst"]
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")


class Source:
    """Python source built piece by piece, remembering where each planted name is."""

    def __init__(self, newline: str) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.nl = newline
        self.planted: list[tuple[int, int]] = []  # (offset, length) of names to report

    def add(self, text: str) -> None:
        text = text.replace("\n", self.nl)
        self.parts.append(text)
        self.length += len(text)

    def add_sql(self, sql: str, name: str | None, spelled: str) -> None:
        """Add SQL source text with ``{T}`` (at most once) standing for ``spelled``."""
        head, found, tail = sql.partition("{T}")
        self.add(head)
        if found:
            bare = spelled.split(".")[-1] if spelled.startswith("main.") else spelled
            offset = self.length + len(spelled) - len(bare)
            if name is not None:
                self.planted.append((offset, len(bare)))
            self.add(spelled)
            self.add(tail)

    def text(self) -> str:
        return "".join(self.parts)


@st.composite
def python_file(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]], str]:
    """(source text, [(offset, length) of each reference to report], encoding)."""
    newline = draw(st.sampled_from(["\n", "\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1"]))
    src = Source(newline)
    if encoding == "latin-1":
        src.add("# -*- coding: latin-1 -*-\n")
    src.add("import sqlite3\nfrom sqlalchemy import text\n\n")
    sites = draw(st.lists(st.tuples(st.sampled_from(SHAPES),
                                    st.sampled_from(TEMPLATES + DECOYS),
                                    st.sampled_from(SPELLINGS),
                                    st.sampled_from(["", "x = 1; ", "# é\n", "pass; "])),
                          min_size=1, max_size=6))
    for i, (shape, template, spelled, prefix) in enumerate(sites):
        if shape == "constant":
            src.add(f"QUERY_{i} = ")
            _literal(src, "constant", template, spelled, template in TEMPLATES)
            src.add("\n")
        elif shape in ("fconst", "plusconst"):
            # The table name in a constant, put into the SQL by an f-string or
            # "+": reported on the constant's characters.  An f-string field
            # takes a plain identifier only (a quoted one stays an unknown,
            # dynamic name); "+" reads whatever text the constant holds.
            report = template in TEMPLATES and "{T}" in template and \
                (shape == "plusconst" or IDENTIFIER.fullmatch(spelled) is not None)
            q = "'" if '"' in spelled else '"'
            src.add(f"TABLE_{i} = {q}")
            src.add_sql("{T}", TABLE if report else None, spelled)
            src.add(f"{q}\n")
    src.add('\n\ndef run(cur, conn, log, value, col):\n    """Reads task_sessions; never '
            'writes it."""\n    # SELECT * FROM task_sessions (a comment)\n'
            '    log.info("moved task_sessions to chat_sessions")\n')
    for i, (shape, template, spelled, prefix) in enumerate(sites):
        src.add("    " + prefix.replace("\n", "\n    "))
        if shape == "constant":
            src.add(f"cur.execute(QUERY_{i}, (value,))\n")
            continue
        if shape in ("fconst", "plusconst") and "{T}" in template:
            head, _, tail = template.replace("{P}", "?").partition("{T}")
            q = _quote(template.replace("{T}", ""), '"')
            if shape == "fconst":
                src.add(f"cur.execute(f{q}{head}{{TABLE_{i}}}{tail}{q}, (value,))\n")
            else:
                src.add(f"cur.execute({q}{head}{q} + TABLE_{i} + {q}{tail}{q}, (value,))\n")
            continue
        _literal(src, "plain" if shape.endswith("const") else shape, template, spelled,
                 template in TEMPLATES)
        src.add("\n")
    return src.text(), src.planted, encoding


def _quote(sql: str, prefer: str) -> str:
    """A quote character that does not occur in ``sql`` (so nothing needs escaping)."""
    for q in (prefer, "'" if prefer == '"' else '"'):
        if q not in sql:
            return q
    return prefer * 3


def _literal(src: Source, shape: str, template: str, spelled: str, report: bool) -> None:
    """One statement of the given shape, SQL ``template`` with ``spelled`` for {T}."""
    name = TABLE if report else None
    if shape == "raw":
        template = template.replace("\\t", " ")  # no escapes in a raw string
    if shape == "triple":
        sql = template.replace(" FROM ", "\n        FROM ").replace(" WHERE ", "\n  WHERE ")
        q = _quote(template.replace("{T}", spelled), '"') * 3
        src.add(f"cur.execute({q[:3]}\n        ")
        src.add_sql(sql.replace("{P}", "?"), name, spelled)
        src.add(f"\n    {q[:3]}, (value,))")
        return
    if shape in ("implicit", "plus"):
        spaces = [i for i, c in enumerate(template) if c == " "
                  and not template.startswith("{T}", i - 3) and i != template.find("{T}") - 1]
        where = template.find(" WHERE ")
        cut = (where if where in spaces else spaces[len(spaces) // 2]) + 1
        q = _quote(template.replace("{T}", spelled), '"')
        joiner = f"{q}\n        {q}" if shape == "implicit" else f"{q} + {q}"
        src.add(f"cur.execute({q}")
        for n, part in enumerate((template[:cut], template[cut:])):
            if n:
                src.add(joiner)
            src.add_sql(part.replace("{P}", "?"), name if "{T}" in part else None, spelled)
        src.add(f"{q}, (value,))")
        return
    head, value, tail = {
        "constant": ("", "?", ""),
        "plain": ("cur.execute(", "?", ", (value,))"),
        "single": ("cur.execute(", "?", ", (value,))"),
        "fstring": ("cur.execute(f", "{value}", ")"),
        "percent": ("cur.execute(", "%s", " % (value,))"),
        "pyformat": ("cur.execute(", "%(v)s", ", {'v': value})"),
        "format": ("cur.execute(", "{}", ".format(value))"),
        "text": ("conn.execute(text(", ":v", "), {'v': value})"),
        "script": ("cur.executescript(", "1", ")"),
        "raw": ("cur.execute(r", "?", ", (value,))"),
        "keyword": ("cur.execute(sql=", "?", ", parameters=(value,))"),
        "bare": ("sql = ", "?", ""),
    }[shape]
    sql = template.replace("{P}", value)
    if shape == "script":
        sql = "CREATE TABLE IF NOT EXISTS scratch (a);\\n" + sql + ";"
    q = _quote(sql.replace("{T}", spelled), "'" if shape == "single" else '"')
    src.add(f"{head}{q}")
    src.add_sql(sql, name, spelled)
    src.add(f"{q}{tail}")


RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
"""


@fuzz_settings(600)
@given(python_file())
def test_every_planted_reference_is_found_exactly(case: tuple[str, list[tuple[int, int]],
                                                              str]) -> None:
    text, planted, encoding = case
    data = text.encode(encoding)
    with scratch_dir() as root, time_limit():
        write_files(root, {"rules.yaml": RULES, "app.py": data})
        run = gatecheck("run", "--format", "json", "--no-cache", cwd=root)
        payload = check_cli_output(root, run.exit_code, run.stdout, run.stderr)
    assert run.stderr == "", run.stderr
    decoded = decode("app.py", data)
    index = LineIndex(decoded)
    shift = len(decoded) - len(text)  # a BOM the encoding added
    expected = set()
    for offset, length in planted:
        line, column = index.line_col(offset + shift)
        end_line, end_column = index.line_col(offset + shift + length - 1)
        expected.add((line, column, end_line, end_column))
    found = {(f["line"], f["column"], f["end_line"], f["end_column"])
             for f in payload["findings"]}
    assert found == expected, (sorted(found - expected), sorted(expected - found), text)


@fuzz_settings(300)
@given(st.lists(st.tuples(st.sampled_from(TEMPLATES + DECOYS), st.sampled_from(SPELLINGS)),
                min_size=1, max_size=8),
       st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from(["", "\ufeff"]))
def test_sql_file_references_are_found_exactly(statements: list[tuple[str, str]], newline: str,
                                               bom: str) -> None:
    src = Source(newline)
    src.add(bom + "/* task_sessions is gone; see chat_sessions */\n")
    for template, spelled in statements:
        sql = template.replace("{P}", "1").replace("\\t", "\t")
        if newline == "\r":
            # A line comment ends at LF in SQLite (and sqlglot): after a lone CR
            # it would swallow the next statements, as SQLite itself would.
            sql = sql.replace("-- not task_sessions_legacy", "/* not task_sessions */")
        # A line comment would swallow a ";" on its line.
        src.add_sql(sql + ("\n;\n" if "--" in sql else ";\n"),
                    TABLE if template in TEMPLATES else None, spelled)
    with scratch_dir() as root, time_limit():
        write_files(root, {"rules.yaml": RULES, "schema.sql": src.text()})
        run = gatecheck("run", "--format", "json", "--no-cache", cwd=root)
        payload = check_cli_output(root, run.exit_code, run.stdout, run.stderr)
    index = LineIndex(src.text())
    expected = {(*index.line_col(o), *index.line_col(o + n - 1)) for o, n in src.planted}
    found = {(f["line"], f["column"], f["end_line"], f["end_column"])
             for f in payload["findings"]}
    assert found == expected, (sorted(found - expected), sorted(expected - found))
