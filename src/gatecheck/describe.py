"""What ``gatecheck rules`` and ``gatecheck explain`` say about kinds and configured rules.

A kind's documentation is its module's docstring (five sections, see
STYLE.md); a configured rule adds its id, severity, message, path filters,
options and where it is declared.  Text for people, JSON for tools (one
object with ``version: 1``; keys as in the rules file).
"""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from gatecheck.kinds import doc_sections

if TYPE_CHECKING:
    from gatecheck.config import RuleSpec

JSON_VERSION = 1


def kind_doc(kind: str) -> dict[str, Any]:
    """``{"name", "summary", "sections": {heading: text}, "doc"}`` of a registered kind."""
    from gatecheck.kinds.registry import KINDS

    doc = (KINDS[kind].__doc__ or "").strip()
    summary, sections = doc_sections(doc)
    return {"name": kind, "summary": summary, "sections": sections, "doc": doc}


def options(rule: "RuleSpec") -> dict[str, Any]:
    """The rule's kind options as the rules file spells them, defaults included."""
    from gatecheck.options import option_fields, option_key

    cls: type = type(rule.options)
    return {option_key(f): _plain(getattr(rule.options, f.name)) for f, _ in option_fields(cls)}


def rule_json(rule: "RuleSpec") -> dict[str, Any]:
    return {"id": rule.id, "kind": rule.kind, "severity": rule.severity.label,
            "message": rule.message,
            "origin": {"path": rule.origin.path, "line": rule.origin.line,
                       "column": rule.origin.column},
            "paths": list(rule.paths), "exclude": list(rule.exclude),
            "ignore": list(rule.ignore), "databases": list(rule.databases),
            "options": options(rule)}


def rule_text(rule: "RuleSpec") -> str:
    """A configured rule, then its kind's documentation."""
    lines = [f"{rule.id}: a {rule.kind} rule, severity {rule.severity.label}",
             f"declared at {rule.origin}"]
    if rule.message:
        lines.append(f"message: {rule.message}")
    for key, values in (("paths", rule.paths), ("exclude", rule.exclude),
                        ("ignore", rule.ignore), ("database", rule.databases)):
        if values:
            lines.append(f"{key}: {json.dumps(list(values), ensure_ascii=False)}")
    settings = options(rule)
    if settings:
        lines.append("options:")
        lines.extend(f"  {key}: {json.dumps(value, ensure_ascii=False)}"
                     for key, value in settings.items())
    doc = kind_doc(rule.kind)
    return "\n".join(lines) + f"\n\n{rule.kind}\n\n{doc['doc']}\n"


def _plain(value: Any) -> Any:
    """An option's value as JSON (and YAML flow) can say it."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, enum.Enum):
        return value.name.lower()
    if isinstance(value, (list, tuple, frozenset, set)):
        items = [_plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name.rstrip("_"): _plain(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, PurePath):
        return value.as_posix()
    pattern = getattr(value, "pattern", None)  # a compiled regular expression
    return pattern if isinstance(pattern, str) else str(value)
