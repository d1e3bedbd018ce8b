"""Helpers shared by the data and schema-integrity kinds (not a kind itself).

Key mappings and the anti-join behind ``rows-preserved`` and ``no-orphans``,
name resolution against the introspected schema, the read-only check that
``query`` and ``row-exists`` apply to SQL a user wrote, and value formatting
for messages and JSON.  Every identifier that reaches SQL here has first
been found in the schema and is then quoted by the database handle, so no
user text is interpolated into a query except the ``where:``/``sql:``
options, which are SQL by design and are parsed before they run.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from gatecheck.options import OptionError, as_str_list, mapping_items, scalar, type_name
from gatecheck.errors import DatabaseError
from gatecheck.policy import HIDDEN

if TYPE_CHECKING:
    from gatecheck.introspect import Database
    from gatecheck.kinds import Context, Emit
    from gatecheck.model import Schema

#: How many offending keys a finding's ``sample`` holds at most.
SAMPLE_SIZE = 10
#: How many of them the human-readable message repeats.
MESSAGE_SAMPLE = 5
#: Default time limit of one data query, in seconds.
DEFAULT_TIMEOUT_S = 10.0

#: (source column, target column) pairs; several pairs form a composite key.
KeyPairs = tuple[tuple[str, str], ...]

_KEY_SHAPES = ("a column name, a list of column names, {from: a, to: b} "
               "or a list of such mappings")
_NAMES: dict[str, Any] = {"anyOf": [{"type": "string"},
                                    {"type": "array", "items": {"type": "string"}}]}
_KEY_MAPPING: dict[str, Any] = {"type": "object", "required": ["from", "to"],
                                "properties": {"from": _NAMES, "to": _NAMES},
                                "additionalProperties": False}
#: ``key:`` in the rules file's JSON Schema (`gatecheck.rules_schema`).
KEY_SCHEMA: dict[str, Any] = {"anyOf": [
    {"type": "string"}, _KEY_MAPPING,
    {"type": "array", "minItems": 1, "items": {"anyOf": [{"type": "string"}, _KEY_MAPPING]}}]}


# ---------------------------------------------------------------- options


def parse_key(node: yaml.Node) -> KeyPairs:
    """``key:`` as (source column, target column) pairs.

    Accepted shapes: ``id``; ``[a, b]``; ``{from: a, to: b}``;
    ``{from: [a, b], to: [c, d]}``; a list mixing names and such mappings.
    """
    if isinstance(node, yaml.SequenceNode):
        if not node.value:
            raise OptionError(f"expected {_KEY_SHAPES}, got an empty list", node)
        pairs: list[tuple[str, str]] = []
        for item in node.value:
            if isinstance(item, yaml.MappingNode):
                pairs.extend(_key_mapping(item))
            elif type_name(item) == "string":
                name = str(scalar(item))
                pairs.append((name, name))
            else:
                raise OptionError(f"expected {_KEY_SHAPES}, got a list containing "
                                  f"{type_name(item)}", item)
        return tuple(pairs)
    if isinstance(node, yaml.MappingNode):
        return _key_mapping(node)
    if type_name(node) == "string":
        name = str(scalar(node))
        return ((name, name),)
    raise OptionError(f"expected {_KEY_SHAPES}, got {type_name(node)}", node)


def _key_mapping(node: yaml.MappingNode) -> KeyPairs:
    sides: dict[str, tuple[str, ...]] = {}
    for key, key_node, value in mapping_items(node):
        if key not in ("from", "to"):
            raise OptionError(f"unknown key {key!r} in a key mapping; valid keys: from, to",
                              key_node)
        sides[key] = as_str_list(value)
    if set(sides) != {"from", "to"}:
        raise OptionError("a key mapping needs both 'from' and 'to', e.g. "
                          "{from: task_id, to: id}", node)
    if len(sides["from"]) != len(sides["to"]) or not sides["from"]:
        raise OptionError(f"a key mapping pairs columns one to one; got {len(sides['from'])} "
                          f"'from' and {len(sides['to'])} 'to' columns", node)
    return tuple(zip(sides["from"], sides["to"]))


@dataclass(frozen=True)
class KeySpec:
    """Which rows of ``source`` must find a partner in ``target``, and on what."""

    source: str
    target: str
    #: None: not given; ``rows-preserved`` then uses the source's primary key.
    pairs: KeyPairs | None


@dataclass(frozen=True)
class AntiJoinOptions:
    """Options shared by ``rows-preserved`` and ``no-orphans``: both are one anti-join."""

    #: Whether ``from``/``to`` must name the columns (``table.column``) when
    #: ``key`` is absent; rows-preserved falls back to the primary key.
    NEED_COLUMNS: ClassVar[bool] = True

    from_: str
    to: str
    key: KeyPairs | None = field(default=None, metadata={"parse": parse_key,
                                                         "schema": KEY_SCHEMA})
    timeout_s: float = DEFAULT_TIMEOUT_S

    def __post_init__(self) -> None:
        # A ValueError is reported by the config loader, at the rule.
        self.spec  # builds the key mapping: a bad from/to/key raises here
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s:g}")

    @property
    def spec(self) -> KeySpec:
        return key_spec(self.from_, self.to, self.key, need_columns=self.NEED_COLUMNS)


def key_spec(from_: str, to: str, key: KeyPairs | None, *, need_columns: bool) -> KeySpec:
    """Read ``from``/``to``/``key``; `ValueError` (a config error) when they disagree.

    Columns go either into ``from``/``to`` as ``table.column`` (one column,
    the form of ``no-orphans: {from: tasks.session_id, ...}``) or into
    ``key`` with ``from``/``to`` naming tables; not both.
    """
    if key is not None:
        for option, value in (("from", from_), ("to", to)):
            if "." in value:
                raise ValueError(f"with 'key' set, '{option}' names a table, got {value!r}; "
                                 "give the columns either as table.column or in 'key'")
        return KeySpec(from_, to, key)
    dotted = ["." in from_, "." in to]
    if all(dotted):
        (src, src_col), (dst, dst_col) = from_.rsplit(".", 1), to.rsplit(".", 1)
        if not all((src, src_col, dst, dst_col)):
            raise ValueError(f"expected table.column in 'from' and 'to', got {from_!r} "
                             f"and {to!r}")
        return KeySpec(src, dst, ((src_col, dst_col),))
    if any(dotted):
        raise ValueError(f"'from' ({from_!r}) and 'to' ({to!r}) must both be table.column, "
                         "or both tables with the columns in 'key'")
    if need_columns:
        raise ValueError("name the columns: from: table.column and to: table.column, "
                         "or tables plus key: column")
    return KeySpec(from_, to, None)


# ---------------------------------------------------------------- schema


def find_relation(schema: "Schema", name: str) -> tuple[str, tuple[str, ...]] | None:
    """(name as stored, column names) of a table or view; None when neither exists.

    Lookups fold case like SQLite; quoting later uses the stored spelling.
    """
    table = schema.table(name)
    if table is not None:
        return table.name, tuple(c.name for c in table.columns)
    view = schema.view(name)
    return None if view is None else (view.name, view.columns)


def column_object(table: str, columns: tuple[str, ...] | list[str]) -> str:
    """A finding's ``object`` for columns: ``t.c``, or ``t.(a,b)`` for a composite."""
    if len(columns) == 1:
        return f"{table}.{columns[0]}"
    return f"{table}.({','.join(columns)})"


