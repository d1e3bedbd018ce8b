"""What the database engines themselves decide, asked by every kind that needs a verdict.

sqlglot finds and locates names; the engine decides.  A "does not parse"
verdict is the one SQLite's own compiler (stdlib ``sqlite3``,
`gatecheck.engines.sqlite`) or PostgreSQL's own grammar (pglast, that is
libpg_query) gives.  For other dialects there is no engine here and sqlglot's
verdict stands.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class Rejected(NamedTuple):
    """The engine's grammar rejects the text."""

    message: str
    #: Offset in the text where the engine stopped, when it says.
    offset: int | None = None
    #: The token the engine names ("near ..."), when it gives no offset.
    near: str | None = None


class _Verdict:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


#: The engine's grammar accepts the text.
ACCEPTED = _Verdict("ACCEPTED")
#: No engine decides for this dialect.
NO_ENGINE = _Verdict("NO_ENGINE")


def syntax(dialect: str, text: str) -> Rejected | _Verdict:
    """The engine's verdict on the syntax of one statement in ``dialect``."""
    if dialect == "sqlite":
        from gatecheck.engines.sqlite import syntax_error

        found = syntax_error(text)
        return ACCEPTED if found is None else Rejected(found.message, near=found.near)
    if dialect == "postgres":
        return _postgres_syntax(text)
    return NO_ENGINE


def _postgres_syntax(text: str) -> Rejected | _Verdict:
    try:
        from pglast.parser import ParseError, split
    except ImportError:  # pragma: no cover - pglast is a dependency
        return NO_ENGINE
    try:
        # The grammar's verdict without building a tree: ~4 us, not ~300.
        split(text, with_parser=True)
    except ParseError as exc:
        if "?" in text and _accepted_with_numbered_parameters(text):
            return ACCEPTED
        message, offset = (*exc.args, None, None)[:2]
        return Rejected(str(message),
                        offset=offset if isinstance(offset, int) else None)
    return ACCEPTED


#: A ``?`` where a value ends: some drivers and ORMs write parameters so.
_QMARK = re.compile(r"\?(?=\s*(?:[),;]|$|\s(?:AND|OR|LIMIT|OFFSET|ORDER|GROUP|RETURNING)\b))",
                    re.IGNORECASE)


def _accepted_with_numbered_parameters(text: str) -> bool:
    """Whether the grammar accepts ``text`` once ``?`` parameters read as ``$1``.

    PostgreSQL's own parameters are ``$n``; a ``?`` is also its JSON operator,
    so only a ``?`` in value position is rewritten, and only to turn a
    rejection into acceptance, never the other way.
    """
    from pglast.parser import ParseError, split

    try:
        split(_QMARK.sub("$1", text), with_parser=True)
    except ParseError:
        return False
    return True


class Relation(NamedTuple):
    """A relation PostgreSQL's grammar sees in a statement, located in its text."""

    schema: str | None
    name: str
    quoted: bool
    start: int
    end: int
    #: "define" for the relation a CREATE TABLE/VIEW/... introduces, else "use".
    role: str


#: (statement node, field) whose relation the statement creates.
_DEFINES = {("CreateStmt", "relation"), ("CreateForeignTableStmt", "relation")}


def postgres_relations(text: str) -> list[Relation] | None:
    """Every relation PostgreSQL's parser finds in ``text`` (a ``RangeVar``); None if
    it does not parse.  CTE names are left out: they are not relations."""
    try:
        import json

        from pglast.parser import ParseError, parse_sql_json
    except ImportError:  # pragma: no cover - pglast is a dependency
        return None
    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        return None
    found: list[tuple[dict[str, object], str]] = []
    ctes: set[str] = set()

    def walk(node: object, owner: str, key: str) -> None:
        """``owner``: the nearest typed node (``CreateStmt``); ``key``: the field holding ``node``."""
        if isinstance(node, list):
            for item in node:
                walk(item, owner, key)
            return
        if not isinstance(node, dict):
            return
        if "relname" in node and "location" in node:
            define = (owner, key) in _DEFINES or key in ("rel", "view")
            found.append((node, "define" if define else "use"))
            return
        if "ctename" in node:
            ctes.add(str(node["ctename"]))
        for child_key, child in node.items():
            if child_key[:1].isupper():  # a typed wrapper: {"SelectStmt": {...}}
                walk(child, child_key, key)
            else:
                walk(child, owner, child_key)

    walk(tree.get("stmts", []), "", "")
    out = []
    for node, role in found:
        name, schema = str(node["relname"]), node.get("schemaname")
        location = node["location"]
        if not isinstance(location, int) or location < 0:
            continue
        if schema is None and name in ctes:
            continue
        located = _locate_name(text, location)
        if located is None:
            continue
        start, end, quoted = located
        out.append(Relation(str(schema) if schema is not None else None, name, quoted, start,
                            end, role))
    return out


def _locate_name(text: str, at: int) -> tuple[int, int, bool] | None:
    """(start, end, quoted) of the last part of the dotted name beginning at ``at``."""
    pos, last = at, None
    while pos < len(text):
        if text[pos] == '"':
            close = pos + 1
            while True:
                close = text.find('"', close)
                if close == -1:
                    return None
                if text.startswith('""', close):
                    close += 2
                    continue
                break
            last = (pos, close + 1, True)
            pos = close + 1
        else:
            match = _IDENT.match(text, pos)
            if match is None:
                break
            last = (pos, match.end(), False)
            pos = match.end()
        dot = _DOT.match(text, pos)
        if dot is None:
            break
        pos = dot.end()
    return last


_IDENT = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_DOT = re.compile(r"\s*\.\s*")
