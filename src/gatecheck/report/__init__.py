"""Reporters: pure functions from a `RunResult` to the text to print.

The helpers here are shared by more than one reporter: the catalogue of
rules a run describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatecheck.findings import Severity

if TYPE_CHECKING:
    from gatecheck.config import Origin
    from gatecheck.engine import RunResult


@dataclass(frozen=True)
class RuleInfo:
    """What a reporter may say about one rule."""

    id: str
    kind: str
    severity: Severity
    #: Where the rule is declared; None for the engine's own rules
    #: (``migrations-replay``), which no rules file declares.
    origin: "Origin | None"


def rule_catalogue(result: "RunResult") -> list[RuleInfo]:
    """The configured rules in config order, then any other rule a finding names."""
    rules = [RuleInfo(s.id, s.kind, s.severity, s.origin) for s in result.specs]
    known = {r.id for r in rules}
    for f in sorted(result.findings, key=lambda f: f.rule):
        if f.rule not in known:
            known.add(f.rule)
            rules.append(RuleInfo(f.rule, f.kind, f.severity, None))
    return rules
