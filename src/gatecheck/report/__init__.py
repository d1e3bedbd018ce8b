"""Reporters: pure functions from a `RunResult` to the text to print.

The helpers here are shared by more than one reporter: the catalogue of
rules a run describes and stable per-finding fingerprints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatecheck.findings import Finding, Severity

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


def fingerprints(findings: Sequence[Finding]) -> list[str]:
    """A fingerprint per finding that survives line shifts and unrelated edits.

    It hashes the rule, the file (or the database) and the object, plus the
    occurrence index among findings with those same three in the sorted
    order: the second ``task_sessions`` reference in ``store.py`` stays the
    second however many lines are added above it.  Line, column and message
    are left out on purpose: they move with unrelated edits, and messages may
    carry counts that change while the problem stays the same.
    """
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for f in findings:
        key = (f.rule, f.path if f.path is not None else "db:", f.object or "")
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        text = "\0".join((*key, str(occurrence)))
        out.append(hashlib.sha256(text.encode("utf-8")).hexdigest()[:32])
    return out
