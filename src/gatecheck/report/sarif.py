"""SARIF 2.1.0: one run, every configured rule in ``tool.driver.rules``.

Code scanning (GitHub, GitLab, Azure DevOps) reads this.  Source findings get
a physical location; schema findings get a logical location naming the
database object.  ``partialFingerprints`` let a viewer follow a finding
across commits, and nothing in the output depends on time or machine.

As GitHub reads it: a rule's ``name`` is its id (the alert filter), its
``shortDescription`` the rule's ``message:`` (else the kind's summary),
``helpUri`` the kind's page in this repository's docs, and ``properties``
carry ``tags``, ``precision`` and ``problem.severity``.  Every region has an
end line and column.  ``primaryLocationLineHash`` is left to the uploader:
``github/codeql-action/upload-sarif`` computes it from the checked-out file
for every result with a line (its ``fingerprints.ts``), with a rolling hash
over the file's text that a reporter, which sees findings and not files,
could only imitate; ``partialFingerprints["gatecheck/v1"]`` is gatecheck's
own identity (rule, file or object, line text), the one baselines use.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gatecheck import __version__
from gatecheck.engine import REPLAY_RULE, UNKNOWN_IGNORE_RULE, UNUSED_IGNORE_RULE, RunResult
from gatecheck.errors import GatecheckError
from gatecheck.findings import Finding, Severity
from gatecheck.kinds import doc_sections
from gatecheck.report import RuleInfo, help_uri, rule_catalogue, with_help

if TYPE_CHECKING:
    from gatecheck.config import Origin

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
FINGERPRINT_KEY = "gatecheck/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
SRCROOT = "%SRCROOT%"

#: Rules the engine itself reports, which no kind docstring describes.
_BUILTIN_DOCS = {
    REPLAY_RULE: "Every migration file replays cleanly into a scratch database.",
    UNUSED_IGNORE_RULE: "Every suppression comment suppresses a finding.",
    UNKNOWN_IGNORE_RULE: "Every suppression comment names a rule the rules file declares.",
}
#: What %SRCROOT% stands for.  No absolute URI: the output does not depend on
#: the machine, and code scanning resolves paths against the repository anyway.
_SRCROOT_DOC = ("The root of the git work tree gatecheck checked (outside git: the "
                "directory holding the rules file); every relative path is relative to it.")
#: An RST-style ``literal`` (but not a ``` code fence).
_LITERAL = re.compile(r"(?<!`)``([^`]+)``(?!`)")


def render(result: RunResult) -> str:
    catalogue = rule_catalogue(result)
    index = {rule.id: i for i, rule in enumerate(catalogue)}
    origins = {rule.id: rule.origin for rule in catalogue}
    # Fingerprints come from the engine (suppress.fingerprint_all), the same
    # identity baselines use: rule, path/object and line text, not line number.
    results = [_result(f, index[f.rule], origins[f.rule], f.fingerprint, result.lines)
               for f in result.findings]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "gatecheck",
            "version": __version__,
            "rules": [_descriptor(rule) for rule in catalogue],
        }},
        "invocations": [_invocation(result.errors)],
        # Finding columns count code points (positions.py), not UTF-16 units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if f'"uriBaseId": "{SRCROOT}"' in json.dumps(run):
        run["originalUriBaseIds"] = {SRCROOT: {"description": {"text": _SRCROOT_DOC}}}
    doc = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------- rules


#: GitHub's ``problem.severity``: how a result is ranked and filtered.
PROBLEM_SEVERITY = {Severity.ERROR: "error", Severity.WARNING: "warning",
                    Severity.INFO: "recommendation"}


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    summary, sections = _kind_doc(rule.kind)
    what = sections.get("What it does", summary)
    descriptor: dict[str, Any] = {
        "id": rule.id,
        # GitHub lists and filters alerts by the rule's name: the gate's id.
        "name": rule.id,
        "shortDescription": {"text": rule.message or summary},
        "fullDescription": {"text": _plain(what)},
        "helpUri": help_uri(rule.kind),
        "help": {"text": _help_text(summary, sections),
                 "markdown": _help_markdown(summary, sections)},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"kind": rule.kind, "tags": _tags(rule.kind),
                       "precision": _precision(rule.kind),
                       "problem.severity": PROBLEM_SEVERITY[rule.severity]},
    }
    if rule.origin is not None:
        descriptor["properties"]["origin"] = str(rule.origin)
    return descriptor


def _needs(kind: str) -> frozenset[str]:
    from gatecheck.kinds.registry import KINDS

    module = KINDS.get(kind)
    return frozenset(module.NEEDS) if module is not None else frozenset()


def _tags(kind: str) -> list[str]:
    """``gatecheck``, the kind, and what it reads: ``schema``, ``data``, ``sql`` (sources),
    ``calls``; the engine's own rules are about ``migrations`` or ``suppressions``."""
    from gatecheck.kinds import CALLS, DATA, SCHEMA, SOURCES

    needs = _needs(kind)
    reads = [tag for need, tag in ((SCHEMA, "schema"), (DATA, "data"), (SOURCES, "sql"),
                                   (CALLS, "calls")) if need in needs]
    if not needs:
        reads = ["migrations" if kind == REPLAY_RULE else "suppressions"]
    return ["gatecheck", kind, *reads]