def resolve_columns(schema: "Schema", emit: "Emit", table: str, columns: tuple[str, ...],
                    *, role: str) -> tuple[str, tuple[str, ...]] | None:
    """The table's and columns' stored names, or a finding and None when one is missing.

    ``role`` says what the table is to the rule ("source table", ...), so
    the finding explains why it was needed.
    """
    relation = find_relation(schema, table)
    if relation is None:
        emit(f"{role} {table} does not exist, so the rule cannot be checked", obj=table)
        return None
    stored, existing = relation
    by_fold = {c.casefold(): c for c in existing}
    missing = [c for c in columns if c.casefold() not in by_fold]
    if missing:
        listing = ", ".join(existing) or "none readable"
        emit(f"{role} {stored} has no column {', '.join(missing)} (its columns: {listing}), "
             "so the rule cannot be checked", obj=column_object(stored, missing))
        return None
    return stored, tuple(by_fold[c.casefold()] for c in columns)


# ---------------------------------------------------------------- anti-join


@dataclass(frozen=True)
class Misses:
    """Source rows without a partner: how many, and a sample of their keys."""

    count: int
    #: Distinct keys in ascending order; a scalar per key, a list per composite key.
    sample: list[Any]


def anti_join(db: "Database", source: str, target: str, pairs: KeyPairs, *,
              skip_null_keys: bool, timeout_s: float) -> Misses:
    """Count the ``source`` rows with no ``target`` row on ``pairs``, inside the database.

    One anti-join counts them; only when there are some does a second,
    identical one fetch the first `SAMPLE_SIZE` distinct keys, so no row
    ever travels to Python beyond the sample.  ``=`` decides a match, as SQL
    does: a NULL on either side never matches.  ``skip_null_keys`` drops
    source rows with a NULL in any key column before the anti-join (foreign
    key ``MATCH SIMPLE`` semantics); otherwise they count as unmatched.
    Names must already be the schema's (see `resolve_columns`).
    """
    q = db.quote
    keys = [f"a.{q(s)}" for s, _ in pairs]
    match = " AND ".join(f"b.{q(t)} = a.{q(s)}" for s, t in pairs)
    # LEFT JOIN ... IS NULL rather than NOT EXISTS: the same anti-join (a
    # matched b row has a non-NULL key, and an unmatched a row appears once),
    # but SQLite builds an automatic index for a join and none for a
    # correlated subquery, so against a target without an index on the key
    # NOT EXISTS is quadratic (hours for 1,000,000 rows) and this is
    # O(n log n) (half a second).  PostgreSQL plans both as one anti join.
    conditions = [f"{k} IS NOT NULL" for k in keys] if skip_null_keys else []
    conditions.append(f"b.{q(pairs[0][1])} IS NULL")
    body = (f"FROM {q(source)} AS a LEFT JOIN {q(target)} AS b ON {match} "
            f"WHERE {' AND '.join(conditions)}")
    count = int(db.query(f"SELECT COUNT(*) {body}", timeout_s=timeout_s).rows[0][0])
    if count == 0:
        return Misses(0, [])
    ordinals = ", ".join(str(i) for i in range(1, len(keys) + 1))
    rows = db.query(f"SELECT DISTINCT {', '.join(keys)} {body} ORDER BY {ordinals} "
                    f"LIMIT {SAMPLE_SIZE}", timeout_s=timeout_s).rows
    sample = [json_value(r[0]) if len(r) == 1 else [json_value(v) for v in r] for r in rows]
    return Misses(count, sample)


