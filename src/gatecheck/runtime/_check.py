"""What the runtime guard decides about one executed statement, whatever the driver.

A `Checker` holds the rules of a rules file that apply to SQL text
(``forbid-table-references``, ``references-exist``, ``forbid-statements``)
and answers, from caches, the questions the drivers' hooks ask: is this
table forbidden, is this statement kind forbidden, which rule does a name
the engine called missing break.  Those answers are `Candidate`s: a rule and
a message, not yet a place.  A `Watcher` places them at the innermost frame
of the project that ran the statement, applies the rule's ``paths`` /
``exclude``, the rules file's ``sources``, ``allow`` and the inline
suppressions at that line, and hands the resulting `Violation`s on: it
raises, logs, calls back or records them.

Statement texts reach a violation only through `statement_text`, which
replaces every literal value (strings, numbers, blobs, dollar-quoted
bodies) by ``?`` and drops comments: the values an application binds or
inlines never leave the process through gatecheck.
"""

from __future__ import annotations

import logging
import re
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NamedTuple

from gatecheck.findings import Finding, Severity

if TYPE_CHECKING:
    from gatecheck.config import GateConfig, RuleSpec
    from gatecheck.paths import PathMatcher
    from gatecheck.suppress import Suppression

#: The rule kinds that apply to executed SQL: those that read SQL text.
KINDS = ("forbid-table-references", "references-exist", "forbid-statements")
#: The logger of ``on_violation="log"``.
LOGGER = logging.getLogger("gatecheck.runtime")
#: A cache keyed by statement text is emptied past this many entries: an
#: application that inlines values makes a new text per call.
MAX_CACHED = 20_000
#: Characters of a statement a violation keeps.
MAX_STATEMENT = 2_000

_LOCAL = threading.local()
_PACKAGE = str(Path(__file__).resolve().parents[1])


@contextmanager
def internal() -> Iterator[None]:
    """gatecheck's own work (its SQLite scratch connections, its parser): never guarded."""
    _LOCAL.depth = getattr(_LOCAL, "depth", 0) + 1
    try:
        yield
    finally:
        _LOCAL.depth -= 1


def is_internal() -> bool:
    return getattr(_LOCAL, "depth", 0) > 0


# ---------------------------------------------------------------- statements


_TOKENS = re.compile(r"""
    (?P<comment> --[^\n]* | /\*.*?(?:\*/|\Z) )
  | (?P<estring> [Ee]'(?:''|\\.|[^'\\])*(?:'|\Z) )
  | (?P<string> [XxBbNnUu]?'(?:''|[^'])*(?:'|\Z) )
  | (?P<dollar> \$(?P<tag>[A-Za-z_][A-Za-z_0-9]*)?\$.*?(?:\$(?P=tag)\$|\Z) )
  | (?P<ident> "(?:""|[^"])*"? | `(?:``|[^`])*`? )
  | (?P<param> \$\d+ | \?\d* | [:@][A-Za-z_][A-Za-z_0-9]* | %\([A-Za-z_][A-Za-z_0-9]*\)s | %s )
  | (?P<word> [A-Za-z_\u0080-\uffff][A-Za-z_0-9$\u0080-\uffff]* )
  | (?P<number> 0[xX][0-9A-Fa-f]+ | (?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)? )
""", re.DOTALL | re.VERBOSE)
_BRACKET = re.compile(r"\[[^\]]*\]")
_SPACE = re.compile(r"\s+")


def statement_text(sql: str, dialect: str = "sqlite") -> str:
    """``sql`` as a violation shows it: literal values as ``?``, no comments, one line.

    Names (quoted or not) and parameters (``?``, ``$1``, ``:name``, ``%s``)
    are kept; everything that is a value is not.
    """
    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "tag":  # only inside "dollar"
            kind = "dollar"
        if kind in ("estring", "string", "dollar", "number"):
            return "?"
        if kind == "comment":
            return " "
        return match.group(0)

    if dialect == "sqlite":
        # [name] quotes a name in SQLite; elsewhere it is an array subscript,
        # whose contents are redacted like any other text.
        out, last = [], 0
        for bracket in _BRACKET.finditer(sql):
            out.append(_TOKENS.sub(replace, sql[last:bracket.start()]))
            out.append(bracket.group(0))
            last = bracket.end()
        out.append(_TOKENS.sub(replace, sql[last:]))
        text = "".join(out)
    else:
        text = _TOKENS.sub(replace, sql)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_STATEMENT else text[:MAX_STATEMENT - 1] + "…"


