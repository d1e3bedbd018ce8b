"""What PostgreSQL itself decides, with no server: its grammar (pglast, libpg_query).

`syntax` is the ``sql-parses`` verdict; `relations` lists the relations a
statement names, located in its text, for the table rules; `side_effects`
names the functions with effects outside one read (``pg_terminate_backend``,
``set_config``, ``dblink_exec``, ``lo_export``, ...) a statement calls, which
data rules refuse before the query is sent; `NameResolver` resolves a
statement's names with the server's rules.  Where a server is configured and
asked to (``server_check``), `for_server` says what may be sent to it for
analysis and `server_verdict` what its answer means; the connection itself
is `gatecheck.introspect.postgres`'s.
"""

from __future__ import annotations

import functools
import json
import re
from typing import (TYPE_CHECKING, Any, Iterator, Mapping, NamedTuple, Protocol, Sequence,
                    runtime_checkable)

from gatecheck.engines import ACCEPTED, NO_ENGINE, Rejected, _Verdict, as_values
from gatecheck.extract import NEUTRAL

if TYPE_CHECKING:
    from gatecheck.model import Schema


def syntax(text: str) -> Rejected | _Verdict:
    """PostgreSQL's grammar on one statement (or several): `ACCEPTED` or `Rejected`."""
    try:
        from pglast.parser import ParseError, split
    except ImportError:  # pragma: no cover - pglast is a dependency
        return NO_ENGINE
    try:
        # The grammar's verdict without building a tree: ~4 us, not ~300.
        split(text, with_parser=True)
    except ParseError as exc:
        if "?" in text or ":" in text:
            numbered = _numbered_parameters(text)
            try:
                split(numbered, with_parser=True)
                return ACCEPTED
            except ParseError as later:
                # Offsets are kept: where the grammar stops with the parameters read
                # as its own is where the text is really wrong.
                exc = later
        message, offset = (*exc.args, None, None)[:2]
        return Rejected(str(message),
                        offset=offset if isinstance(offset, int) else None)
    return ACCEPTED


#: A ``?`` where a value ends: some drivers and ORMs write parameters so.
_QMARK = re.compile(r"\?(?=\s*(?:[),;]|$|\s(?:AND|OR|LIMIT|OFFSET|ORDER|GROUP|RETURNING)\b))",
                    re.IGNORECASE)


#: A named parameter as drivers and SQLAlchemy's ``text()`` write it (``:key``),
#: not a cast (``::int``) or a slice bound (``a[lo:hi]``); ``IN :names`` is an
#: expanding list.
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
_IN_NAMED = re.compile(r"(\bIN\s+):([A-Za-z_][A-Za-z0-9_]{2,})", re.IGNORECASE)


def _numbered_parameters(text: str) -> str:
    """``text`` with ``?`` (in value position) and ``:name`` parameters as PostgreSQL's
    ``$1``, every offset kept (``IN :names`` as ``IN ($1)``, padded).

    PostgreSQL's own parameters are ``$n``; a ``?`` is also its JSON operator,
    so only a ``?`` in value position is rewritten, and only to turn a
    rejection into acceptance, never the other way."""
    if ":" in text:
        text = _IN_NAMED.sub(lambda m: m.group(1) + "($1)".ljust(len(m.group(2)) + 1), text)
        text = _NAMED.sub(lambda m: "$1".ljust(len(m.group(0))), text)
    return _QMARK.sub("$1", text) if "?" in text else text




#: Tokens of PostgreSQL's lexer that nest: brackets, and in a routine's
#: ``BEGIN ATOMIC ... END`` body, ``CASE ... END``.
_OPEN = {"ASCII_40", "ASCII_91"}
_CLOSE = {"ASCII_41", "ASCII_93"}


def statement_ends(text: str) -> list[int] | None:
    """Character offsets of the ``;`` that end statements in ``text``, as psql splits a
    script: PostgreSQL's own lexer (pglast) reads strings, dollar quotes, comments
    and ``E''`` escapes; a ``;`` inside brackets (``CREATE RULE ... DO (a; b)``)
    or inside the ``BEGIN ATOMIC ... END`` body of a ``CREATE FUNCTION`` or
    ``PROCEDURE`` does not end one.  Where the lexer gives up (``0A``, an
    unterminated quote), the next ``;`` ends that statement and lexing resumes
    after it, so the ends before a bad token are the same whatever follows it.
    None without pglast.
    """
    if ";" not in text:
        return []  # most strings in code: one statement, nothing to split
    tokens = _tokens(text)
    if tokens is None:
        return None
    ends: list[int] = []
    brackets = body = 0
    head: list[str] = []  # the statement's first tokens
    for name, start in tokens:
        if name in ("SQL_COMMENT", "C_COMMENT"):
            continue
        if name == "ASCII_59" and brackets <= 0 and body <= 0:
            ends.append(start)
            brackets = body = 0
            head = []
            continue
        if len(head) < 5:
            head.append(name)
        if name in _OPEN:
            brackets += 1
        elif name in _CLOSE:
            brackets -= 1
        elif name == "BEGIN_P" and head[:1] == ["CREATE"] and \
                ("FUNCTION" in head or "PROCEDURE" in head):
            body += 1
        elif name == "CASE" and body > 0:
            body += 1
        elif name == "END_P" and body > 0:
            body -= 1
    return ends


def _tokens(text: str) -> list[tuple[str, int]] | None:
    """(name, character offset) of each token of PostgreSQL's lexer; past a token it
    cannot read, the text up to the next ``;`` is one token and lexing resumes."""
    try:
        from pglast.parser import ParseError, scan
    except ImportError:  # pragma: no cover - pglast is a dependency
        return None
    out: list[tuple[str, int]] = []
    base = 0
    while base < len(text):
        try:
            out += [(t.name, base + t.start) for t in scan(text[base:])]
            return out
        except ParseError as exc:
            at = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        if at is None or at < 0:
            return None
        try:
            out += [(t.name, base + t.start) for t in scan(text[base:base + at])]
        except ParseError:
            return None
        semicolon = text.find(";", base + at)
        out.append(("BAD_TOKEN", base + at))
        if semicolon == -1:
            return out
        out.append(("ASCII_59", semicolon))
        base = semicolon + 1
    return out


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