def database_problem(exc: DatabaseError, option: str = "timeout_s") -> str:
    """A failed data query, phrased for a finding (a timeout names its option)."""
    text = exc.message
    if "time limit" in text:
        return f"{text}; raise '{option}' or add an index, and run again"
    return text


# ---------------------------------------------------------------- read-only SQL


#: sqlglot node types that change something or are not a query at all; any
#: of them anywhere in a SELECT's tree refuses it.
_NOT_READS = ("DML", "DDL", "Drop", "Alter", "Attach", "Detach", "Pragma", "Command",
              "LoadData", "Use", "Set", "Transaction", "Commit", "Rollback", "TruncateTable",
              "Analyze", "Grant", "Cache", "Uncache", "Refresh", "Kill")


def read_only_problem(sql: str, dialect: str) -> str | None:
    """Why ``sql`` may not run as a check, or None when it is one plain read.

    Only a single ``SELECT`` (or ``WITH ... SELECT``, set operations of
    selects) passes.  A second statement, any write or DDL anywhere in the
    tree (``WITH d AS (DELETE ... RETURNING *)``), ``SELECT ... INTO``,
    ``PRAGMA``, ``ATTACH`` and anything unparseable are refused before the
    database sees them; the read-only connection is the second guard.  The
    SQL is split and parsed by `gatecheck.sqlfacts` (sqlglot), exactly as
    SQL in the sources is.
    """
    from sqlglot import exp

    from gatecheck.extract import Fragment
    from gatecheck.sqlfacts import analyse, statement_kind

    facts = analyse(Fragment("<rule sql>", sql), dialect)
    statements = facts.statements
    if len(statements) > 1:
        kinds = ", ".join(s.kind for s in statements)
        return f"it holds {len(statements)} statements ({kinds}); exactly one SELECT may run"
    # What the statement is comes first: a write that the engine would also
    # reject as syntax (SQLite has no DELETE inside WITH) is named as a write.
    if statements:
        tree = statements[0].tree
        if not isinstance(tree, exp.Query):
            return (f"it is {_a(statements[0].kind)} statement; only SELECT (or WITH ... "
                    "SELECT) may run")
        writes = tuple(getattr(exp, name) for name in _NOT_READS if hasattr(exp, name))
        for node in tree.walk():
            if isinstance(node, writes):
                return f"it contains {_a(statement_kind(node))} statement; only reads may run"
            if isinstance(node, exp.Select) and node.args.get("into") is not None:
                return "SELECT ... INTO creates a table; only reads may run"
    if facts.errors:
        return f"it does not parse as {dialect} SQL ({facts.errors[0].message})"
    if not statements:
        return "it holds no statement"
    return None


