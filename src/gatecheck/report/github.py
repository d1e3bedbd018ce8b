"""GitHub Actions workflow commands: one annotation per finding, then a summary.

``::error file=app/store.py,line=12,col=20,endLine=12,endColumn=32,title=no-task-sessions::...``
GitHub shows these on the pull request's changed lines and in the run's
summary.  Schema findings have no file: they become annotations on the run,
their message prefixed with ``db:OBJECT``.

GitHub keeps 10 annotations of each level per step and drops the others
silently; past that, findings are printed as plain log lines and one
annotation of that level says how many were not shown.
"""

from __future__ import annotations

from collections import Counter

from gatecheck.engine import RunResult
from gatecheck.errors import GatecheckError
from gatecheck.findings import Finding, Severity
from gatecheck.report import with_help
from gatecheck.report.text import location, summary_line

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    """Escape a command's message, as GitHub's toolkit does (``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a property value (``escapeProperty``): data escapes plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: list[tuple[str, object]]) -> str:
    props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties
                     if value is not None)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


#: GitHub shows at most this many annotations of each level (error, warning,
#: notice) per step, and drops the rest without a word.
ANNOTATIONS_PER_LEVEL = 10


def render(result: RunResult) -> str:
    # Run errors come first in the budget: they say what was not checked.
    budget = {name: ANNOTATIONS_PER_LEVEL for name in COMMANDS.values()}
    budget["error"] -= min(len(result.errors), ANNOTATIONS_PER_LEVEL)
    wanted = Counter(COMMANDS[f.severity] for f in result.findings)
    # A level with more findings than slots keeps one slot to say so.
    shown = {name: wanted[name] if wanted[name] <= budget[name] else max(budget[name] - 1, 0)
             for name in budget}
    lines = []
    left: Counter[str] = Counter()
    for f in result.findings:
        name = COMMANDS[f.severity]
        if shown[name] > 0:
            shown[name] -= 1
            lines.append(_finding(f))
        else:
            # In the log all the same, as a plain line (never a command).
            left[name] += 1
            plain = f"{location(f)}: {f.rule} {f.message}"
            lines.append(" " + plain if plain.startswith("::") else plain)
    for name, n in sorted(left.items()):
        lines.append(command(name, f"{n} more {name}{'' if n == 1 else 's'} not shown as "
                             f"annotations (GitHub shows {ANNOTATIONS_PER_LEVEL} of each level "
                             "per step): every finding is in this step's log",
                             [("title", "gatecheck")]))
    lines.extend(_error(e) for e in result.errors)
    # Plain text, not a command: it lands in the log as the step's last line.
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def _finding(f: Finding) -> str:
    if f.path is None:
        return command(COMMANDS[f.severity], f"{location(f)}: {with_help(f)}",
                       [("title", f.rule)])
    properties: list[tuple[str, object]] = [("file", f.path), ("line", f.line)]
    single_line = f.end_line is None or f.end_line == f.line
    # GitHub takes col/endColumn only within one line; for a span across
    # lines it would misplace them, so the annotation covers whole lines.
    if single_line:
        properties.append(("col", f.column))
    properties.append(("endLine", f.end_line))
    if single_line:
        properties.append(("endColumn", f.end_column))
    properties.append(("title", f.rule))
    return command(COMMANDS[f.severity], with_help(f), properties)


def _error(error: GatecheckError) -> str:
    properties: list[tuple[str, object]] = [("file", error.path), ("line", error.line),
                                            ("col", error.column),
                                            ("title", "gatecheck")]
    return command("error", error.message, properties)
