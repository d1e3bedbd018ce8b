"""``gatecheck merge``: the JSON or SARIF reports of ``--shard I/N`` runs as one run's report.

A CI matrix splits a repository with ``gatecheck run --shard I/N``: each job
checks the files whose path hashes to its shard, and only shard 1 runs the
rules about the whole repository (schema, data, the migrations replay).
Every shard describes every configured rule.  Merging the shards' reports
gives the report one run over every file would have given: findings (and
SARIF results) in the engine's order, counts summed, the errors and
not-checked references of all shards, each error once.

Both inputs are what gatecheck itself wrote, in one format; SARIF results
keep their fingerprints, and a rule's ``ruleIndex`` is renumbered against
the merged ``tool.driver.rules``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from gatecheck.errors import GatecheckError

#: Rules the engine reports itself (`gatecheck.engine.ENGINE_RULES`): a report
#: lists them after the configured rules, sorted, when a finding names them.
_ENGINE_RULES = frozenset({"migrations-replay", "unused-ignore", "unknown-rule-in-ignore"})


def merge(texts: list[tuple[str, str]]) -> str:
    """The merged report of ``texts`` ((name, content) of each shard's report, all
    JSON or all SARIF); `GatecheckError` when they are not gatecheck reports of one
    format."""
    docs = []
    for name, text in texts:
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise GatecheckError(f"{name}: not a JSON or SARIF report ({exc})") from None
        docs.append((name, doc))
    kinds = {_format(name, doc) for name, doc in docs}
    if len(kinds) != 1:
        raise GatecheckError("merge: the reports are not all of one format (JSON or SARIF)")
    merged = merge_sarif([d for _, d in docs]) if kinds == {"sarif"} else \
        merge_json([d for _, d in docs])
    return json.dumps(merged, indent=2, ensure_ascii=False) + "\n"


def _format(name: str, doc: Any) -> str:
    if isinstance(doc, dict) and doc.get("version") == "2.1.0" and isinstance(doc.get("runs"), list):
        if len(doc["runs"]) != 1 or \
                doc["runs"][0].get("tool", {}).get("driver", {}).get("name") != "gatecheck":
            raise GatecheckError(f"{name}: not a SARIF report of one gatecheck run")
        return "sarif"
    if isinstance(doc, dict) and doc.get("version") == 1 and isinstance(doc.get("findings"), list):
        return "json"
    raise GatecheckError(f"{name}: not a gatecheck JSON or SARIF report")


# ---------------------------------------------------------------- JSON


def _finding_key(f: dict[str, Any]) -> tuple[Any, ...]:
    """`gatecheck.findings.Finding.sort_key` of a JSON finding."""
    return (f.get("path") or "", f.get("line") or 0, f.get("column") or 0, f.get("rule") or "",
            f.get("database") or "", f.get("object") or "", f.get("message") or "")


def _once(items: list[Any]) -> list[Any]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def merge_json(docs: list[dict[str, Any]]) -> dict[str, Any]:
    findings = sorted((f for d in docs for f in d["findings"]), key=_finding_key)
    errors = sorted(_once([e for d in docs for e in d.get("errors", [])]),
                    key=lambda e: (e.get("path") or "", e.get("line") or 0,
                                   e.get("message") or ""))
    unchecked = sorted((u for d in docs for u in d.get("not_checked", [])),
                       key=lambda u: (u["path"], u["line"], u["column"], u["rule"], u["name"]))
    summary = dict(docs[0].get("summary", {}))
    for key in ("files", "fragments"):
        summary[key] = sum(d.get("summary", {}).get(key, 0) for d in docs)
    for key in ("rules", "rules_not_run"):
        if key in summary:
            summary[key] = max(d.get("summary", {}).get(key, 0) for d in docs)
    for key, severity in (("errors", "error"), ("warnings", "warning"), ("infos", "info")):
        if key in summary:
            summary[key] = sum(1 for f in findings if f.get("severity") == severity)
    if "not_checked" in summary:
        summary["not_checked"] = len(unchecked)
    out = dict(docs[0])
    out.update(findings=findings, summary=summary, errors=errors, not_checked=unchecked)
    return out


# ---------------------------------------------------------------- SARIF


def _result_key(r: dict[str, Any]) -> tuple[Any, ...]:
    """The engine's order of a SARIF result: schema findings (a logical location,
    or none) first, then by file, line, column, rule, database, object, message."""
    props = r.get("properties", {})
    rest = (r.get("ruleId") or "", props.get("database") or "", props.get("object") or "",
            r.get("message", {}).get("text") or "")
    locations = r.get("locations") or [{}]
    location = locations[0]
    physical = location.get("physicalLocation")
    if physical is None or "logicalLocations" in location:
        return ("", 0, 0, *rest)
    uri = physical.get("artifactLocation", {}).get("uri", "")
    path = unquote(uri.removeprefix("file://")) if uri.startswith("file://") else unquote(uri)
    region = physical.get("region", {})
    return (path, region.get("startLine", 0), region.get("startColumn", 0), *rest)


def merge_sarif(docs: list[dict[str, Any]]) -> dict[str, Any]:
    runs = [d["runs"][0] for d in docs]
    configured: dict[str, Any] = {}
    engine: dict[str, Any] = {}
    for run in runs:
        for rule in run["tool"]["driver"].get("rules", []):
            (engine if rule["id"] in _ENGINE_RULES else configured).setdefault(rule["id"], rule)
    rules = list(configured.values()) + [engine[k] for k in sorted(engine)]
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for run in runs:
        for result in run.get("results", []):
            result = dict(result)
            if "ruleIndex" in result:
                result["ruleIndex"] = index[result["ruleId"]]
            results.append(result)
    results.sort(key=_result_key)
    notes = _once([n for run in runs for inv in run.get("invocations", [])
                   for n in inv.get("toolExecutionNotifications", [])])
    invocation: dict[str, Any] = {"executionSuccessful": all(
        inv.get("executionSuccessful", True) for run in runs for inv in run.get("invocations", []))}
    if notes:
        invocation["toolExecutionNotifications"] = notes
    merged = dict(runs[0])
    merged["tool"] = {**runs[0]["tool"], "driver": {**runs[0]["tool"]["driver"], "rules": rules}}
    merged["invocations"] = [invocation]
    merged["results"] = results
    bases = next((run["originalUriBaseIds"] for run in runs if "originalUriBaseIds" in run), None)
    merged.pop("originalUriBaseIds", None)
    if bases is not None:
        merged["originalUriBaseIds"] = bases
    return {**docs[0], "runs": [merged]}
