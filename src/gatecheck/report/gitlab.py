"""GitLab Code Quality: the JSON array a job names in ``artifacts:reports:codequality``.

GitLab shows these in the merge request's Code Quality widget and its diff.
Each finding is one issue with what GitLab reads (its ``codeclimate.json``
schema and documentation): ``description``, ``check_name`` (the rule id),
``fingerprint`` (gatecheck's own, the one baselines use: stable across line
shifts, unique per finding), ``severity`` and ``location.path`` with
``lines.begin``.  A schema finding has no line in the code: it is placed at
the rule's declaration in the rules file, like SARIF does, and its
description names the database object.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from gatecheck.engine import RunResult
from gatecheck.findings import Finding, Severity
from gatecheck.report import rule_catalogue, with_help
from gatecheck.report.text import location

if TYPE_CHECKING:
    from gatecheck.config import Origin

#: GitLab's scale is info, minor, major, critical, blocker.
SEVERITIES = {Severity.ERROR: "major", Severity.WARNING: "minor", Severity.INFO: "info"}


def render(result: RunResult) -> str:
    origins = {rule.id: rule.origin for rule in rule_catalogue(result)}
    issues = [_issue(f, origins.get(f.rule)) for f in result.findings]
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"


def _issue(f: Finding, origin: "Origin | None") -> dict[str, Any]:
    if f.path is not None:
        description = with_help(f)
        where: dict[str, Any] = {"path": f.path,
                                 "lines": {"begin": f.line or 1,
                                           "end": f.end_line or f.line or 1}}
    else:
        description = f"{location(f)}: {with_help(f)}"
        where = {"path": origin.path if origin is not None else "",
                 "lines": {"begin": origin.line if origin is not None else 1}}
    return {"description": description, "check_name": f.rule, "fingerprint": f.fingerprint,
            "severity": SEVERITIES[f.severity], "location": where}
