#!/usr/bin/env python3
"""sql-parses on valid SQL from other parser test suites: how much does it reject?

Every statement here is one the engine itself accepts -- PostgreSQL's grammar
(pglast, libpg_query) or SQLite's (stdlib ``sqlite3``, compiled under
``EXPLAIN`` on an empty in-memory database, a missing table stood in for) --
so every ``sql-parses`` finding on them is a bug in gatecheck (its splitting,
extraction or verdict).  The statements are read from snapshots of public
repositories given on the command line; nothing of them is kept in this
repository:

    python bench/valid_sql.py \\
        --snapshot tobymao/sqlglot=/path/to/git-dir \\
        --snapshot lelit/pglast=... --snapshot pganalyze/libpg_query=... \\
        --snapshot apache/datafusion-sqlparser-rs=...

A snapshot is a git directory (read at ``HEAD``, or ``REPO=PATH@COMMIT``) or a
work tree.  Sources (a repository without a snapshot is skipped):

- ``tobymao/sqlglot``: ``tests/fixtures/identity.sql`` (one statement a line;
  both engines) and the strings of ``tests/dialects/test_sqlite.py`` /
  ``test_postgres.py`` (each to its engine);
- ``lelit/pglast``: the printer tests' ``.sql`` cases (PostgreSQL);
- ``pganalyze/libpg_query``: ``test/sql/**/*.sql``, PostgreSQL's own
  regression scripts (psql meta-commands dropped); PostgreSQL, and the
  statements SQLite's grammar accepts too;
- ``apache/datafusion-sqlparser-rs``: the string literals of
  ``tests/sqlparser_{sqlite,postgres,common}.rs``.

Each engine's statements are written as ``.sql`` files (a statement, then
``;`` on its own line; a broken ``SELEC 1;`` last, so that no verdict on a
file as a whole can pass them) and as Python strings passed to ``cur.execute(...)``
(plain and triple-quoted), and one ``gatecheck run --format json`` per engine
runs a ``sql-parses`` rule over them.  It prints, per source and engine: the
statements the engine accepts, those sql-parses rejects as ``.sql`` and as
Python, and the rejection rate; ``--show N`` prints N rejected statements of
each source with gatecheck's message.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterator

ENGINES = ("sqlite", "postgres")
#: Statements per generated file (several files let gatecheck use its workers).
CHUNK = 1500
#: Longer statements are left out (generated stress tests, not code anyone writes).
MAX_LENGTH = 20_000


# ---------------------------------------------------------------- snapshots


class Snapshot:
    """Files of one repository: a git directory at a commit, or a work tree."""

    def __init__(self, spec: str) -> None:
        path, _, commit = spec.partition("@")
        self.path = Path(path)
        self.git = (self.path / "objects").is_dir() or (self.path / ".git").exists()
        if self.git and not (self.path / "objects").is_dir():
            self.path = self.path / ".git"
        self.commit = commit or (self._git("rev-parse", "HEAD").strip() if self.git else "")

    def _git(self, *args: str) -> str:
        return subprocess.run(["git", f"--git-dir={self.path}", *args], check=True,
                              capture_output=True, text=True, errors="replace").stdout

    def files(self, pattern: str) -> list[str]:
        """Paths matching the regular expression ``pattern``, sorted."""
        if self.git:
            names = self._git("ls-tree", "-r", "--name-only", self.commit).splitlines()
        else:
            names = [p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                     if p.is_file()]
        return sorted(n for n in names if re.fullmatch(pattern, n))

    def read(self, name: str) -> str:
        if self.git:
            return self._git("show", f"{self.commit}:{name}")
        return (self.path / name).read_text(encoding="utf-8", errors="replace")


# ---------------------------------------------------------------- extractors


def lines_of(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("--"):
            yield line.strip()


def python_strings(text: str) -> Iterator[str]:
    """Every string constant of a Python test module."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def blank_line_cases(text: str) -> Iterator[str]:
    """pglast's printer tests: cases split by a blank line, "original\\n=\\nexpected"."""
    for case in text.split("\n\n"):
        yield case.split("\n=\n", 1)[0]


_PSQL_META = re.compile(r"^\s*\\.*$", re.MULTILINE)


def regress_statements(text: str) -> Iterator[str]:
    """PostgreSQL regression scripts: psql meta-commands dropped, split by the scanner."""
    from pglast.parser import split

    text = _PSQL_META.sub("", text)
    try:
        yield from split(text, with_parser=False)
    except Exception:  # the scanner gives up on the file (an unterminated quote)
        yield from (part for part in text.split(";\n"))


_RUST_STRING = re.compile(r'r(#+)"(.*?)"\1|"((?:\\.|[^"\\])*)"', re.DOTALL)


