"""What PostgreSQL itself decides, with no server: its grammar (pglast, libpg_query).

`syntax` is the ``sql-parses`` verdict; `relations` lists the relations a
statement names, located in its text, for the table rules; `side_effects`
names the functions with effects outside one read (``pg_terminate_backend``,
``set_config``, ``dblink_exec``, ``lo_export``, ...) a statement calls, which
data rules refuse before the query is sent.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple

from gatecheck.engines import ACCEPTED, NO_ENGINE, Rejected, _Verdict


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
