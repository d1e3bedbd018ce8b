"""Run the configured rules and turn what they emit into sorted `Finding`s.

The engine prepares only what the active rules need: source fragments when
a source rule runs (files discovered, decoded, extracted, each fragment
parsed once), the schema when a schema rule runs (introspected once).  A
rule's ``emit`` gets spans in fragment coordinates; the engine maps them to
file line/column, fills in rule, kind and severity, drops ignored objects and
sorts the result.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gatecheck.config import DatabaseSpec, GateConfig, RuleSpec
from gatecheck.errors import DatabaseError, GatecheckError, SourceError
from gatecheck.extract import NEUTRAL
from gatecheck.findings import Finding, Severity
from gatecheck.kinds import CALLS, DATA, SOURCES, TREES, glob_match
from gatecheck.kinds.registry import KINDS
from gatecheck.model import Schema
from gatecheck.paths import PathMatcher, discover
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy
from gatecheck.positions import LineIndex, Span

if TYPE_CHECKING:  # keeps sqlglot and the workers' modules out of start-up
    from gatecheck.extract.python_calls import CallSite
    from gatecheck.facts import FragmentFacts
    from gatecheck.introspect import Database
    from gatecheck.pipeline import Settings
    from gatecheck.suppress import Suppression


#: Rule id and kind of the finding a failed migration replay produces.
REPLAY_RULE = "migrations-replay"
#: Rule id and kind of an unused suppression comment (--warn-unused-ignores).
UNUSED_IGNORE_RULE = "unused-ignore"


@dataclass
class RunResult:
    findings: list[Finding]
    #: Problems that stop part of the check (exit 2): unreadable files,
    #: syntax errors, an unreachable database.
    errors: list[GatecheckError]
    files: int = 0
    fragments: int = 0
    rules: int = 0
    #: The rules that ran, for reporters that describe them (SARIF, JUnit).
    specs: tuple[RuleSpec, ...] = ()
    #: Tallies rules keep besides findings (``unresolved columns``...), for --verbose.
    stats: dict[str, int] = field(default_factory=dict)
    #: Findings dropped because the baseline lists them, and baseline entries
    #: that no longer occur (fixed since the baseline was written).
    baselined: int = 0
    fixed: int = 0
    #: Rules that could not run (the database could not be opened or failed
    #: under them): the summary never says PASS while this is not empty.
    not_run: tuple[str, ...] = ()
    #: Non-fatal notes for stderr (an unreadable cache...).
    warnings: list[str] = field(default_factory=list)
    #: References a rule could not decide, each with where and why (--verbose, JSON).
    unchecked: tuple["Unchecked", ...] = ()

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    def summary(self) -> dict[str, int]:
        return {"files": self.files, "fragments": self.fragments, "rules": self.rules,
                "errors": self.count(Severity.ERROR), "warnings": self.count(Severity.WARNING),
                "infos": self.count(Severity.INFO), "rules_not_run": len(self.not_run),
                "not_checked": len(self.unchecked)}


class Unchecked(NamedTuple):
    """One reference a rule could not decide: never a finding, never silently dropped."""

    rule: str
    path: str
    line: int
    column: int
    #: The name as written (may be empty: a whole statement).
    name: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return self._asdict()


@dataclass
class _RuleContext:
    """The `gatecheck.kinds.Context` one rule sees."""

    dialect: str
    policy: Policy
    _database: Any
    _sources: list["FragmentFacts"]
    _calls: list[tuple[str, "CallSite"]]
    _stats: Counter[str]
    _rule: str = ""
    _unchecked: list[tuple[str, str, Span, str, str]] = field(default_factory=list)

    @property
    def calls(self) -> list[tuple[str, "CallSite"]]:
        return self._calls

    def count(self, what: str, n: int = 1) -> None:
        self._stats[what] += n

    def not_checked(self, path: str, span: Span, name: str, why: str) -> None:
        self._unchecked.append((self._rule, path, span, name, why))

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
    #: Report suppression comments that suppress nothing.
    warn_unused_ignores: bool = False
    #: Fingerprints (with multiplicity) of accepted findings; None: no baseline.
    baseline: Counter[str] | None = None
    #: Worker processes for source files (None: one per CPU, when it pays).
    jobs: int | None = None
    use_cache: bool = True
    #: What the command line allows this run (see `gatecheck.policy`).
    policy: Policy = DEFAULT_POLICY
    errors: list[GatecheckError] = field(default_factory=list)
    #: Non-fatal notes for stderr (an unreadable cache...).
    warnings: list[str] = field(default_factory=list)
    _database: "Database | None" = None
    _database_error: DatabaseError | None = None
    _texts: dict[str, str] = field(default_factory=dict)
    _marks: list["Suppression"] = field(default_factory=list)
    _stats: Counter[str] = field(default_factory=Counter)
    _lines: dict[str, LineIndex] = field(default_factory=dict)
    _not_run: list[str] = field(default_factory=list)
    _unchecked: list[tuple[str, str, Span, str, str]] = field(default_factory=list)

    def run(self) -> RunResult:
        rules = self.config.rules
        if not self.policy.data_rules:
            refused = [r.id for r in rules if DATA in rule_needs(r)]
            if refused:
                rules = tuple(r for r in rules if DATA not in rule_needs(r))
                self.warnings.append(
                    f"{len(refused)} data rule{'s' if len(refused) != 1 else ''} not run "
                    f"(--no-data-rules): {', '.join(refused)}")
        needs: set[str] = set().union(*(rule_needs(r) for r in rules))
        facts: list[FragmentFacts] = []
        calls: list[tuple[str, CallSite]] = []
        files = 0
        if needs & {SOURCES, CALLS}:
            paths = self.source_paths()
            files = len(paths)
            call_names = frozenset(name.rsplit(".", 1)[-1].strip("*") or "("
                                   for r in rules if CALLS in rule_needs(r)
                                   for name in r.options.calls)
            from gatecheck.pipeline import Settings

            settings = Settings(self.config.dialect, sql=SOURCES in needs,
                                call_names=call_names, keep_trees=TREES in needs)
            facts, calls = self.analyse(paths, settings)
        findings: list[Finding] = []
        try:
            for rule in rules:
                findings.extend(self.run_rule(rule, facts, calls))
            findings.extend(self.replay_findings())
        finally:
            if self._database is not None:
                self._database.close()
        if self._database_error is not None:
            self.errors.append(self._database_error)
        findings, baselined, fixed = self.accept(findings)
        self.errors.sort(key=lambda e: (e.path or "", e.line or 0, str(e)))
        return RunResult(findings=findings, errors=self.errors, files=files,
                         fragments=sum(1 for f in facts if f.is_sql), rules=len(rules),
                         specs=tuple(rules), stats=dict(sorted(self._stats.items())),
                         baselined=baselined, fixed=fixed, not_run=tuple(self._not_run),
                         warnings=self.warnings, unchecked=self.unchecked())

    def unchecked(self) -> tuple[Unchecked, ...]:
        """The not-checked references, located and sorted (once per name and place)."""
        out = set()
        for rule, path, span, name, why in self._unchecked:
            line, column, _, _ = self.position(path, span)
            # A hole is shown as one, not as the name it was given for parsing.
            name = NEUTRAL.sub("{…}", name) if name else \
                self._text(path)[span.start:span.end].split("\n", 1)[0][:80]
            out.add(Unchecked(rule, path, line, column, name, NEUTRAL.sub("{…}", why)))
        return tuple(sorted(out, key=lambda u: (u.path, u.line, u.column, u.rule, u.name)))

    def accept(self, findings: list[Finding]) -> tuple[list[Finding], int, int]:
        """Drop inline-suppressed and baselined findings; fingerprint and sort the rest."""
        from gatecheck import suppress

        # One name read by several statements (a table constant used by ten
        # queries) is one finding at that name, not ten.
        unique: dict[tuple[Any, ...], Finding] = {}
        for finding in findings:
            unique.setdefault(finding.place_key(), finding)
        findings = list(unique.values())
        findings.sort(key=Finding.sort_key)
        findings, unused = suppress.apply_inline(findings, self._marks)
        if self.warn_unused_ignores:
            for mark in unused:
                ids = ", ".join(sorted(mark.rules)) or "every rule"
                findings.append(Finding(
                    rule=UNUSED_IGNORE_RULE, kind=UNUSED_IGNORE_RULE, severity=Severity.WARNING,
                    message=f"suppression comment ({ids}) suppresses nothing",
                    path=mark.path, line=mark.line, column=mark.column, end_line=mark.line,
                    end_column=mark.column))
            findings.sort(key=Finding.sort_key)
        findings = suppress.fingerprint_all(findings, self.line_text)
        if self.baseline is None:
            return findings, 0, 0
        kept, fixed = suppress.apply_baseline(findings, self.baseline)
        return kept, len(findings) - len(kept), fixed

    def line_text(self, path: str, line: int) -> str:
        text = self._text(path)
        index = self._index(path)
        if line > index.line_count:
            return ""
        start = index.line_start(line)
        end = index.line_start(line + 1) if line < index.line_count else len(text)
        return text[start:end]

    # -- sources

    def source_paths(self) -> list[str]:
        include = PathMatcher(self.config.include)
        exclude = PathMatcher(self.config.exclude)
        if self.only is None:
            return discover(self.root, include, exclude)
        return sorted({p for p in self.only if include.matches(p) and not exclude.matches(p)})

    def analyse(self, paths: list[str], settings: "Settings"
                ) -> tuple[list["FragmentFacts"], list[tuple[str, "CallSite"]]]:
        """Every file's SQL facts and, for call rules, its call sites (cached)."""
        from gatecheck.pipeline import analyse_all

        results, warning = analyse_all(self.root, paths, settings, jobs=self.jobs,
                                       use_cache=self.use_cache)
        if warning:
            self.warnings.append(warning)
        facts: list[FragmentFacts] = []
        calls: list[tuple[str, CallSite]] = []
        for result in results:
            if result.error is not None:
                self.errors.append(result.error)
            facts.extend(result.facts)
            calls.extend((result.path, site) for site in result.calls)
            self._marks.extend(result.marks)
            if result.lines is not None:
                self._lines[result.path] = result.lines
        return facts, calls

    def _text(self, path: str) -> str:
        """A source file's text, read again only for files with findings."""
        text = self._texts.get(path)
        if text is None:
            from gatecheck import sources

            try:
                text = sources.decode(path, (self.root / path).read_bytes())
            except (OSError, SourceError):
                text = ""
            self._texts[path] = text
        return text

    def _index(self, path: str) -> LineIndex:
        index = self._lines.get(path)
        if index is None:
            index = self._lines[path] = LineIndex(self._text(path))
        return index

    def position(self, path: str, span: Span) -> tuple[int, int, int, int]:
        pos = self._index(path).position(span)
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
                    self._database = open_database(spec, self.policy)
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

    def run_rule(self, rule: RuleSpec, facts: list["FragmentFacts"],
                 calls: list[tuple[str, "CallSite"]]) -> list[Finding]:
        module = KINDS[rule.kind]
        paths = PathMatcher(rule.paths)
        exclude = PathMatcher(rule.exclude)

        def visible(path: str) -> bool:
            return (not paths or paths.matches(path)) and not exclude.matches(path)

        out: list[Finding] = []

        def emit(message: str, *, obj: str | None = None, path: str | None = None,
                 span: Span | None = None, extra: dict[str, Any] | None = None) -> None:
            if path is None and obj is not None and glob_match(obj, rule.ignore):
                return
            where: dict[str, Any] = {}
            if path is not None:
                line, column, end_line, end_column = self.position(path, span or Span(0, 1))
                where = {"path": path, "line": line, "column": column,
                         "end_line": end_line, "end_column": end_column}
            out.append(Finding(rule=rule.id, kind=rule.kind, severity=rule.severity,
                               message=rule.message or message, object=obj,
                               extra=tuple((extra or {}).items()), **where))

        ctx = _RuleContext(self.config.dialect, self.policy, self.open_database,
                           [f for f in facts if visible(f.path)],
                           [c for c in calls if visible(c[0])], self._stats, rule.id,
                           self._unchecked)
        try:
            module.check(ctx, rule.options, emit)
        except _SchemaUnavailable:
            self._not_run.append(rule.id)  # the error is reported once, as a run error
        except DatabaseError as exc:
            # The database failed underneath a rule (not a finding): once is enough.
            self._not_run.append(rule.id)
            if self._database_error is None:
                self._database_error = exc
        except GatecheckError as exc:
            self.errors.append(exc)
        return out


class _SchemaUnavailable(Exception):
    """The schema could not be loaded; the error is reported once by the engine."""


def rule_needs(rule: RuleSpec) -> frozenset[str]:
    """What a rule needs prepared; a kind may refine it by its options (``needs``)."""
    module = KINDS[rule.kind]
    refine = getattr(module, "needs", None)
    return frozenset(refine(rule.options) if refine is not None else module.NEEDS)
