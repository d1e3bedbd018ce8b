"""`extract_python`: SQL fragments of Python sources, with exact file positions.

Every test extracts from a real source string and checks the SQL text and the
1-based (line, column) of ``task_sessions`` in the file, as the benchmark
scores it: on the exact line of the table name.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatecheck.errors import SourceError
from gatecheck.extract import Fragment
from gatecheck.extract.python_files import extract_python, might_contain_sql
from gatecheck.positions import LineIndex, Span

NAME = "task_sessions"


def lines(*rows: str, newline: str = "\n") -> str:
    """A source file from its lines (so that line numbers in tests are obvious)."""
    return newline.join(rows) + newline


def extract(text: str) -> list[Fragment]:
    return extract_python("pkg/mod.py", text)


def only(text: str) -> Fragment:
    fragments = extract(text)
    assert len(fragments) == 1, [f.sql for f in fragments]
    return fragments[0]


def position(text: str, fragment: Fragment, name: str = NAME) -> tuple[int, int]:
    """(line, column) of ``name`` in the file, checking the offset really spells it."""
    offset = fragment.file_offset(fragment.sql.index(name))
    assert text[offset:offset + len(name)] == name
    return LineIndex(text).line_col(offset)


def assert_maps_back(text: str, fragment: Fragment) -> None:
    """Every non-placeholder character comes from that very file character (or an escape);
    a driver parameter's ``$1`` comes from its ``%s`` / ``%(name)s`` marker."""
    assert fragment.origin is not None
    assert len(fragment.origin) == len(fragment.sql)
    synthetic = {i for span in fragment.placeholders for i in range(span.start, span.end)}
    for i, ch in enumerate(fragment.sql):
        if i not in synthetic:
            source = text[fragment.origin[i]]
            parameter = ch in "$1 " and (source in "%()" or source.isalnum() or source == "_")
            assert source in (ch, "\\") or parameter, (i, ch, fragment.sql)


# --- shapes -------------------------------------------------------------------------

