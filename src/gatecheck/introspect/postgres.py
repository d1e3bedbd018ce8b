"""PostgreSQL introspection and bounded, read-only queries (psycopg 3).

Every session gatecheck opens on a user's server starts with
``default_transaction_read_only=on`` and a ``statement_timeout``, both set
as connection options, so even the catalog queries run in read-only
transactions; each data query then sets its own rule's time limit.  The
schema comes from five bulk queries on ``pg_catalog`` (relations with the
SQL of views, columns with primary-key positions, foreign keys, indexes,
triggers), whatever the number of tables: never one query per table.

Names follow PostgreSQL: unquoted identifiers were folded to lower case when
they were created, so the catalogs hold what lookups compare with; quoted
names keep their case.  ``schemas`` (default ``public``) says which schemas
are read; it also becomes the session's ``search_path``, so unqualified
names in ``query:``/``where:`` SQL resolve to them, first one first.  When
more than one schema is read, every name is qualified (``app.tasks``).

Schema from migrations (``database: {migrations: ..., replay_url: ...}``) is
built in a scratch database by `gatecheck.introspect.postgres_replay` and
then read through the same `PostgresDatabase`.

psycopg is imported lazily: SQLite users need not install it (the
``gatecheck[postgres]`` extra does).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import threading
from collections import defaultdict
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from gatecheck.errors import DatabaseError
from gatecheck.introspect import QueryResult, ReplayProblem, redact
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy
from gatecheck.model import Column, ForeignKey, Index, Schema, Table, Trigger, View

if TYPE_CHECKING:
    import psycopg

    from gatecheck.engines.postgres import Analysis

SCHEMES = ("postgresql", "postgres")
DEFAULT_SCHEMAS = ("public",)
#: Seconds to wait for the server to answer a connection, unless the URL says.
CONNECT_TIMEOUT_S = 10
#: Time limit of each catalog query, in seconds.
INTROSPECTION_TIMEOUT_S = 60.0
#: Time limit of the server's analysis of one statement (`PostgresDatabase.analyse`),
#: and how long it may wait for a lock on a table the statement names.
ANALYSIS_TIMEOUT_S = 10.0
ANALYSIS_LOCK_TIMEOUT_MS = 1000

# ---------------------------------------------------------------- catalog queries
# Each takes the schema names as its one parameter.  Partitions are left out
# (their parent stands for them), and so are the catalogs' own relations.

_RELATIONS = """
SELECT c.oid, n.nspname, c.relname, c.relkind,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid, true) END
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition
ORDER BY n.nspname, c.relname
"""
_COLUMNS = """
SELECT a.attrelid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), COALESCE(array_position(pk.conkey, a.attnum), 0)
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_constraint AS pk ON pk.conrelid = a.attrelid AND pk.contype = 'p'
WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'f', 'v', 'm')
  AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""
_FOREIGN_KEYS = """
SELECT k.conrelid, k.conname, fn.nspname, fc.relname, a.attname, fa.attname,
       k.confupdtype, k.confdeltype
FROM pg_constraint AS k
JOIN pg_class AS c ON c.oid = k.conrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_class AS fc ON fc.oid = k.confrelid
JOIN pg_namespace AS fn ON fn.oid = fc.relnamespace
CROSS JOIN LATERAL unnest(k.conkey, k.confkey) WITH ORDINALITY AS p(attnum, fattnum, ord)
JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = p.attnum
JOIN pg_attribute AS fa ON fa.attrelid = k.confrelid AND fa.attnum = p.fattnum
WHERE k.contype = 'f' AND n.nspname = ANY(%s) AND NOT c.relispartition
  AND k.conparentid = 0
ORDER BY k.conrelid, k.conname, p.ord
"""
_INDEXES = """
SELECT i.indrelid, ic.relname, i.indisunique, i.indisprimary, k.contype, p.ord,
       CASE WHEN p.attnum = 0 THEN pg_get_indexdef(i.indexrelid, p.ord::int, true)
            ELSE a.attname END
FROM pg_index AS i
JOIN pg_class AS ic ON ic.oid = i.indexrelid
JOIN pg_class AS c ON c.oid = i.indrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS p(attnum, ord)
LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = p.attnum
LEFT JOIN pg_constraint AS k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                            AND k.contype IN ('p', 'u')
WHERE n.nspname = ANY(%s) AND NOT c.relispartition AND p.ord <= i.indnkeyatts
ORDER BY i.indrelid, ic.relname, p.ord
"""
_TRIGGERS = """
SELECT t.tgrelid, t.tgname, pg_get_triggerdef(t.oid, true), l.lanname, p.prosrc
FROM pg_trigger AS t
JOIN pg_class AS c ON c.oid = t.tgrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_proc AS p ON p.oid = t.tgfoid
JOIN pg_language AS l ON l.oid = p.prolang
WHERE n.nspname = ANY(%s) AND NOT t.tgisinternal
ORDER BY t.tgrelid, t.tgname
"""

