"""Run the configured rules and turn what they emit into sorted `Finding`s.

The engine prepares only what the active rules need: source fragments when
a source rule runs (files discovered, decoded, extracted, each fragment
parsed once), the schema when a schema rule runs (introspected once).  A
rule's ``emit`` gets spans in fragment coordinates; the engine maps them to
file line/column, fills in rule, kind and severity, drops ignored objects and
sorts the result.

Paths inside the engine are relative to the rules file's directory (``root``):
that is what the globs of a rules file mean and what fingerprints hash.  A
`RunResult` names files relative to ``base``, the root of the git work tree
(outside git: ``root``), so that annotations and code scanning find them in a
monorepo; `relocate` moves a result to another directory (the text report's
current directory), `merge_results` joins the results of several rules files
and `apply_baseline` drops the findings a baseline accepts.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, NamedTuple

from gatecheck.config import DatabaseSpec, GateConfig, RuleSpec, repository_root
from gatecheck.errors import DatabaseError, GatecheckError, SourceError
from gatecheck.extract import NEUTRAL
from gatecheck.findings import Finding, Severity
from gatecheck.kinds import CALLS, COLUMNS, DATA, FRAGMENTS, SCHEMA, SOURCES, TREES, glob_match
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
    from gatecheck.routing import DatabaseMark, Route, Router
    from gatecheck.suppress import Baseline, BaselineEntry, Suppression
    from gatecheck.verdicts import VerdictCache


#: Rule id and kind of the finding a failed migration replay produces.
REPLAY_RULE = "migrations-replay"
#: Rule id and kind of an unused suppression comment (--warn-unused-ignores).
UNUSED_IGNORE_RULE = "unused-ignore"
#: Rule id and kind of a suppression comment naming a rule no rules file declares.
UNKNOWN_IGNORE_RULE = "unknown-rule-in-ignore"
#: The engine's own rules: a suppression may name them, no rules file declares them.
ENGINE_RULES = frozenset({REPLAY_RULE, UNUSED_IGNORE_RULE, UNKNOWN_IGNORE_RULE})


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
    #: Why they did not run, when not (only) a database error: a failed replay
    #: (``on_failure: stop``).  Empty: see the database error.
    not_run_why: str = ""
    #: Non-fatal notes for stderr (an unreadable cache...).
    warnings: list[str] = field(default_factory=list)
    #: References a rule could not decide, each with where and why (--verbose, JSON).
    unchecked: tuple["Unchecked", ...] = ()
    #: The text of the lines reports quote, by path and 1-based line, without the
    #: line break and as in the file (control characters included: reporters
    #: make them inert): the first line of each source finding (code frames) and
    #: the declaration of each rule with a schema finding (SARIF regions).
    lines: dict[str, dict[int, str]] = field(default_factory=dict)
    #: The directory relative paths (findings, errors, not checked, lines,
    #: declarations) are relative to: the git work tree's root (outside git:
    #: the rules file's directory).  None: unknown (a result built by hand).
    base: Path | None = None
    #: What the run checked, relative to ``base``: ``""`` everything, ``dir/``
    #: a tree, else one file.  A baseline entry outside it is not "fixed".
    scope: tuple[str, ...] = ("",)

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
    database_label: str
    _database: Any
    _sources: list["FragmentFacts"]
    _calls: list[tuple[str, "CallSite"]]
    _stats: Counter[str]
    _rule: str = ""
    _unchecked: list[tuple[str, str, Span, str, str]] = field(default_factory=list)
    #: Makes the rule's `gatecheck.review.Review` (kinds that need REVIEW).
    _review: Any = None
    #: Makes the run's `gatecheck.verdicts.VerdictCache` (None: no cache).
    _verdicts: Any = None

    @property
    def verdicts(self) -> Any:
        return self._verdicts() if self._verdicts is not None else None

    @property
    def review(self) -> Any:
        return self._review()

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
    #: ``--db``: replaces the database of that name (``""``: the one of ``database:``).
    database_overrides: dict[str, DatabaseSpec] = field(default_factory=dict)
    #: Report suppression comments that suppress nothing.
    warn_unused_ignores: bool = False
    #: Accepted findings (`gatecheck.suppress.Baseline`); None: no baseline.
    baseline: "Baseline | None" = None
    #: Worker processes for source files (None: one per CPU, when it pays).
    jobs: int | None = None
    use_cache: bool = True
    #: What the command line allows this run (see `gatecheck.policy`).
    policy: Policy = DEFAULT_POLICY
    #: Where reported paths are relative to; None: the git work tree's root
    #: holding ``root`` (outside git: ``root``).
    base: Path | None = None
    #: Directories (relative to ``root``) that another rules file of the same
    #: run checks: a file is checked once, under the nearest rules file.
    skip: tuple[str, ...] = ()
    #: Rule ids a suppression comment may name (None: the config's rules);
    #: the CLI passes every configured id, also those --select left out.
    known_rules: frozenset[str] | None = None
    #: ``--changed-since``: the default ``base`` of ``breaking-changes``.
    changed_since: str | None = None
    #: ``--shard I/N``: check the files of shard I of N (`gatecheck.pipeline.shard_of`);
    #: rules about the whole repository (schema, data) run in shard 1 only.
    shard: tuple[int, int] | None = None
    errors: list[GatecheckError] = field(default_factory=list)
    #: Non-fatal notes for stderr (an unreadable cache...).
    warnings: list[str] = field(default_factory=list)
    #: Open databases and the errors of those that could not be opened, by name.
    _databases: dict[str, "Database"] = field(default_factory=dict)
    _database_errors: dict[str, DatabaseError] = field(default_factory=dict)
    _router: "Router | None" = None
    #: ``gatecheck: database=NAME`` comments, by file.
    _database_marks: dict[str, list["DatabaseMark"]] = field(default_factory=dict)
    _texts: dict[str, str] = field(default_factory=dict)
    _marks: list["Suppression"] = field(default_factory=list)
    _stats: Counter[str] = field(default_factory=Counter)
    _lines: dict[str, LineIndex] = field(default_factory=dict)
    _not_run: list[str] = field(default_factory=list)
    _unchecked: list[tuple[str, str, Span, str, str]] = field(default_factory=list)
    #: Databases the dialect warning was given for.
    _warned: set[str] = field(default_factory=set)
    #: Databases whose replay failed with ``on_failure: stop``: no rule checks them.
    _stopped: set[str] = field(default_factory=set)
    _verdicts: "VerdictCache | None" = None

    def run(self) -> RunResult:
        from gatecheck import safefile

        safefile.new_run()
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
                                call_names=call_names, keep_trees=TREES in needs,
                                columns=COLUMNS in needs, fragments=FRAGMENTS in needs)
            facts, calls = self.analyse(paths, settings)
        findings: list[Finding] = []
        whole = self.shard is None or self.shard[0] == 1
        try:
            for rule in rules:
                if whole or rule_needs(rule) & {SOURCES, CALLS}:
                    findings.extend(self.run_rule(rule, facts, calls))
            if whole:
                findings.extend(self.replay_findings())
        finally:
            for database in self._databases.values():
                database.close()
            if self._verdicts is not None:
                self._verdicts.save(prune=self.only is None and self.shard is None)
                if self._verdicts.warning:
                    self.warnings.append(self._verdicts.warning)
        self.errors.extend(self._database_errors.values())
        findings = self.accept(findings)
        self.errors.sort(key=lambda e: (e.path or "", e.line or 0, str(e)))
        root = self.root.resolve()
        result = RunResult(findings=findings, errors=self.errors, files=files,
                           fragments=sum(1 for f in facts if f.is_sql), rules=len(rules),
                           specs=tuple(rules), stats=dict(sorted(self._stats.items())),
                           not_run=tuple(self._not_run), not_run_why=self.not_run_why(),
                           warnings=self.warnings, unchecked=self.unchecked(),
                           lines=self.quoted_lines(findings), base=root,
                           scope=("",) if self.only is None else tuple(self.only))
        # Fingerprints hash paths relative to the rules file (above); reports
        # name files from the repository's root.
        result = relocate(result, (self.base or repository_root(root)).resolve())
        if self.baseline is not None:
            result = apply_baseline(result, self.baseline)
        return result

    def not_run_why(self) -> str:
        if not self._stopped:
            return ""
        if self._database_errors:
            return f"see the database error and {REPLAY_RULE}"
        return f"the migrations replay failed, see {REPLAY_RULE}"

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

    def accept(self, findings: list[Finding]) -> list[Finding]:
        """Drop inline-suppressed findings; fingerprint and sort the rest."""
        from gatecheck import suppress

        # One name read by several statements (a table constant used by ten
        # queries) is one finding at that name, not ten.
        unique: dict[tuple[Any, ...], Finding] = {}
        for finding in findings:
            unique.setdefault(finding.place_key(), finding)
        findings = list(unique.values())
        findings.sort(key=Finding.sort_key)
        findings, unused = suppress.apply_inline(findings, self._marks)
        unknown = self.unknown_ignores()
        findings.extend(unknown)
        if self.warn_unused_ignores:
            named_unknown = {(f.path, f.line, f.column) for f in unknown}
            for mark in unused:
                if (mark.path, mark.line, mark.column) in named_unknown:
                    continue  # said once: the rule it names does not exist
                ids = ", ".join(sorted(mark.rules)) or "every rule"
                findings.append(Finding(
                    rule=UNUSED_IGNORE_RULE, kind=UNUSED_IGNORE_RULE, severity=Severity.WARNING,
                    message=f"suppression comment ({ids}) suppresses nothing",
                    path=mark.path, line=mark.line, column=mark.column, end_line=mark.line,
                    end_column=mark.column))
        findings.sort(key=Finding.sort_key)
        return suppress.fingerprint_all(findings, self.line_text)

    def unknown_ignores(self) -> list[Finding]:
        """A finding per suppression comment naming a rule id nobody declares."""
        from gatecheck.suggest import closest

        known = self.known_rules if self.known_rules is not None else \
            frozenset(r.id for r in self.config.rules)
        known = known | ENGINE_RULES
        out = []
        for mark in self._marks:
            for name in sorted(mark.rules - known):
                close = closest(name, known)
                hint = f"; did you mean {close!r}?" if close else ""
                out.append(Finding(
                    rule=UNKNOWN_IGNORE_RULE, kind=UNKNOWN_IGNORE_RULE,
                    severity=Severity.WARNING,
                    message=f"suppression comment names rule {name!r}, which the rules file "
                            f"does not declare, so it suppresses nothing{hint}",
                    path=mark.path, line=mark.line, column=mark.column, end_line=mark.line,
                    end_column=mark.column))
        return out

    def quoted_lines(self, findings: list[Finding]) -> dict[str, dict[int, str]]:
        """`RunResult.lines`: read here, once, so that reporters stay pure."""
        wanted = {(f.path, f.line) for f in findings if f.path is not None and f.line}
        origins = {r.id: r.origin for r in self.config.rules}
        for f in findings:
            origin = origins.get(f.rule) if f.path is None else None
            if origin is not None:
                wanted.add((origin.path, origin.line))
        out: dict[str, dict[int, str]] = {}
        for path, line in sorted(wanted):
            text = self.line_text(path, line)
            out.setdefault(path, {})[line] = text.rstrip("\r\n")
        return out

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
            paths = discover(self.root, include, exclude)
        else:
            paths = sorted({p for p in self.only
                            if include.matches(p) and not exclude.matches(p)})
        if self.skip:
            below = tuple(d.rstrip("/") + "/" for d in self.skip)
            paths = [p for p in paths if not p.startswith(below)]
        if self.shard is not None:
            from gatecheck.pipeline import shard_of

            index, count = self.shard
            paths = [p for p in paths if shard_of(p, count) == index]
        return paths

    def analyse(self, paths: list[str], settings: "Settings"
                ) -> tuple[list["FragmentFacts"], list[tuple[str, "CallSite"]]]:
        """Every file's SQL facts and, for call rules, its call sites (cached)."""
        from gatecheck.pipeline import analyse_all

        results, notes = analyse_all(self.root, paths, settings, jobs=self.jobs,
                                     use_cache=self.use_cache,
                                     full=self.only is None and self.shard is None)
        self.warnings.extend(notes)
        facts: list[FragmentFacts] = []
        calls: list[tuple[str, CallSite]] = []
        for result in results:
            if result.error is not None:
                self.errors.append(result.error)
            self.warnings.extend(result.warnings)
            facts.extend(result.facts)
            calls.extend((result.path, site) for site in result.calls)
            self._marks.extend(result.marks)
            if result.databases:
                self._database_marks[result.path] = result.databases
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

    @property
    def router(self) -> "Router":
        if self._router is None:
            from gatecheck.routing import Router

            self._router = Router(self.config)
        return self._router

    def route(self, facts: "FragmentFacts") -> "Route":
        """The database the SQL of ``facts`` runs against (`gatecheck.routing`)."""
        spans = [t.span for t in facts.texts] or [s.span for s in facts.statements]
        lines = (0, 0)
        if spans:
            first = self.position(facts.path, min(spans, key=lambda s: s.start))
            last = self.position(facts.path, max(spans, key=lambda s: s.end))
            lines = (first[0], last[2])
        return self.router.route(facts.path, lines, facts.receiver,
                                 self._database_marks.get(facts.path, []))

    def open_database(self, name: str = "") -> "Database":
        """The database ``name``, opened on first use; unavailable -> reported once."""
        database = self._databases.get(name)
        if database is not None:
            if name in self._stopped:
                raise _SchemaUnavailable()
            return database
        if name not in self._database_errors:
            spec = self.database_overrides.get(name)
            if spec is None:
                configured = self.router.by_name.get(name)
                spec = configured.spec if configured is not None else None
            if spec is None:
                self._database_errors[name] = DatabaseError(
                    "a schema or data rule is configured but no database is: set "
                    "'database:' in the rules file or pass --db URL")
            else:
                from gatecheck.introspect import open_database

                try:
                    database = self._databases[name] = open_database(spec, self.policy)
                    if database.problems and spec.on_failure == "stop":
                        # Rules checking half a schema report what the failure
                        # left out, not the project: the replay's finding says it.
                        self._stopped.add(name)
                        raise _SchemaUnavailable()
                    return database
                except DatabaseError as exc:
                    if name:
                        exc.message = f"{database_label(name)}: {exc.message}"
                    self._database_errors[name] = exc
        raise _SchemaUnavailable()

    def replay_findings(self) -> list[Finding]:
        """Migrations that failed to replay are findings at the failing statement."""
        out = []
        for name, database in self._databases.items():
            for problem in database.problems:
                try:
                    path = problem.path.resolve().relative_to(self.root).as_posix()
                except ValueError:
                    path = str(problem.path)
                then = (", so the rules that need this database did not run (on_failure: "
                        "continue checks the schema built so far)" if name in self._stopped
                        else " and the other rules checked the schema built so far")
                out.append(Finding(
                    rule=REPLAY_RULE, kind=REPLAY_RULE, severity=Severity.ERROR,
                    message=f"{problem.message}; the replay stopped here{then}",
                    path=path, line=problem.line, column=1, end_line=problem.line, end_column=1,
                    extra=(("database", name),) if self.router.several else ()))
        return out

    # -- rules

    def run_rule(self, rule: RuleSpec, facts: list["FragmentFacts"],
                 calls: list[tuple[str, "CallSite"]]) -> list[Finding]:
        paths = PathMatcher(rule.paths)
        exclude = PathMatcher(rule.exclude)

        def visible(path: str) -> bool:
            return (not paths or paths.matches(path)) and not exclude.matches(path)

        facts = [f for f in facts if visible(f.path)]
        calls = [c for c in calls if visible(c[0])]
        needs = rule_needs(rule)
        if not needs & {SCHEMA, DATA}:
            return self.check(rule, facts, calls, None)
        # A rule about a database runs once per database it concerns; a source
        # rule sees there only the SQL that runs against that database.
        router = self.router
        names = [n for n in router.checked() if not rule.databases or n in rule.databases]
        if not router.databases:
            names = [""]  # no database at all: the rule reports that it cannot run
        by_database: dict[str, list[FragmentFacts]] = {name: [] for name in names}
        if SOURCES in needs:
            for f in facts:
                if not f.is_sql:
                    continue
                if router.trivial:
                    if names:
                        by_database[names[0]].append(f)
                    continue
                route = self.route(f)
                if route.database is None:
                    self._not_checked_fragment(rule.id, f, route.why)
                elif route.database in by_database:
                    by_database[route.database].append(f)
        out: list[Finding] = []
        for name in names:
            out.extend(self.check(rule, by_database[name], calls, name))
            database = self._databases.get(name)
            if by_database[name] and database is not None and \
                    database.dialect != self.config.dialect and name not in self._warned:
                self._warned.add(name)
                self.warnings.append(
                    f"{database_label(name)} is {database.dialect} but the rules file's "
                    f"dialect is {self.config.dialect}: the SQL of the sources is read as "
                    f"{self.config.dialect}, and missing names are not confirmed by the "
                    "database's engine; set 'dialect:' (or give it a rules file of its own)")
        return out

    def _not_checked_fragment(self, rule: str, facts: "FragmentFacts", why: str) -> None:
        for text in facts.texts:
            self._unchecked.append((rule, facts.path, text.span, "", why))

    def check(self, rule: RuleSpec, facts: list["FragmentFacts"],
              calls: list[tuple[str, "CallSite"]], database: str | None) -> list[Finding]:
        """Run one rule over ``facts`` (and ``calls``), against ``database`` if it needs one."""
        module = KINDS[rule.kind]
        tag: tuple[tuple[str, Any], ...] = \
            (("database", database),) if database is not None and self.router.several else ()
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
                               extra=tuple((extra or {}).items()) + tag, **where))

        ctx = _RuleContext(self.config.dialect, self.policy,
                           database_label(database if tag and database else ""),
                           partial(self.open_database, database or ""), facts, calls,
                           self._stats, rule.id, self._unchecked)
        reviews: list[Any] = []
        ctx._review = partial(self._new_review, rule, reviews)
        ctx._verdicts = self._verdict_cache
        shown = rule.id if not tag else f"{rule.id} ({database})"
        try:
            key = self._schema_rule_key(rule, database, tag)
            kept = self._verdict_cache().get(key) if key is not None else None
            if isinstance(kept, list):
                out.extend(kept)  # the same rule on the same schema: the same findings
            else:
                before = (len(self._unchecked), sum(self._stats.values()), len(self.errors),
                          len(self._not_run), len(self._database_errors))
                module.check(ctx, rule.options, emit)
                after = (len(self._unchecked), sum(self._stats.values()), len(self.errors),
                         len(self._not_run), len(self._database_errors))
                if key is not None and after == before:
                    self._verdict_cache().put(key, out)
        except _SchemaUnavailable:
            self._not_run.append(shown)  # the error is reported once, as a run error
        except DatabaseError as exc:
            # The database failed underneath a rule (not a finding): once is enough.
            self._not_run.append(shown)
            self._database_errors.setdefault(database or "", exc)
        except GatecheckError as exc:
            self.errors.append(exc)
        finally:
            for review in reviews:  # scratch databases dropped, git copies removed
                try:
                    review.close()
                except GatecheckError as exc:
                    self.errors.append(exc)
        return out

    def _schema_rule_key(self, rule: RuleSpec, database: str | None,
                         tag: tuple[tuple[str, Any], ...]) -> bytes | None:
        """The key of a rule that reads only the schema, on a SQLite file (whose identity
        says when it changed): its findings are kept with the engine verdicts; None for
        any other rule."""
        if not self.use_cache or rule_needs(rule) != {SCHEMA}:
            return None
        from gatecheck import runcache

        name = database or ""
        spec = self.database_overrides.get(name)
        if spec is None:
            configured = self.router.by_name.get(name)
            spec = configured.spec if configured is not None else None
        identity = runcache._sqlite_identity(spec)
        if identity is None:
            return None
        import hashlib

        text = runcache._canonical((runcache.code_identity(), rule, name, tag, self.policy))
        return hashlib.blake2b(f"schema-rule\0{identity}\0{text}".encode(
            "utf-8", "surrogatepass"), digest_size=24).digest()

    def _verdict_cache(self) -> "VerdictCache":
        """The engine verdicts kept in the cache directory, opened on first use."""
        if self._verdicts is None:
            from gatecheck.pipeline import CACHE_DIR
            from gatecheck.verdicts import VerdictCache

            self._verdicts = VerdictCache(self.root / CACHE_DIR, enabled=self.use_cache)
        return self._verdicts

    def _new_review(self, rule: RuleSpec, made: list[Any]) -> Any:
        """The rule's `gatecheck.review.Review`, made on first use."""
        if not made:
            from gatecheck.review import Review

            made.append(Review(self.config, self.root, self.policy, rule,
                               base=self.changed_since))
        return made[0]