def relations(text: str) -> list[Relation] | None:
    """Every relation PostgreSQL's parser finds in ``text`` (a ``RangeVar``); None if
    it does not parse.  CTE names are left out: they are not relations."""
    try:
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


# ---------------------------------------------------------------- functions with side effects

#: Functions a data rule may not call, by name (any schema): they reach past one
#: read -- other sessions, the server's files and configuration, the session's
#: own settings, other databases, sequences, notifications, locks.
SIDE_EFFECT_FUNCTIONS = frozenset({
    # other sessions and the server
    "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
    "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_backup_start",
    "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_log_backend_memory_contexts",
    "pg_import_system_collations", "pg_truncate_visibility_map", "pg_export_snapshot",
    "pg_logical_emit_message", "pg_drop_replication_slot", "pg_copy_physical_replication_slot",
    "pg_copy_logical_replication_slot", "pg_replication_slot_advance",
    "pg_wal_replay_pause", "pg_wal_replay_resume",
    # the session's own state, notifications
    "set_config", "pg_notify", "nextval", "setval", "lastval",
    # a SQL string run by a function
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
    "cursor_to_xml", "cursor_to_xmlschema",
    # large objects (lo_import/lo_export reach the server's files)
    "loread", "lowrite",
})
#: Name prefixes refused the same way: every variant of a family.
SIDE_EFFECT_PREFIXES = ("pg_advisory_", "pg_try_advisory_", "dblink", "lo_", "pg_ls_",
                        "pg_read_", "pg_file_", "pg_stat_file", "pg_create_",
                        "pg_replication_origin_", "pg_stat_reset")


def side_effect(name: str) -> bool:
    """Whether calling the function ``name`` (unqualified, any case) can act beyond a read."""
    name = name.casefold()
    return name in SIDE_EFFECT_FUNCTIONS or name.startswith(SIDE_EFFECT_PREFIXES)


def side_effects(text: str) -> list[str] | None:
    """The functions with side effects ``text`` calls, in order, once each; None if
    PostgreSQL's grammar rejects it.

    A call anywhere in the tree counts (select list, WHERE, a CTE, a lateral
    subquery, a default argument).  What a user-defined function calls in its
    body cannot be seen here: the read-only transaction and an unprivileged
    role are the real guards, this is defence in depth.
    """
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        return None
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            call = node.get("FuncCall")
            if isinstance(call, dict):
                parts = [p.get("String", {}).get("sval", "") for p in call.get("funcname", [])
                         if isinstance(p, dict)]
                name = parts[-1] if parts else ""
                if side_effect(name) and name not in found:
                    found.append(name)
            for child in node.values():
                walk(child)

    walk(tree)
    return found


# ---------------------------------------------------------------- migrations replay

#: Statements a migrations replay refuses: they reach outside the scratch
#: database (other databases, roles, the server's configuration, files and
#: programs, other servers).
_OUTSIDE = {
    "CreatedbStmt": "CREATE DATABASE", "DropdbStmt": "DROP DATABASE",
    "AlterDatabaseStmt": "ALTER DATABASE", "AlterDatabaseSetStmt": "ALTER DATABASE",
    "AlterDatabaseRefreshCollStmt": "ALTER DATABASE",
    "CreateRoleStmt": "CREATE ROLE", "AlterRoleStmt": "ALTER ROLE",
    "AlterRoleSetStmt": "ALTER ROLE", "DropRoleStmt": "DROP ROLE", "GrantRoleStmt": "GRANT role",
    "AlterSystemStmt": "ALTER SYSTEM", "LoadStmt": "LOAD",
    "CreateTableSpaceStmt": "CREATE TABLESPACE", "DropTableSpaceStmt": "DROP TABLESPACE",
    "AlterTableSpaceOptionsStmt": "ALTER TABLESPACE",
    "CreateForeignServerStmt": "CREATE SERVER", "AlterForeignServerStmt": "ALTER SERVER",
    "CreateUserMappingStmt": "CREATE USER MAPPING", "AlterUserMappingStmt": "ALTER USER MAPPING",
    "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER", "AlterFdwStmt": "ALTER FOREIGN DATA WRAPPER",
    "ImportForeignSchemaStmt": "IMPORT FOREIGN SCHEMA",
    "ReassignOwnedStmt": "REASSIGN OWNED",
}
#: Extensions that reach other databases or the server's files.
_OUTSIDE_EXTENSIONS = frozenset({"dblink", "postgres_fdw", "file_fdw", "adminpack",
                                 "pg_prewarm", "pageinspect"})
#: Settings a migration may not change: the replay's own deadline and identity.
_GUARDED_SETTINGS = frozenset({"statement_timeout", "session_authorization", "role"})
#: Function families a migration may not call (a migration may use sequences,
#: advisory locks, set_config('search_path', ...) as pg_dump output does).
_REPLAY_PREFIXES = ("dblink", "lo_import", "lo_export", "pg_ls_", "pg_read_", "pg_file_",
                    "pg_stat_file", "pg_terminate_backend", "pg_cancel_backend",
                    "pg_reload_conf", "pg_rotate_logfile", "pg_promote", "query_to_xml",
                    "cursor_to_xml", "pg_create_", "pg_drop_replication_slot")