_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
               "d": "SET DEFAULT"}
_DECLARE = re.compile(r"^\s*DECLARE\b.*?(?=\bBEGIN\b)", re.IGNORECASE | re.DOTALL)


def _driver() -> Any:
    """The psycopg module, or a `DatabaseError` saying how to install it."""
    try:
        import psycopg
    except ImportError:
        raise DatabaseError("PostgreSQL support needs the psycopg driver, which is not "
                            "installed: pip install 'gatecheck[postgres]'") from None
    return psycopg


def is_postgres_url(url: str) -> bool:
    return url.split(":", 1)[0].lower() in SCHEMES


# ---------------------------------------------------------------- connections


def _conninfo(url: str) -> dict[str, Any]:
    psycopg = _driver()
    try:
        return dict(psycopg.conninfo.conninfo_to_dict(url))
    except psycopg.Error as exc:
        raise DatabaseError(f"invalid PostgreSQL URL {redact(url)}: "
                            f"{_one_line(str(exc), url)}") from None


#: Settings a URL's ``options`` may give (``-c name=value``): how values are
#: shown and the session's resources.  Anything else is refused: a setting can
#: change how SQL is parsed (``standard_conforming_strings`` moves where a
#: string ends, so gatecheck's parser and the server would disagree), where
#: names resolve (``search_path``), or loosen the guards gatecheck sets
#: (``default_transaction_read_only``, ``statement_timeout``, ``role``).
SAFE_OPTIONS = frozenset({
    "application_name", "bytea_output", "client_encoding", "client_min_messages", "datestyle",
    "extra_float_digits", "intervalstyle", "jit", "lc_messages", "lc_monetary", "lc_numeric",
    "lc_time", "timezone", "work_mem",
})
_OPTION = re.compile(r"(?:-c\s*|--)([A-Za-z_][A-Za-z0-9_.]*)=((?:\\.|[^\s\\])*)")


def _url_options(url: str, own: str) -> None:
    """Refuse URL ``options`` that are not plain `SAFE_OPTIONS` settings."""
    rest = own
    while rest.strip():
        match = _OPTION.match(rest.strip())
        if match is None:
            raise DatabaseError(f"PostgreSQL URL {redact(url)}: options other than "
                                "'-c name=value' are refused")
        name = match.group(1).casefold()
        if name not in SAFE_OPTIONS:
            raise DatabaseError(
                f"PostgreSQL URL {redact(url)}: the option {name!r} is refused: it can change "
                "how SQL is parsed or how the session is guarded (allowed: "
                f"{', '.join(sorted(SAFE_OPTIONS))})")
        rest = rest.strip()[match.end():]


def _options(params: dict[str, Any], *, read_only: bool, schemas: Sequence[str]) -> str:
    """libpq ``options``: the URL's own, then gatecheck's session settings."""
    settings = [f"statement_timeout={int(INTROSPECTION_TIMEOUT_S * 1000)}"]
    if read_only:
        settings.insert(0, "default_transaction_read_only=on")
    if schemas:
        path = ",".join('"' + s.replace('"', '""') + '"' for s in schemas)
        settings.append(f"search_path={path}")
    # In libpq's options a backslash escapes a space (and itself).
    ours = " ".join("-c " + s.replace("\\", "\\\\").replace(" ", "\\ ") for s in settings)
    own = str(params.get("options") or "").strip()
    return f"{own} {ours}" if own else ours