def database_label(name: str) -> str:
    """How messages name a database: "the database", or "database analytics"."""
    return f"database {name}" if name else "the database"


class _SchemaUnavailable(Exception):
    """The schema could not be loaded; the error is reported once by the engine."""


def rule_needs(rule: RuleSpec) -> frozenset[str]:
    """What a rule needs prepared; a kind may refine it by its options (``needs``)."""
    module = KINDS[rule.kind]
    refine = getattr(module, "needs", None)
    return frozenset(refine(rule.options) if refine is not None else module.NEEDS)


# ---------------------------------------------------------------- results


def _mover(src: Path, dst: Path, within: Path | None = None) -> Callable[[str], str]:
    """Maps a path relative to ``src`` (or absolute) to one relative to ``dst``.

    A file outside ``dst`` is named by its absolute path, unless it and
    ``dst`` are both inside ``within``: then it climbs (``../frontend/a.py``).
    """
    if src == dst:
        return lambda path: path
    climb = within is not None and dst.is_relative_to(within)
    cache: dict[str, str] = {}

    def move(path: str) -> str:
        moved = cache.get(path)
        if moved is None:
            full = src / path  # an absolute path stays itself
            try:
                moved = full.relative_to(dst).as_posix()
            except ValueError:
                if climb and within is not None and full.is_relative_to(within):
                    moved = Path(os.path.relpath(full, dst)).as_posix()
                else:
                    moved = full.as_posix()
            cache[path] = moved
        return moved
    return move