def rust_strings(text: str) -> Iterator[str]:
    for match in _RUST_STRING.finditer(text):
        if match.group(2) is not None:
            yield match.group(2)
            continue
        raw = match.group(3)
        raw = re.sub(r"\\\n\s*", "", raw)  # a line continuation
        yield re.sub(r'\\(["\\nrt0\'])', lambda m: {"n": "\n", "r": "\r", "t": "\t",
                                                     "0": "\0"}.get(m.group(1), m.group(1)),
                     raw)


#: (source name, repository, file pattern, extractor, engines)
SOURCES: list[tuple[str, str, str, Callable[[str], Iterator[str]], tuple[str, ...]]] = [
    ("sqlglot identity.sql", "tobymao/sqlglot", r"tests/fixtures/identity\.sql", lines_of,
     ENGINES),
    ("sqlglot test_sqlite.py", "tobymao/sqlglot", r"tests/dialects/test_sqlite\.py",
     python_strings, ("sqlite",)),
    ("sqlglot test_postgres.py", "tobymao/sqlglot", r"tests/dialects/test_postgres\.py",
     python_strings, ("postgres",)),
    ("pglast printer tests", "lelit/pglast", r"tests/test_printers_\w+/.*\.sql",
     blank_line_cases, ("postgres",)),
    ("libpg_query test/sql", "pganalyze/libpg_query", r"test/sql/.*\.sql", regress_statements,
     ENGINES),
    ("sqlparser-rs sqlite", "apache/datafusion-sqlparser-rs", r"tests/sqlparser_sqlite\.rs",
     rust_strings, ("sqlite",)),
    ("sqlparser-rs postgres", "apache/datafusion-sqlparser-rs",
     r"tests/sqlparser_postgres\.rs", rust_strings, ("postgres",)),
    ("sqlparser-rs common", "apache/datafusion-sqlparser-rs", r"tests/sqlparser_common\.rs",
     rust_strings, ENGINES),
]


# ---------------------------------------------------------------- the engines' own verdicts


def postgres_accepts(sql: str) -> bool:
    """PostgreSQL's grammar reads ``sql`` as exactly one statement."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        return len(json.loads(parse_sql_json(sql)).get("stmts", [])) == 1
    except (ParseError, ValueError):
        return False


_SQLITE_SYNTAX = re.compile(r"syntax error|^incomplete input|^unrecognized token",
                            re.IGNORECASE)
_NO_SUCH_TABLE = re.compile(r"^no such table: (?:(?:main|temp)\.)?(.+)$")


def _deny_attach(action: int, *_: object) -> int:
    return sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH,
                                             sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK


class SQLiteGrammar:
    """SQLite compiles ``EXPLAIN stmt`` (nothing runs) on an empty in-memory database;
    a missing table named before the parser's end (``CREATE TRIGGER ... ON t``) is
    created empty and the statement compiled again.  A syntax error at any point
    means the grammar rejects it; any other error is about names or types."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.conn.set_authorizer(_deny_attach)

    def accepts(self, sql: str) -> bool:
        """Each statement on an empty database: a stand-in left by another would
        change the verdict (SQLite says "table t already exists" mid-parse, before
        a later syntax error)."""
        text = sql.strip().rstrip(";").strip()
        if not text or not sqlite3.complete_statement(text + ";"):
            return False
        if text[:7].upper() != "EXPLAIN":
            text = f"EXPLAIN {text}"
        self.conn.execute("SAVEPOINT bench")
        try:
            return self._compiles(text)
        finally:
            self.conn.execute("ROLLBACK TO bench")
            self.conn.execute("RELEASE bench")

    def _compiles(self, text: str) -> bool:
        for _ in range(8):
            try:
                self.conn.execute(text)
            except sqlite3.ProgrammingError as exc:
                # Compiled: parameters to bind; but a second statement is not one.
                return "one statement" not in str(exc)
            except sqlite3.Error as exc:
                missing = _NO_SUCH_TABLE.match(str(exc))
                if missing:
                    try:
                        self.conn.execute(f'CREATE TABLE IF NOT EXISTS "{missing.group(1)}" (x)')
                        continue
                    except sqlite3.Error:
                        return True
                return not _SQLITE_SYNTAX.search(str(exc))
            except (ValueError, OverflowError, MemoryError):
                return False
            return True
        return True


# ---------------------------------------------------------------- gatecheck