def _connect_timeout(url: str, params: dict[str, Any]) -> int:
    """The URL's ``connect_timeout``, or `CONNECT_TIMEOUT_S`; 0 ("wait forever") is refused."""
    given = params.get("connect_timeout")
    if given is None or str(given).strip() == "":
        return CONNECT_TIMEOUT_S
    try:
        seconds = int(str(given).strip())
    except ValueError:
        raise DatabaseError(f"PostgreSQL URL {redact(url)}: connect_timeout must be a whole "
                            "number of seconds") from None
    if seconds <= 0:
        raise DatabaseError(f"PostgreSQL URL {redact(url)}: connect_timeout={seconds} would wait "
                            "forever on a server that never answers; give a positive number of "
                            "seconds")
    return seconds


def connect(url: str, *, read_only: bool = True, schemas: Sequence[str] = (),
            dbname: str | None = None) -> "psycopg.Connection[Any]":
    """An autocommit connection; read-only unless a scratch database is being built.

    Statements are never prepared automatically (``prepare_threshold=None``):
    sessions are reset with ``DISCARD ALL`` between data queries.
    """
    driver = _driver()
    params = _conninfo(url)
    _url_options(url, str(params.get("options") or ""))
    params["options"] = _options(params, read_only=read_only, schemas=schemas)
    params["connect_timeout"] = _connect_timeout(url, params)
    params.setdefault("application_name", "gatecheck")
    if dbname is not None:
        params["dbname"] = dbname
    try:
        conn: "psycopg.Connection[Any]" = driver.connect(autocommit=True, prepare_threshold=None,
                                                         **params)
        return conn
    except driver.Error as exc:
        raise DatabaseError(f"cannot connect to PostgreSQL at {_where(url, dbname)}: "
                            f"{_one_line(str(exc), url)}") from None


def _where(url: str, dbname: str | None = None) -> str:
    shown = redact(url)
    if dbname is None:
        return shown
    return f"{shown} (database {dbname})"


