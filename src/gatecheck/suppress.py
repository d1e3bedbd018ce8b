"""Inline suppressions and baselines: findings a team has decided to accept.

Inline: a comment on the finding's line, ``# gatecheck: ignore[rule-id]`` in
Python or ``-- gatecheck: ignore[rule-id]`` in SQL (also inside a Python SQL
string, where a ``#`` comment cannot go); several ids comma-separated; a bare
``gatecheck: ignore`` suppresses every rule on that line.  Schema findings
have no line: a rule's ``ignore:`` list of object globs suppresses them.

Baseline: a JSON file of finding fingerprints (`fingerprint`), written by
``gatecheck baseline``; ``run --baseline`` reports only findings whose
fingerprint is not in it, and counts the entries that no longer occur.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

from gatecheck.errors import ConfigError
from gatecheck.findings import Finding

_MARKER = re.compile(r"(?:#|--)\s*gatecheck:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)
BASELINE_VERSION = 1


class Suppression(NamedTuple):
    path: str
    line: int
    column: int
    rules: frozenset[str]  # empty: every rule


def suppressions(path: str, text: str) -> list[Suppression]:
    """Every suppression comment of one file, cheaply (a substring test first)."""
    if "gatecheck" not in text:
        return []
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for match in _MARKER.finditer(line):
            ids = match.group(1)
            rules = frozenset(i.strip() for i in ids.split(",") if i.strip()) if ids else \
                frozenset()
            out.append(Suppression(path, lineno, match.start() + 1, rules))
    return out


def apply_inline(findings: list[Finding], marks: Iterable[Suppression]
                 ) -> tuple[list[Finding], list[Suppression]]:
    """(findings not suppressed, suppressions that suppressed nothing)."""
    by_line: dict[tuple[str, int], list[Suppression]] = {}
    for mark in marks:
        by_line.setdefault((mark.path, mark.line), []).append(mark)
    used: set[Suppression] = set()
    kept = []
    for f in findings:
        hit = None
        if f.path is not None and f.line is not None:
            hit = next((m for m in by_line.get((f.path, f.line), ())
                        if not m.rules or f.rule in m.rules), None)
        if hit is None:
            kept.append(f)
        else:
            used.add(hit)
    unused = [m for marks_ in by_line.values() for m in marks_ if m not in used]
    return kept, sorted(unused, key=lambda m: (m.path, m.line, m.column))


def fingerprint_all(findings: list[Finding], line_text: Callable[[str, int], str]
                    ) -> list[Finding]:
    """Give each finding a fingerprint that survives unrelated line shifts.

    It hashes the rule, the file (or ``db:``), the object and the text of the
    finding's line with whitespace collapsed, plus an occurrence index among
    findings sharing all of those.  Line numbers are left out, so inserting
    lines above a finding keeps its fingerprint; the line's text is in, so a
    new violation of the same table in the same file gets a new one.
    """
    seen: Counter[tuple[str, ...]] = Counter()
    out = []
    for f in findings:
        text = ""
        if f.path is not None and f.line is not None:
            # A suppression comment added later for another rule must not
            # turn a baselined finding into a new one.
            text = " ".join(_MARKER.sub("", line_text(f.path, f.line)).split())
        key = (f.rule, f.path if f.path is not None else "db:", f.object or "", text)
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.sha256("\0".join((*key, str(occurrence))).encode("utf-8"))
        out.append(replace(f, fingerprint=digest.hexdigest()[:32]))
    return out


def write_baseline(path: Path, findings: list[Finding]) -> None:
    entries = [{"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path,
                "object": f.object} for f in findings]
    payload = {"version": BASELINE_VERSION, "findings": entries}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_baseline(path: Path) -> Counter[str]:
    """Fingerprints of a baseline file, with multiplicity."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("version") != BASELINE_VERSION:
            raise ValueError(f"unsupported baseline version {payload.get('version')!r}")
        return Counter(str(e["fingerprint"]) for e in payload["findings"])
    except FileNotFoundError:
        raise ConfigError("baseline file not found (create it with 'gatecheck baseline')",
                          path=str(path)) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"not a gatecheck baseline file: {exc}", path=str(path)) from None


def apply_baseline(findings: list[Finding], baseline: Counter[str]) -> tuple[list[Finding], int]:
    """(findings not in the baseline, baseline entries that no longer occur)."""
    remaining = Counter(baseline)
    kept = []
    for f in findings:
        if remaining[f.fingerprint] > 0:
            remaining[f.fingerprint] -= 1
        else:
            kept.append(f)
    return kept, sum(remaining.values())
