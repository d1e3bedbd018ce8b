"""Valid SQL is never a sql-parses finding: a suite of engine-valid statements.

``tests/valid_sql/sqlite.sql`` and ``tests/valid_sql/postgres.sql`` hold a few
hundred statements each, grouped by feature (every shape of issue 11, item 4,
and more).  Each entry is first proved valid by the engine itself -- SQLite
executes the whole file in order on a fresh in-memory database (stdlib
``sqlite3``), PostgreSQL's grammar (pglast) parses each entry -- and then one
``gatecheck run`` per engine checks the entries as a ``.sql`` file and as
Python strings passed to ``cursor.execute`` in several shapes (plain,
triple-quoted, f-string with a value hole, driver parameters, ``%`` and
``.format`` templates, a module constant): not one ``sql-parses`` finding, and
a finding at the right line for each broken neighbour appended after them.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import gatecheck, write_tree

SUITE = Path(__file__).parent / "valid_sql"


class Entry(NamedTuple):
    feature: str
    line: int  # 1-based line of the statement's first line in the data file
    sql: str  # the statement, with its ";"


def entries(dialect: str) -> list[Entry]:
    """The data file's statements: blank lines separate them, ``-- feature:`` names groups."""
    out: list[Entry] = []
    feature = ""
    lines: list[str] = []
    start = 0
    text = (SUITE / f"{dialect}.sql").read_text(encoding="utf-8")
    for number, line in enumerate([*text.split("\n"), ""], 1):
        if line.startswith("-- feature:"):
            feature = line.removeprefix("-- feature:").strip()
            continue
        if line.strip():
            if not lines:
                if line.startswith("-- ") and not out and not feature:
                    continue  # the file's own header
                start = number
            lines.append(line)
            continue
        if lines:
            out.append(Entry(feature, start, "\n".join(lines)))
            lines = []
    return out


def _bare(sql: str) -> str:
    return sql.rstrip().removesuffix(";").rstrip()