def _one_line(message: str, url: str) -> str:
    """libpq's multi-line message as one line, with no secret of ``url`` in it."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    text = "; ".join(lines) or "unknown error"
    text = re.sub(r"^connection failed:\s*", "", text)
    text = re.sub(r"\s+", " ", text)
    text = text.replace(url, redact(url))  # libpq quotes a URI it cannot parse whole
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def _secrets(url: str) -> list[str]:
    """The password of ``url`` (as written and decoded), never to be printed."""
    from urllib.parse import unquote

    found: list[str] = []
    # Everything between "user:" and the last "@", as redact() hides it: urlsplit
    # gives up on a bad host ("[::1") and splits an unencoded "/" differently.
    userinfo = re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@]*:(.*)@", url, re.DOTALL)
    if userinfo:
        password = userinfo.group(1)
        # libpq ends the password at the first "@": the rest would show as a host.
        found += [password, unquote(password), *password.split("@")]
    for match in re.finditer(r"(?:^|[?&])password=([^&]*)", url.split("?", 1)[-1]):
        found += [match.group(1), unquote(match.group(1))]
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


#: Seconds past a query's own time limit after which the client gives up on a
#: server that does not answer (a stalled backend never applies statement_timeout).
CLIENT_MARGIN_S = 5.0


@contextmanager
def client_deadline(conn: "psycopg.Connection[Any]", seconds: float) -> Iterator[None]:
    """Abandon whatever ``conn`` waits on once ``seconds`` have passed.

    ``statement_timeout`` is applied by the backend, so a backend that stalls
    (a stopped process, a hung network) is waited on forever.  From the
    client side, a timer first sends a cancel request; if the server has not
    answered ``CLIENT_MARGIN_S`` later, it shuts the socket down, which makes
    the blocked call fail at once (the connection is then unusable, as it
    should be).  `DatabaseError` says which happened.
    """
    fired: list[str] = []

    def cancel() -> None:
        fired.append("cancel")
        try:
            conn.cancel_safe(timeout=CLIENT_MARGIN_S)
        except Exception:  # noqa: BLE001 - the shutdown below still comes
            pass

    def shut() -> None:
        fired.append("shutdown")
        try:
            fd = conn.pgconn.socket
            sock = socket.socket(fileno=os.dup(fd))
        except Exception:  # noqa: BLE001 - already closed
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.close()

    timers = [threading.Timer(seconds, cancel), threading.Timer(seconds + CLIENT_MARGIN_S, shut)]
    for timer in timers:
        timer.daemon = True
        timer.start()
    try:
        yield
    except _driver().Error:
        if "shutdown" in fired:
            raise DatabaseError(f"the server did not answer within {seconds + CLIENT_MARGIN_S:g} s "
                                "(nor a cancel request); gave up on the connection") from None
        raise
    finally:
        for timer in timers:
            timer.cancel()


# ---------------------------------------------------------------- the handle


class PostgresDatabase:
    """A read-only PostgreSQL session: schema introspection and bounded queries."""

    dialect = "postgres"

    def __init__(self, conn: "psycopg.Connection[Any]", *, source: str,
                 schemas: Sequence[str] = DEFAULT_SCHEMAS, secrets: Sequence[str] = (),
                 on_close: Callable[[], None] | None = None,
                 policy: Policy = DEFAULT_POLICY) -> None:
        self.conn = conn
        self.policy = policy
        #: Why the connecting role may not run data queries ("" when it may), once checked.
        self._role_problem: str | None = None
        self.source = source
        self.schemas = tuple(schemas)
        self.problems: list[ReplayProblem] = []
        self._schema: Schema | None = None
        self._secrets = tuple(secrets)
        self._on_close = on_close
        #: Stored name -> (schema, relation) of every relation, to quote qualified names.
        self._relations: dict[str, tuple[str, str]] = {}

    @classmethod
    def open(cls, url: str, *, schemas: Sequence[str] = (),
             policy: Policy = DEFAULT_POLICY) -> "PostgresDatabase":
        schemas = tuple(schemas) or DEFAULT_SCHEMAS
        conn = connect(url, schemas=schemas)
        return cls(conn, source=redact(url), schemas=schemas, secrets=_secrets(url),
                   policy=policy)

    # -- schema

    def schema(self) -> Schema:
        if self._schema is None:
            psycopg = _driver()
            try:
                with client_deadline(self.conn, INTROSPECTION_TIMEOUT_S):
                    self._schema = self._read_schema()
            except psycopg.Error as exc:
                raise DatabaseError(f"cannot read the schema of {self.source}: "
                                    f"{self._message(exc)}") from None
        return self._schema

    def _read_schema(self) -> Schema:
        names = list(self.schemas)
        # One snapshot for all five queries: a migration committing meanwhile
        # cannot leave a foreign key without its table.
        with self.conn.transaction(), self.conn.cursor() as cur:
            self._begin(cur, INTROSPECTION_TIMEOUT_S, "ISOLATION LEVEL REPEATABLE READ, ")
            relations = cur.execute(_RELATIONS, (names,)).fetchall()
            columns = _columns(cur.execute(_COLUMNS, (names,)).fetchall())
            fks = _foreign_keys(cur.execute(_FOREIGN_KEYS, (names,)).fetchall(), self._name)
            indexes = _indexes(cur.execute(_INDEXES, (names,)).fetchall())
            trigger_rows = cur.execute(_TRIGGERS, (names,)).fetchall()
        tables, views = [], []
        owners: dict[int, str] = {}
        for oid, nspname, relname, relkind, viewdef in relations:
            name = self._name(nspname, relname)
            self._relations[name] = (nspname, relname)
            owners[oid] = name
            if relkind in ("v", "m"):
                keyword = "MATERIALIZED VIEW" if relkind == "m" else "VIEW"
                sql = f"CREATE {keyword} {_quote_ident(relname)} AS\n{viewdef}" \
                    if viewdef is not None else None
                views.append(View(name=name, sql=sql,
                                  columns=tuple(c.name for c in columns.get(oid, ()))))
            else:
                tables.append(Table(name=name, columns=tuple(columns.get(oid, ())),
                                    foreign_keys=tuple(fks.get(oid, ())),
                                    indexes=tuple(indexes.get(oid, ())), sql=None))
        triggers = []
        for relid, tgname, definition, language, body in trigger_rows:
            owner = owners.get(relid)
            if owner is None:
                continue  # on a partition: its parent's trigger stands for it
            namespace = self._relations[owner][0]
            triggers.append(Trigger(name=self._name(namespace, tgname), table=owner,
                                    sql=_trigger_sql(definition, language, body)))
        key = str.casefold
        return Schema(tables=tuple(sorted(tables, key=lambda t: (key(t.name), t.name))),
                      views=tuple(sorted(views, key=lambda v: (key(v.name), v.name))),
                      triggers=tuple(sorted(triggers, key=lambda g: (key(g.name), g.name))),
                      source=self.source, dialect=self.dialect,
                      schemas=self.schemas)

    def _name(self, namespace: str, name: str) -> str:
        """A relation's name in the schema: qualified when several schemas are read."""
        if len(self.schemas) > 1 or namespace not in self.schemas:
            return f"{namespace}.{name}"
        return name

    # -- queries

    def query(self, sql: str, params: Sequence[Any] = (), *, timeout_s: float = 10.0,
              limit: int | None = None) -> QueryResult:
        """One read-only statement, alone, bounded in time, in a session reset first.

        ``params`` use psycopg's ``%s`` placeholders; without params the SQL
        is sent as written (a ``%`` needs no escaping).  Whatever the SQL, it:

        - is refused before it is sent when it calls a function with side
          effects (`gatecheck.engines.postgres.side_effects`) or the
          connecting role is privileged (`role_problem`);
        - runs after ``DISCARD ALL``, so no setting an earlier query made with
          ``set_config(..., false)`` (``standard_conforming_strings``,
          ``default_transaction_read_only``), no advisory lock, no role set
          with ``SET ROLE`` reaches it;
        - goes through a server-side cursor (``DECLARE ... CURSOR FOR``), that
          is the extended query protocol, which refuses a second statement:
          no ``; COMMIT; BEGIN READ WRITE; DELETE ...`` can ride along;
        - runs in a fresh ``READ ONLY`` transaction with a local
          ``statement_timeout``, watched from the client (`client_deadline`)
          in case the server stops answering.

        Only the first ``limit`` rows are transferred when ``limit`` is given.
        """
        psycopg = _driver()
        self._refuse_unsafe(sql, params, timeout_s)
        args = tuple(params) if params else None
        try:
            with client_deadline(self.conn, timeout_s):
                self.conn.execute("DISCARD ALL")
                with self.conn.transaction():
                    with self.conn.cursor() as cur:
                        self._begin(cur, timeout_s)
                    with self.conn.cursor(name=f"gatecheck_{secrets.token_hex(4)}") as named:
                        named.execute(sql, args)
                        rows = named.fetchall() if limit is None else named.fetchmany(limit)
                        columns = tuple(d.name for d in named.description or ())
        except psycopg.errors.QueryCanceled:
            raise DatabaseError(f"query exceeded its time limit of {timeout_s:g} s") from None
        except psycopg.Error as exc:
            raise DatabaseError(self._message(exc)) from None
        return QueryResult(columns, [tuple(r) for r in rows])

    def analyse(self, sql: str, *, timeout_s: float = ANALYSIS_TIMEOUT_S) -> "Analysis":
        """The server's parse analysis of one statement; nothing is executed.

        ``PREPARE gatecheck_check AS sql`` makes the server resolve every name,
        type and view of ``sql`` and rewrite it, without running it (as sqlc's
        vet does); ``DEALLOCATE`` drops it again.  ``sql`` uses PostgreSQL's
        own ``$n`` parameters, whose types the server infers.  The guards are
        those of `query`, applied the same way:

        - refused before it is sent unless PostgreSQL's grammar (pglast) reads
          the text as exactly one ``PREPARE`` of one SELECT, INSERT, UPDATE,
          DELETE or MERGE that calls no function with side effects
          (`gatecheck.engines.postgres.preparable_refusal`), and unless the
          connecting role passes `role_problem` (``--allow-privileged-role``);
        - after ``DISCARD ALL`` (nothing an earlier query set reaches it, and no
          prepared statement is left over), in a fresh ``READ ONLY``
          transaction with local ``statement_timeout`` and ``lock_timeout``
          (the analysis takes the locks a query would, so it neither waits
          long behind DDL nor makes others wait), rolled back at the end;
        - through the extended query protocol, which refuses a second
          statement; watched from the client (`client_deadline`).

        Returns the `Analysis`: None as its ``sqlstate`` when the server
        analysed the statement, else the SQLSTATE, message and position of its
        error.  `DatabaseError` when the connection fails or the role is refused.
        """
        from gatecheck.engines.postgres import PREPARED_NAME, Analysis, preparable_refusal

        psycopg = _driver()
        refusal = preparable_refusal(sql)
        if refusal is not None:
            return Analysis(None, refusal, None, sent=False)
        problem = self.role_problem(timeout_s)
        if problem:
            raise DatabaseError(problem.replace("data queries", "statements for analysis"))
        prefix = f"PREPARE {PREPARED_NAME} AS "
        try:
            with client_deadline(self.conn, timeout_s):
                self.conn.execute("DISCARD ALL")
                try:
                    with self.conn.transaction(force_rollback=True):
                        with self.conn.cursor() as cur:
                            self._begin(cur, timeout_s)
                            cur.execute(f"SET LOCAL lock_timeout = {ANALYSIS_LOCK_TIMEOUT_MS}")
                            # binary=True: the extended protocol even without
                            # parameters, so a second statement is refused.
                            cur.execute(prefix + sql, binary=True)
                            cur.execute(f"DEALLOCATE {PREPARED_NAME}")
                except psycopg.Error as exc:
                    state = exc.sqlstate
                    if state is None or state.startswith(("08", "57P")) or \
                            self.conn.closed:
                        raise  # the connection, not the statement
                    where = exc.diag.statement_position
                    position = int(where) - 1 - len(prefix) if where else None
                    return Analysis(state, self._message(exc),
                                    position if position is not None and position >= 0
                                    else None)
        except psycopg.Error as exc:
            raise DatabaseError(f"the server's analysis of a statement failed: "
                                f"{self._message(exc)}") from None
        return Analysis(None)

    def _refuse_unsafe(self, sql: str, params: Sequence[Any], timeout_s: float) -> None:
        """`DatabaseError` when ``sql`` may not be sent: side effects, or a privileged role."""
        from gatecheck.engines.postgres import side_effects

        text = _numbered(sql) if params else sql
        called = side_effects(text)
        if called is None:
            raise DatabaseError("refused: the query does not parse as PostgreSQL SQL")
        if called:
            raise DatabaseError(f"refused: the query calls {', '.join(called)}, which can act "
                                "beyond a read (other sessions, files, settings); nothing was "
                                "sent")
        problem = self.role_problem(timeout_s)
        if problem:
            raise DatabaseError(problem)

    def role_problem(self, timeout_s: float = INTROSPECTION_TIMEOUT_S) -> str:
        """Why the connecting role may not run data queries, or "" (checked once).

        A superuser, or a member of a role that reaches the server's files, its
        programs or other sessions, could do through one function call what
        the read-only transaction cannot stop; ``--allow-privileged-role``
        accepts such a role anyway.
        """
        if self._role_problem is None:
            self._role_problem = "" if self.policy.allow_privileged_role else \
                self._check_role(timeout_s)
        return self._role_problem

    def _check_role(self, timeout_s: float) -> str:
        try:
            name, held = held_privileges(self.conn, timeout_s)
        except DatabaseError as exc:
            return f"cannot check the connecting role: {exc.message}"
        if not held:
            return ""
        return (f"refused to run data queries as role {name}: it is "
                f"{' and '.join(_a(h) for h in held)}, so a query could reach past a read; "
                "connect as a SELECT-only role (docs/security.md), or pass "
                "--allow-privileged-role")

    @staticmethod
    def _begin(cur: Any, timeout_s: float, isolation: str = "") -> None:
        """Make the transaction just begun read-only and bounded, whatever came before.

        The session is already read-only by default, but a SELECT can call
        ``set_config('default_transaction_read_only', 'off', false)``; stating
        READ ONLY per transaction (which no function can undo inside it) and a
        local time limit keeps one rule's query from loosening the next's.
        """
        ms = max(1, int(timeout_s * 1000))
        cur.execute(f"SET TRANSACTION {isolation}READ ONLY")
        cur.execute(f"SET LOCAL statement_timeout = {ms}")

    def _message(self, exc: Exception) -> str:
        text = re.sub(r"\s+", " ", str(exc).strip().splitlines()[0] if str(exc).strip()
                      else type(exc).__name__)
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def quote(self, name: str) -> str:
        relation = self._relations.get(name)
        if relation is not None and name != relation[1]:
            return f"{_quote_ident(relation[0])}.{_quote_ident(relation[1])}"
        return _quote_ident(name)

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()


