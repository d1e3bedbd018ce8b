"""Precision and recall of forbid-table-references on a generated corpus.

The corpus generator (bench/gen_corpus.py) plants real references in
every Python shape and in .sql migrations, plus decoys (comments, docstrings,
log and UI strings, longer identifiers, JSON keys, sqlite_master literals).
Scoring is strict: a finding counts only on the exact line of the table name.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, gatecheck

BENCH = REPO / "bench"

RULES = """\
version: 1
dialect: sqlite
sources: {include: ["**/*.py", "**/*.sql"]}
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gen = BENCH / "gen_corpus.py"
    assert gen.exists(), f"benchmark generator missing: {gen}"
    out = tmp_path_factory.mktemp("corpus")
    subprocess.run([sys.executable, str(gen), "--out", str(out), "--modules", "200",
                    "--sql-files", "20", "--db-tables", "0", "--seed", "7"],
                   check=True, capture_output=True)
    (out / "rules.yaml").write_text(RULES)
    return out


def score(corpus: Path) -> dict[str, float]:
    run = gatecheck("run", "--format", "json", cwd=corpus)
    assert run.exit_code == 1, run.stderr
    assert run.stderr == ""
    proc = subprocess.run(
        [sys.executable, str(BENCH / "score.py"), str(corpus / "ground_truth.json"),
         "gatecheck", "no-task-sessions"], input=run.stdout, capture_output=True, text=True,
        check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_precision_and_recall_are_exact(corpus: Path) -> None:
    result = score(corpus)
    gt = json.loads((corpus / "ground_truth.json").read_text())
    kinds = {g["kind"] for g in gt}
    assert {"py-sql", "sql-file", "py-indirect"} <= kinds, "corpus must cover every kind"
    assert result["precision"] == 1.0, result
    assert result["recall_direct"] == 1.0, result
    # Constants interpolated into f-strings are resolved too.
    assert result["missed_by_kind"].get("py-indirect", 0) == 0, result
    print(f"\ncorpus: {result}")


def test_references_exist_precision_and_recall(tmp_path: Path) -> None:
    """bench/refs_corpus.py: mutated tables and columns at exact positions."""
    sys.path.insert(0, str(BENCH))
    try:
        import refs_corpus
    finally:
        sys.path.pop(0)
    stats = refs_corpus.build(tmp_path, queries=600, seed=3)
    assert stats["truth"] > 150
    result = refs_corpus.score(tmp_path, str(Path(sys.executable).parent / "gatecheck"))
    assert result["false_positives"] == [] and result["missed"] == [], result
    assert result["precision"] == 1.0 and result["recall"] == 1.0
