"""Human output: ``path:line:col: rule-id message``, schema findings as ``db:object``."""

from __future__ import annotations

from gatecheck.errors import DatabaseError
from gatecheck.engine import RunResult
from gatecheck.findings import Finding, Severity

_COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def location(f: Finding) -> str:
    if f.path is None:
        return f"db:{f.object}" if f.object else "db"
    return f"{f.path}:{f.line}:{f.column}"


def render(result: RunResult, *, colour: bool = False) -> str:
    lines = []
    for f in result.findings:
        rule = _paint(f.rule, "1;" + _COLOURS[f.severity], colour)
        suffix = "" if f.severity == Severity.ERROR else f" [{f.severity.label}]"
        lines.append(f"{_paint(location(f), '1', colour)}: {rule} {f.message}{suffix}")
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _first(names: tuple[str, ...], most: int = 3) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


def summary_line(result: RunResult) -> str:
    scope = (f"{_plural(result.rules, 'rule')}, {_plural(result.files, 'file')}, "
             f"{_plural(result.fragments, 'SQL fragment')}")
    if result.unchecked:
        scope += f"; {len(result.unchecked)} not checked, see --verbose"
    # Never PASS when something did not run: that reads green in a CI log.
    missed = []
    if result.not_run:
        missed.append(f"{_plural(len(result.not_run), 'rule')} not run "
                      f"({_first(result.not_run)}: see the database error)")
    others = sum(1 for e in result.errors if not isinstance(e, DatabaseError))
    if others:
        missed.append(f"{_plural(others, 'error')} stopped part of the check")
    if not result.findings:
        if missed:
            return f"NOT CHECKED: {'; '.join(missed)}; no findings from the rest ({scope})"
        return f"PASS: no findings ({scope})"
    counts = [_plural(result.count(s), label) for s, label in
              ((Severity.ERROR, "error"), (Severity.WARNING, "warning"), (Severity.INFO, "info"))
              if result.count(s)]
    tail = f"; {'; '.join(missed)}" if missed else ""
    return f"Found {', '.join(counts)}{tail} ({scope})"