#: A note about a place in a file: ``path:line...: message``.
_NOTE = re.compile(r"^([^:\s][^:]*):(\d+)")


def relocate(result: RunResult, to: Path, *, within: Path | None = None) -> RunResult:
    """``result`` with every relative path (findings, errors, not-checked
    references, quoted lines, rule declarations, notes) relative to ``to``.

    ``to`` is absolute and resolved; a result without a ``base`` is returned
    as is.  Paths outside ``to`` are absolute, or climb with ``..`` when both
    are inside ``within`` (`_mover`).
    """
    if result.base is None or result.base == to:
        return result
    src = result.base
    move = _mover(src, to, within)

    def errors(items: list[GatecheckError]) -> list[GatecheckError]:
        import copy

        out = []
        for error in items:
            if error.path is not None or getattr(error, "problems", None):
                error = copy.copy(error)
                if error.path is not None:
                    error.path = move(error.path)
                if getattr(error, "problems", None):
                    error.problems = errors(error.problems)  # type: ignore[attr-defined]
            out.append(error)
        return out

    def note(text: str) -> str:
        match = _NOTE.match(text)
        try:
            if match is None or not (src / match.group(1)).is_file():
                return text
        except (OSError, ValueError):  # not a file name at all
            return text
        return move(match.group(1)) + text[match.end(1):]

    def spec(rule: RuleSpec) -> RuleSpec:
        return dataclasses.replace(rule, origin=dataclasses.replace(
            rule.origin, path=move(rule.origin.path)))

    def scope(item: str) -> str:
        if item == "" or item.endswith("/"):
            moved = move(item.rstrip("/") or ".")
            return "" if moved == "." else moved.rstrip("/") + "/"
        return move(item)

    return dataclasses.replace(
        result,
        findings=[f if f.path is None else dataclasses.replace(f, path=move(f.path))
                  for f in result.findings],
        errors=errors(result.errors),
        unchecked=tuple(u._replace(path=move(u.path)) for u in result.unchecked),
        lines={move(path): lines for path, lines in result.lines.items()},
        specs=tuple(spec(r) for r in result.specs),
        warnings=[note(w) for w in result.warnings],
        scope=tuple(scope(item) for item in result.scope),
        base=to)