def replay_refusal(text: str) -> str | None:
    """Why a migration statement may not run in a scratch database, or None.

    PostgreSQL's own parser classifies it; a statement it rejects is left to
    the server (which rejects it too).  A ``DO`` block's body is PL/pgSQL
    text: the names of refused functions and statements are looked for in it
    as words.  What a function created earlier runs when called cannot be
    seen here: the role check (no superuser, no server-file roles) is the
    guard for that.
    """
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        return None
    for item in tree.get("stmts", []):
        stmt = item.get("stmt", {})
        for kind, node in stmt.items():
            if kind in _OUTSIDE:
                return f"{_OUTSIDE[kind]} reaches outside the scratch database"
            if kind == "CopyStmt":
                if node.get("is_program") or node.get("filename"):
                    return "COPY to or from a server file or program reaches outside the " \
                           "scratch database"
                return "COPY ... STDIN/STDOUT cannot be replayed (write INSERT statements)"
            if kind == "CreateExtensionStmt" and node.get("extname") in _OUTSIDE_EXTENSIONS:
                return f"the extension {node['extname']} reaches outside the scratch database"
            if kind == "VariableSetStmt" and str(node.get("name", "")).casefold() in \
                    _GUARDED_SETTINGS:
                return f"a migration may not set {node['name']} (the replay's own guard)"
            if kind == "DoStmt":
                body = " ".join(a["DefElem"]["arg"]["String"]["sval"]
                                for a in node.get("args", [])
                                if a.get("DefElem", {}).get("defname") == "as")
                words = re.findall(r"[a-z_][a-z0-9_]*", body.casefold())
                for word in words:
                    if word.startswith(_REPLAY_PREFIXES):
                        return f"a DO block calls {word}, which reaches outside the scratch " \
                               "database"
                if re.search(r"\b(copy|alter\s+system|create\s+role|drop\s+database)\b",
                             body, re.IGNORECASE):
                    return "a DO block runs a statement that may reach outside the scratch " \
                           "database (COPY, ALTER SYSTEM, CREATE ROLE, DROP DATABASE)"
    problem: list[str] = []

    def walk(node: object) -> None:
        if problem:
            return
        if isinstance(node, list):
            for child in node:
                walk(child)
        elif isinstance(node, dict):
            call = node.get("FuncCall")
            if isinstance(call, dict):
                parts = [p.get("String", {}).get("sval", "") for p in call.get("funcname", [])
                         if isinstance(p, dict)]
                name = (parts[-1] if parts else "").casefold()
                if name.startswith(_REPLAY_PREFIXES):
                    problem.append(f"{name} reaches outside the scratch database")
                elif name == "set_config":
                    first = (call.get("args") or [{}])[0]
                    setting = first.get("A_Const", {}).get("sval", {}).get("sval", "")
                    if str(setting).casefold() in _GUARDED_SETTINGS or not setting:
                        problem.append("set_config of statement_timeout, role or a computed "
                                       "name (the replay's own guards)")
            for child in node.values():
                walk(child)

    walk(tree)
    return problem[0] if problem else None


# ---------------------------------------------------------------- names


class Missing(NamedTuple):
    """The schema's names one statement lacks, by PostgreSQL's rules of name resolution."""

    #: Tables and columns, casefolded.
    tables: frozenset[str]
    columns: frozenset[str]
    #: Whether every name of the statement was decided.  False: something
    #: could not be resolved here (a function's result columns, a system
    #: catalog's columns, a statement kind not analysed, text the grammar
    #: rejects); names that depend on it are not checked.
    complete: bool


#: Schemas whose relations exist on every server; their columns are not read.
_NONE: Mapping[str, frozenset[str] | None] = {}
_SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
#: Columns every table has, which the catalog lists apart (``attnum < 0``).
_SYSTEM_COLUMNS = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"})
#: ``%s`` / ``%(name)s`` (psycopg) and ``?`` in value position, read as ``$1``.
_DRIVER_PARAMETER = re.compile(r"%\([A-Za-z_][A-Za-z0-9_]*\)s|%s")


class _Item(NamedTuple):
    """One entry of a FROM list, as PostgreSQL's parse analysis sees it."""

    #: The name it is visible as: its alias, else the relation's name.
    name: str | None
    #: Its columns, casefolded; None when they cannot be known here.
    columns: frozenset[str] | None
    schema: str | None = None


class _Scope(NamedTuple):
    items: list[_Item]
    parent: "_Scope | None"
    #: Output names of the select list (ORDER BY / GROUP BY may use them).
    outputs: frozenset[str] = frozenset()