_SUPPRESSION = re.compile(r"--\s*gatecheck:\s*ignore(?![\w-])(?:\[([^\]]*)\])?", re.IGNORECASE)


def _suppressed_in_text(sql: str, rule: str) -> bool:
    """A ``-- gatecheck: ignore[rule]`` comment inside the statement itself."""
    if "gatecheck" not in sql:
        return False
    for match in _SUPPRESSION.finditer(sql):
        ids = match.group(1)
        if ids is None or rule in {i.strip() for i in ids.split(",")}:
            return True
    return False


# ---------------------------------------------------------------- violations


class Candidate(NamedTuple):
    """A rule a statement breaks, before the place that ran it is known."""

    rule: "RuleSpec"
    message: str
    obj: str | None


class Place(NamedTuple):
    """Where the project ran a statement: relative to the rules file's directory."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


class Violation(Exception):
    """A rule broken by a statement the application executed.

    Raised by ``on_violation="raise"`` before the statement runs; passed to an
    ``on_violation`` callable; logged by ``"log"``.  ``statement`` is the text
    with its literal values replaced by ``?``; ``path``/``line``/``column``
    name the innermost frame of the project that executed it (relative to
    the rules file's directory; None when no frame of the project did).
    """

    def __init__(self, rule: str, kind: str, severity: Severity, message: str,
                 statement: str | None, place: Place | None, obj: str | None = None,
                 test: str | None = None) -> None:
        self.rule = rule
        self.kind = kind
        self.severity = severity
        self.message = message
        self.statement = statement
        self.place = place
        self.object = obj
        #: The test that ran it (the pytest plugin), else None.
        self.test = test
        super().__init__(str(self))

    @property
    def path(self) -> str | None:
        return self.place.path if self.place is not None else None

    @property
    def line(self) -> int | None:
        return self.place.line if self.place is not None else None

    @property
    def column(self) -> int | None:
        return self.place.column if self.place is not None else None

    def __str__(self) -> str:
        where = f"{self.place.path}:{self.place.line}:{self.place.column}: " \
            if self.place is not None else ""
        text = f"; statement: {self.statement}" if self.statement else ""
        return f"{where}{self.rule} {self.message}{text}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Violation, (self.rule, self.kind, self.severity, self.message, self.statement,
                            self.place, self.object, self.test))

    def finding(self) -> Finding:
        """The violation as a finding of ``gatecheck run``'s JSON contract."""
        extra: list[tuple[str, Any]] = [("statement", self.statement)]
        if self.test is not None:
            extra.append(("test", self.test))
        where: dict[str, Any] = {}
        if self.place is not None:
            where = {"path": self.place.path, "line": self.place.line,
                     "column": self.place.column, "end_line": self.place.end_line,
                     "end_column": self.place.end_column}
        return Finding(rule=self.rule, kind=self.kind, severity=self.severity,
                       message=self.message, object=self.object, extra=tuple(extra), **where)


# ---------------------------------------------------------------- the rules


@dataclass
class _Rule:
    spec: "RuleSpec"
    paths: "PathMatcher"
    exclude: "PathMatcher"
    allow: "PathMatcher | None" = None


class Checker:
    """The rules of one rules file that apply to executed SQL, with cached answers."""

    def __init__(self, config: "GateConfig") -> None:
        from gatecheck.paths import PathMatcher

        self.config = config
        self.root = config.path.parent.resolve()
        self.include = PathMatcher(config.include)
        self.exclude = PathMatcher(config.exclude)
        self.rules: list[_Rule] = []
        for spec in config.rules:
            if spec.kind not in KINDS:
                continue
            allow = PathMatcher(spec.options.allow) if spec.kind == "forbid-statements" else None
            self.rules.append(_Rule(spec, PathMatcher(spec.paths), PathMatcher(spec.exclude),
                                    allow))
        self.specs = tuple(r.spec for r in self.rules)
        self._by_id = {r.spec.id: r for r in self.rules}
        self._tables = [r for r in self.rules if r.spec.kind == "forbid-table-references"]
        self._statements = [r for r in self.rules if r.spec.kind == "forbid-statements"]
        self._exist = [r for r in self.rules if r.spec.kind == "references-exist"]
        self._table_answers: dict[tuple[str, str | None, bool, str], tuple[Candidate, ...]] = {}
        self._kind_answers: dict[tuple[str, str], tuple[Candidate, ...]] = {}
        self._files: dict[str, str | None] = {}
        self._marks: dict[str, list["Suppression"]] = {}
        self._outside = _library_directories()
        #: What ``on_violation="log"`` logged already, over every watched connection.
        self.logged: set[tuple[str, str]] = set()
        self.lock = threading.Lock()

    @property
    def checks_statements(self) -> bool:
        return bool(self._statements)

    # -- names and kinds

    def table(self, name: str, schema: str | None, quoted: bool,
              dialect: str) -> tuple[Candidate, ...]:
        """The ``forbid-table-references`` rules a use of ``schema.name`` breaks."""
        key = (name, schema, quoted, dialect)
        found = self._table_answers.get(key)
        if found is None:
            from gatecheck.kinds.forbid_table_references import forbidden

            found = tuple(
                Candidate(r.spec, f"references forbidden table {name}", name)
                for r in self._tables
                if forbidden(r.spec.options, name, schema, quoted, dialect) is not None)
            if len(self._table_answers) > MAX_CACHED:
                self._table_answers.clear()
            self._table_answers[key] = found
        return found

    def statement_kind(self, kind: str, dialect: str) -> tuple[Candidate, ...]:
        """The ``forbid-statements`` rules a statement of ``kind`` breaks (before ``allow``)."""
        key = (kind, dialect)
        found = self._kind_answers.get(key)
        if found is None:
            from gatecheck.kinds import glob_match

            found = tuple(
                Candidate(r.spec, f"{kind.replace('-', ' ').upper()} statement outside the "
                                  "allowed paths", kind)
                for r in self._statements if glob_match(kind, r.spec.options.statements))
            self._kind_answers[key] = found
        return found

    def statement_kinds(self, sql: str, dialect: str) -> tuple[str, ...]:
        """The kinds of the statements of ``sql``, as ``forbid-statements`` reads them
        in sources (the same parse: `gatecheck.sqlfacts`)."""
        from gatecheck.extract import Fragment
        from gatecheck.sqlfacts import analyse

        with internal():
            facts = analyse(Fragment("<executed>", sql, sink=True), dialect, keep_trees=False)
        return tuple(s.kind for s in facts.statements)

    def missing(self, what: str, name: str, table: str | None) -> tuple[Candidate, ...]:
        """The ``references-exist`` rules a name the engine called missing breaks."""
        out = []
        for rule in self._exist:
            if what == "column" and not rule.spec.options.columns:
                continue
            if what == "table":
                message = f"table {name} does not exist in the database"
            elif table:
                message = f"column {name} does not exist in table {table}"
            else:
                message = f"column {name} does not exist"
            out.append(Candidate(rule.spec, message,
                                 f"{table}.{name}" if what == "column" and table else name))
        return tuple(out)

    # -- places

    def place(self, frame: FrameType | None) -> Place | None:
        """The innermost frame, from ``frame`` outwards, in a file of the project:
        under the rules file's directory, and not gatecheck's, a library's or
        the interpreter's."""
        while frame is not None:
            code = frame.f_code
            path = self._files.get(code.co_filename, "")
            if path == "":
                path = self._files[code.co_filename] = self._project_path(code.co_filename)
            if path is not None:
                return _position(frame, path)
            frame = frame.f_back
        return None

    def _project_path(self, filename: str) -> str | None:
        if filename.startswith("<"):
            return None
        try:
            resolved = Path(filename).resolve()
        except (OSError, RuntimeError):
            return None
        text = str(resolved)
        if text.startswith(_PACKAGE) or any(text.startswith(d) for d in self._outside):
            return None
        try:
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def applies(self, candidate: Candidate, place: Place | None, sql: str | None) -> bool:
        """Whether the rule of ``candidate`` checks SQL run from ``place``: the rules
        file's ``sources``, the rule's ``paths``/``exclude`` (``allow`` of
        ``forbid-statements``), and suppressions at that line or in the statement."""
        rule = self._by_id[candidate.rule.id]
        if sql is not None and _suppressed_in_text(sql, rule.spec.id):
            return False
        if place is None:
            return not rule.paths  # run by no file of the project: only a rule for every file
        path = place.path
        if (self.include and not self.include.matches(path)) or self.exclude.matches(path):
            return False
        if (rule.paths and not rule.paths.matches(path)) or rule.exclude.matches(path):
            return False
        if rule.allow is not None and rule.allow.matches(path):
            return False
        for mark in self._suppressions(path):
            if (mark.whole_file or mark.line == place.line) and \
                    (not mark.rules or rule.spec.id in mark.rules):
                return False
        return True

    def _suppressions(self, path: str) -> list["Suppression"]:
        marks = self._marks.get(path)
        if marks is None:
            from gatecheck import sources, suppress
            from gatecheck.errors import SourceError

            try:
                text = sources.decode(path, (self.root / path).read_bytes())
            except (OSError, SourceError):
                text = ""
            marks = self._marks[path] = suppress.suppressions(path, text)
        return marks


def _position(frame: FrameType, path: str) -> Place:
    """The place of the call a frame is executing: the whole call expression
    (Python 3.11's positions), else the line."""
    line = frame.f_lineno
    code = frame.f_code
    try:
        positions = list(code.co_positions())[frame.f_lasti // 2]
    except (IndexError, ValueError):
        positions = (None, None, None, None)
    start_line, end_line, start_col, end_col = positions
    if start_line is None or start_col is None:
        return Place(path, line or 1, 1, line or 1, 1)
    return Place(path, start_line, start_col + 1, end_line or start_line,
                 end_col if end_col is not None else start_col + 1)


def _library_directories() -> tuple[str, ...]:
    """Where the interpreter and installed packages live (a virtualenv may sit
    inside the project: its files are still not the project's)."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        try:
            dirs.add(sysconfig.get_paths()[key])
        except KeyError:
            pass
    out = set()
    for d in dirs:
        try:
            out.add(str(Path(d).resolve()) + "/")
        except (OSError, RuntimeError):
            continue
    return tuple(sorted(out))


# ---------------------------------------------------------------- delivery

#: What ``on_violation`` may be.
OnViolation = str | Callable[[Violation], object]


@dataclass
class Watcher:
    """One set of rules and what to do with their violations.

    ``mode`` is ``"raise"``, ``"log"`` or ``"call"`` (then ``callback`` is
    called).  ``record`` (the pytest plugin) keeps every violation too.
    """

    checker: Checker
    mode: str = "log"
    callback: Callable[[Violation], object] | None = None
    record: Callable[[Violation], None] | None = None
    #: Statement text -> candidates from its text alone (statement kinds; on
    #: PostgreSQL also its relations), shared by every connection.
    plans: dict[str, tuple[Candidate, ...]] = field(default_factory=dict)
    #: SQLite authorizer events -> candidates (`gatecheck.runtime._sqlite`).
    events: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    #: The test running now (the pytest plugin sets it).
    test: str | None = None

    @property
    def raising(self) -> bool:
        return self.mode == "raise"

    def violations(self, candidates: tuple[Candidate, ...], sql: str | None, dialect: str,
                   frame: FrameType | None) -> list[Violation]:
        """The candidates that apply where ``frame`` (and the frames around it) ran ``sql``."""
        if not candidates:
            return []
        checker = self.checker
        place = checker.place(frame)
        shown = statement_text(sql, dialect) if sql is not None else None
        out = []
        for c in candidates:
            if checker.applies(c, place, sql):
                out.append(Violation(c.rule.id, c.rule.kind, c.rule.severity,
                                     c.rule.message or c.message, shown, place, c.obj,
                                     self.test))
        return out

    def deliver(self, violations: list[Violation]) -> None:
        """Record, log or call back (never raise: the caller raises in ``raise`` mode)."""
        for v in violations:
            if self.record is not None:
                self.record(v)
            if self.mode == "call" and self.callback is not None:
                self.callback(v)
            elif self.mode in ("log", "raise"):
                self.log(v)

    def log(self, v: Violation) -> None:
        """Once per distinct statement and rule (for every connection of one rules
        file); a statement whose text is unknown, once per place and rule."""
        key = (v.statement or str(v.place), v.rule)
        logged = self.checker.logged
        with self.checker.lock:
            if key in logged:
                return
            if len(logged) > MAX_CACHED:
                logged.clear()
            logged.add(key)
        level = logging.ERROR if v.severity == Severity.ERROR else \
            logging.WARNING if v.severity == Severity.WARNING else logging.INFO
        LOGGER.log(level, "%s", v)

    def plan(self, sql: str, dialect: str,
             names: Callable[[str], tuple[Candidate, ...]] | None = None
             ) -> tuple[Candidate, ...]:
        """What the text of ``sql`` alone breaks (cached per text): forbidden
        statement kinds, and what ``names`` finds (PostgreSQL's relations)."""
        found: tuple[Candidate, ...] = ()
        checker = self.checker
        if checker.checks_statements:
            try:
                kinds = checker.statement_kinds(sql, dialect)
            except Exception:  # an odd text never breaks the application
                kinds = ()
            found = tuple(c for kind in dict.fromkeys(kinds)
                          for c in checker.statement_kind(kind, dialect))
        if names is not None:
            found += names(sql)
        if len(self.plans) > MAX_CACHED:
            self.plans.clear()
        self.plans[sql] = found
        return found