def for_humans(error: GatecheckError, base: Path) -> GatecheckError:
    """``error`` (and its problems) with paths relative to ``base`` moved to the
    current directory, as `relocate` moves a result for the text report."""
    [moved] = relocate(RunResult([], [error], base=base), Path.cwd().resolve(),
                       within=repository_root(base)).errors
    return moved


def merge_results(results: list[RunResult]) -> RunResult:
    """One result for several runs (one per rules file), so that each format
    gets one report: findings sorted, counts summed, the rest concatenated.

    Paths are relative to the first result's ``base``.  A rule id declared by
    several rules files is described once (its first declaration).
    """
    if len(results) == 1:
        return results[0]
    if not results:
        return RunResult([], [])
    base = results[0].base
    if base is not None:
        results = [relocate(r, base) for r in results]
    findings = sorted((f for r in results for f in r.findings), key=Finding.sort_key)
    errors = sorted((e for r in results for e in r.errors),
                    key=lambda e: (e.path or "", e.line or 0, str(e)))
    specs: dict[str, RuleSpec] = {}
    for r in results:
        for rule in r.specs:
            specs.setdefault(rule.id, rule)
    stats: Counter[str] = Counter()
    lines: dict[str, dict[int, str]] = {}
    for r in results:
        stats.update(r.stats)
        for path, quoted in r.lines.items():
            lines.setdefault(path, {}).update(quoted)
    whys = list(dict.fromkeys(r.not_run_why for r in results if r.not_run_why))
    return RunResult(
        findings=findings, errors=errors,
        files=sum(r.files for r in results), fragments=sum(r.fragments for r in results),
        rules=sum(r.rules for r in results), specs=tuple(specs.values()),
        stats=dict(sorted(stats.items())),
        baselined=sum(r.baselined for r in results), fixed=sum(r.fixed for r in results),
        not_run=tuple(n for r in results for n in r.not_run), not_run_why="; ".join(whys),
        warnings=[w for r in results for w in r.warnings],
        unchecked=tuple(sorted((u for r in results for u in r.unchecked),
                               key=lambda u: (u.path, u.line, u.column, u.rule, u.name))),
        lines=lines, base=base, scope=tuple(s for r in results for s in r.scope))


def apply_baseline(result: RunResult, baseline: "Baseline") -> RunResult:
    """``result`` without the findings ``baseline`` accepts.

    ``fixed`` counts the entries that matched nothing, among those the run
    could have matched: of a rule that ran, and of a file it checked (a run
    on the files of a commit or of ``--changed-since`` does not call the
    entries of the other files fixed).
    """
    from gatecheck import suppress

    not_run = {name.split(" (", 1)[0] for name in result.not_run}
    ran = ({r.id for r in result.specs} | ENGINE_RULES) - not_run
    trees = tuple(s for s in result.scope if s == "" or s.endswith("/"))
    files = frozenset(s for s in result.scope if s and not s.endswith("/"))

    def counts(entry: "BaselineEntry") -> bool:
        if entry.rule and entry.rule not in ran:
            return False
        return entry.path is None or entry.path in files or entry.path.startswith(trees)

    kept, fixed = suppress.apply_baseline(result.findings, baseline, counts)
    return dataclasses.replace(result, findings=kept,
                               baselined=result.baselined + len(result.findings) - len(kept),
                               fixed=result.fixed + fixed)
