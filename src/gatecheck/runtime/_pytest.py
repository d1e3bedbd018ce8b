"""The pytest session of ``pytest --gatecheck`` (imported only when it is asked for).

`Session.start` loads the rules file, guards every sqlite3 connection opened
from then on (`gatecheck.runtime._sqlite`) and every psycopg connection
(`gatecheck.runtime._postgres`), and records each violation with the test
that was running.  At the end the violations are printed as ``gatecheck
run`` prints findings, written to ``--gatecheck-report`` (JSON or SARIF, by
extension), and a session with violations fails even when every test passed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from gatecheck.runtime._check import Checker, Violation, Watcher

if TYPE_CHECKING:
    from gatecheck.engine import RunResult

REPORT_FORMATS = {".json": "json", ".sarif": "sarif"}


class Session:
    """The plugin object registered for one pytest session."""

    def __init__(self, checker: Checker, report: Path | None, base: Path) -> None:
        self.checker = checker
        self.report = report
        self.base = base
        self.watcher = Watcher(checker, mode="record", record=self.add)
        self.violations: dict[tuple[Any, ...], Violation] = {}
        self._result: "RunResult | None" = None

    @classmethod
    def start(cls, config: pytest.Config, options: Any) -> "Session":
        from gatecheck.config import find_config, repository_root
        from gatecheck.errors import GatecheckError
        from gatecheck.runtime import load

        def option(name: str) -> Any:
            value = getattr(options, name, None) if options is not None else None
            return value if value is not None else config.getoption(name, default=None)

        given = option("gatecheck_config")
        here = Path(config.invocation_params.dir)
        if given:
            path: Path | None = (here / given).resolve()
        else:
            path = find_config(config.rootpath)
        if path is None:
            raise pytest.UsageError(f"--gatecheck: no rules file in {config.rootpath} or its "
                                    "parents; pass --gatecheck-config FILE")
        report = option("gatecheck_report")
        report_path = (here / report).resolve() if report else None
        if report_path is not None and report_path.suffix.lower() not in REPORT_FORMATS:
            raise pytest.UsageError(f"--gatecheck-report: {report}: expected a .json or .sarif "
                                    "file")
        try:
            checker = load(path)
        except GatecheckError as exc:
            raise pytest.UsageError(f"--gatecheck: {exc}") from None
        session = cls(checker, report_path, repository_root(checker.root))
        from gatecheck.runtime import _sqlite

        _sqlite.start_session(session.watcher)
        if importlib.util.find_spec("psycopg") is not None:
            from gatecheck.runtime import _postgres

            _postgres.start_session(session.watcher)
        return session

    def add(self, violation: Violation) -> None:
        key = (violation.rule, violation.place, violation.object, violation.statement)
        self.violations.setdefault(key, violation)

    # -- hooks

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item,
                                nextitem: pytest.Item | None) -> Generator[None, Any, None]:
        self.watcher.test = item.nodeid
        try:
            yield
        finally:
            self.watcher.test = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._stop()
        result = self.result()
        if self.report is not None:
            from gatecheck.report import json as json_report, sarif

            render = json_report.render if REPORT_FORMATS[self.report.suffix.lower()] == "json" \
                else sarif.render
            self.report.parent.mkdir(parents=True, exist_ok=True)
            self.report.write_text(render(result), encoding="utf-8")
        if result.findings and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        result = self.result()
        from gatecheck.report.text import frame, location

        rules = len(self.checker.specs)
        statements = len(self.watcher.plans)
        scope = (f"{rules} rule{'s' if rules != 1 else ''}, {statements} distinct "
                 f"statement{'s' if statements != 1 else ''} seen")
        if not result.findings:
            if not rules:
                terminalreporter.write_line(
                    f"gatecheck: the rules file {self.checker.config.path} has no rule that "
                    "applies to executed SQL (forbid-table-references, references-exist, "
                    "forbid-statements)")
            else:
                terminalreporter.write_line(f"gatecheck: PASS: no violations in the SQL the "
                                            f"tests executed ({scope})")
            return
        colour = bool(getattr(terminalreporter, "hasmarkup", False))
        terminalreporter.write_sep("=", "gatecheck: SQL the tests executed", red=True)
        for f in result.findings:
            extra = dict(f.extra)
            suffix = "" if f.severity.label == "error" else f" [{f.severity.label}]"
            terminalreporter.write_line(f"{location(f)}: {f.rule} {f.message}{suffix}")
            lines = frame(f, result.lines, colour=colour)
            gutter = " " * (len(str(f.line)) if lines and f.line else 1)
            lines.append(f"{gutter} = statement: {extra.get('statement') or '(not seen)'}")
            if extra.get("test"):
                lines.append(f"{gutter} = test: {extra['test']}")
            for line in lines:
                terminalreporter.write_line(line)
            terminalreporter.write_line("")
        n = len(result.findings)
        terminalreporter.write_line(
            f"gatecheck: {n} violation{'s' if n != 1 else ''} in the SQL the tests executed "
            f"({scope}); the session fails", red=True, bold=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self._stop()

    def _stop(self) -> None:
        from gatecheck.runtime import _postgres, _sqlite

        _sqlite.stop_session()
        _postgres.stop_session()

    # -- the result

    def result(self) -> "RunResult":
        """The violations as a `RunResult`: paths relative to the git work tree's root."""
        if self._result is not None:
            return self._result
        from gatecheck import suppress
        from gatecheck.engine import RunResult, apply_baseline, relocate
        from gatecheck.findings import Finding

        checker = self.checker
        findings = sorted((v.finding() for v in self.violations.values()),
                          key=Finding.sort_key)
        texts: dict[str, list[str]] = {}

        def line_text(path: str, line: int) -> str:
            lines = texts.get(path)
            if lines is None:
                try:
                    content = (checker.root / path).read_text(encoding="utf-8",
                                                             errors="replace")
                except OSError:
                    content = ""
                lines = texts[path] = content.splitlines()
            return lines[line - 1] if 0 < line <= len(lines) else ""

        findings = suppress.fingerprint_all(findings, line_text)
        quoted: dict[str, dict[int, str]] = {}
        for f in findings:
            if f.path is not None and f.line:
                quoted.setdefault(f.path, {})[f.line] = line_text(f.path, f.line)
        result = RunResult(findings=findings, errors=[],
                           files=len({f.path for f in findings if f.path}),
                           fragments=len(self.watcher.plans), rules=len(checker.specs),
                           specs=checker.specs, lines=quoted, base=checker.root)
        result = relocate(result, self.base.resolve())
        baseline = checker.config.baseline
        if baseline is not None and baseline.is_file():
            from gatecheck.suppress import read_baseline

            result = apply_baseline(result, read_baseline(baseline))
        self._result = result
        return result