class _Any(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> int:
        return 1


def test_sqlite_suite_is_valid_sqlite() -> None:
    """SQLite itself runs every entry, in order, on a fresh in-memory database
    (parameters bound to 1)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    for entry in entries("sqlite"):
        text = _bare(entry.sql)
        try:
            try:
                conn.execute(text).fetchall()
            except sqlite3.ProgrammingError as exc:  # parameters to bind
                count = re.search(r"uses (\d+)", str(exc))
                try:
                    conn.execute(text, [1] * int(count.group(1) if count else 0)).fetchall()
                except sqlite3.ProgrammingError:
                    conn.execute(text, _Any()).fetchall()
        except sqlite3.Error as exc:
            pytest.fail(f"sqlite.sql:{entry.line}: SQLite rejects it: {exc}")


def test_postgres_suite_is_valid_postgres() -> None:
    from pglast import parse_sql

    for entry in entries("postgres"):
        assert len(parse_sql(entry.sql)) == 1, f"postgres.sql:{entry.line}: not one statement"


#: Shapes of issue 11, item 4 (and more) that each suite must hold.
REQUIRED = {
    "sqlite": [r"\bsqlite_master\b", r"\bsqlite_schema\b", r"\bsqlite_sequence\b",
               r"\bsqlite_stat1\b", r"\btemp\.", r"\bmain\.", r"\browid\b", r"\boid\b",
               r"\b_rowid_\b", r"USING fts5", r"\w+ MATCH \?", r"WHERE docs MATCH",
               r"\bIN t2\b", r"UPDATE OR IGNORE", r"INSERT OR REPLACE", r"\?\d+",
               r"NOT DEFERRABLE", r"OVER \(", r"ON CONFLICT", r"RETURNING", r"WITH RECURSIVE",
               r"GENERATED ALWAYS", r"\bSTRICT\b", r"WITHOUT ROWID", r"->>", r"CREATE INDEX .* WHERE",
               r"CREATE INDEX \w+ ON \w+ \(lower", r"CREATE TRIGGER .* BEGIN", r"^PRAGMA",
               r"^VACUUM", r"^ANALYZE", r"^REINDEX", r"^SAVEPOINT", r"^RELEASE"],
    "postgres": [r"EXECUTE FUNCTION", r"EXECUTE PROCEDURE", r"CREATE EVENT TRIGGER",
                 r"ON COMMIT DROP", r"FOR UPDATE OF", r"jsonb_path_ops", r"gist_trgm_ops",
                 r"^DROP FUNCTION", r"json_array_elements\(", r"^DO ", r"\$\w*\$",
                 r"LANGUAGE plpgsql", r"^ALTER TABLE", r"^GRANT", r"^REVOKE", r"^COPY",
                 r"^LISTEN", r"^NOTIFY", r"\?\|", r"@>", r"LATERAL", r"GROUPING SETS",
                 r"FILTER \(WHERE", r"DISTINCT ON", r"::", r"ON CONFLICT", r"^MERGE",
                 r"GENERATED (ALWAYS|BY DEFAULT) AS IDENTITY", r"PARTITION (BY|OF)",
                 r"CREATE POLICY", r"ROW LEVEL SECURITY", r"CREATE DOMAIN", r"AS ENUM",
                 r"CREATE TYPE \w+ AS \(", r"CREATE EXTENSION", r"^COMMENT ON"],
}


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_suite_covers_the_issue_shapes(dialect: str) -> None:
    statements = [e.sql for e in entries(dialect)]
    assert len(statements) >= 250
    missing = [p for p in REQUIRED[dialect]
               if not any(re.search(p, s, re.MULTILINE) for s in statements)]
    assert missing == []


# ---------------------------------------------------------------- through the CLI

#: Broken neighbours: each is one finding, on its own line; in the Python module each
#: in the shape given (a hole only after the mistake: one before it may stand for
#: anything, and the statement is then not checked).
BROKEN: dict[str, list[tuple[str, str | None]]] = {
    "sqlite": [("SELEC * FROM t", "plain"), ("SELECT * FROM t WHER a = 1", "triple"),
               ("UPDATE OR IGNORE t SET a = 1 WHER id = 1", "fstring"),
               ("CREATE TABLE x (a INTEGER REFERENCES t(id) NOT DEFERABLE)", "constant"),
               ("INSERT INTO u (a) VALUES (?) ON CONFLICT (a) DO UPDAT SET a = 2", "params"),
               ("CREATE TRIGGER x AFTER INSERT ON t BEGIN UPDAT t SET a = 1; END", "plain")],
    "postgres": [("SELEC 1", "plain"), ("SELECT * FROM t WHER a = 1", "triple"),
                 ("CREATE TRIGGER x AFTER ON t EXECUTE FUNCTION f()", "constant"),
                 ("DROP FUNCTON f()", "plain"),
                 ("SELECT * FROM t WHERE a = %s FOR UPDATE OFF t", "params"),
                 ("CREATE TEMP TABLE s (a int) ON COMMIT DROPS", "plain"),
                 ("SELECT * FROM t WHER a = 1", "fstring")],
}


#: A literal where a value hole or a driver parameter can stand: compared with a
#: column, set, inserted, listed in IN (...), or a LIMIT.
_VALUE = re.compile(r"(?:(?<=\s)[\w.]+\s*(?:=|<>|<=|>=|<|>)\s*|\bVALUES\s*\(|\bIN\s*\("
                    r"|\bLIMIT\s+)(?P<v>\d+(?:\.\d+)?|'[^'{}%\\\n]*')(?=[\s,);])")


def _takes_a_value(dialect: str, sql: str, value: re.Match[str]) -> bool:
    """Whether the engine's grammar takes a parameter where ``value`` is (an event
    trigger's ``WHEN TAG IN ('...')`` takes string constants only)."""
    if dialect == "sqlite":
        return True  # SQLite takes a parameter wherever an expression stands
    from pglast import parse_sql
    from pglast.parser import ParseError

    try:
        parse_sql(sql[:value.start("v")] + "$1" + sql[value.end("v"):])
    except ParseError:
        return False
    return True


_SHAPES = {"plain": 0, "triple": 1, "fstring": 2, "params": 3, "constant": 6}


def _python(dialect: str, statements: list[tuple[str, str | None]]) -> tuple[str, list[int]]:
    """A module passing each statement to ``cur.execute`` in a rotating shape (or the
    one given with it); the line where each statement's string starts."""
    param = "?" if dialect == "sqlite" else "%s"
    constants: list[str] = []
    body: list[str] = []
    where: list[tuple[str, int]] = []  # ("constant" | "body", index)
    for i, (sql, given) in enumerate(statements):
        sql = _bare(sql)
        value = _VALUE.search(sql)
        if value is not None and not _takes_a_value(dialect, sql, value):
            value = None
        usable = [2, 3, 4, 5] if value else [0, 6] + (
            [1] if '"""' not in sql and "\\" not in sql and not sql.endswith('"') else [])
        shape = usable[i % len(usable)]
        if given is not None:
            shape = _SHAPES[given]
        if shape == 3 and given is not None:  # the statement has its parameter already
            code = f"cur.execute({sql!r}, (value,))"
        elif shape == 2 and given is not None:  # the value hole at the end
            last = sql.rindex("1")
            code = f"cur.execute(f{sql[:last] + '{value}' + sql[last + 1:]!r})"
        elif shape == 1:
            code = f'cur.execute("""{sql}""")'
        elif shape == 2 and value is not None:
            braced = sql[:value.start('v')].replace("{", "{{").replace("}", "}}")
            rest = sql[value.end('v'):].replace("{", "{{").replace("}", "}}")
            code = f"cur.execute(f{braced + '{value}' + rest!r})"
        elif shape == 3 and value is not None:
            text = sql[:value.start('v')] + param + sql[value.end('v'):]
            if dialect == "postgres":  # psycopg: a literal % is written %% with parameters
                text = sql[:value.start('v')].replace("%", "%%") + param + \
                    sql[value.end('v'):].replace("%", "%%")
            code = f"cur.execute({text!r}, (value,))"
        elif shape == 4 and value is not None:
            text = sql[:value.start('v')].replace("%", "%%") + "%s" + \
                sql[value.end('v'):].replace("%", "%%")
            code = f"cur.execute({text!r} % (value,))"
        elif shape == 5 and value is not None:
            text = sql[:value.start('v')].replace("{", "{{").replace("}", "}}") + "{}" + \
                sql[value.end('v'):].replace("{", "{{").replace("}", "}}")
            code = f"cur.execute({text!r}.format(value))"
        elif shape == 6:
            name = f"QUERY_{i}"
            where.append(("constant", len(constants)))
            constants.append(f"{name} = {sql!r}")
            body.append(f"    cur.execute({name})")
            continue
        else:
            code = f"cur.execute({sql!r})"
        where.append(("body", len(body)))
        body.append("    " + code)
    start = {"constant": [], "body": []}  # type: dict[str, list[int]]
    line = 1
    for part, items in (("constant", constants), ("head", ["def run(cur, value):"]),
                        ("body", body)):
        for item in items:
            start.setdefault(part, []).append(line)
            line += item.count("\n") + 1
    text = "\n".join(constants + ["def run(cur, value):"] + body) + "\n"
    return text, [start[part][index] for part, index in where]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_sql_parses_is_silent_on_the_suite(tmp_path: Path, dialect: str) -> None:
    """One CLI run per engine: the suite as a .sql file and as Python strings; only the
    broken neighbours are findings, each at its line in both."""
    suite = entries(dialect)
    data = (SUITE / f"{dialect}.sql").read_text(encoding="utf-8")
    broken = [sql for sql, _ in BROKEN[dialect]]
    sql_lines = data.count("\n") + 2
    sql_file = data + "\n" + "".join(f"{b.replace('%s', '1')};\n\n" for b in broken)
    expected_sql = {sql_lines + 2 * i for i in range(len(broken))}
    statements: list[tuple[str, str | None]] = [(e.sql, None) for e in suite]
    py_file, lines = _python(dialect, statements + BROKEN[dialect])
    expected_py = set(lines[len(suite):])
    write_tree(tmp_path, {
        "rules.yaml": (f"version: 1\ndialect: {dialect}\nrules:\n"
                       "  - {id: sql-parses, kind: sql-parses}\n"),
        "suite.sql": sql_file, "app.py": py_file})
    run = gatecheck("run", "--format", "json", "--no-cache", cwd=tmp_path)
    assert run.stderr == "", run.stderr
    found: dict[str, set[int]] = {"suite.sql": set(), "app.py": set()}
    for finding in run.json["findings"]:
        found[finding["path"]].add(finding["line"])
    unexpected = sorted(found["suite.sql"] - expected_sql)
    assert unexpected == [], [f"{dialect}.sql:{n}: {data.split(chr(10))[n - 1][:80]}"
                              for n in unexpected]
    unexpected = sorted(found["app.py"] - expected_py)
    assert unexpected == [], [f"app.py:{n}: {py_file.split(chr(10))[n - 1][:100]}"
                              for n in unexpected]
    assert found == {"suite.sql": expected_sql, "app.py": expected_py}


def test_a_sqlite_verdict_does_not_depend_on_earlier_ones() -> None:
    """A stand-in table made for one statement (``CREATE TRIGGER ... ON emp``) once
    outlived it, and SQLite then said "table emp already exists" mid-parse, before
    the syntax error of the next: the verdict hung on what was checked before."""
    from gatecheck import engines
    from gatecheck.engines.sqlite import syntax_error

    syntax_error.cache_clear()
    broken = "CREATE TABLE emp (salary int4) INHERITS (person)"
    assert engines.syntax("sqlite", "CREATE TRIGGER t1 AFTER INSERT ON emp BEGIN SELECT 1; "
                                    "END") is engines.ACCEPTED
    assert isinstance(engines.syntax("sqlite", broken), engines.Rejected)


def test_stand_ins_kept_for_queries_never_reach_a_create() -> None:
    """Queries keep their stand-in tables for the next query (most then need none);
    a CREATE is judged on a database of its own, so a table a query once stood in
    for cannot turn its syntax error into "table x already exists"."""
    from gatecheck import engines
    from gatecheck.engines.sqlite import syntax_error

    syntax_error.cache_clear()
    assert engines.syntax("sqlite", "SELECT * FROM x JOIN t USING (id)") is engines.ACCEPTED
    assert isinstance(engines.syntax(
        "sqlite", "CREATE TABLE x (a INTEGER REFERENCES t(id) NOT DEFERABLE)"), engines.Rejected)
    assert isinstance(engines.syntax("sqlite", "ALTER TABLE x RENAME TO t WITH"),
                      engines.Rejected)
    assert engines.syntax("sqlite", "DELETE FROM x WHERE id IN (SELECT id FROM t)") \
        is engines.ACCEPTED


def test_one_statement_sqlglot_cannot_tokenize_hides_nothing(tmp_path: Path) -> None:
    """sqlglot cannot tokenize ``(f($1,$2))[1]``: the file was judged whole, so a
    valid file had no statements at all and a broken one a single error.  The
    engine's lexer splits it now; each statement is judged on its own."""
    write_tree(tmp_path, {
        "rules.yaml": ("version: 1\ndialect: postgres\nrules:\n"
                       "  - {id: p, kind: sql-parses}\n"
                       "  - {id: f, kind: forbid-table-references, tables: [books]}\n"),
        "a.sql": ("SELECT (arrayfunction($1,$2))[42] FROM books;\n"
                  "CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
                  "SELEC 1;\n"
                  "SELECT * FROM books;\n")})
    run = gatecheck("run", "--format", "json", "--no-cache", cwd=tmp_path)
    assert [(f["rule"], f["line"]) for f in run.json["findings"]] == \
        [("f", 1), ("p", 3), ("f", 4)], run.json


def test_postgres_statements_end_where_psql_ends_them() -> None:
    """PostgreSQL's lexer splits: strings, dollar quotes and comments hide their ``;``,
    brackets and ``BEGIN ATOMIC ... END`` bodies keep theirs, and past a token the
    lexer cannot read (``0A``) the ends before it do not change."""
    from gatecheck.engines.postgres import statement_ends

    def parts(text: str) -> list[str]:
        ends = statement_ends(text)
        assert ends is not None
        out, start = [], 0
        for end in ends:
            out.append(text[start:end].strip())
            start = end + 1
        return out

    assert parts("SELECT ';' -- ;\n; SELECT $a$;$a$; SELECT /* ; */ 'é';") == \
        ["SELECT ';' -- ;", "SELECT $a$;$a$", "SELECT /* ; */ 'é'"]
    assert parts("CREATE RULE r AS ON UPDATE TO t DO ALSO (NOTIFY t; NOTIFY u;); "
                 "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
                 "SELECT CASE WHEN true THEN 1 END; END; SELECT 1;") == \
        ["CREATE RULE r AS ON UPDATE TO t DO ALSO (NOTIFY t; NOTIFY u;)",
         "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC "
         "SELECT CASE WHEN true THEN 1 END; END", "SELECT 1"]
    script = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT INTO log VALUES (1); END;\n"
    assert parts(script + "0A;\nSELECT 2;") == parts(script) + ["0A", "SELECT 2"]