def _precision(kind: str) -> str:
    """GitHub's ``precision``: a rule that reads the database's catalog or rows, or
    the engine's own verdict, is very high; one that reads SQL in source files
    (located by a parser, not run) is high."""
    from gatecheck.kinds import CALLS, SOURCES

    return "high" if _needs(kind) & {SOURCES, CALLS} else "very-high"


def _kind_doc(kind: str) -> tuple[str, dict[str, str]]:
    """(first line, {section heading: body}) of a kind's docstring."""
    from gatecheck.kinds.registry import KINDS

    module = KINDS.get(kind)
    doc = (module.__doc__ if module is not None else None) or _BUILTIN_DOCS.get(kind) or kind
    return doc_sections(doc)


def _plain(text: str) -> str:
    """Docstring prose as one-line-per-paragraph text, ``code`` as `code`."""
    paragraphs = re.split(r"\n\s*\n", _markdown(text))
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def _markdown(text: str) -> str:
    return _LITERAL.sub(r"`\1`", text)


def _help_text(summary: str, sections: dict[str, str]) -> str:
    parts = [summary] + [f"{head}\n{_markdown(body)}" for head, body in sections.items()]
    return "\n\n".join(parts)


def _help_markdown(summary: str, sections: dict[str, str]) -> str:
    parts = [summary] + [f"### {head}\n\n{_markdown(body)}"
                         for head, body in sections.items()]
    return "\n\n".join(parts)


# ---------------------------------------------------------------- results


def _result(f: Finding, rule_index: int, origin: "Origin | None",
            fingerprint: str, lines: dict[str, dict[int, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": with_help(f)},
    }
    if f.path is not None:
        out["locations"] = [{"physicalLocation": {
            "artifactLocation": _artifact(f.path),
            "region": _region(f.line, f.column, f.end_line, f.end_column),
        }}]
    else:
        location: dict[str, Any] = {}
        # Code scanning drops results without a physical location, and a
        # schema finding has no line in the code.  The closest line a reader
        # can act on is where the gate is declared in the rules file: it holds
        # the rule's message and its `ignore:` list.  The database object
        # itself is the logical location.
        if origin is not None:
            # The region ends where the declaration's first line does (``- id: x``).
            declared = lines.get(origin.path, {}).get(origin.line, "").rstrip()
            end = max(len(declared), origin.column)
            location["physicalLocation"] = {
                "artifactLocation": _artifact(origin.path),
                "region": _region(origin.line, origin.column, origin.line, end),
            }
        if f.object is not None:
            location["logicalLocations"] = [{
                "name": f.object, "fullyQualifiedName": f.where,
                "kind": "column" if "." in f.object else "table",
            }]
        if location:
            out["locations"] = [location]
    out["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint}
    properties: dict[str, Any] = {"kind": f.kind}
    if f.object is not None:
        properties["object"] = f.object
    properties.update(f.extra)
    out["properties"] = properties
    return out


def _artifact(path: str) -> dict[str, Any]:
    """An artifact location: relative paths against %SRCROOT%, others as file URIs."""
    posix = PurePosixPath(path)
    if posix.is_absolute():
        return {"uri": posix.as_uri()}
    return {"uri": quote(path, safe="/"), "uriBaseId": SRCROOT}


def _region(line: int | None, column: int | None, end_line: int | None,
            end_column: int | None) -> dict[str, int]:
    region: dict[str, int] = {"startLine": line or 1}
    if column is not None:
        region["startColumn"] = column
    if end_line is not None:
        region["endLine"] = end_line
    if end_column is not None:
        # Finding.end_column is the last character (inclusive); SARIF's
        # endColumn is the column after it.
        region["endColumn"] = end_column + 1
    return region


def _invocation(errors: list[GatecheckError]) -> dict[str, Any]:
    notifications = []
    for error in errors:
        note: dict[str, Any] = {
            "level": "error",
            "message": {"text": error.message},
            "descriptor": {"id": _kebab(type(error).__name__)},
        }
        if error.path is not None:
            physical: dict[str, Any] = {"artifactLocation": _artifact(error.path)}
            if error.line is not None:
                # A point: the error names where, not how far.
                physical["region"] = _region(error.line, error.column, error.line,
                                             error.column)
            note["locations"] = [{"physicalLocation": physical}]
        notifications.append(note)
    invocation: dict[str, Any] = {"executionSuccessful": not errors}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