#: Roles whose members a data query may not run as (unless --allow-privileged-role).
PRIVILEGED_ROLES = ("pg_execute_server_program", "pg_read_server_files",
                    "pg_signal_backend", "pg_write_server_files")
_ROLE_CHECK = """
SELECT current_user, r.rolsuper, r.rolcreaterole,
       ARRAY(SELECT p FROM unnest(%s::text[]) AS p
             WHERE EXISTS (SELECT FROM pg_roles WHERE rolname = p)
               AND pg_has_role(current_user, p, 'MEMBER') ORDER BY p)
FROM pg_roles AS r WHERE r.rolname = current_user
"""


def held_privileges(conn: "psycopg.Connection[Any]", timeout_s: float, *,
                    createrole: bool = False) -> tuple[str, list[str]]:
    """The connecting role's name and what it holds of: superuser, `PRIVILEGED_ROLES`
    (and ``CREATEROLE`` when asked).  A superuser is a member of every role:
    then that alone is said."""
    psycopg = _driver()
    try:
        with client_deadline(conn, timeout_s):
            row = conn.execute(_ROLE_CHECK, (list(PRIVILEGED_ROLES),)).fetchone()
    except psycopg.Error as exc:
        raise DatabaseError(re.sub(r"\s+", " ", str(exc).strip())) from None
    assert row is not None
    name, superuser, can_create_roles, members = row
    if superuser:
        return name, ["superuser"]
    held = ["CREATEROLE"] if createrole and can_create_roles else []
    return name, held + list(members or ())


