"""Reporters: pure functions from a `RunResult` to the text to print.

The helpers here are shared by more than one reporter: the catalogue of
rules a run describes, a finding's message with its suggestion, links into
the documentation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gatecheck import __version__
from gatecheck.findings import Severity

if TYPE_CHECKING:
    from gatecheck.config import Origin
    from gatecheck.engine import RunResult
    from gatecheck.findings import Finding


@dataclass(frozen=True)
class RuleInfo:
    """What a reporter may say about one rule."""

    id: str
    kind: str
    severity: Severity
    #: Where the rule is declared; None for the engine's own rules
    #: (``migrations-replay``), which no rules file declares.
    origin: "Origin | None"
    #: The rule's ``message:`` in the rules file, if it has one.
    message: str | None = None


def rule_catalogue(result: "RunResult") -> list[RuleInfo]:
    """The configured rules in config order, then any other rule a finding names."""
    rules = [RuleInfo(s.id, s.kind, s.severity, s.origin, s.message) for s in result.specs]
    known = {r.id for r in rules}
    for f in sorted(result.findings, key=lambda f: f.rule):
        if f.rule not in known:
            known.add(f.rule)
            rules.append(RuleInfo(f.rule, f.kind, f.severity, None))
    return rules


#: Where gatecheck's sources and documentation live (README's ``repo:`` and ``uses:``).
REPOSITORY = "https://github.com/gatecheck-dev/gatecheck"
#: Documentation of the rules the engine reports itself, which no kind describes.
ENGINE_RULE_DOCS = {"migrations-replay": "configuration.md#replaying-migrations",
                    "unused-ignore": "configuration.md#suppressions-and-baselines"}


def help_uri(kind: str) -> str:
    """The documentation of a kind in this repository, at this version's tag."""
    page = ENGINE_RULE_DOCS.get(kind, f"rules.md#{kind}")
    return f"{REPOSITORY}/blob/v{__version__}/docs/{page}"


def suggestion(f: "Finding") -> str | None:
    """The closest name the schema has, for a missing table or column (JSON ``suggestion``)."""
    value = dict(f.extra).get("suggestion")
    return value if isinstance(value, str) else None


def with_help(f: "Finding") -> str:
    """The message, and ``; did you mean `x`?`` when there is a suggestion: for the
    formats that show one line of text per finding (annotations, SARIF, GitLab)."""
    hint = suggestion(f)
    return f"{f.message}; did you mean `{hint}`?" if hint is not None else f.message
