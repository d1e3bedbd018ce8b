"""Inline suppressions and baselines: findings a team has decided to accept.

Inline: a comment on the finding's line, ``# gatecheck: ignore[rule-id]`` in
Python or ``-- gatecheck: ignore[rule-id]`` in SQL (also inside a Python SQL
string, where a ``#`` comment cannot go); several ids comma-separated; a bare
``gatecheck: ignore`` suppresses every rule on that line.
``gatecheck: ignore-file[rule-id]`` anywhere in a file suppresses the rule in
the whole file.  Schema findings have no line: a rule's ``ignore:`` list of
object globs suppresses them.

Baseline: a JSON file of finding fingerprints (`fingerprint`), written by
``gatecheck baseline``; ``run --baseline`` reports only findings whose
fingerprint is not in it, and counts the entries that no longer occur among
the files and rules the run checked (`Baseline`).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple

from gatecheck.errors import ConfigError
from gatecheck.findings import Finding

#: ``ignore`` (this line) or ``ignore-file`` (the whole file), then an optional
#: ``[id, ...]``; ``ignore-files`` or ``ignore-foo`` is not a suppression.
_MARKER = re.compile(r"(?:#|--)\s*gatecheck:\s*ignore(-file)?(?![\w-])(?:\[([^\]]*)\])?",
                     re.IGNORECASE)
#: 2: entries name files relative to the git work tree's root, as reports do
#: (1: relative to the rules file's directory; still read).
BASELINE_VERSION = 2


class Suppression(NamedTuple):
    path: str
    line: int
    column: int
    rules: frozenset[str]  # empty: every rule
    #: ``gatecheck: ignore-file[...]``: every line of the file.
    whole_file: bool = False


def suppressions(path: str, text: str) -> list[Suppression]:
    """Every suppression comment of one file, cheaply (a substring test first)."""
    if "gatecheck" not in text:
        return []
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for match in _MARKER.finditer(line):
            ids = match.group(2)
            rules = frozenset(i.strip() for i in ids.split(",") if i.strip()) if ids else \
                frozenset()
            out.append(Suppression(path, lineno, match.start() + 1, rules,
                                   whole_file=match.group(1) is not None))
    return out


def apply_inline(findings: list[Finding], marks: Iterable[Suppression]
                 ) -> tuple[list[Finding], list[Suppression]]:
    """(findings not suppressed, suppressions that suppressed nothing)."""
    by_line: dict[tuple[str, int], list[Suppression]] = {}
    by_file: dict[str, list[Suppression]] = {}
    every: list[Suppression] = []
    for mark in marks:
        every.append(mark)
        if mark.whole_file:
            by_file.setdefault(mark.path, []).append(mark)
        else:
            by_line.setdefault((mark.path, mark.line), []).append(mark)
    used: set[Suppression] = set()
    kept = []
    for f in findings:
        hit = None
        if f.path is not None and f.line is not None:
            hit = next((m for m in (*by_line.get((f.path, f.line), ()),
                                    *by_file.get(f.path, ()))
                        if not m.rules or f.rule in m.rules), None)
        if hit is None:
            kept.append(f)
        else:
            used.add(hit)
    unused = [m for m in every if m not in used]
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
    lines: dict[tuple[str, int], str] = {}  # many findings share a line
    out = []
    for f in findings:
        text = ""
        if f.path is not None and f.line is not None:
            known = lines.get((f.path, f.line))
            if known is None:
                # A suppression comment added later for another rule must not
                # turn a baselined finding into a new one.
                known = lines[f.path, f.line] = " ".join(
                    _MARKER.sub("", line_text(f.path, f.line)).split())
            text = known
        key = (f.rule, f.path if f.path is not None else f"{f.where.split(':')[0]}:",
               f.object or "", text)
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.sha256("\0".join((*key, str(occurrence))).encode("utf-8"))
        out.append(replace(f, fingerprint=digest.hexdigest()[:32]))
    return out


class BaselineEntry(NamedTuple):
    fingerprint: str
    rule: str
    #: The finding's file (None: a schema finding), relative to the git work
    #: tree's root in version 2 files, to the rules file's directory in version 1.
    path: str | None


@dataclass(frozen=True)
class Baseline:
    """The findings a team has accepted, as read from a baseline file."""

    entries: tuple[BaselineEntry, ...]
    version: int = BASELINE_VERSION

    def matches(self, entry: BaselineEntry, finding: Finding) -> bool:
        """Whether ``entry`` records ``finding`` (whose fingerprint is already equal).

        The fingerprint hashes the path relative to the rules file; the path
        tells apart two rules files of one repository that both have
        ``app/db.py``.  A version 1 entry's path is relative to its rules file.
        """
        if entry.path is None or finding.path is None:
            return entry.path == finding.path
        if self.version < 2:
            return finding.path == entry.path or finding.path.endswith("/" + entry.path)
        return finding.path == entry.path


def write_baseline(path: Path, findings: list[Finding]) -> None:
    """Record ``findings``, whose paths are relative to the git work tree's root."""
    entries = [{"fingerprint": f.fingerprint, "rule": f.rule, "path": f.path,
                "object": f.object} for f in findings]
    payload = {"version": BASELINE_VERSION, "findings": entries}
    import json  # a baseline is rare: not at start-up

    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_baseline(path: Path, *, shown: str | None = None) -> Baseline:
    """A baseline file; ``shown``: how errors name it (default: ``path``)."""
    where = shown if shown is not None else str(path)
    import json  # a baseline is rare: not at start-up

    try:
        payload: Any = json.loads(path.read_text(encoding="utf-8"))
        version = payload.get("version")
        if version not in (1, BASELINE_VERSION):
            raise ValueError(f"unsupported baseline version {version!r}")
        entries = tuple(
            BaselineEntry(str(e["fingerprint"]), str(e.get("rule", "")),
                          None if e.get("path") is None else str(e["path"]))
            for e in payload["findings"])
        return Baseline(entries, version)
    except FileNotFoundError:
        raise ConfigError("baseline file not found (create it with 'gatecheck baseline')",
                          path=where) from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"not a gatecheck baseline file: {exc}", path=where) from None


def apply_baseline(findings: list[Finding], baseline: Baseline,
                   counts: Callable[[BaselineEntry], bool] = lambda entry: True
                   ) -> tuple[list[Finding], int]:
    """(findings not in the baseline, entries that no longer occur).

    ``counts`` says whether an entry that matched nothing counts as fixed:
    one of a file or a rule the run did not check does not.
    """
    remaining: dict[str, list[BaselineEntry]] = {}
    for entry in baseline.entries:
        remaining.setdefault(entry.fingerprint, []).append(entry)
    kept = []
    for f in findings:
        candidates = remaining.get(f.fingerprint, [])
        hit = next((i for i, e in enumerate(candidates) if baseline.matches(e, f)), None)
        if hit is None:
            kept.append(f)
        else:
            del candidates[hit]
    fixed = sum(1 for entries in remaining.values() for e in entries if counts(e))
    return kept, fixed