# ---------------------------------------------------------------- values


def json_value(value: Any) -> Any:
    """A database value as JSON can hold it.

    BLOBs become ``X'…'`` text; PostgreSQL's richer types become what SQLite
    would have stored: a whole ``numeric`` an int, others a float, dates and
    times ISO text, UUIDs and anything else their text.
    """
    if value is None or isinstance(value, (str, bool, int, float, list, dict)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "X'" + bytes(value).hex() + "'"
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    return str(value)


def sql_literal(value: Any, width: int = 60) -> str:
    """A value written the way SQL would, shortened for a message."""
    if value is None:
        return "NULL"
    if isinstance(value, (bytes, bytearray, memoryview)):
        text = "X'" + bytes(value).hex() + "'"
    elif isinstance(value, list):
        return "(" + ", ".join(sql_literal(v, width) for v in value) + ")"
    elif not isinstance(value, (bool, int, float, decimal.Decimal)):
        text = "'" + str(json_value(value)).replace("'", "''") + "'"
    else:
        text = str(value)
    return text if len(text) <= width else text[:width - 1] + "…"


def sample_text(sample: list[Any]) -> str:
    """The first keys of a sample for a message, ``'a', 'b', …`` (JSON has the full sample)."""
    shown = ", ".join(sql_literal(v) for v in sample[:MESSAGE_SAMPLE])
    if len(sample) > MESSAGE_SAMPLE:
        shown += ", …"
    return shown


#: What a finding says in place of values it hides, inside its closing parenthesis.
HIDDEN_NOTE = "values hidden; pass --show-data to show them"

# A quoted run or a number in a database's error message: where a value read
# from a row shows up (``JSON path error near 'x'``, ``invalid input syntax
# for type integer: "x"``, ``date field value out of range: 2024-13-01``).
# Databases do not escape quotes inside the quoted value, so a run goes to
# the last quote of its kind (or to the end): a quote inside the value
# cannot end the run early and leave the rest of the value in the open.
_QUOTED_OR_NUMBER = re.compile(r"'.*'|\".*\"|'.*$|\".*$|\b\d+(?:\.\d+)?\b")

# gatecheck's own messages about a query, which hold no value read from a row.
_OWN_MESSAGE = re.compile(r"query exceeded its time limit of [\d.]+ s|the server did not "
                          r"answer within [\d.]+ s \(nor a cancel request\); gave up on the "
                          r"connection")


@dataclass(frozen=True)
class Values:
    """How database values appear in findings: themselves, or `HIDDEN`.

    gatecheck's output is public (CI logs, annotations, SARIF) and a pull
    request can write a rule that reads any column, so values read from rows
    are shown only when the command line says ``--show-data``.  Counts,
    table and column names (the schema) and the rule's own literals are not
    data and stay.  Every data kind formats values through one of these,
    built by `values`, so the choice is made in one place.
    """

    show: bool

    def literal(self, value: Any) -> str:
        """`sql_literal` of the value, or `HIDDEN`."""
        return sql_literal(value) if self.show else HIDDEN

    def text(self, value: Any) -> str:
        """The value as plain text (``0.34.0``, ``2025-06-02``), or `HIDDEN`."""
        return str(value) if self.show else HIDDEN

    def json(self, value: Any) -> Any:
        """A JSON field holding one value, a row or a sample: as JSON holds it, or `HIDDEN`."""
        return value if self.show else HIDDEN

    def sample(self, sample: list[Any]) -> str:
        """`sample_text` of the keys, or `HIDDEN` followed by how to see them."""
        return sample_text(sample) if self.show else f"{HIDDEN}, {HIDDEN_NOTE}"

    @property
    def note(self) -> str:
        """Appended to a message that hid values: `` (values hidden; ...)``, else nothing."""
        return "" if self.show else f" ({HIDDEN_NOTE})"

    @property
    def aside(self) -> str:
        """The same, for a message's existing closing parenthesis: ``; values hidden, ...``."""
        return "" if self.show else f"; {HIDDEN_NOTE.replace(';', ',')}"

    def problem(self, exc: DatabaseError, sql: str, option: str = "timeout_s") -> str:
        """`database_problem`, with what the database quoted from rows hidden.

        A failing query can make the database quote a value in its message
        (``json_extract('{}', secret)``, ``secret::int``); quoted runs and
        numbers that do not occur in ``sql`` itself (names and literals the
        rule wrote stay, so ``no such table: x`` still helps) become `HIDDEN`.
        """
        if self.show or _OWN_MESSAGE.fullmatch(exc.message):
            return database_problem(exc, option)
        folded = sql.casefold()

        def hide(match: re.Match[str]) -> str:
            token = match.group(0)
            inner = token[1:-1] if token[0] in "'\"" else token
            return token if inner.casefold() in folded else HIDDEN

        hidden = _QUOTED_OR_NUMBER.sub(hide, exc.message)
        return hidden if hidden == exc.message else f"{hidden} ({HIDDEN_NOTE})"


def values(ctx: "Context") -> Values:
    """How the kind running in ``ctx`` may show database values (``--show-data``)."""
    return Values(ctx.policy.show_data)


def columns_text(names: tuple[str, ...]) -> str:
    """``session_id`` or ``(a, b)`` for a message."""
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def key_text(source_columns: tuple[str, ...], target_columns: tuple[str, ...]) -> str:
    """``session_id``, ``task_id -> id`` or ``(a, b) -> (x, y)`` for a message."""
    if [c.casefold() for c in source_columns] == [c.casefold() for c in target_columns]:
        return columns_text(source_columns)
    return f"{columns_text(source_columns)} -> {columns_text(target_columns)}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _a(word: str) -> str:
    """``word`` with its indefinite article: "an insert", "a delete"."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