class NameResolver:
    """Resolves the names of a statement against a PostgreSQL schema, as the server would.

    PostgreSQL's own grammar (pglast) gives the tree; the rules are the
    server's parse analysis: a single name is a column of some FROM item in
    this or an enclosing query level, else the whole row of a FROM item
    (``SELECT p FROM participants p``, ``count(b)``, ``RETURNING t``); a
    qualified name's first part is a FROM item's alias; ``ORDER BY`` and
    ``GROUP BY`` may name select-list outputs; ``INSERT``'s ``ON CONFLICT``
    sees ``excluded``; CTEs shadow tables; unqualified ``pg_*`` names and
    ``pg_catalog``/``information_schema`` are the system catalogs.  Nothing
    is sent to a server.  Where the columns of a FROM item cannot be known
    (a set-returning function without a column list, a system catalog, a
    table created elsewhere in the file), names that could belong to it are
    left undecided.
    """

    def __init__(self, schema: "Schema") -> None:
        self.schema = schema
        local = schema.schemas or ("public",)
        self._local = frozenset(s.casefold() for s in local) | {"pg_temp"}

    def created(self, sql: str) -> frozenset[str]:
        """Relations ``sql`` (one ``CREATE`` statement) creates, casefolded."""
        found = relations(_for_pglast(sql))
        return frozenset(r.name.casefold() for r in found or () if r.role == "define")

    def missing(self, sql: str, *, defined: Mapping[str, frozenset[str] | None] = _NONE,
                columns_of: dict[str, set[str]] | None = None,
                creates: Sequence[str] = ()) -> Missing:
        """The tables and columns ``sql`` (one statement) names that the schema lacks.

        ``defined``: tables created elsewhere in the same file (casefolded), with
        their columns where known; ``creates``: the file's ``CREATE``
        statements, whose column lists PostgreSQL's grammar reads (they win
        over ``defined``'s).  ``columns_of`` is the SQLite oracle's and not
        needed here.
        """
        from pglast.parser import ParseError, parse_sql_json

        text = _for_pglast(sql)
        try:
            tree = json.loads(parse_sql_json(text))
        except ParseError:
            # A hole may stand for an expression or a row list (``VALUES {rows}``,
            # ``WHERE {cond}``) where a name cannot stand: try it as a value.
            if not NEUTRAL.search(text):
                return Missing(frozenset(), frozenset(), False)
            try:
                tree = json.loads(parse_sql_json(as_values(text)))
            except ParseError:
                return Missing(frozenset(), frozenset(), False)
        if creates:
            defined = {**defined, **self._made(tuple(creates))}
        run = _Resolution(self, defined)
        for raw in tree.get("stmts", []):
            run.statement(raw.get("stmt", {}))
        return Missing(frozenset(run.tables), frozenset(run.columns), run.complete)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one resolver per run
    def _made(self, creates: tuple[str, ...]) -> dict[str, frozenset[str] | None]:
        """The tables ``CREATE TABLE`` statements make, with their columns by the grammar,
        and the columns ``ALTER TABLE`` adds or renames to."""
        from pglast.parser import ParseError, parse_sql_json

        made: dict[str, frozenset[str] | None] = {}
        for sql in creates:
            try:
                tree = json.loads(parse_sql_json(_for_pglast(sql)))
            except ParseError:
                continue
            for raw in tree.get("stmts", []):
                kind, body = _typed(raw.get("stmt"))
                name = str((body.get("relation") or {}).get("relname", "")).casefold()
                if not name:
                    continue
                if kind == "CreateStmt":
                    columns = frozenset(str(c.get("colname", "")).casefold()
                                        for c in _walk_typed(body.get("tableElts"), "ColumnDef"))
                    made[name] = columns or None
                elif kind == "AlterTableStmt":  # ADD COLUMN
                    added = frozenset(str(c.get("colname", "")).casefold()
                                      for c in _walk_typed(body.get("cmds"), "ColumnDef"))
                    if added:
                        made[name] = (made.get(name) or frozenset()) | added
                elif kind == "RenameStmt" and body.get("renameType") == "OBJECT_COLUMN":
                    made[name] = (made.get(name) or frozenset()) | \
                        {str(body.get("newname", "")).casefold()}
        return made

    def lookup(self, schema: str | None, name: str) -> tuple[bool, frozenset[str] | None]:
        """(exists, columns) of a relation; columns None when not known."""
        if schema is not None and schema.casefold() in _SYSTEM_SCHEMAS:
            return True, None
        if schema is None and name.casefold().startswith("pg_"):
            return True, None
        if schema is not None and schema.casefold() not in self._local:
            return True, None  # another schema: not this check's to decide
        qualified = f"{schema}.{name}" if schema is not None else name
        table = self.schema.table(qualified)
        if table is not None:
            return True, frozenset(c.name.casefold() for c in table.columns) | _SYSTEM_COLUMNS
        view = self.schema.view(qualified)
        if view is not None:
            return True, frozenset(c.casefold() for c in view.columns) or None
        return False, None


def _for_pglast(sql: str) -> str:
    """Driver parameters (``%s``, ``%(name)s``, ``?``, ``:name``) as PostgreSQL's ``$1``."""
    from pglast.parser import ParseError, split

    text = _DRIVER_PARAMETER.sub(lambda m: "$1".ljust(len(m.group(0))), sql)
    try:
        split(text, with_parser=True)
    except ParseError:
        return _numbered_parameters(text)
    return text


def _typed(node: object) -> tuple[str, dict[str, Any]]:
    """``{"SelectStmt": {...}}`` -> ("SelectStmt", {...}); a bare field dict -> ("", it)."""
    if isinstance(node, dict) and len(node) == 1:
        [(kind, body)] = node.items()
        if kind[:1].isupper() and isinstance(body, dict):
            return kind, body
    return "", node if isinstance(node, dict) else {}


def _names(nodes: Any) -> list[str]:
    return [str(n["String"]["sval"]) for n in nodes or [] if isinstance(n, dict) and "String" in n]


