"""Machine output: the JSON object of the contract in SPEC.md, key order fixed."""

from __future__ import annotations

import json

from gatecheck.engine import RunResult


def render(result: RunResult) -> str:
    payload = {
        "version": 1,
        "findings": [f.to_json() for f in result.findings],
        "summary": result.summary(),
        "errors": [{"path": e.path, "line": e.line, "column": e.column, "message": e.message}
                   for e in result.errors],
        "not_checked": [u.to_json() for u in result.unchecked],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