def collect(snapshots: dict[str, Snapshot]) -> dict[str, dict[str, list[str]]]:
    """engine -> source -> the statements that engine accepts (deduplicated)."""
    grammar = SQLiteGrammar()
    out: dict[str, dict[str, list[str]]] = {e: {} for e in ENGINES}
    for name, repo, pattern, extract, engines in SOURCES:
        snapshot = snapshots.get(repo)
        if snapshot is None:
            continue
        candidates: dict[str, None] = {}
        for path in snapshot.files(pattern):
            for sql in extract(snapshot.read(path)):
                sql = sql.strip().rstrip(";").strip()
                if sql and len(sql) <= MAX_LENGTH and "\0" not in sql:
                    candidates.setdefault(sql, None)
        for engine in engines:
            accepts = postgres_accepts if engine == "postgres" else grammar.accepts
            out[engine][name] = [s for s in candidates if accepts(s)]
    return out


def _python_literal(sql: str, i: int) -> str:
    if i % 2 and '"""' not in sql and "\\" not in sql and not sql.endswith('"'):
        return '"""' + sql + '"""'
    return repr(sql)


def run(engine: str, sources: dict[str, list[str]], show: int) -> list[tuple[str, ...]]:
    """One gatecheck run over ``sources``' statements as .sql files and as Python."""
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "rules.yaml").write_text(f"version: 1\ndialect: {engine}\nrules:\n"
                                         "  - {id: parses, kind: sql-parses}\n")
        # (path, line) -> (source, statement index), for every line a statement spans.
        where: dict[tuple[str, int], tuple[str, int]] = {}
        for s_index, (name, statements) in enumerate(sources.items()):
            for c_index in range(0, len(statements), CHUNK):
                chunk = statements[c_index:c_index + CHUNK]
                stem = f"s{s_index}_{c_index // CHUNK}"
                sql_lines: list[str] = []
                py_lines: list[str] = ["def run(cur):"]
                for offset, sql in enumerate(chunk):
                    index = c_index + offset
                    first = len(sql_lines) + 1
                    sql_lines.extend(sql.split("\n"))
                    sql_lines += [";", ""]
                    for line in range(first, len(sql_lines) + 1):
                        where[(f"{stem}.sql", line)] = (name, index)
                    first = len(py_lines) + 1
                    py_lines.extend(f"    cur.execute({_python_literal(sql, index)})"
                                    .split("\n"))
                    for line in range(first, len(py_lines) + 1):
                        where[(f"{stem}_app.py", line)] = (name, index)
                # A broken last statement: no verdict on the file as a whole can then
                # pass the statements before it (its own finding maps to none of them).
                sql_lines.append("SELEC 1;")
                (root / f"{stem}.sql").write_text("\n".join(sql_lines) + "\n", encoding="utf-8")
                (root / f"{stem}_app.py").write_text("\n".join(py_lines) + "\n",
                                                    encoding="utf-8")
        exe = Path(sys.executable).parent / "gatecheck"
        proc = subprocess.run([str(exe), "run", "--format", "json", "--no-cache"], cwd=root,
                              capture_output=True, text=True, check=False)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"gatecheck exited {proc.returncode}: {proc.stderr[-2000:]}")
        findings = json.loads(proc.stdout)["findings"]
    rejected: dict[str, dict[str, dict[int, str]]] = defaultdict(lambda: defaultdict(dict))
    for f in findings:
        hit = where.get((f["path"], f["line"]))
        if hit is None:
            continue
        name, index = hit
        kind = "sql" if f["path"].endswith(".sql") else "python"
        rejected[name][kind].setdefault(index, f["message"])
    for name, statements in sources.items():
        as_sql, as_py = rejected[name]["sql"], rejected[name]["python"]
        either = set(as_sql) | set(as_py)
        total = len(statements)
        rows.append((name, engine, str(total), str(len(as_sql)), str(len(as_py)),
                     f"{len(either) / total:.2%}" if total else "-"))
        for index in sorted(either)[:show]:
            message = as_sql.get(index) or as_py.get(index) or ""
            print(f"  [{name} / {engine}] {message}\n    {statements[index][:300]!r}")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", action="append", default=[], metavar="REPO=PATH[@COMMIT]")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print N rejected statements per source")
    parser.add_argument("--engine", choices=ENGINES, action="append",
                        help="only this engine (repeatable)")
    args = parser.parse_args()
    snapshots: dict[str, Snapshot] = {}
    for spec in args.snapshot:
        repo, _, path = spec.partition("=")
        snapshots[repo] = Snapshot(path)
        print(f"{repo} at {snapshots[repo].commit or '(work tree)'}")
    if not snapshots:
        parser.error("give at least one --snapshot REPO=PATH")
    statements = collect(snapshots)
    rows = [("source", "engine", "accepted", "rejected .sql", "rejected .py", "rate")]
    for engine in args.engine or ENGINES:
        if statements[engine]:
            rows += run(engine, statements[engine], args.show)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