class _Resolution:
    """One statement's walk: what is missing, and whether everything was decided."""

    def __init__(self, resolver: NameResolver,
                 defined: Mapping[str, frozenset[str] | None]) -> None:
        self.resolver = resolver
        self.defined = defined
        self.tables: set[str] = set()
        self.columns: set[str] = set()
        self.complete = True

    # ---- statements

    def statement(self, node: object) -> None:
        kind, body = _typed(node)
        if kind == "SelectStmt":
            self.select(body, None, {})
        elif kind in ("InsertStmt", "UpdateStmt", "DeleteStmt"):
            self.modify(kind, body, {})
        elif kind == "ViewStmt":
            self.statement(body.get("query"))
        elif kind in ("CreateTableAsStmt", "ExplainStmt", "DeclareCursorStmt"):
            self.statement(body.get("query"))
        elif kind == "IndexStmt":
            target = self.relation(body.get("relation") or {}, {})
            for elem in body.get("indexParams", []):
                _, index = _typed(elem)
                if index.get("name"):
                    self.column_of(target, str(index["name"]))
                else:
                    self.expressions([index.get("expr")], _Scope([target], None), {})
            self.expressions([body.get("whereClause")], _Scope([target], None), {})
        else:
            self.complete = False  # DDL and utility statements are not analysed here

    def _ctes(self, body: dict[str, Any], scope: _Scope | None,
              ctes: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
        clause = body.get("withClause")
        if not clause:
            return ctes
        ctes = dict(ctes)
        for raw in clause.get("ctes", []):
            _, cte = _typed(raw)
            name = str(cte.get("ctename", "")).casefold()
            aliases = _names(cte.get("aliascolnames"))
            if clause.get("recursive"):
                ctes[name] = frozenset(a.casefold() for a in aliases) if aliases else None
            outputs = self.query(cte.get("ctequery"), scope, ctes)
            ctes[name] = frozenset(a.casefold() for a in aliases) if aliases else outputs
        return ctes

    def query(self, node: object, scope: _Scope | None,
              ctes: dict[str, frozenset[str] | None]) -> frozenset[str] | None:
        """A nested statement (SELECT, or a data-modifying CTE); its output names."""
        kind, body = _typed(node)
        if kind == "SelectStmt":
            return self.select(body, scope, ctes)
        if kind in ("InsertStmt", "UpdateStmt", "DeleteStmt"):
            return self.modify(kind, body, ctes)
        self.complete = False
        return None

    def select(self, body: dict[str, Any], parent: _Scope | None,
               ctes: dict[str, frozenset[str] | None]) -> frozenset[str] | None:
        ctes = self._ctes(body, parent, ctes)
        if body.get("op", "SETOP_NONE") != "SETOP_NONE":
            left = self.query(body.get("larg"), parent, ctes)
            self.query(body.get("rarg"), parent, ctes)
            return left
        if body.get("valuesLists"):
            self.expressions(body["valuesLists"], _Scope([], parent), ctes)
            width = max(len(row.get("List", {}).get("items", [])) for row in body["valuesLists"])
            return frozenset(f"column{i + 1}" for i in range(width))
        scope = _Scope([], parent)
        for item in body.get("fromClause", []):
            scope.items.extend(self.from_item(item, scope, ctes))
        targets = body.get("targetList", [])
        self.expressions([t for t in targets], scope, ctes)
        self.expressions([body.get(k) for k in ("whereClause", "havingClause", "limitCount",
                                                 "limitOffset", "windowClause")], scope, ctes)
        outputs = self.outputs(targets)
        late = _Scope(scope.items, parent, outputs or frozenset())
        self.expressions([body.get(k) for k in ("groupClause", "sortClause",
                                                 "distinctClause")], late, ctes)
        return outputs

    def modify(self, kind: str, body: dict[str, Any],
               ctes: dict[str, frozenset[str] | None]) -> frozenset[str] | None:
        ctes = self._ctes(body, None, ctes)
        relation = body.get("relation") or {}
        target = self.relation(relation, ctes)
        scope = _Scope([target], None)
        if kind == "InsertStmt":
            for col in body.get("cols", []):
                _, res = _typed(col)
                self.column_of(target, str(res.get("name", "")))
            self.query(body["selectStmt"], None, ctes) if body.get("selectStmt") else None
            conflict = body.get("onConflictClause")
            if conflict:
                scope = _Scope([target, _Item("excluded", target.columns)], None)
                for elem in (conflict.get("infer") or {}).get("indexElems", []):
                    _, index = _typed(elem)
                    if index.get("name"):
                        self.column_of(target, str(index["name"]))
                    else:
                        self.expressions([index.get("expr")], scope, ctes)
                self.set_list(conflict.get("targetList", []), target, scope, ctes)
                self.expressions([conflict.get("whereClause")], scope, ctes)
        elif kind == "UpdateStmt":
            for item in body.get("fromClause", []):
                scope.items.extend(self.from_item(item, scope, ctes))
            self.set_list(body.get("targetList", []), target, scope, ctes)
        else:
            for item in body.get("usingClause", []):
                scope.items.extend(self.from_item(item, scope, ctes))
        self.expressions([body.get("whereClause")], scope, ctes)
        returning = body.get("returningList") or \
            (body.get("returningClause") or {}).get("exprs", [])
        self.expressions(returning, scope, ctes)
        return self.outputs(returning)

    def set_list(self, targets: list[Any], target: _Item, scope: _Scope,
                 ctes: dict[str, frozenset[str] | None]) -> None:
        for raw in targets:
            _, res = _typed(raw)
            if res.get("name"):
                self.column_of(target, str(res["name"]))
            self.expressions([res.get("val")], scope, ctes)

    # ---- FROM

    def relation(self, node: dict[str, Any], ctes: dict[str, frozenset[str] | None]) -> _Item:
        name = str(node.get("relname", ""))
        schema = node.get("schemaname")
        alias = (node.get("alias") or {}).get("aliasname")
        columns: frozenset[str] | None
        if schema is None and name.casefold() in ctes:
            columns = ctes[name.casefold()]
        else:
            exists, columns = self.resolver.lookup(schema, name)
            made = self.defined.get(name.casefold()) if schema is None else None
            if not exists:
                if name.casefold() not in self.defined:
                    self.tables.add(name.casefold())
                columns = made
            elif made is not None and columns is not None:
                columns = columns | made
        renamed = _names((node.get("alias") or {}).get("colnames"))
        if renamed:
            columns = None if columns is None else columns | {r.casefold() for r in renamed}
        return _Item(str(alias or name).casefold(), columns, schema)

    def from_item(self, node: object, scope: _Scope,
                  ctes: dict[str, frozenset[str] | None]) -> list[_Item]:
        kind, body = _typed(node)
        alias = body.get("alias") or {}
        renamed = frozenset(n.casefold() for n in _names(alias.get("colnames"))) or None
        if kind == "RangeVar":
            return [self.relation(body, ctes)]
        if kind == "RangeSubselect":
            outputs = self.query(body.get("subquery"), scope, ctes)
            name = alias.get("aliasname")
            return [_Item(str(name).casefold() if name else None, renamed or outputs)]
        if kind == "JoinExpr":
            items = self.from_item(body.get("larg"), scope, ctes) + \
                self.from_item(body.get("rarg"), scope, ctes)
            joined = _Scope(scope.items + items, scope.parent)
            self.expressions([body.get("quals")], joined, ctes)
            if alias.get("aliasname"):
                items.append(_Item(str(alias["aliasname"]).casefold(), None))
            return items
        if kind == "RangeFunction":
            self.expressions([body.get("functions")], scope, ctes)
            name = alias.get("aliasname")
            if name is None:
                calls = [c for c in _walk_typed(body.get("functions"), "FuncCall")]
                name = _names(calls[0].get("funcname"))[-1] if calls else None
            columns = renamed
            if columns is None and body.get("coldeflist"):
                columns = frozenset(str(_typed(c)[1].get("colname", "")).casefold()
                                    for c in body["coldeflist"])
            return [_Item(str(name).casefold() if name else None, columns)]
        if kind == "RangeTableSample":
            return self.from_item(body.get("relation"), scope, ctes)
        self.complete = False
        return [_Item(str(alias["aliasname"]).casefold() if alias.get("aliasname") else None,
                      None)]

    # ---- expressions

    def expressions(self, nodes: object, scope: _Scope,
                    ctes: dict[str, frozenset[str] | None]) -> None:
        if isinstance(nodes, list):
            for node in nodes:
                self.expressions(node, scope, ctes)
            return
        if not isinstance(nodes, dict):
            return
        for kind, body in nodes.items():
            if kind == "ColumnRef" and isinstance(body, dict):
                self.column_ref(body.get("fields", []), scope)
            elif kind == "SubLink" and isinstance(body, dict):
                self.expressions(body.get("testexpr"), scope, ctes)
                self.query(body.get("subselect"), scope, ctes)
            elif kind == "SelectStmt" and isinstance(body, dict):
                self.select(body, scope, ctes)
            elif kind == "lockingClause":
                continue  # FOR UPDATE OF t names a FROM item, not a relation
            else:
                if kind == "A_Indirection" and isinstance(body, dict) and any(
                        isinstance(i, dict) and "String" in i
                        for i in body.get("indirection") or ()):
                    # ``(p).field``: a field of a composite type, whose fields are
                    # not read here (the server's analysis decides them).
                    self.complete = False
                self.expressions(body, scope, ctes)

    def column_ref(self, fields: list[Any], scope: _Scope) -> None:
        parts = [str(f["String"]["sval"]) if "String" in f else "*" for f in fields
                 if isinstance(f, dict)]
        if not parts or parts[-1] == "*" and len(parts) == 1:
            return
        if len(parts) == 1:
            self.unqualified(parts[0].casefold(), scope)
            return
        owner, column = parts[-2].casefold(), parts[-1].casefold()
        level: _Scope | None = scope
        while level is not None:
            for item in level.items:
                if item.name == owner and (len(parts) == 2 or item.schema is None or
                                           item.schema.casefold() == parts[-3].casefold()):
                    if column != "*":
                        self.column_of(item, column)
                    return
            level = level.parent
        # ``a.b`` where ``a`` is no FROM item: a composite column's field, or an
        # error PostgreSQL reports as a missing FROM entry.  Not decided here.
        self.complete = False

    def unqualified(self, name: str, scope: _Scope) -> None:
        level: _Scope | None = scope
        while level is not None:
            if any(item.columns is not None and name in item.columns for item in level.items):
                return
            if any(item.name == name for item in level.items) or name in level.outputs:
                return  # the whole row of a FROM item, or a select-list output
            if any(item.columns is None for item in level.items):
                self.complete = False
                return
            level = level.parent
        self.columns.add(name)

    def column_of(self, item: _Item, column: str) -> None:
        if item.columns is None:
            self.complete = False
        elif column.casefold() not in item.columns:
            self.columns.add(column.casefold())

    @staticmethod
    def outputs(targets: list[Any]) -> frozenset[str] | None:
        names: set[str] = set()
        for raw in targets:
            _, res = _typed(raw)
            if res.get("name"):
                names.add(str(res["name"]).casefold())
                continue
            kind, val = _typed(res.get("val"))
            while kind == "TypeCast":
                kind, val = _typed(val.get("arg"))
            if kind == "ColumnRef":
                parts = [f for f in val.get("fields", []) if isinstance(f, dict)]
                if parts and "A_Star" in parts[-1]:
                    return None  # ``*``: the outputs are a FROM item's columns
                names |= {n.casefold() for n in _names(parts[-1:])}
            elif kind == "FuncCall":
                names |= {n.casefold() for n in _names(val.get("funcname"))[-1:]}
        return frozenset(names)


def _walk_typed(node: object, wanted: str) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _walk_typed(item, wanted)
    elif isinstance(node, dict):
        for kind, body in node.items():
            if kind == wanted and isinstance(body, dict):
                yield body
            yield from _walk_typed(body, wanted)


# ---------------------------------------------------------------- the server's analysis
#
# Where a live server is configured, ``references-exist`` with ``server_check``
# asks it to analyse a statement as sqlc's vet does: ``PREPARE`` inside a
# read-only transaction, then ``DEALLOCATE``, then ``ROLLBACK``.  PREPARE runs
# parse analysis and the rewriter -- names, types, views, rules -- and executes
# nothing.  The connection code is `gatecheck.introspect.postgres`'s; what may
# be sent, and what the server's answer means, is decided here.

#: The name every analysed statement is prepared under (and deallocated).
PREPARED_NAME = "gatecheck_check"
#: Statements PREPARE accepts (PostgreSQL's ``PreparableStmt``).
_PREPARABLE = frozenset({"SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})


class Analysis(NamedTuple):
    """The server's answer to ``PREPARE`` of one statement (nothing was executed)."""

    #: None: analysed without error; else the SQLSTATE it refused the statement with.
    sqlstate: str | None
    #: The server's primary message (or why gatecheck did not send the statement).
    message: str = ""
    #: 0-based character offset in the statement where the server points, if it says.
    position: int | None = None
    #: False when gatecheck refused to send the statement (`preparable_refusal`).
    sent: bool = True


class ServerStatement(NamedTuple):
    """One statement as it is sent to the server: parameters numbered (``$n``),
    template holes as values, with the way back to the statement as written."""

    text: str
    #: For each character of ``text``, its offset in the statement as written.
    origin: tuple[int, ...]
    #: Whether template holes (`gatecheck.extract.NEUTRAL`) were made values.
    holes: bool = False

    def original(self, offset: int) -> int:
        if not self.origin:
            return 0
        return self.origin[max(0, min(offset, len(self.origin) - 1))]


class ServerVerdict(NamedTuple):
    """What the server's analysis says of one statement."""

    #: "valid" (every name resolved), "missing" (a table or column the server
    #: lacks: the first one it met) or "undecided" (it stopped at something else).
    outcome: str
    #: For "missing": "table" or "column", the name as written (quotes removed),
    #: and its (start, end) in the statement as written.
    what: str = ""
    name: str = ""
    span: tuple[int, int] | None = None
    #: For "undecided": why, in words.
    reason: str = ""


#: What gatecheck skips when it looks for parameters: string literals (plain,
#: ``E''``), quoted identifiers, comments and dollar-quoted text.
_SKIPPED = (r"[Ee]'(?:\\.|''|[^'\\])*'|'(?:''|[^'])*'|\"(?:\"\"|[^\"])*\"|--[^\n]*"
            r"|/\*.*?\*/|(?P<tag>\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$).*?(?P=tag)")
#: Driver parameters: psycopg's ``%(name)s`` and ``%s``, PostgreSQL's own ``$n``.
_PSYCOPG = re.compile(_SKIPPED + r"|%\((?P<pyname>[A-Za-z_][A-Za-z0-9_]*)\)s|(?P<pos>%s)"
                      r"|\$(?P<num>\d+)", re.DOTALL)
#: ... and the styles other drivers use: ``:name`` (not a ``::`` cast nor a
#: slice bound), ``?`` where a value ends (``?`` is also a JSON operator).
_OTHER = re.compile(_SKIPPED + r"|%\((?P<pyname>[A-Za-z_][A-Za-z0-9_]*)\)s|(?P<pos>%s)"
                    r"|\$(?P<num>\d+)|(?P<in>\bIN\s+):(?P<inname>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?<![:\w]):(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                    r"|(?P<q>\?)(?=\s*(?:[),;]|$|\s(?:AND|OR|LIMIT|OFFSET|ORDER|GROUP|RETURNING)\b))",
                    re.DOTALL | re.IGNORECASE)


def _number(sql: str, pattern: re.Pattern[str]) -> ServerStatement:
    """``sql`` with each driver parameter as a numbered ``$n`` (one number per name),
    literals, quoted names and comments untouched."""
    taken = [int(m.group("num")) for m in pattern.finditer(sql) if m.group("num")]
    next_number = max(taken, default=0) + 1
    named: dict[str, int] = {}
    out: list[str] = []
    origin: list[int] = []
    last = 0
    for match in pattern.finditer(sql):
        name = match.group("pyname") or match.groupdict().get("name") or \
            match.groupdict().get("inname")
        if name is None and not (match.group("pos") or match.groupdict().get("q")):
            continue  # a literal, a comment, a quoted name or a $n: kept
        if name is not None and name in named:
            number = named[name]
        else:
            number, next_number = next_number, next_number + 1
            if name is not None:
                named[name] = number
        param = f"${number}"
        start = match.start()
        if match.groupdict().get("in"):
            param = f"{match.group('in')}({param})"
        out.append(sql[last:start])
        origin.extend(range(last, start))
        out.append(param)
        origin.extend(min(start + i, match.end() - 1) for i in range(len(param)))
        last = match.end()
    out.append(sql[last:])
    origin.extend(range(last, len(sql)))
    return ServerStatement("".join(out), tuple(origin))


def for_server(sql: str) -> ServerStatement | str:
    """``sql`` (one statement, as written) ready for the server's analysis, or why it
    is not sent: it is not one statement that PREPARE takes (DDL, utility
    statements), PostgreSQL's grammar rejects it, or it calls a function with
    side effects (`side_effects`: never sent, although PREPARE runs nothing).

    A template hole (`gatecheck.extract.NEUTRAL`) becomes a value (``(NULL)``):
    one standing for a name or a clause makes the text unparseable, and so
    the statement is not sent.
    """
    from pglast.parser import ParseError, parse_sql_json

    text = sql.rstrip().rstrip(";").rstrip()
    holes = NEUTRAL.search(text) is not None
    if holes:
        text = as_values(text)
    tree = None
    for pattern in (_PSYCOPG, _OTHER):
        statement = _number(text, pattern)
        try:
            tree = json.loads(parse_sql_json(statement.text))
            break
        except ParseError:
            continue
    if tree is None:
        return "PostgreSQL's grammar rejects the statement as it would be sent"
    stmts = tree.get("stmts", [])
    kinds = [_typed(s.get("stmt"))[0] for s in stmts]
    if len(kinds) != 1 or kinds[0] not in _PREPARABLE:
        return "not a statement the server analyses without running it (only SELECT, " \
            "INSERT, UPDATE, DELETE and MERGE are prepared)"
    called = side_effects(statement.text)
    if called:
        return f"it calls {', '.join(called)}, which can act beyond a read: never sent"
    return statement._replace(holes=holes)


def preparable_refusal(text: str) -> str | None:
    """Why ``PREPARE gatecheck_check AS text`` may not be sent, or None.

    The connection code checks this again right before sending (defence in
    depth, as data queries are checked): exactly one ``PREPARE`` of one
    preparable statement, calling no function with side effects.
    """
    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(f"PREPARE {PREPARED_NAME} AS {text}"))
    except ParseError:
        return "refused: PostgreSQL's grammar rejects the statement"
    stmts = tree.get("stmts", [])
    if len(stmts) != 1:
        return "refused: more than one statement"
    kind, body = _typed(stmts[0].get("stmt"))
    if kind != "PrepareStmt" or _typed(body.get("query"))[0] not in _PREPARABLE:
        return "refused: not one PREPARE of a SELECT, INSERT, UPDATE, DELETE or MERGE"
    called = side_effects(text)
    if called is None or called:
        return f"refused: the statement calls {', '.join(called or ['?'])}, which can act " \
            "beyond a read; nothing was sent"
    return None


#: A VALUES row that is one parameter (psycopg2's ``execute_values``: ``VALUES %s``).
_ROW_PARAMETER = re.compile(r"\bVALUES\s+\$\d+", re.IGNORECASE)
#: SQLSTATEs that are not about a name, in words (the rest: the server's message).
_UNDECIDED = {
    "42601": "the server's grammar rejects it",
    "42883": "an unknown function or operator (or argument types it has no match for)",
    "42P18": "the type of a parameter cannot be determined without its value",
    "42P08": "a parameter is used with two types",
    "42804": "a type mismatch",
    "42702": "an ambiguous column name",
    "42704": "an unknown type or object",
    "3F000": "an unknown schema",
    "42501": "the role may not see an object it names",
    "57014": "the analysis exceeded its time limit",
    "55P03": "a table it names is locked",
    "0A000": "a feature the server does not support",
}


def server_verdict(statement: ServerStatement, analysis: Analysis,
                   defined: Mapping[str, frozenset[str] | None] = _NONE) -> ServerVerdict:
    """The meaning of the server's answer for ``statement`` (sent as `for_server` made it).

    ``undefined_table`` (42P01) at a relation and ``undefined_column`` (42703)
    at a column are the only "missing" verdicts, located at the name the
    server points at; a relation or column that ``defined`` (tables created
    or altered in the same file, casefolded, with their columns where known)
    makes is not one the server can know yet, so it is undecided.  Every
    other refusal -- an unknown function (42883), a parameter whose type
    cannot be inferred (42P18), a syntax error, a timeout -- is undecided.
    """
    if not analysis.sent:
        return ServerVerdict("undecided", reason=analysis.message)
    if analysis.sqlstate is None:
        return ServerVerdict("valid")
    state = analysis.sqlstate
    if state not in ("42P01", "42703"):
        why = _UNDECIDED.get(state, "the server refused it")
        return ServerVerdict("undecided", reason=f"the server stopped at something other "
                                                  f"than a name: {why} ({state}: "
                                                  f"{analysis.message})")
    located = _at_position(statement.text, analysis, state)
    if located is None:
        return ServerVerdict("undecided", reason=f"the server's error is not at a name "
                                                  f"gatecheck can locate ({state}: "
                                                  f"{analysis.message})")
    what, name, start, end = located
    folded = name.casefold()
    if what == "table" and folded in defined:
        return ServerVerdict("undecided", reason=f"{name} is created in this file; the "
                                                  "server does not have it")
    if what == "column" and (statement.holes or _ROW_PARAMETER.search(statement.text)):
        # ``VALUES {rows}`` or psycopg2's ``VALUES %s``: sent as one value, it may be
        # several columns (``column2``), as a hole in a select list may be any.
        return ServerVerdict("undecided", reason=f"{name} may come from what a template "
                                                  "hole or a parameter stands for")
    if what == "column":
        named = {r.name.casefold() for r in relations(statement.text) or ()}
        made = [defined[r] for r in named if r in defined]
        if any(cols is None or folded in cols for cols in made):
            return ServerVerdict("undecided", reason=f"{name} may be a column this file "
                                                      "creates or adds; the server does not "
                                                      "have it")
    span = (statement.original(start), statement.original(end - 1) + 1)
    return ServerVerdict("missing", what, name, span)


def _at_position(text: str, analysis: Analysis, state: str
                 ) -> tuple[str, str, int, int] | None:
    """(what, name, start, end) of the name the server's error points at in ``text``."""
    from pglast.parser import ParseError, parse_sql_json

    at = analysis.position
    if at is None or not 0 <= at < len(text):
        return None
    try:
        tree = json.loads(parse_sql_json(text))
    except ParseError:
        return None
    byte = len(text[:at].encode("utf-8"))
    nodes = [(kind, body, parent) for kind, body, parent in _located(tree, None)
             if body.get("location") == byte]
    for kind, body, parent in nodes:
        if state == "42P01" and kind == "RangeVar":
            return _named("table", text, at)
        if state != "42703":
            continue
        if kind == "ColumnRef":
            fields = body.get("fields") or []
            if not fields or "A_Star" in fields[-1]:
                return None
            pkind, pbody = parent if parent is not None else ("", {})
            if pkind == "A_Indirection":
                # ``(p).field``: the server points at ``p``; which of them is missing?
                names = _names(pbody.get("indirection"))
                if names and _mentions(analysis.message, names[-1]) and \
                        not _mentions(analysis.message, _names(fields)[-1]):
                    return _field(text, at, names[-1])
            return _named("column", text, at)
        if kind == "ResTarget" and body.get("name") and not body.get("indirection"):
            return _named("column", text, at)
        if kind == "InferClause":  # ON CONFLICT (a, b): the server points at "("
            elems = [str(_typed(e)[1].get("name", "")) for e in body.get("indexElems") or ()]
            hits = [e for e in elems if e and _mentions(analysis.message, e)]
            if len(hits) == 1:
                found = re.compile(r'"?' + re.escape(hits[0]) + r'"?(?=\s*[,)])').search(text, at)
                if found is not None:
                    return _named("column", text, found.start())
    return None


def _located(node: object, parent: tuple[str, dict[str, Any]] | None
             ) -> Iterator[tuple[str, dict[str, Any], tuple[str, dict[str, Any]] | None]]:
    """Every typed node with a ``location``, with the typed node that holds it."""
    if isinstance(node, list):
        for item in node:
            yield from _located(item, parent)
    elif isinstance(node, dict):
        for kind, body in node.items():
            if kind[:1].isupper() and isinstance(body, dict):
                if "location" in body:
                    yield kind, body, parent
                yield from _located(body, (kind, body))
            else:
                yield from _located(body, parent)


def _named(what: str, text: str, at: int) -> tuple[str, str, int, int] | None:
    located = _locate_name(text, at)
    if located is None:
        return None
    start, end, quoted = located
    name = text[start + 1:end - 1].replace('""', '"') if quoted else text[start:end]
    return (what, name, start, end) if name else None


def _field(text: str, at: int, name: str) -> tuple[str, str, int, int] | None:
    """The field ``name`` selected from a composite value after ``at``: ``(p).name``."""
    found = re.compile(r"\)\s*\.\s*(\"" + re.escape(name.replace('"', '""')) + r"\"|" +
                       re.escape(name) + r"\b)", re.IGNORECASE).search(text, at)
    if found is None:
        return None
    return "column", name, found.start(1), found.end(1)


def _mentions(message: str, name: str) -> bool:
    """Whether the server's message names ``name`` (in any language's quotes)."""
    return re.search(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])", message) is not None


@runtime_checkable
class Analyser(Protocol):
    """A database handle that can ask the server to analyse a statement
    (`gatecheck.introspect.postgres.PostgresDatabase.analyse`)."""

    def analyse(self, sql: str, *, timeout_s: float = ...) -> Analysis: ...
