"""Human output: ``path:line:col: rule-id message``, schema findings as ``db:object``.

The full report (``--format text``, the default) follows each source finding
with a code frame, as ruff's full output does: the line, a caret under the
name, and a ``help:`` line with the closest name the schema has::

    app/store.py:12:20: code-matches-schema table task_sesions does not exist in ...
       |
    12 |     cur.execute("SELECT id FROM task_sesions WHERE id = ?", (sid,))
       |                                 ^^^^^^^^^^^^
       |
       = help: did you mean `task_sessions`?

``--format concise`` is the first line of each finding only.  The first line
is the same in both, so ``grep`` and editors' problem matchers read either.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

from gatecheck.errors import DatabaseError
from gatecheck.engine import RunResult
from gatecheck.findings import Finding, Severity
from gatecheck.redact import inert
from gatecheck.report import suggestion

_COLOURS = {Severity.ERROR: "31", Severity.WARNING: "33", Severity.INFO: "36"}
_GUTTER = "1;34"
#: Display width of the code shown in a frame; longer lines show a window
#: around the name (a minified file's line can be megabytes long).
FRAME_WIDTH = 100
#: Display columns kept before the name when a line is cut.
_LEAD = 30
_TAB = "    "


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if colour else text


def location(f: Finding) -> str:
    if f.path is None:
        return f.where
    return f"{f.path}:{f.line}:{f.column}"


def render(result: RunResult, *, colour: bool = False, concise: bool = False,
           quiet: bool = False) -> str:
    """The report; ``concise``: one line per finding; ``quiet``: no summary line."""
    lines = []
    for f in result.findings:
        rule = _paint(f.rule, "1;" + _COLOURS[f.severity], colour)
        suffix = "" if f.severity == Severity.ERROR else f" [{f.severity.label}]"
        lines.append(f"{_paint(location(f), '1', colour)}: {rule} {f.message}{suffix}")
        if not concise:
            detail = frame(f, result.lines, colour=colour)
            if detail:
                lines.extend(detail)
                lines.append("")
    if not quiet:
        lines.append(summary_line(result))
    return "".join(line + "\n" for line in lines)


def frame(f: Finding, quoted: dict[str, dict[int, str]], *, colour: bool = False) -> list[str]:
    """The code frame under a finding (and its ``help:``); empty when there is none."""
    help_text = suggestion(f)
    source = quoted.get(f.path, {}).get(f.line) if f.path is not None and f.line else None
    gutter = " " * (len(str(f.line)) if source is not None else 1)
    bar = _paint(f"{gutter} |", _GUTTER, colour)
    out: list[str] = []
    if source is not None and f.line is not None:
        start = max((f.column or 1) - 1, 0)
        end = f.end_column if f.end_line == f.line and f.end_column else len(source)
        code, carets = _window(source[:start], source[start:max(end, start)],
                               source[max(end, start):])
        out += [bar, f"{_paint(f'{f.line} |', _GUTTER, colour)} {code}".rstrip(),
                f"{bar} {' ' * (len(carets) - len(carets.lstrip()))}"
                f"{_paint(carets.lstrip(), '1;' + _COLOURS[f.severity], colour)}", bar]
    if help_text is not None:
        out.append(f"{gutter} {_paint('= help:', '1;36', colour)} did you mean "
                   f"`{inert(help_text)}`?")
    return out


def _shown(text: str) -> str:
    """Source text as a frame shows it: tabs as spaces, control characters inert."""
    return inert(text.replace("\t", _TAB))


def _width(text: str) -> int:
    """Terminal columns of ``text``: East Asian wide characters take two, marks none."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str, width: int, *, keep_end: bool) -> str:
    """At most ``width`` columns of ``text``, from its end or its start, with ``…``."""
    if _width(text) <= width:
        return text
    chars = list(reversed(text)) if keep_end else list(text)
    kept: list[str] = []
    used = 1
    for c in chars:
        used += _width(c)
        if used > width:
            break
        kept.append(c)
    return "…" + "".join(reversed(kept)) if keep_end else "".join(kept) + "…"


def _window(before: str, name: str, after: str) -> tuple[str, str]:
    """(the code line, the carets line) of a frame, cut to `FRAME_WIDTH` columns."""
    # What lies this far from the name never shows: not measured either (a
    # minified file's line may be megabytes long).  Such a line is cut below.
    far = 4 * FRAME_WIDTH
    before, name, after = before[-far:], name[:far], after[:far]
    before, name, after = _shown(before), _shown(name), _shown(after)
    if _width(before) + _width(name) + _width(after) > FRAME_WIDTH:
        before = _cut(before, _LEAD, keep_end=True)
        name = _cut(name, FRAME_WIDTH - _width(before) - 1, keep_end=False)
        after = _cut(after, max(FRAME_WIDTH - _width(before) - _width(name), 1),
                     keep_end=False)
    carets = " " * _width(before) + "^" * max(_width(name), 1)
    return before + name + after, carets


def statistics(result: RunResult) -> str:
    """``--statistics``: findings per rule, most first (ruff's layout)."""
    counts = Counter((f.rule, f.severity) for f in result.findings)
    if not counts:
        return ""
    rules = {f.rule: f.kind for f in result.findings}
    width = len(str(max(counts.values())))
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0], -item[0][1]))
    rule_width = max(len(rule) for (rule, _), _ in rows)
    return "".join(f"{n:>{width}}  {rule:<{rule_width}}  {severity.label:<7}  {rules[rule]}\n"
                   for (rule, severity), n in rows)


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
                      f"({_first(result.not_run)}: "
                      f"{result.not_run_why or 'see the database error'})")
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