def _a(held: str) -> str:
    if held in ("superuser", "CREATEROLE"):
        return "a superuser" if held == "superuser" else "allowed to CREATEROLE"
    return f"a member of {held}"


def _numbered(sql: str) -> str:
    """psycopg's ``%s`` placeholders as PostgreSQL's ``$n`` (and ``%%`` as ``%``)."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    return re.sub(r"%%|%s", number, sql)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _trigger_sql(definition: str, language: str, body: str | None) -> str:
    """``CREATE TRIGGER ...``, plus its PL/pgSQL function's body for dependents-resolve.

    PostgreSQL keeps a trigger's statements in its function, as text that a
    rename does not update; appended as ``BEGIN ... END`` they are checked the
    way a SQLite trigger body is (``NEW``/``OLD`` resolve to the table).
    """
    if language != "plpgsql" or not body:
        return definition
    block = _DECLARE.sub("", body).strip().rstrip(";").strip()
    if not block.upper().startswith("BEGIN"):
        block = f"BEGIN\n{block}\nEND"
    return f"{definition}\n{block};"


def _columns(rows: list[Any]) -> dict[int, list[Column]]:
    out: dict[int, list[Column]] = defaultdict(list)
    for relid, name, type_, not_null, default, pk in rows:
        out[relid].append(Column(name=name, type=type_ or "", not_null=bool(not_null),
                                 default=default, primary_key=int(pk or 0)))
    return out


def _foreign_keys(rows: list[Any],
                  name: Callable[[str, str], str]) -> dict[int, list[ForeignKey]]:
    grouped: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row[0], row[1])].append(row)
    out: dict[int, list[ForeignKey]] = defaultdict(list)
    for (relid, _), parts in grouped.items():
        first = parts[0]
        out[relid].append(ForeignKey(columns=tuple(p[4] for p in parts),
                                     ref_table=name(first[2], first[3]),
                                     ref_columns=tuple(p[5] for p in parts),
                                     on_update=_FK_ACTIONS.get(first[6], ""),
                                     on_delete=_FK_ACTIONS.get(first[7], "")))
    return out


def _indexes(rows: list[Any]) -> dict[int, list[Index]]:
    grouped: dict[tuple[int, str], list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row[0], row[1])].append(row)
    out: dict[int, list[Index]] = defaultdict(list)
    for (relid, index), parts in grouped.items():
        first = parts[0]
        origin = "pk" if first[3] else "u" if first[4] == "u" else "c"
        out[relid].append(Index(name=index, columns=tuple(p[6] or "" for p in parts),
                                unique=bool(first[2]), origin=origin))
    return out
