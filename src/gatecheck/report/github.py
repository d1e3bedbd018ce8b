"""GitHub Actions workflow commands: one annotation per finding, then a summary.

``::error file=app/store.py,line=12,col=20,endLine=12,endColumn=32,title=no-task-sessions::...``
GitHub shows these on the pull request's changed lines and in the run's
summary.  Schema findings have no file: they become annotations on the run,
their message prefixed with ``db:OBJECT``.
"""

from __future__ import annotations

from gatecheck.engine import RunResult
from gatecheck.errors import GatecheckError
from gatecheck.findings import Finding, Severity
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


def render(result: RunResult) -> str:
    lines = [_finding(f) for f in result.findings]
    lines.extend(_error(e) for e in result.errors)
    # Plain text, not a command: it lands in the log as the step's last line.
    lines.append(summary_line(result))
    return "\n".join(lines) + "\n"


def _finding(f: Finding) -> str:
    if f.path is None:
        return command(COMMANDS[f.severity], f"{location(f)}: {f.message}", [("title", f.rule)])
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
    return command(COMMANDS[f.severity], f.message, properties)


def _error(error: GatecheckError) -> str:
    properties: list[tuple[str, object]] = [("file", error.path), ("line", error.line),
                                            ("col", error.column),
                                            ("title", "gatecheck")]
    return command("error", error.message, properties)
