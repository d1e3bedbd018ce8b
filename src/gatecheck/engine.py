"""Run the configured rules and turn what they emit into sorted `Finding`s.

The engine prepares only what the active rules need: source fragments when
a source rule runs (files discovered, decoded, extracted, each fragment
parsed once), the schema when a schema rule runs (introspected once).  A
rule's ``emit`` gets spans in fragment coordinates; the engine maps them to
file line/column, fills in rule, kind and severity, drops ignored objects and
sorts the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gatecheck.config import DatabaseSpec, GateConfig, RuleSpec
from gatecheck.errors import DatabaseError, GatecheckError, SourceError
from gatecheck.findings import Finding, Severity
from gatecheck.kinds import SCHEMA, SOURCES, glob_match
from gatecheck.kinds.registry import KINDS
from gatecheck.model import Schema
from gatecheck.paths import PathMatcher, discover
from gatecheck.positions import LineIndex, Span

if False:  # pragma: no cover - typing only, keeps sqlglot out of start-up
    from gatecheck.introspect import Database
    from gatecheck.sqlfacts import FragmentFacts


#: Rule id and kind of the finding a failed migration replay produces.
REPLAY_RULE = "migrations-replay"


@dataclass
class RunResult:
    findings: list[Finding]
    #: Problems that stop part of the check (exit 2): unreadable files,
    #: syntax errors, an unreachable database.
    errors: list[GatecheckError]
    files: int = 0
    fragments: int = 0
    rules: int = 0

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "fragments": self.fragments, "rules": self.rules,
                "errors": self.count(Severity.ERROR), "warnings": self.count(Severity.WARNING),
                "infos": self.count(Severity.INFO)}


@dataclass
class _RuleContext:
    """The `gatecheck.kinds.Context` one rule sees."""

    dialect: str
    _database: Any
    _sources: list["FragmentFacts"]

    @property
    def schema(self) -> Schema:
        return self._database().schema()  # type: ignore[no-any-return]

    @property
    def data(self) -> "Database":
        return self._database()  # type: ignore[no-any-return]

    @property
    def sources(self) -> list["FragmentFacts"]:
        return self._sources


@dataclass
class Engine:
    config: GateConfig
    root: Path
    #: Explicit files to check (pre-commit passes them); None: discover.
    only: list[str] | None = None
    database: DatabaseSpec | None = None
    errors: list[GatecheckError] = field(default_factory=list)
    _database: "Database | None" = None
    _database_error: DatabaseError | None = None
    _texts: dict[str, str] = field(default_factory=dict)
    _lines: dict[str, LineIndex] = field(default_factory=dict)

    def run(self) -> RunResult:
        rules = self.config.rules
        needs = set().union(*(KINDS[r.kind].NEEDS for r in rules)) if rules else set()
        facts: list[FragmentFacts] = []
        files = 0
        if SOURCES in needs:
            paths = self.source_paths()
            files = len(paths)
            facts = self.analyse(paths)
        findings: list[Finding] = []
        try:
            for rule in rules:
                findings.extend(self.run_rule(rule, facts))
            findings.extend(self.replay_findings())
        finally:
            if self._database is not None:
                self._database.close()
        if self._database_error is not None:
            self.errors.append(self._database_error)
        findings.sort(key=Finding.sort_key)
        self.errors.sort(key=lambda e: (e.path or "", e.line or 0, str(e)))
        return RunResult(findings=findings, errors=self.errors, files=files,
                         fragments=sum(1 for f in facts if f.is_sql), rules=len(rules))

    # -- sources

    def source_paths(self) -> list[str]:
        include = PathMatcher(self.config.include)
        exclude = PathMatcher(self.config.exclude)
        if self.only is None:
            return discover(self.root, include, exclude)
        return sorted({p for p in self.only if include.matches(p) and not exclude.matches(p)})

    def analyse(self, paths: list[str]) -> list["FragmentFacts"]:
        from gatecheck import sources

        out: list[FragmentFacts] = []
        analyse = None
        for rel in paths:
            try:
                source = sources.load(self.root, rel)
            except SourceError as exc:
                self.errors.append(exc)
                continue
            if not source.fragments:
                continue
            if analyse is None:
                from gatecheck.sqlfacts import analyse
            self._texts[rel] = source.text
            out.extend(analyse(fragment, self.config.dialect) for fragment in source.fragments)
        return out

    def position(self, path: str, span: Span) -> tuple[int, int, int, int]:
        index = self._lines.get(path)
        if index is None:
            index = self._lines[path] = LineIndex(self._texts[path])
        pos = index.position(span)
        return pos.line, pos.column, pos.end_line, pos.end_column

    # -- database

    def open_database(self) -> "Database":
        """The database, opened on first use; unavailable -> reported once."""
        if self._database is not None:
            return self._database
        if self._database_error is None:
            spec = self.database or self.config.database
            if spec is None:
                self._database_error = DatabaseError(
                    "a schema or data rule is configured but no database is: set "
                    "'database:' in the rules file or pass --db URL")
            else:
                from gatecheck.introspect import open_database

                try:
                    self._database = open_database(spec)
                    return self._database
                except DatabaseError as exc:
                    self._database_error = exc
        raise _SchemaUnavailable()

    def replay_findings(self) -> list[Finding]:
        """Migrations that failed to replay are findings at the failing statement."""
        if self._database is None:
            return []
        out = []
        for problem in self._database.problems:
            try:
                path = problem.path.resolve().relative_to(self.root).as_posix()
            except ValueError:
                path = str(problem.path)
            out.append(Finding(
                rule=REPLAY_RULE, kind=REPLAY_RULE, severity=Severity.ERROR,
                message=f"{problem.message}; the replay stopped here and the other rules "
                        "checked the schema built so far",
                path=path, line=problem.line, column=1, end_line=problem.line, end_column=1))
        return out

    # -- rules

    def run_rule(self, rule: RuleSpec, facts: list["FragmentFacts"]) -> list[Finding]:
        module = KINDS[rule.kind]
        paths = PathMatcher(rule.paths)
        exclude = PathMatcher(rule.exclude)
        visible = [f for f in facts
                   if (not paths or paths.matches(f.fragment.path))
                   and not exclude.matches(f.fragment.path)]
        out: list[Finding] = []

        def emit(message: str, *, obj: str | None = None, facts: "FragmentFacts | None" = None,
                 span: Span | None = None, extra: dict[str, Any] | None = None) -> None:
            if facts is None and obj is not None and glob_match(obj, rule.ignore):
                return
            where: dict[str, Any] = {}
            if facts is not None:
                file_span = facts.fragment.file_span(span or Span(0, len(facts.fragment.sql)))
                line, column, end_line, end_column = self.position(facts.fragment.path, file_span)
                where = {"path": facts.fragment.path, "line": line, "column": column,
                         "end_line": end_line, "end_column": end_column}
            out.append(Finding(rule=rule.id, kind=rule.kind, severity=rule.severity,
                               message=rule.message or message, object=obj,
                               extra=tuple((extra or {}).items()), **where))

        ctx = _RuleContext(self.config.dialect, self.open_database, visible)
        try:
            module.check(ctx, rule.options, emit)
        except _SchemaUnavailable:
            pass  # reported once, as a run error
        except GatecheckError as exc:
            self.errors.append(exc)
        return out


class _SchemaUnavailable(Exception):
    """The schema could not be loaded; the error is reported once by the engine."""


def needs_schema(config: GateConfig) -> bool:
    return any(SCHEMA in KINDS[r.kind].NEEDS for r in config.rules)
