"""Every fixture case under tests/kinds/<kind>/<case>/ is a real run.

A case holds ``rules.yaml``, optionally ``schema.sql`` (built into a real
SQLite file ``app.db``) and ``src/``, and ``expected.json``: the exact
``findings`` list that ``gatecheck run --format json`` must print.  An
optional ``args`` file holds more flags for that run (``--show-data``: the
data cases hide database values without it, so each has a ``-show-data``
twin showing them).  A case with a ``base/`` directory runs in a real git
repository: ``base/`` is its first commit (branch ``base``), the rest of the
case its work tree.  A case with ``postgres.sql`` runs against a fresh database
on the test PostgreSQL server (tests/pgserver.py) that the script has set up,
named ``${GATECHECK_CASE_PG_URL}`` in its rules file.  Set
GATECHECK_REGEN=1 to rewrite expected.json after a deliberate change, then
review the diff line by line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import copy_case, gatecheck, git, new_repo
from gatecheck.kinds.registry import KINDS

CASES = sorted(p for p in (Path(__file__).parent / "kinds").glob("*/*") if p.is_dir())


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_case(case: Path, tmp_path: Path, env: dict[str, str],
              request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if (case / "postgres.sql").exists():
        monkeypatch.setenv("GATECHECK_CASE_PG_URL", _postgres_case(case, request))
    work = copy_case(case, tmp_path / "case")
    if (case / "base").is_dir():
        work = _with_base(case, work, tmp_path / "repo", env)
    args_file = case / "args"
    args = args_file.read_text(encoding="utf-8").split() if args_file.exists() else []
    run = gatecheck("run", "--format", "json", *args, cwd=work)
    assert run.stderr == ""
    findings = run.json["findings"]
    expected_file = case / "expected.json"
    if os.environ.get("GATECHECK_REGEN"):
        expected_file.write_text(json.dumps(findings, indent=2) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert findings == expected
    assert run.exit_code == (1 if expected else 0)
    if case.name.startswith("silent"):
        assert expected == [], "a silent case must not fire"
    else:
        assert expected, "a firing case must fire"
    # Every source finding points at the reported name in the file itself.
    for f in findings:
        if f["path"] and f["kind"] == "forbid-table-references":
            line = (work / f["path"]).read_text(encoding="utf-8").splitlines()[f["line"] - 1]
            token = line[f["column"] - 1:f["end_column"]]
            assert token.strip('"`[]').casefold() == f["object"].casefold()


def _postgres_case(case: Path, request: pytest.FixtureRequest) -> str:
    """A scratch database on the test server, set up by the case's ``postgres.sql``."""
    from pgserver import require_pg_stat_statements, run_sql, scratch_database

    database = scratch_database("gck")
    url = database.__enter__()
    request.addfinalizer(lambda: database.__exit__(None, None, None))
    if "pg_stat_statements" in (case / "postgres.sql").read_text(encoding="utf-8"):
        require_pg_stat_statements(url)
    run_sql(url, (case / "postgres.sql").read_text(encoding="utf-8"))
    return url


def _with_base(case: Path, work: Path, repo: Path, env: dict[str, str]) -> Path:
    """A git repository whose branch ``base`` holds ``case/base`` and whose work tree
    holds the rest of the case (as copied to ``work``)."""
    import shutil

    new_repo(repo, env)
    shutil.copytree(case / "base", repo, dirs_exist_ok=True)
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-qm", "base", cwd=repo, env=env)
    git("branch", "base", cwd=repo, env=env)
    for item in repo.iterdir():
        if item.name != ".git":
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    shutil.rmtree(work / "base")
    shutil.copytree(work, repo, dirs_exist_ok=True)
    return repo


def test_every_kind_has_a_firing_and_a_silent_case() -> None:
    covered = {p.parent.name for p in CASES}
    for kind in KINDS:
        assert kind in covered, f"no fixture cases for {kind}"
        names = {p.name for p in CASES if p.parent.name == kind}
        assert any(n.startswith("fires") for n in names) and \
            any(n.startswith("silent") for n in names), kind
