"""Markdown for a GitHub job summary (``$GITHUB_STEP_SUMMARY``).

What a reader of the run's page needs first: the summary line, the count of
findings per rule, the first findings with links to their lines, and what
did not run (rules, errors, references not decided).  Every value from the
repository or the database is escaped, so a message cannot add a link, an
image or HTML to the page.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import quote

from gatecheck.engine import RunResult
from gatecheck.findings import Finding
from gatecheck.redact import inert
from gatecheck.report import rule_catalogue, with_help
from gatecheck.report.text import location, summary_line

#: Findings listed one by one; the rest are counted (a summary is at most 1 MiB).
FIRST_FINDINGS = 20
#: Errors listed one by one.
FIRST_ERRORS = 10

#: What makes Markdown inside a line (a line's own start is always ours).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|~])")


def escape(text: str) -> str:
    """``text`` as literal Markdown: emphasis, code, links, images and table cells
    backslash-escaped, ``<`` (HTML) and ``&`` (entities) as entities."""
    text = inert(text).replace("&", "&amp;").replace("<", "&lt;")
    return _SPECIAL.sub(r"\\\1", text)


def render(result: RunResult, *, blob_url: str | None = None) -> str:
    """The summary; ``blob_url`` (``https://github.com/OWNER/REPO/blob/SHA``) makes
    each finding's place a link to its line."""
    out = [f"### gatecheck: {escape(summary_line(result))}", ""]
    counts = Counter(f.rule for f in result.findings)
    catalogue = rule_catalogue(result)
    if counts:
        out += ["| rule | kind | severity | findings |", "|---|---|---|---:|"]
        for rule in sorted(catalogue, key=lambda r: (-counts[r.id], r.id)):
            if counts[rule.id]:
                out.append(f"| {escape(rule.id)} | {escape(rule.kind)} | "
                           f"{rule.severity.label} | {counts[rule.id]} |")
        clean = sum(1 for rule in catalogue if not counts[rule.id])
        if clean:
            out += ["", f"{clean} other rule{'' if clean == 1 else 's'} found nothing."]
        out += ["", "**Findings**", ""]
        out += [f"- {_place(f, blob_url)}: {escape(f.rule)} {escape(with_help(f))}"
                for f in result.findings[:FIRST_FINDINGS]]
        more = len(result.findings) - FIRST_FINDINGS
        if more > 0:
            out.append(f"- and {more} more: every finding is in the job's log "
                       "(and in the SARIF report, when one is written)")
        out.append("")
    missed = []
    if result.not_run:
        why = result.not_run_why or "see the database error"
        missed.append(f"- {len(result.not_run)} rule{'' if len(result.not_run) == 1 else 's'} "
                      f"not run ({escape(why)}): {escape(', '.join(result.not_run))}")
    for error in result.errors[:FIRST_ERRORS]:
        missed.append(f"- error: {escape(str(error))}")
    if len(result.errors) > FIRST_ERRORS:
        missed.append(f"- and {len(result.errors) - FIRST_ERRORS} more errors (in the log)")
    if result.unchecked:
        missed.append(f"- {len(result.unchecked)} reference"
                      f"{'' if len(result.unchecked) == 1 else 's'} not checked (a rule could "
                      "not decide them; `gatecheck run --verbose` lists each)")
    for note in result.warnings:
        missed.append(f"- note: {escape(note)}")
    if missed:
        out += ["**Not checked**", "", *missed, ""]
    return "\n".join(out) + "\n"


def _place(f: Finding, blob_url: str | None) -> str:
    shown = escape(location(f))
    if f.path is None or blob_url is None:
        return shown
    anchor = f"#L{f.line}" if f.line else ""
    if f.line and f.end_line and f.end_line != f.line:
        anchor += f"-L{f.end_line}"
    # Quoted: a path with ')' or a space must not end the link early.
    return f"[{shown}]({blob_url.rstrip('/')}/{quote(f.path, safe='/')}{anchor})"
