"""Parse one SQL `Fragment` with sqlglot and keep the facts rules need.

A fragment is tokenised once, split into statements, and each statement is
parsed from its tokens, so a broken statement does not hide its neighbours.
What survives is small and position-exact: the statements (kind, span, tree)
and every table reference (name, qualifier, span).  Spans are offsets into
``fragment.sql``; `Fragment.file_span` maps them to the file.

Two SQLite statements that sqlglot leaves as an opaque ``Command`` are still
checked: ``REPLACE INTO`` is re-read as ``INSERT`` (the keyword is swapped
for a same-length ``INSERT `` so every offset stays put), and
``CREATE TRIGGER ... BEGIN ... END`` is split by hand into its target table
and its body statements, each parsed on its own.

This module imports sqlglot; the engine imports it only when there is SQL to
parse, so runs served from the cache never pay for it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from gatecheck.extract import Fragment
from gatecheck.facts import (
    FragmentFacts,
    ParseProblem,
    Statement,
    StatementText,
    TableRef,
    default_schemas,
    located,
    table_key,
)
from gatecheck.positions import LineIndex, Span

if TYPE_CHECKING:
    from gatecheck.engines import Rejected, _Verdict
    from gatecheck.engines.postgres import Relation

# sqlglot logs a warning for every statement it falls back to a Command on.
logging.getLogger("sqlglot").setLevel(logging.CRITICAL)

#: A candidate that fails to parse is only reported (by ``sql-parses``) when it
#: is in a SQL position or reads like a statement, not like prose.
_LOOKS_LIKE_SQL = re.compile(
    r"""^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*\(?\s*(?:
        select\b.+?\bfrom\b | insert\s+(?:or\s+\w+\s+)?into\b | replace\s+into\b
      | update\s+\S+\s+set\b | delete\s+from\b | with\s+(?:recursive\s+)?\S+\s+as\s*\(
      | create\s+(?:(?:temp|temporary|unique|virtual|or\s+replace)\s+)*
            (?:table|index|view|trigger)\b
      | alter\s+table\b | drop\s+(?:table|index|view|trigger)\b | pragma\s+\w+)""",
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)


#: A longer fragment (a dump-sized ``.sql`` file, a huge literal) is tokenized
#: and parsed a piece at a time: a token costs about 200 bytes, so tokenizing
#: 50 MB at once would hold gigabytes.
PIECE_CHARS = 1 << 18
_LINE_END_AFTER_SEMICOLON = re.compile(r";[ \t]*(?:\r\n?|\n)")
#: Bracket nesting beyond this is not parsed.  sqlglot's compiled parser
#: recurses on the C stack for nested subqueries: some thousands of levels
#: crash the process (a segfault, not a RecursionError).
MAX_NESTING = 256
_OPENERS = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE})
_CLOSERS = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})


def analyse(fragment: Fragment, dialect: str = "sqlite", *,
            keep_trees: bool = True, columns: bool = False,
            keep_fragment: bool = False) -> FragmentFacts:
    """Parse ``fragment``; spans in the result are in the file's coordinates.

    ``keep_trees``: keep each statement's sqlglot tree (and the fragment, to
    map tree positions) for rules that walk trees; the cache and worker
    processes drop them.  ``columns``: resolve each statement's column
    references to their candidate sources (`gatecheck.columnfacts`), which
    the cache keeps.  ``keep_fragment``: keep the fragment without the trees.
    """
    facts = analyse_in_place(fragment, dialect, keep_trees=keep_trees, columns=columns)
    if keep_fragment and facts.fragment is None:
        facts.fragment = fragment
    return located(facts, fragment)


def analyse_in_place(fragment: Fragment, dialect: str = "sqlite", *, keep_trees: bool = False,
                     columns: bool = False) -> FragmentFacts:
    """`analyse` with spans in the fragment's SQL, not yet in the file: what depends on
    the fragment's text alone (`gatecheck.facts.located` puts it in a file).  Without
    ``keep_trees`` the result holds no tree and no fragment, and may be kept for any
    fragment of the same text (`gatecheck.pipeline`'s statement memo)."""
    facts = FragmentFacts(fragment.path, is_sql=False, fragment=fragment, piece=fragment.piece,
                          clause=fragment.prefix > 0, receiver=fragment.receiver)
    trees = keep_trees or columns
    _analyse(fragment, dialect, facts, trees)
    if facts.errors and not fragment.sink:
        facts = _one_per_line(fragment, dialect, trees) or facts
    # A string is SQL where it sits (a sink) or when the grammar accepts it.  One
    # that reaches no sink and that the engine's grammar rejects is prose ("Select
    # a file", "Update Version"), whatever words it starts with; a template whose
    # holes stand for clauses still reads as the statement it will become.
    facts.is_sql = (fragment.sink or bool(facts.statements and not facts.errors)
                    or bool(not facts.errors and _LOOKS_LIKE_SQL.match(fragment.sql)))
    if facts.is_sql and not fragment.sink and _engine_rejects_any(dialect, fragment, facts):
        facts.is_sql = False
    if fragment.prefix:  # the statement text a clause was read after is not the source's
        facts.tables = [t for t in facts.tables if t.span.start >= fragment.prefix]
    if columns:
        from gatecheck.columnfacts import statement_columns

        kept = facts.fragment or fragment
        facts.columns = [statement_columns(s.tree, s.span, _same, kept.placeholders)
                         for s in facts.statements if s.tree is not None]
    if not keep_trees:
        for statement in facts.statements:
            statement.tree = None
        facts.fragment = None
    return facts


def _same(span: Span) -> Span:
    return span


#: A line break followed by what starts a statement (a literal of several
#: statements, one per line, that the code splits with ``.split('\n')``).
_LINE_THEN_STATEMENT = re.compile(
    r"\n(?=[ \t]*(?:SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|REPLACE|PRAGMA|WITH)\b)",
    re.IGNORECASE)


def _one_per_line(fragment: Fragment, dialect: str, keep_trees: bool) -> FragmentFacts | None:
    """A literal that holds several statements one per line, without ``;``.

    Code that runs ``for sql in SCRIPT.split('\n'): db.execute(sql)`` keeps
    statements in one literal with nothing but line breaks between them.
    Read whole, that is one broken statement; if every line that starts
    with a statement keyword makes a statement the engine accepts, those are
    the statements (the line break before each becomes a ``;``, so every
    offset stays put).  Only for strings outside a sink: a sink runs the
    text whole, where the missing ``;`` is a real error.
    """
    sql = fragment.sql
    breaks = [m.start() for m in _LINE_THEN_STATEMENT.finditer(sql) if sql[:m.start()].strip()]
    if not breaks:
        return None
    chars = list(sql)
    for at in breaks:
        chars[at] = ";"
    split = dataclasses.replace(fragment, sql="".join(chars))
    facts = FragmentFacts(fragment.path, is_sql=False, fragment=split, piece=fragment.piece,
                          receiver=fragment.receiver)
    _analyse(split, dialect, facts, keep_trees)
    if facts.errors or len(facts.statements) < 2 or \
            _engine_rejects_any(dialect, split, facts):
        return None
    return facts


def _analyse(fragment: Fragment, dialect: str, facts: FragmentFacts, keep_trees: bool) -> None:
    d = Dialect.get_or_raise(dialect)
    for start, sql, tokens in _pieces(d, fragment.sql):
        if start == 0:
            _analyse_piece(d, sql, tokens, facts, fragment.placeholders, keep_trees)
            continue
        # A later piece is analysed on its own text, then moved into place.
        end = start + len(sql)
        placeholders = tuple(Span(p.start - start, p.end - start)
                             for p in fragment.placeholders if p.end > start and p.start < end)
        piece = FragmentFacts(facts.path, is_sql=False)
        _analyse_piece(d, sql, tokens, piece, placeholders, keep_trees)
        _move(piece, start, facts)


def _analyse_piece(d: Dialect, sql: str, tokens: list[Token] | ParseProblem,
                   facts: FragmentFacts, placeholders: tuple[Span, ...],
                   keep_trees: bool) -> None:
    if isinstance(tokens, ParseProblem):
        _untokenized(d, sql, tokens, facts, placeholders, keep_trees)
        return
    ends = _engine_ends(d, sql) if _dialect_name(d) == "postgres" else None
    rewritten = _for_sqlglot(sql, tokens, sqlite=_dialect_name(d) == "sqlite")
    if rewritten != sql:
        sql = rewritten
        tokens = d.tokenize(sql)
    for chunk in _split_statements(tokens, ends):
        _parse_statement(d, sql, chunk, facts, placeholders, keep_trees)


def _engine_ends(d: Dialect, sql: str) -> frozenset[int] | None:
    """Offsets of the ``;`` that end statements, as the engine's own lexer reads
    ``sql`` (PostgreSQL: psql's rules, ``BEGIN ATOMIC ... END`` bodies and
    ``CREATE RULE ... DO (a; b)`` whole; SQLite: ``sqlite3_complete``); None
    without an engine, or when its lexer gives up."""
    name = _dialect_name(d)
    if name == "postgres":
        from gatecheck.engines.postgres import statement_ends

        ends = statement_ends(sql)
        return None if ends is None else frozenset(ends)
    if name == "sqlite":
        from gatecheck.engines.sqlite import statement_ends as sqlite_ends

        return frozenset(sqlite_ends(sql))
    return None


def _untokenized(d: Dialect, sql: str, problem: ParseProblem, facts: FragmentFacts,
                 placeholders: tuple[Span, ...], keep_trees: bool) -> None:
    """sqlglot cannot tokenize ``sql`` (``SELECT (f($1,$2))[1]`` in PostgreSQL).

    Several statements are split where the engine's lexer ends them and each
    is analysed on its own, so one odd statement does not hide a file; a
    statement sqlglot cannot tokenize is judged by the engine's grammar alone,
    and on PostgreSQL its relations are the ones pglast's tree names.
    """
    ends = _engine_ends(d, sql)
    bounds: list[tuple[int, int]] = []
    start = 0
    for end in sorted(ends or ()):
        if sql[start:end].strip():
            bounds.append((start, end))
        start = end + 1
    if sql[start:].strip():
        bounds.append((start, len(sql)))
    if len(bounds) > 1:
        for begin, end in bounds:
            text = sql[begin:end]
            shifted = tuple(Span(p.start - begin, p.end - begin) for p in placeholders
                            if p.end > begin and p.start < end)
            piece = FragmentFacts(facts.path, is_sql=False)
            _analyse_piece(d, text, _tokenize(d, text), piece, shifted, keep_trees)
            _move(piece, begin, facts)
        return
    span = Span(0, len(sql))
    if bounds:
        lead = len(sql[bounds[0][0]:bounds[0][1]]) - len(sql[bounds[0][0]:bounds[0][1]].lstrip())
        span = Span(bounds[0][0] + lead, len(sql[:bounds[0][1]].rstrip()))
    before = len(facts.errors)
    _judge(d, sql, ParseProblem(problem.message, span), span, placeholders, facts)
    if _dialect_name(d) == "postgres" and len(facts.errors) == before:
        from gatecheck.engines.postgres import relations as postgres_relations

        facts.texts.append(StatementText(span, sql[span.start:span.end]))
        found = postgres_relations(sql[span.start:span.end])
        if found is not None:
            facts.tables.extend(_located(found, sql, span, placeholders))


def _tokenize(d: Dialect, sql: str) -> list[Token] | ParseProblem:
    try:
        return d.tokenize(sql)
    except TokenError as exc:
        return ParseProblem(f"cannot tokenize SQL: {_first_line(exc)}", Span(0, max(1, len(sql))))
    except RecursionError:
        return ParseProblem("SQL nested too deeply to parse", Span(0, len(sql)))
    except Exception as exc:  # sqlglot's own bug on odd input
        return ParseProblem(f"sqlglot failed to tokenize ({type(exc).__name__}: "
                            f"{_first_line(exc)})", Span(0, max(1, len(sql))))


def _pieces(d: Dialect, sql: str) -> Iterator[tuple[int, str, list[Token] | ParseProblem]]:
    """(offset, text, tokens) of statement-aligned pieces of ``sql``, in order.

    A fragment up to `PIECE_CHARS` long is one piece.  A longer one (a dump)
    is cut after a statement's ``;`` at the end of a line, so that only one
    piece's tokens are alive at a time.  A cut is kept only if the text
    before it tokenizes on its own and ends a statement there: a ``;`` at
    the end of a line inside a string, a comment or a trigger body fails
    that test (an unterminated string or comment does not tokenize), and
    the piece grows to a later cut instead.
    """
    start = 0
    while len(sql) - start > PIECE_CHARS:
        cut = _statement_cut(d, sql, start)
        if cut is None:
            break
        end, tokens = cut
        yield start, sql[start:end], tokens
        start = end
    rest = sql[start:] if start else sql
    yield start, rest, _tokenize(d, rest)


def _statement_cut(d: Dialect, sql: str, start: int) -> tuple[int, list[Token]] | None:
    want = start + PIECE_CHARS
    while want < len(sql):
        match = _LINE_END_AFTER_SEMICOLON.search(sql, want)
        if match is None:
            return None
        end = match.end()
        tokens = _tokenize(d, sql[start:end])
        ends = _engine_ends(d, sql[start:end]) if _dialect_name(d) == "postgres" else None
        if isinstance(tokens, list) and tokens and _ends_statement(tokens, ends):
            return end, tokens
        # Grow geometrically: retrying every line would tokenize quadratically.
        want = start + 2 * (end - start)
    return None


def _ends_statement(tokens: list[Token], ends: frozenset[int] | None = None) -> bool:
    """Whether the last token is a ``;`` that ends a statement (not one in a trigger body;
    with ``ends``, one the engine's lexer ends a statement at)."""
    if tokens[-1].token_type != TokenType.SEMICOLON:
        return False
    chunks = _split_statements(tokens, ends)
    return not chunks or chunks[-1][-1] is not tokens[-1]


def _move(piece: FragmentFacts, offset: int, facts: FragmentFacts) -> None:
    """Add a piece's facts, analysed at offset 0, to ``facts`` at ``offset``."""
    def shift(span: Span) -> Span:
        return Span(span.start + offset, span.end + offset)

    facts.tables.extend(t._replace(span=shift(t.span)) for t in piece.tables)
    facts.errors.extend(e._replace(span=shift(e.span)) for e in piece.errors)
    facts.not_checked.extend(e._replace(span=shift(e.span)) for e in piece.not_checked)
    facts.texts.extend(t._replace(span=shift(t.span)) for t in piece.texts)
    for statement in piece.statements:
        statement.span = shift(statement.span)
        statement.first_token = shift(statement.first_token)
        if statement.tree is not None:
            for node in statement.tree.walk():
                meta = node.meta
                if "start" in meta:
                    meta["start"] += offset
                    meta["end"] += offset
        facts.statements.append(statement)


# ---------------------------------------------------------------- statements


#: SQLite's conflict clauses after UPDATE, which sqlglot does not read.
_CONFLICTS = frozenset({"ROLLBACK", "ABORT", "REPLACE", "FAIL", "IGNORE"})


def _for_sqlglot(sql: str, tokens: list[Token], *, sqlite: bool) -> str:
    """``sql`` with what sqlglot cannot read rewritten, same length, same offsets.

    - ``REPLACE INTO t`` -> ``INSERT  INTO t`` (a statement's first word);
    - SQLite only: ``UPDATE OR IGNORE t`` -> ``UPDATE           t`` (the
      conflict clause says nothing about names), and ``?NNN`` -> ``?``
      followed by blanks (sqlglot reads ``?1`` as ``?`` then the number 1).

    The engine still judges the statement: the rewrite keeps it valid
    exactly when the original was.
    """
    chars: list[str] | None = None

    def blank(start: int, end: int, text: str | None = None) -> None:
        nonlocal chars
        if chars is None:
            chars = list(sql)
        chars[start:end] = text if text is not None else " " * (end - start)

    rewritten = _REWRITTEN if sqlite else _REWRITTEN_ANY
    for i, tok in enumerate(tokens):
        kind = tok.token_type
        if kind not in rewritten:  # the common case: one set lookup per token
            continue
        prev = tokens[i - 1] if i else None
        if kind == TokenType.REPLACE:
            if prev is None or prev.token_type == TokenType.SEMICOLON:
                blank(tok.start, tok.end + 1, "INSERT ")
        elif kind == TokenType.UPDATE:
            if i + 2 < len(tokens) and tokens[i + 1].text.upper() == "OR" \
                    and tokens[i + 2].text.upper() in _CONFLICTS:
                blank(tokens[i + 1].start, tokens[i + 2].end + 1)
        elif prev is not None and prev.token_type == TokenType.PLACEHOLDER \
                and prev.text == "?" and prev.end + 1 == tok.start:
            blank(tok.start, tok.end + 1)  # the number of ``?NNN``
    return sql if chars is None else "".join(chars)


#: Token types `_for_sqlglot` may rewrite (SQLite; any dialect).
_REWRITTEN = frozenset({TokenType.REPLACE, TokenType.UPDATE, TokenType.NUMBER})
_REWRITTEN_ANY = frozenset({TokenType.REPLACE})


def _is_trigger(chunk: list[Token]) -> bool:
    texts = [t.text.upper() for t in chunk[:4]]
    return len(texts) >= 2 and texts[0] == "CREATE" and "TRIGGER" in texts[1:4]


def _split_statements(tokens: list[Token],
                      ends: frozenset[int] | None = None) -> list[list[Token]]:
    """Split on ``;``, except inside a trigger's ``BEGIN ... END`` body; with
    ``ends`` (the engine's own account, `_engine_ends`), only at those."""
    chunks: list[list[Token]] = []
    current: list[Token] = []
    depth = 0
    trigger = False  # decided once the statement's first tokens are known
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON and (
                tok.start in ends if ends is not None else depth == 0):
            if current:
                chunks.append(current)
            current = []
            trigger = False
            continue
        current.append(tok)
        if len(current) <= 4 and not trigger:
            trigger = _is_trigger(current)
        if trigger:
            upper = tok.text.upper()
            if upper in ("BEGIN", "CASE"):
                depth += 1
            elif upper == "END" and depth:
                depth -= 1
    if current:
        chunks.append(current)
    return chunks


def _parse_statement(d: Dialect, sql: str, chunk: list[Token], facts: FragmentFacts,
                     placeholders: tuple[Span, ...], keep_trees: bool = True) -> None:
    span = Span(chunk[0].start, chunk[-1].end + 1)
    facts.texts.append(StatementText(span, sql[span.start:span.end]))
    if _is_trigger(chunk):
        _parse_trigger(d, sql, chunk, facts, placeholders, keep_trees)
        return
    # Unparsed statements still yield the names after FROM/JOIN/INTO...
    depth = _nesting(chunk)
    if depth > MAX_NESTING:
        facts.errors.append(ParseProblem(
            f"SQL nested {depth} levels deep (limit {MAX_NESTING}); not parsed", span))
        facts.tables.extend(_fallback_tables(d, sql, span, chunk, placeholders))
        return
    try:
        trees = d.parser().parse(chunk, sql)
    except ParseError as exc:
        _judge(d, sql, _problem(sql, exc, span, chunk), span, placeholders, facts, chunk)
        facts.tables.extend(_fallback_tables(d, sql, span, chunk, placeholders))
        return
    except RecursionError:
        _judge(d, sql, ParseProblem("SQL nested too deeply to parse", span), span,
               placeholders, facts, chunk)
        facts.tables.extend(_fallback_tables(d, sql, span, chunk, placeholders))
        return
    except Exception as exc:  # sqlglot's own bug on odd input: one statement, not the run
        _judge(d, sql, ParseProblem(f"sqlglot failed on this statement "
                                    f"({type(exc).__name__}: {_first_line(exc)})", span),
               span, placeholders, facts, chunk)
        facts.tables.extend(_fallback_tables(d, sql, span, chunk, placeholders))
        return
    # sqlglot reads more than the engine accepts ("Update Version" as an UPDATE,
    # "UPSERT" as a column, a Command for any utility statement): the engine
    # has the last word on every statement, not only on those sqlglot rejects.
    _judge(d, sql, ParseProblem("not a statement", span), span, placeholders, facts, chunk,
           rejected_only=True)
    for tree in trees:
        if tree is None:
            continue
        facts.statements.append(Statement(statement_kind(tree, chunk), span,
                                          Span(chunk[0].start, chunk[0].end + 1),
                                          tree if keep_trees else None))
        if isinstance(tree, exp.Command):
            facts.tables.extend(_fallback_tables(d, sql, span, chunk, placeholders))
        else:
            facts.tables.extend(_tree_tables(tree, placeholders,
                                             row_types=_dialect_name(d) == "postgres"))


def _parse_trigger(d: Dialect, sql: str, chunk: list[Token], facts: FragmentFacts,
                   placeholders: tuple[Span, ...], keep_trees: bool) -> None:
    """``CREATE TRIGGER name ... ON table [...] BEGIN stmt; ... END``."""
    span = Span(chunk[0].start, chunk[-1].end + 1)
    facts.statements.append(Statement("create-trigger", span,
                                      Span(chunk[0].start, chunk[0].end + 1)))
    texts = [t.text.upper() for t in chunk]
    on = texts.index("ON") if "ON" in texts else None
    relations = None
    if _dialect_name(d) == "postgres":
        # PostgreSQL's parser knows what ON names (nothing, in an event trigger).
        from gatecheck.engines.postgres import relations as postgres_relations

        relations = postgres_relations(sql[span.start:span.end])
    if relations is not None:
        facts.tables.extend(_located(relations, sql, span, placeholders))
    elif on is not None:
        target = _qualified_name(chunk, on + 1)
        if target is not None:
            facts.tables.append(_with_dynamic(target, placeholders))
    begin = texts.index("BEGIN", on) if on is not None and "BEGIN" in texts[on:] else None
    # Whether the trigger as a whole is valid is the engine's call: PostgreSQL's
    # ``... EXECUTE FUNCTION f()`` has no body here, SQLite's needs BEGIN ... END.
    before = len(facts.errors)
    _judge(d, sql, ParseProblem("CREATE TRIGGER without ON ... BEGIN ... END", span), span,
           placeholders, facts, chunk)
    rejected = len(facts.errors) > before
    if begin is None:
        return
    body = chunk[begin + 1:]
    if body and body[-1].text.upper() == "END":
        body = body[:-1]
    current: list[Token] = []
    for tok in body:
        if tok.token_type == TokenType.SEMICOLON:
            if current:
                _parse_statement(d, sql, current, facts, placeholders, keep_trees)
            current = []
        else:
            current.append(tok)
    if current:
        _parse_statement(d, sql, current, facts, placeholders, keep_trees)
    if rejected:  # the trigger's one error says it; its body's would repeat it
        del facts.errors[before + 1:]


# ---------------------------------------------------------------- engine verdicts



def _judge(d: Dialect, sql: str, problem: ParseProblem, span: Span,
           placeholders: tuple[Span, ...], facts: FragmentFacts,
           chunk: list[Token] | None = None, *, rejected_only: bool = False) -> None:
    """sqlglot could not read ``sql[span]``: let the engine's own grammar decide.

    SQLite (its compiler) and PostgreSQL (pglast, its parser) give the verdict
    for their dialects: text they accept is no finding, and their message
    replaces sqlglot's.  A rejection *at a template hole* is not a finding
    either: the hole stands for SQL text filled in at run time
    (``WHERE x = 1 %s GROUP BY y``, ``f"{verb} INTO t"``), so the statement is
    counted as not checked.  A rejection elsewhere in a template is still a
    finding.  Other dialects keep sqlglot's verdict; ``rejected_only``: sqlglot
    did not reject the text, so only the engine's rejection is a problem.
    """
    from gatecheck import engines

    verdict = engines.syntax(_dialect_name(d), sql[span.start:span.end])
    if verdict is engines.ACCEPTED:
        return
    holes = [p for p in placeholders if p.start < span.end and span.start < p.end]
    if verdict is engines.NO_ENGINE:
        if rejected_only:
            return
        if holes:  # no engine to say where: any hole may be the cause
            facts.not_checked.append(ParseProblem(_PARTIAL, span))
        else:
            facts.errors.append(problem)
        return
    assert isinstance(verdict, engines.Rejected)
    at, position = _engine_position(verdict, span, problem, chunk)
    if holes and _at_a_hole(at if position else None, holes, chunk):
        facts.not_checked.append(ParseProblem(_PARTIAL, span))
        return
    if holes:
        blank = _without_holes(d, sql, span, holes)
        if blank is engines.ACCEPTED:
            facts.not_checked.append(ParseProblem(_PARTIAL, span))
            return
        if isinstance(blank, engines.Rejected):
            later, said = _engine_position(blank, span, problem, chunk)
            if _at_a_hole(later if said else None, holes, chunk):
                facts.not_checked.append(ParseProblem(_PARTIAL, span))
                return
            if said and later.start > at.start:
                # The engine got further with the holes empty: its stop is the real one.
                verdict, at = blank, later
    facts.errors.append(ParseProblem(verdict.message, at))


_PARTIAL = "partial template: a placeholder stands for SQL text, checked only at run time"


def _without_holes(d: Dialect, sql: str, span: Span,
                   holes: list[Span]) -> "Rejected | _Verdict":
    """The engine's verdict on the statement with its holes filled by nothing.

    A hole may carry part of a clause glued to its neighbours
    (``"select {}* from t"`` filled with ``"rowid, "``): the neutral name the
    hole was given then leaves ``x* from``, rejected a token past the hole.
    Blanks keep every offset, so nothing else moves.
    """
    from gatecheck import engines

    text = list(sql[span.start:span.end])
    for hole in holes:
        for i in range(max(hole.start, span.start), min(hole.end, span.end)):
            text[i - span.start] = " "
    return engines.syntax(_dialect_name(d), "".join(text))


def _engine_position(verdict: "Rejected", span: Span, problem: ParseProblem,
                     chunk: list[Token] | None) -> tuple[Span, bool]:
    """Where the engine stopped (and whether it said), as a token span if possible."""
    if verdict.offset is not None:
        start = span.start + verdict.offset
        at = Span(start, start + 1)
        if chunk is not None:
            at = next((Span(t.start, t.end + 1) for t in chunk if t.start == start), at)
        return at, True
    if verdict.near is not None and chunk is not None:
        # SQLite names the token it stopped at: take the one nearest sqlglot's guess.
        near = [Span(t.start, t.end + 1) for t in chunk if t.text == verdict.near]
        if near:
            return min(near, key=lambda t: abs(t.start - problem.span.start)), True
    return problem.span, False


def _at_a_hole(at: Span | None, holes: list[Span], chunk: list[Token] | None) -> bool:
    """Whether the engine stopped at a hole, or at the token right after one.

    ``at`` None: the engine gave no position ("incomplete input"): the text
    ended early, which a hole at the end explains.  Without tokens there is
    no telling, and any hole may be the cause.
    """
    if chunk is None:
        return True
    def hole(tok: Token) -> bool:
        return any(h.start <= tok.start < h.end for h in holes)

    if at is None:
        return hole(chunk[-1])
    for i, tok in enumerate(chunk):
        if tok.start <= at.start <= tok.end:
            return hole(tok) or (i > 0 and hole(chunk[i - 1]))
    return any(h.start <= at.start < h.end for h in holes)


def _engine_rejects_any(dialect: str, fragment: Fragment, facts: FragmentFacts) -> bool:
    """Whether the engine's grammar rejects a statement sqlglot read in ``fragment``.

    For a string that reaches no sink, sqlglot's leniency ("Update Version"
    reads as an UPDATE of a table ``Version``) must not make prose SQL.
    Statement spans are still the fragment's own here.  Statements with holes
    are left alone: their text is not what runs.
    """
    from gatecheck import engines

    for statement in facts.statements:
        span = statement.span
        if any(p.start < span.end and span.start < p.end for p in fragment.placeholders):
            continue
        if isinstance(engines.syntax(dialect, fragment.sql[span.start:span.end]),
                      engines.Rejected):
            return True
    return False


def _dialect_name(d: Dialect) -> str:
    return type(d).__name__.lower()


def _nesting(chunk: list[Token]) -> int:
    depth = deepest = 0
    for tok in chunk:
        if tok.token_type in _OPENERS:
            depth += 1
            deepest = max(deepest, depth)
        elif tok.token_type in _CLOSERS:
            depth -= 1
    return deepest


def _problem(sql: str, exc: ParseError, fallback: Span, chunk: list[Token]) -> ParseProblem:
    message = _first_line(exc)
    if not exc.errors:
        return ParseProblem(message, fallback)
    err = exc.errors[0]
    message = _clean(str(err.get("description") or message))
    highlight = str(err.get("highlight") or "")
    line, col = err.get("line"), err.get("col")
    # The token sqlglot stopped at (the one its line and column name) has its
    # own offsets: no line arithmetic, which would be quadratic in a broken
    # dump, and wrong where sqlglot miscounts lines (after a postgres "$").
    for tok in chunk:
        if tok.line == line and tok.col == col:
            return ParseProblem(message, Span(tok.start, tok.end + 1))
    if isinstance(line, int) and isinstance(col, int) and line >= 1:
        index = LineIndex(sql)
        if line <= index.line_count:
            end = min(index.line_start(line) + col, len(sql))  # col: the highlight's last char
            start = max(index.line_start(line), end - max(len(highlight), 1))
            if 0 <= start < end:
                return ParseProblem(message, Span(start, end))
    return ParseProblem(message, fallback)


_TOKEN_REPR = re.compile(r"<Token token_type: TokenType\.(\w+), text: (.*?), line: .*?>")
_MISSING = re.compile(r"Required keyword: '(\w+)' missing for <class '[\w.]*?(\w+)'>")


def _clean(message: str) -> str:
    """sqlglot's messages quote internal reprs; say it in SQL terms."""
    def token(match: re.Match[str]) -> str:
        kind, text = match.groups()
        return "end of statement" if kind == "SENTINEL" else repr(text)

    def missing(match: re.Match[str]) -> str:
        part = "" if match.group(1) == "this" else f" (missing its {match.group(1)})"
        return f"incomplete {match.group(2).upper()}{part}"
    return _MISSING.sub(missing, _TOKEN_REPR.sub(token, message))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return _clean(text[0]) if text else type(exc).__name__


# ---------------------------------------------------------------- tables


def _with_dynamic(ref: TableRef, placeholders: tuple[Span, ...]) -> TableRef:
    if any(p.start < ref.span.end and ref.span.start < p.end for p in placeholders):
        return ref._replace(dynamic=True)
    return ref


def _role(table: exp.Table) -> str:
    parent = table.parent
    if isinstance(parent, exp.Schema) and isinstance(parent.parent, exp.Create):
        parent = parent.parent
    if isinstance(parent, exp.Create) and parent.this is table or \
            isinstance(parent, exp.Create) and isinstance(parent.this, exp.Schema):
        return "define" if parent.find(exp.Table) is table else "use"
    if isinstance(parent, exp.AlterRename):
        return "define"
    if isinstance(parent, exp.Drop) and parent.args.get("exists"):
        return "drop-if-exists"
    return "use"


#: DROP kinds whose names are relations; DROP FUNCTION/TYPE/INDEX/... name other things.
_TABLE_DROPS = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"}


def _tree_tables(tree: exp.Expr, placeholders: tuple[Span, ...], *,
                 row_types: bool = False) -> list[TableRef]:
    """The tables ``tree`` names; ``row_types`` (PostgreSQL): also a cast to a table's
    row type (``r.*::exchange_routes``), which names the table too.  A cast to a type
    that is no table is left to the engine (`references-exist` asks it)."""
    out = []
    if row_types:
        for cast in tree.find_all(exp.DataType):
            kind = cast.args.get("kind")
            if cast.this == exp.DataType.Type.USERDEFINED and isinstance(kind, exp.Dot):
                schema, kind = kind.this, kind.expression
            else:
                schema = None
            if cast.this != exp.DataType.Type.USERDEFINED or \
                    not isinstance(kind, exp.Identifier) or "start" not in kind.meta:
                continue
            out.append(_with_dynamic(TableRef(
                name=kind.name, schema=schema.name if isinstance(schema, exp.Identifier) else None,
                quoted=bool(kind.args.get("quoted")),
                span=Span(kind.meta["start"], kind.meta["end"] + 1), role="use"), placeholders))
    for table in tree.find_all(exp.Table):
        ident = table.this
        if not isinstance(ident, exp.Identifier):
            continue  # a table-valued function such as json_each(...)
        parent = table.parent
        if isinstance(parent, exp.Drop) and str(parent.args.get("kind") or "").upper() \
                not in _TABLE_DROPS:
            continue
        if isinstance(parent, exp.Opclass):
            continue  # CREATE INDEX ... (doc jsonb_path_ops): an operator class
        if _is_cte_reference(table):
            continue
        if isinstance(parent, exp.UserDefinedFunction):
            continue  # CREATE FUNCTION name(...): a function, not a table
        meta = ident.meta
        if "start" not in meta:
            continue  # synthesised by sqlglot, not from the text
        schema = table.args.get("db")
        ref = TableRef(
            name=ident.name,
            schema=schema.name if isinstance(schema, exp.Identifier) else None,
            quoted=bool(ident.args.get("quoted")),
            span=Span(meta["start"], meta["end"] + 1),
            role=_role(table),
        )
        out.append(_with_dynamic(ref, placeholders))
    return out


def _is_cte_reference(table: exp.Table) -> bool:
    """Whether an unqualified table name resolves to a CTE in scope."""
    if table.args.get("db") is not None:
        return False
    name = table.name.casefold()
    node = table.parent
    while node is not None:
        # The key is "with_" in current sqlglot, "with" in older releases.
        with_ = node.args.get("with_", node.args.get("with"))
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            # Inside a CTE's own body only the earlier CTEs are visible (and
            # itself when RECURSIVE); elsewhere all of them are.
            inside = next((i for i, c in enumerate(ctes) if _contains(c, table)), None)
            if inside is None:
                visible = ctes
            else:
                visible = ctes[:inside + 1] if with_.args.get("recursive") else ctes[:inside]
            if any(c.alias_or_name.casefold() == name for c in visible):
                return True
        node = node.parent
    return False


def _contains(ancestor: exp.Expr, node: exp.Expr) -> bool:
    current: exp.Expr | None = node
    while current is not None:
        if current is ancestor:
            return True
        current = current.parent
    return False


_TABLE_KEYWORDS = {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "ON"}
_NAME_TOKENS = {TokenType.VAR, TokenType.IDENTIFIER}


def _qualified_name(chunk: list[Token], i: int) -> TableRef | None:
    """``name`` or ``schema.name`` starting at token ``i``."""
    if i >= len(chunk) or chunk[i].token_type not in _NAME_TOKENS:
        return None
    first = chunk[i]
    if (i + 2 < len(chunk) and chunk[i + 1].token_type == TokenType.DOT
            and chunk[i + 2].token_type in _NAME_TOKENS):
        last = chunk[i + 2]
        return TableRef(last.text, first.text, last.token_type == TokenType.IDENTIFIER,
                        Span(last.start, last.end + 1))
    return TableRef(first.text, None, first.token_type == TokenType.IDENTIFIER,
                    Span(first.start, first.end + 1))


def _fallback_tables(d: Dialect, sql: str, span: Span, chunk: list[Token],
                     placeholders: tuple[Span, ...]) -> list[TableRef]:
    """Tables of a statement sqlglot could not read (or kept as a Command).

    PostgreSQL's own parser reads what sqlglot cannot (``CREATE TRIGGER ...
    EXECUTE FUNCTION``, operator classes, ``CREATE EVENT TRIGGER``): its
    relations are exact, keywords and function names never among them.
    Otherwise names after FROM/JOIN/INTO/... are the best that can be done.
    """
    if _dialect_name(d) == "postgres":
        from gatecheck.engines.postgres import relations as postgres_relations

        relations = postgres_relations(sql[span.start:span.end])
        if relations is not None:
            return _located(relations, sql, span, placeholders)
    return _token_tables(chunk, placeholders)


def _located(relations: "list[Relation]", sql: str, span: Span,
             placeholders: tuple[Span, ...]) -> list[TableRef]:
    """The engine's relations of ``sql[span]`` as table references in ``sql``."""
    out = []
    for rel in relations:
        at = Span(span.start + rel.start, span.start + rel.end)
        name = rel.name if rel.quoted else sql[at.start:at.end]
        out.append(_with_dynamic(TableRef(name, rel.schema, rel.quoted, at, role=rel.role),
                                 placeholders))
    return out


def _token_tables(chunk: list[Token], placeholders: tuple[Span, ...]) -> list[TableRef]:
    """Best-effort table names of a statement sqlglot could not parse.

    Only names right after FROM/JOIN/INTO/UPDATE/TABLE/REFERENCES are taken,
    which is where a relation must stand in every SQL dialect.  The name
    ``CREATE [TEMP] TABLE`` introduces is defined, not used; the one a
    ``REFERENCES`` clause of its columns names is used (a foreign key's target).
    """
    out: list[TableRef] = []
    creates = bool(chunk) and chunk[0].text.upper() == "CREATE"
    for i, tok in enumerate(chunk[:-1]):
        word = tok.text.upper()
        if word in _FALLBACK_KEYWORDS:
            ref = _qualified_name(chunk, i + 1)
            if ref is not None:
                if creates and word == "TABLE" and not out:
                    ref = ref._replace(role="define")
                out.append(_with_dynamic(ref, placeholders))
    return out


_FALLBACK_KEYWORDS = frozenset(_TABLE_KEYWORDS - {"ON"} | {"REFERENCES"})


# ---------------------------------------------------------------- kinds


def statement_kind(tree: exp.Expr, chunk: list[Token] | None = None) -> str:
    """A stable, kebab-case name for a statement: ``create-table``, ``pragma-table-info``."""
    if isinstance(tree, (exp.Create, exp.Drop)):
        verb = "create" if isinstance(tree, exp.Create) else "drop"
        kind = str(tree.args.get("kind") or "").lower()
        return f"{verb}-{kind}" if kind else verb
    if isinstance(tree, exp.Alter):
        kind = str(tree.args.get("kind") or "table").lower()
        return f"alter-{kind}"
    if isinstance(tree, exp.Pragma):
        inner = tree.this
        name = inner.name if isinstance(inner, exp.Expr) else str(inner or "")
        if isinstance(inner, (exp.Anonymous, exp.Func)) and not name:
            name = inner.sql_name()
        name = (name or "").split("(")[0].strip().lower().replace("_", "-")
        return f"pragma-{name}" if name else "pragma"
    if isinstance(tree, exp.Command):
        return str(tree.this or "command").lower().split()[0] if tree.this else "command"
    return type(tree).__name__.lower()


__all__ = ["FragmentFacts", "ParseProblem", "Statement", "TableRef", "analyse",
           "default_schemas", "statement_kind", "table_key", "sqlglot"]