def test_plain_string_in_execute() -> None:
    text = lines(
        "def load(cur):",
        '    cur.execute("SELECT id FROM task_sessions WHERE id = ?", (1,))',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT id FROM task_sessions WHERE id = ?"
    assert fragment.sink is True
    assert fragment.placeholders == ()
    assert position(text, fragment) == (2, 33)
    assert_maps_back(text, fragment)


def test_single_quoted_string_outside_a_sink_is_a_candidate() -> None:
    text = lines("QUERY = 'delete from task_sessions'")
    fragment = only(text)
    assert fragment.sql == "delete from task_sessions"
    assert fragment.sink is False
    assert position(text, fragment) == (1, 22)


def test_triple_quoted_multiline() -> None:
    text = lines(
        "rows = cur.execute(",
        '    """',
        "    SELECT a.id",
        "    FROM task_sessions AS a",
        '    """,',
        "    params,",
        ").fetchall()",
    )
    fragment = only(text)
    assert fragment.sql == "\n    SELECT a.id\n    FROM task_sessions AS a\n    "
    assert fragment.sink is True
    assert position(text, fragment) == (4, 10)


def test_implicit_concatenation_across_lines() -> None:
    text = lines(
        "cur.execute(",
        "    'SELECT a '",
        "    'FROM task_sessions '  # a comment with 'quotes'",
        "    'WHERE b = ?'",
        "    , params)",
    )
    fragment = only(text)
    assert fragment.sql == "SELECT a FROM task_sessions WHERE b = ?"
    assert position(text, fragment) == (3, 11)
    # each piece maps to its own line
    index = LineIndex(text)
    assert index.line_col(fragment.file_offset(fragment.sql.index("WHERE")))[0] == 4
    assert_maps_back(text, fragment)


def test_concatenation_with_backslash_continuation() -> None:
    text = lines(
        'q = "SELECT * " \\',
        '    "FROM task_sessions"',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT * FROM task_sessions"
    assert position(text, fragment) == (2, 11)


def test_fstring_placeholder_before_the_name() -> None:
    text = lines('cur.execute(f"SELECT {cols} FROM task_sessions WHERE id = ?", (x,))')
    fragment = only(text)
    assert fragment.sql == "SELECT __gc0__ FROM task_sessions WHERE id = ?"
    assert fragment.placeholders == (Span(7, 14),)
    # the placeholder maps to the "{" of its field
    assert text[fragment.file_offset(7)] == "{"
    assert position(text, fragment) == (1, 34)
    assert_maps_back(text, fragment)


def test_fstring_fields_escaped_braces_and_format_specs() -> None:
    text = lines(
        "cur.execute(f\"UPDATE task_sessions SET {col!r:>{width}} = '{{x}}' "
        "WHERE id IN ({', '.join('?' * n)})\")",
    )
    fragment = only(text)
    assert fragment.sql == "UPDATE task_sessions SET __gc0__ = '{x}' WHERE id IN (__gc1__)"
    assert [fragment.sql[s.start:s.end] for s in fragment.placeholders] == ["__gc0__", "__gc1__"]
    assert position(text, fragment) == (1, 22)
    assert_maps_back(text, fragment)


def test_fstring_resolves_a_module_constant_to_the_constants_line() -> None:
    text = lines(
        'TABLE = "task_sessions"',
        "",
        "def count(cur, x):",
        '    cur.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE user_id = ?", (x,))',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT COUNT(*) FROM task_sessions WHERE user_id = ?"
    assert fragment.placeholders == ()
    assert position(text, fragment) == (1, 10)
    assert_maps_back(text, fragment)


def test_fstring_resolves_a_function_local_constant() -> None:
    text = lines(
        'TABLE = "chat_sessions"',
        "def count(cur, x):",
        '    TABLE = "users"',
        '    TABLE = "task_sessions"',
        '    cur.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE {key} = ?", (x,))',
        '    TABLE = "tasks"',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT COUNT(*) FROM task_sessions WHERE __gc0__ = ?"
    assert position(text, fragment) == (4, 14)


@pytest.mark.parametrize("body, why", [
    (['def f(cur, TABLE):', '    cur.execute(f"SELECT * FROM {TABLE}")'], "a parameter shadows it"),
    (['def f(cur):', '    TABLE = pick()', '    cur.execute(f"SELECT * FROM {TABLE}")'],
     "the nearest assignment is not a literal"),
    (['def f(cur):', '    cur.execute(f"SELECT * FROM {TABLE}_v2")'], "glued to identifier characters"),
    (['def f(cur):', '    cur.execute(f"SELECT * FROM {TABLE:>20}")'], "a format spec changes it"),
    (['def f(cur):', '    cur.execute(f"SELECT * FROM {TABLE!r}")'], "a conversion changes it"),
    (['def f(cur):', '    cur.execute(f"SELECT * FROM {OTHER}")'], "not an identifier-like value"),
    (['def f(cur):', '    cur.execute(f"SELECT * FROM {TABLE}")', '    TABLE = 1'],
     "TABLE is local to f, unbound at the call"),
])
def test_fstring_field_stays_a_placeholder(body: list[str], why: str) -> None:
    text = lines('TABLE = "task_sessions"', 'OTHER = "task sessions"', *body)
    fragment = only(text)
    assert NAME not in fragment.sql, why
    assert fragment.sql.startswith("SELECT * FROM __gc0__"), why


def test_constants_resolve_in_dotted_and_quoted_positions() -> None:
    text = lines(
        'SCHEMA = "main"',
        'TABLE = "task_sessions"',
        'cur.execute(f\'DELETE FROM {SCHEMA}."{TABLE}" WHERE id = ?\', (x,))',
    )
    fragment = only(text)
    assert fragment.sql == 'DELETE FROM main."task_sessions" WHERE id = ?'
    assert position(text, fragment) == (2, 10)
    assert position(text, fragment, "main") == (1, 11)


def test_percent_template() -> None:
    text = lines(
        "cur.execute(",
        "    \"SELECT * FROM task_sessions WHERE a = %s AND b LIKE 'x%%' \"",
        '    "AND c = %(name)s AND d > %5.2f" % args)',
    )
    fragment = only(text)
    assert fragment.sql == (
        "SELECT * FROM task_sessions WHERE a = __gc0__ AND b LIKE 'x%' AND c = __gc1__ AND d > __gc2__")
    assert fragment.sink is True
    assert position(text, fragment) == (2, 20)
    assert text[fragment.file_offset(fragment.placeholders[1].start)] == "%"
    assert_maps_back(text, fragment)


def test_dbapi_markers_are_parameters_and_double_percent_kept() -> None:
    """A driver's %s / %(c)s is a value: the engines' own ``$1``, padded to the
    marker; after ``IN`` the driver writes a whole list, so it stays a hole."""
    text = lines("cur.execute(\"SELECT * FROM task_sessions WHERE a = %s AND b LIKE 'x%%' "
                 "AND c = %(c)s AND d IN %s\", p)")
    fragment = only(text)
    assert fragment.sql == ("SELECT * FROM task_sessions WHERE a = $1 AND b LIKE 'x%%' "
                            "AND c = $1    AND d IN __gc0__")
    assert_maps_back(text, fragment)


def test_format_template() -> None:
    text = lines(
        'cur.execute("SELECT * FROM task_sessions WHERE {} = ? AND {0} = {name!r:>10} '
        "AND x = '{{}}'\".format(column), (value,))",
    )
    fragment = only(text)
    assert fragment.sql == (
        "SELECT * FROM task_sessions WHERE __gc0__ = ? AND __gc1__ = __gc2__ AND x = '{}'")
    assert fragment.sink is True
    assert position(text, fragment) == (1, 28)
    assert_maps_back(text, fragment)


def test_plus_concatenation_with_constant_and_expressions() -> None:
    text = lines(
        'TABLE = "task_sessions"',
        'q = "SELECT * FROM " + TABLE + " WHERE id = " + str(user_id)',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT * FROM task_sessions WHERE id = __gc0__"
    assert position(text, fragment) == (1, 10)
    assert text[fragment.file_offset(fragment.placeholders[0].start):].startswith("str(")


def test_sqlalchemy_text_is_a_sink() -> None:
    text = lines(
        "import sqlalchemy as sa",
        'rows = session.execute(text("SELECT 1 FROM task_sessions")).fetchall()',
        'other = sa.text("  BEGIN IMMEDIATE")',
    )
    fragments = extract(text)
    assert [(f.sql, f.sink) for f in fragments] == [
        ("SELECT 1 FROM task_sessions", True), ("  BEGIN IMMEDIATE", True)]
    assert position(text, fragments[0]) == (2, 44)


def test_read_sql_keyword_argument_and_wrapper_names() -> None:
    text = lines(
        'df = pd.read_sql(sql="  BEGIN", con=conn)',
        'self._execute("COMMIT")',
        'db.safe_execute("ROLLBACK")',
        'widget.gettext("Select your files")',
    )
    fragments = extract(text)
    # gettext is neither a sink (a suffix match) nor a candidate: its text is for people.
    assert [(f.sql, f.sink) for f in fragments] == [
        ("  BEGIN", True), ("COMMIT", True), ("ROLLBACK", True)]


def test_executescript_triple_quoted() -> None:
    text = lines(
        "def migrate(conn):",
        "    conn.executescript(",
        '        """',
        "        CREATE TABLE IF NOT EXISTS chat_sessions (id INTEGER PRIMARY KEY);",
        "        INSERT INTO task_sessions (id) VALUES (?);",
        '        """',
        "    )",
    )
    fragment = only(text)
    assert fragment.sink is True
    assert fragment.sql.strip().startswith("CREATE TABLE")
    assert position(text, fragment) == (5, 21)


def test_module_constant_passed_by_name_is_a_sink() -> None:
    text = lines(
        'SQL_PURGE = """',
        "DELETE FROM task_sessions",
        'WHERE created_at < ?"""',
        'SQL_BEGIN = "BEGIN"',
        'SQL_UNUSED = "SELECT 1"',
        "",
        "def purge(cur):",
        "    cur.execute(SQL_PURGE, (cutoff,))",
        "    cur.execute(SQL_BEGIN)",
    )
    fragments = extract(text)
    assert [(f.sql, f.sink) for f in fragments] == [
        ("\nDELETE FROM task_sessions\nWHERE created_at < ?", True),
        ("BEGIN", True),
        ("SELECT 1", False),
    ]
    assert position(text, fragments[0]) == (2, 13)


def test_named_templates_and_class_constants_passed_to_sinks_are_sinks() -> None:
    text = lines(
        'SQL_GET = "SELECT * FROM task_sessions WHERE id = %s"',
        'SQL_LIST = "  SELECT * FROM chat_sessions WHERE {} = ?"',
        "class Repo:",
        '    SQL_PURGE = "DELETE FROM tasks"',
        "    def run(self, cur, x):",
        "        cur.execute(SQL_GET % (x,))",
        "        cur.execute(SQL_LIST.format(col))",
        "        self.conn.execute(self.SQL_PURGE)",
    )
    assert [(f.sql, f.sink) for f in extract(text)] == [
        ("SELECT * FROM task_sessions WHERE id = __gc0__", True),
        ("  SELECT * FROM chat_sessions WHERE __gc0__ = ?", True),
        ("DELETE FROM tasks", True),
    ]


@pytest.mark.parametrize("body, expected", [
    # a module constant defined below the function: bound by the time it runs
    (['def f(cur):', '    cur.execute(f"SELECT * FROM {LATE}")', 'LATE = "task_sessions"'],
     "SELECT * FROM task_sessions"),
    # module-level code runs in order: not bound yet
    (['cur.execute(f"SELECT * FROM {LATE}")', 'LATE = "task_sessions"'], "SELECT * FROM __gc0__"),
    # a class attribute is not a name inside its methods...
    (['class R:', '    T = "chat_sessions"', '    def f(self, cur):',
      '        cur.execute(f"SELECT * FROM {T}")'], "SELECT * FROM __gc0__"),
    # ...but it is in the class body
    (['class R:', '    T = "chat_sessions"', '    Q = f"SELECT * FROM {T}"'],
     "SELECT * FROM chat_sessions"),
    # an enclosing function's constant, seen from a comprehension in a nested function
    (['def outer(cur):', '    T = "users"', '    def inner():',
      '        return [f"SELECT * FROM {T} WHERE id = {i}" for i in range(3)]'],
     "SELECT * FROM users WHERE id = __gc0__"),
    # a comprehension variable shadows the constant
    (['T = "users"', 'Q = [f"SELECT * FROM {T}" for T in tables]'], "SELECT * FROM __gc0__"),
    # a global declaration: the function's own assignment is the module's
    (['T = "users"', 'def f(cur):', '    global T', '    cur.execute(f"SELECT * FROM {T}")',
      '    T = "chat_sessions"'],
     "SELECT * FROM users"),
])
def test_constant_resolution_follows_python_scoping(body: list[str], expected: str) -> None:
    assert only(lines(*body)).sql == expected


def test_malformed_format_template_keeps_its_brace() -> None:
    fragment = only(lines('cur.execute("SELECT {x FROM task_sessions".format(x=1))'))
    assert fragment.sql == "SELECT {x FROM task_sessions"
    assert fragment.placeholders == ()


def test_escapes_before_the_name_map_to_their_backslash() -> None:
    text = lines('cur.execute("SELECT\\t*\\x20FROM\\\\n task_sessions")')
    fragment = only(text)
    assert fragment.sql == "SELECT\t* FROM\\n task_sessions"
    assert text[fragment.file_offset(6)] == "\\"          # the tab
    assert text[fragment.file_offset(8):].startswith("\\x20")
    assert position(text, fragment) == (1, 35)
    assert_maps_back(text, fragment)


def test_line_continuation_inside_a_literal() -> None:
    text = lines(
        'cur.execute("SELECT * \\',
        'FROM task_sessions")',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT * FROM task_sessions"
    assert position(text, fragment) == (2, 6)


def test_raw_string_keeps_backslashes() -> None:
    text = lines(r"""cur.execute(r"SELECT * FROM task_sessions WHERE note REGEXP '\d+\"'")""")
    fragment = only(text)
    assert fragment.sql == r"""SELECT * FROM task_sessions WHERE note REGEXP '\d+\"'"""
    assert position(text, fragment) == (1, 29)
    assert_maps_back(text, fragment)


def test_mixed_fstring_and_plain_concatenation() -> None:
    text = lines(
        "cur.execute(",
        '    f"SELECT {cols} "',
        '    "FROM task_sessions "',
        "    f\"WHERE {key} = ? AND x = '{{literal}}' AND y = '%s'\"",
        ")",
    )
    fragment = only(text)
    assert fragment.sql == (
        "SELECT __gc0__ FROM task_sessions WHERE __gc1__ = ? AND x = '{literal}' AND y = '$1'")
    assert position(text, fragment) == (3, 11)
    assert_maps_back(text, fragment)


def test_non_ascii_before_the_literal_on_the_same_line() -> None:
    text = lines('étiquette = "é€😀"; cur.execute("SELECT * FROM task_sessions")')
    fragment = only(text)
    # columns count characters: é, € and 😀 are one column each
    assert position(text, fragment) == (1, 47)


def test_non_ascii_identifiers_and_constant() -> None:
    text = lines(
        'TABLE = "task_sessions"  # ünïcode comment',
        "def lädt(cur, größe):",
        '    cur.execute(f"SELECT größe FROM {TABLE} WHERE x = {größe}")',
    )
    fragment = only(text)
    assert fragment.sql == "SELECT größe FROM task_sessions WHERE x = __gc0__"
    assert position(text, fragment) == (1, 10)


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_lone_cr_line_endings(newline: str) -> None:
    text = lines(
        "def f(cur):",
        "    cur.execute(",
        '        """SELECT id',
        "        FROM task_sessions",
        '        WHERE id = ?""",',
        "        (1,),",
        "    )",
        "    cur.execute(",
        "        'DELETE FROM x '",
        "        'WHERE id IN (SELECT id FROM task_sessions)')",
        newline=newline,
    )
    first, second = extract(text)
    assert first.sql == newline.join(["SELECT id", "        FROM task_sessions", "        WHERE id = ?"])
    assert position(text, first) == (4, 14)
    assert second.sql == "DELETE FROM x WHERE id IN (SELECT id FROM task_sessions)"
    assert position(text, second) == (10, 38)


def test_tabs_and_byte_order_mark() -> None:
    text = "\ufeff" + lines("def f(cur):", '\tcur.execute("SELECT 1 FROM task_sessions")')
    fragment = only(text)
    assert position(text, fragment) == (2, 29)
    first = only("\ufeff" + 'cur.execute("SELECT 1 FROM task_sessions")\n')
    assert first.file_offset(0) == 14  # after the BOM and `cur.execute("`


def test_fragments_are_sorted_by_file_offset() -> None:
    text = lines(
        "class Repo:",
        '    SQL = "SELECT 2 FROM b"',
        "    def f(self):",
        '        return [self.conn.execute("SELECT 3 FROM c") for _ in range(2)]',
        'TOP = "SELECT 1 FROM a"',
        'x = "SELECT 4 FROM d" if y else "SELECT 5 FROM e"',
    )
    assert [f.sql[-1] for f in extract(text)] == ["b", "c", "a", "d", "e"]


# --- silent cases -------------------------------------------------------------------

def test_docstrings_comments_bare_strings_and_bytes_are_silent() -> None:
    text = lines(
        '"""Select task_sessions rows (module docstring)."""',
        "# SELECT * FROM task_sessions  (comment)",
        "class Repo:",
        '    """Select from task_sessions (class docstring)."""',
        "    def f(self, cur):",
        '        """SELECT * FROM task_sessions (function docstring)."""',
        '        """Refresh the cached task_sessions summary."""',
        "        f\"\"\"SELECT * FROM {x} (bare f-string statement)\"\"\"",
        '        cur.execute(b"SELECT * FROM task_sessions")',
        '        data = b"DELETE FROM task_sessions"',
        '        payload = {"task_sessions": [], "SELECT * FROM task_sessions": 1}',
        '        logger.info("pruned %d task_sessions for %s", n, user_id)',
        "        task_sessions_count = len(self.task_sessions)",
    )
    assert extract(text) == []


def test_ui_string_that_starts_like_sql_is_left_to_the_parser() -> None:
    fragment = only(lines('prompt = "select task_sessions to export"'))
    assert fragment.sink is False


def test_blank_and_placeholder_only_sink_strings_are_skipped() -> None:
    assert extract(lines('cur.execute("   ")', 'cur.execute(f"{query}")', 'cur.execute("%s" % q)')) == []


# --- errors and odd but valid Python ------------------------------------------------

def test_syntax_error_is_a_note_with_position_and_the_rest_is_read() -> None:
    notes: list[str] = []
    text = lines("x = 1", "def f(:", "    pass", "Q = 'DELETE FROM task_sessions'")
    fragment, = extract_python("pkg/mod.py", text, notes)
    assert position(text, fragment) == (4, 18)
    assert len(notes) == 1
    assert notes[0].startswith("pkg/mod.py:2:7: Python syntax error: ")
    assert notes[0].endswith("(read with the tolerant parser; "
                             "strings outside the error are still checked)")


def test_nul_byte_is_a_source_error_with_position() -> None:
    with pytest.raises(SourceError) as info:
        extract("x = 1\ny = '\0'\n")
    assert (info.value.line, info.value.column) == (2, 6)
    assert "NUL" in info.value.message


def test_lone_surrogate_is_a_source_error() -> None:
    with pytest.raises(SourceError):
        extract("x = '\ud800'\n")


def test_deep_nesting_is_a_note_not_a_crash() -> None:
    notes: list[str] = []
    text = "x = " + "-" * 200_000 + "1\n" + "Q = 'DELETE FROM task_sessions'\n"
    fragment, = extract_python("pkg/mod.py", text, notes)
    assert position(text, fragment) == (2, 18)
    assert len(notes) == 1 and "pkg/mod.py:1:" in notes[0]


def test_weird_but_valid_python_does_not_raise() -> None:
    text = lines(
        "def g(a, /, *args, b=f'{1:{2}}', **kw) -> 'SELECT 1':",
        "    nested = f\"SELECT {f'{a!r}'} FROM {'x' if a else 'y'} WHERE {a != 1} AND {a:{b}.{c}}\"",
        "    lam = lambda q='SELECT 9 FROM z': q",
        '    s = u"SELECT \\N{BULLET} FROM t" \\',
        "        'WHERE x = \\u00e9\\U0001F600\\101'",
        "    t = rf'SELECT {a} FROM t WHERE p ~ \"\\d+\\{{\"'",
        "    with open(p) as (fh):",
        '        match fh:',
        '            case "SELECT 1":',
        "                pass",
        "    return [f'{x=}' for x in y if (z := x)]",
        "ünï = '''DELETE FROM t''' '''WHERE \\'''' \"\"\"\"\"\"",
    )
    fragments = extract(text)
    for fragment in fragments:
        assert_maps_back(text, fragment)
    sqls = [f.sql for f in fragments]
    assert "SELECT __gc0__ FROM __gc1__ WHERE __gc2__ AND __gc3__" in sqls
    assert "SELECT \u2022 FROM tWHERE x = \u00e9\U0001F600A" in sqls
    assert 'SELECT __gc0__ FROM t WHERE p ~ "\\d+\\{"' in sqls
    assert "DELETE FROM tWHERE '" in sqls


# --- prefilter ----------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    'x = "SELECT 1"',
    "x = '''\n    (  select 1)'''",
    'x = "\\n\\tWITH a AS (SELECT 1) SELECT * FROM a"',
    'x = f"{VERB} 1"\nVERB = "select"',
    'x = "-- hint\\nSELECT 1"',
    'x = "\\x53ELECT 1"',
    "cur.execute(q)",
    "self.cursor.executemany(q, rows)",
    "sa.text (q)",
    "pd.read_sql_query(q, conn)",
    "cur.mogrify(q)",
])
def test_prefilter_lets_possible_sql_through(text: str) -> None:
    assert might_contain_sql(text)


@pytest.mark.parametrize("text", [
    "import json\n\ndef f(d):\n    return d.update(values=d.values())\n",
    'logger.info("pruned %d task_sessions", n)\nprompt = "Choose: select one"\n',
    "with open(p) as fh:\n    selected = fh.read()  # SELECT * FROM t\n",
])
def test_prefilter_rejects_files_without_candidates(text: str) -> None:
    assert not might_contain_sql(text)
    assert extract(text) == []


_keywords = st.sampled_from(["SELECT", "select", "With", "pragma", "Insert", "rEpLaCe", "EXPLAIN"])
# What may precede the keyword, as spelled in the source of a literal.
_source_filler = st.lists(
    st.sampled_from([" ", r"\n", r"\t", "(", r"\r\n", r"-- c\n", "/* c */", r"\x20", r"\040"]),
    max_size=4)


@settings(max_examples=200, deadline=None)
@given(keyword=_keywords, filler=_source_filler,
       prefix=st.sampled_from(["", "f", "r", "u", "rb", "Rf"]),
       quote=st.sampled_from(["'", '"', "'''", '"""']),
       template=st.sampled_from(["", " % args", ".format(x)", " + tail"]))
def test_prefilter_never_hides_a_fragment(keyword: str, filler: list[str], prefix: str,
                                          quote: str, template: str) -> None:
    if "r" in prefix.lower():
        filler = [token for token in filler if "\\" not in token]  # raw: escapes are text
    text = lines(f"query = {prefix}{quote}{''.join(filler)}{keyword} 1{quote}{template}")
    fragments = extract(text)
    assert bool(fragments) == ("b" not in prefix)
    assert might_contain_sql(text)


# --- property: positions map back exactly -------------------------------------------

_IDENTIFIER_START = st.sampled_from(string.ascii_letters + "_éßÆøπЖ字")
_IDENTIFIER_REST = st.text(string.ascii_letters + string.digits + "_éßÆøπЖ字", max_size=12)
_identifiers = st.builds(lambda head, rest: head + rest, _IDENTIFIER_START, _IDENTIFIER_REST)
# Text that may sit before the call on the same line (inside a comment-free prefix).
# (A non-SQL literal: "~" never starts a statement.)
_prefix = st.text(string.ascii_letters + " é€😀\t", max_size=8).map(lambda s: f"x = {'~' + s!r}; ")
_filler = st.text(string.ascii_letters + " ,=?()*é\t", max_size=10)


def _python_literal(body: str, style: str) -> str:
    """``body`` (no quotes, braces or backslashes) spelled as a literal of one shape."""
    if style == "plain":
        return '"' + body + '"'
    if style == "single-escaped":
        return "'" + body.replace(" ", "\\x20") + "'"
    if style == "triple":
        return '"""\n    ' + body.replace(" FROM ", "\n    FROM ") + '\n"""'
    if style == "concat":
        head, _, tail = body.partition(" FROM ")
        return '(\n    "' + head + ' "\n    "FROM ' + tail + '"\n)'
    if style == "raw":
        return 'r"' + body + '"'
    if style == "fstring":
        return 'f"{cols} ' + body + ' AND {{x}} = {y}"'
    raise AssertionError(style)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_identifiers,
    before=_filler,
    after=_filler,
    style=st.sampled_from(["plain", "single-escaped", "triple", "concat", "raw", "fstring"]),
    prefix=_prefix,
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    indent=st.sampled_from(["", "    ", "\t"]),
)
def test_every_sql_character_maps_to_its_source_character(
        name: str, before: str, after: str, style: str, prefix: str, newline: str,
        indent: str) -> None:
    body = f"SELECT {before} FROM {name} WHERE {after}"
    literal = _python_literal(body, style).replace("\n", newline)
    text = newline.join([
        "def f(cur, cols, y):",
        f"{indent or '    '}{prefix}cur.execute({literal}, (1,))",
        "",
    ])
    fragment = only(text)
    assert fragment.sink is True
    assert_maps_back(text, fragment)
    # the name itself maps to consecutive file characters spelling it
    start = fragment.sql.index(f" FROM {name} ") + len(" FROM ")
    offsets = [fragment.file_offset(start + k) for k in range(len(name))]
    assert "".join(text[o] for o in offsets) == name
    assert offsets == list(range(offsets[0], offsets[0] + len(name)))
    assert might_contain_sql(text)


def test_a_constant_formatted_where_it_is_used_is_a_template() -> None:
    text = ('COUNT_BY = "SELECT {column}, COUNT(*) FROM task_sessions GROUP BY {column}"\n'
            'PCT = "DELETE FROM task_sessions WHERE id = %(id)s AND pct LIKE \'5%%\'"\n'
            "def f(conn, column):\n"
            "    conn.execute(COUNT_BY.format(column=column))\n"
            "    conn.execute(PCT % {'id': 1})\n")
    first, second = extract_python("m.py", text)
    assert first.sql == "SELECT __gc0__, COUNT(*) FROM task_sessions GROUP BY __gc1__"
    assert len(first.placeholders) == 2 and first.sink
    assert second.sql == "DELETE FROM task_sessions WHERE id = __gc0__ AND pct LIKE '5%'"


def test_percent_arguments_and_class_constants_resolve() -> None:
    """``"... FROM %s" % self.TABLE`` (gPodder's shape): the %s reads the class
    constant, mapped to the constant's own line; other conversions, values that
    are not identifiers and glued holes stay placeholders."""
    text = lines(
        "class Store:",
        '    TABLE = "task_sessions"',
        '    OTHER = "users"',
        "",
        "    def load(self, cur, where):",
        '        cur.execute("SELECT id FROM %s WHERE x = ?" % self.TABLE, (1,))',
        '        cur.execute("SELECT %s.id FROM %s, %s WHERE %s" % (self.TABLE, Store.TABLE,'
        " self.OTHER, where))",
        '        cur.execute("SELECT %d FROM %s_log" % (3, self.OTHER))',
        '        cur.execute("SELECT * FROM " + self.TABLE + " WHERE id = ?", (1,))',
    )
    first, second, third, fourth = extract(text)
    assert first.sql == "SELECT id FROM task_sessions WHERE x = ?"
    assert position(text, first) == (2, 14)
    assert_maps_back(text, first)
    assert second.sql == "SELECT task_sessions.id FROM task_sessions, users WHERE __gc0__"
    assert third.sql == "SELECT __gc0__ FROM __gc1___log"
    assert fourth.sql == "SELECT * FROM task_sessions WHERE id = ?"


def test_an_attribute_assigned_two_values_is_not_resolved() -> None:
    text = lines(
        "class A:",
        '    TABLE = "task_sessions"',
        "class B:",
        '    TABLE = "users"',
        "def load(self, cur):",
        '    cur.execute("SELECT id FROM %s" % self.TABLE)',
    )
    assert only(text).sql == "SELECT id FROM __gc0__"


def test_pieces_of_a_statement_are_marked() -> None:
    """Strings handed to append/extend/join, or listed beside bits that are no statement,
    are pieces; a list of whole statements and a sink argument are not."""
    text = lines(
        'parts = ["SELECT a FROM t", "),", "x AS ("]',
        'parts.append("SELECT b FROM u")',
        'WHOLE = ["SELECT c FROM v", "DELETE FROM w"]',
        'cur.execute("SELECT d FROM x")',
    )
    pieces = {f.sql: f.piece for f in extract(text)}
    assert pieces == {"SELECT a FROM t": True, "SELECT b FROM u": True,
                      "SELECT c FROM v": False, "DELETE FROM w": False,
                      "SELECT d FROM x": False}


def test_a_joined_list_is_one_statement() -> None:
    """``' '.join([...])`` of literals (qutebrowser's shape) is read as the statement it
    makes, each piece at its own line; ``.format`` elements are templates, other
    elements holes; the elements are not read again on their own."""
    text = lines(
        "q = db.query(' '.join([",
        "    'SELECT min(last_atime) FROM',",
        "    '(SELECT last_atime FROM task_sessions',",
        "    'WHERE {}'.format(cond),",
        "    extra,",
        "]))",
    )
    fragment = only(text)
    assert fragment.sql == ("SELECT min(last_atime) FROM (SELECT last_atime FROM task_sessions "
                            "WHERE __gc0__ __gc1__")
    assert position(text, fragment) == (3, 30)
    assert not fragment.piece
    assert_maps_back(text, fragment)
