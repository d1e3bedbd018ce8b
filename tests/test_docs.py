"""docs/rules.md is generated from the kinds' docstrings and must stay current."""

from __future__ import annotations

import os

from conftest import REPO
from gatecheck.kinds.registry import KINDS

HEADER = """\
# Rule kinds

Generated from the kinds' docstrings (the text `gatecheck explain KIND` prints);
`GATECHECK_REGEN=1 pytest tests/test_docs.py` rewrites it.

"""


def render() -> str:
    parts = [HEADER, "| kind | checks |\n|---|---|\n"]
    parts += [f"| [`{k}`](#{k}) | {(KINDS[k].__doc__ or '').strip().splitlines()[0]} |\n"
              for k in sorted(KINDS)]
    for kind in sorted(KINDS):
        doc = (KINDS[kind].__doc__ or "").strip()
        title, _, body = doc.partition("\n")
        parts.append(f"\n## {kind}\n\n{title}\n{body}\n")
    return "".join(parts)


def test_rules_doc_is_current() -> None:
    path = REPO / "docs" / "rules.md"
    if os.environ.get("GATECHECK_REGEN"):
        path.write_text(render(), encoding="utf-8")
    assert path.read_text(encoding="utf-8") == render(), \
        "docs/rules.md is stale: GATECHECK_REGEN=1 pytest tests/test_docs.py"
