"""The README's "Use in CI" snippets, read from the README and run for real.

Only what cannot work offline is substituted: the pre-commit ``repo:``/``rev:``
point at a snapshot of this checkout, and the action's ``uses:`` line is
checked to name this repository's action.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml

from conftest import PRE_COMMIT, REPO, commit, git, new_repo, write_tree
from test_ci_files import check_jsonschema, run_action
from test_precommit import BAD, GOOD, RULES


def snippet(name: str) -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- snippet:{name} -->\n```yaml\n(.*?)```", readme, re.DOTALL)
    assert match, f"README has no '{name}' snippet"
    return match.group(1)


def test_pre_commit_snippet(tmp_path: Path, env: dict[str, str],
                            hook_repo: tuple[str, str]) -> None:
    config = yaml.safe_load(snippet("pre-commit"))
    [repo_entry] = config["repos"]
    assert [h["id"] for h in repo_entry["hooks"]] == ["gatecheck"]
    path, rev = hook_repo
    text = snippet("pre-commit")
    text = text.replace(repo_entry["repo"], path).replace(f"rev: {repo_entry['rev']}",
                                                          f"rev: {rev}")
    repo = new_repo(tmp_path / "project", env)
    write_tree(repo, {".pre-commit-config.yaml": text, "rules.yaml": RULES,
                      "app/store.py": BAD})
    subprocess.run([PRE_COMMIT, "install"], cwd=repo, env=env, check=True,
                   capture_output=True, timeout=60)
    git("add", "-A", cwd=repo, env=env)
    blocked = commit(repo, env)
    assert blocked.returncode == 1
    assert "app/store.py:3:22: no-task-sessions" in blocked.stdout + blocked.stderr
    (repo / "app" / "store.py").write_text(GOOD, encoding="utf-8")
    git("add", "-A", cwd=repo, env=env)
    assert commit(repo, env).returncode == 0


def test_github_actions_snippet(tmp_path: Path) -> None:
    text = snippet("github-actions")
    workflow = tmp_path / "gatecheck.yml"
    workflow.write_text(text, encoding="utf-8")
    check_jsonschema("vendor.github-workflows", workflow)
    steps = yaml.safe_load(text)["jobs"]["gatecheck"]["steps"]
    [gate] = [s for s in steps if s.get("uses", "").split("@")[0].endswith("/gatecheck")]
    upload = next(s for s in steps if s.get("uses", "").startswith("github/codeql-action/"))
    assert upload["with"]["sarif_file"] == gate["with"]["sarif-file"]
    # Every input the snippet passes exists in action.yml ...
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert set(gate["with"]) <= set(action["inputs"])
    # ... and the action's step, run with exactly those inputs on a project,
    # reports the violation and writes the SARIF file the upload step reads.
    project = tmp_path / "project"
    write_tree(project, {"rules.yaml": RULES, "app/store.py": BAD})
    inputs = {k: str(v) for k, v in gate["with"].items()}
    inputs["sarif-file"] = str(project / inputs["sarif-file"])
    inputs["config"] = str(project / inputs["config"])
    proc = run_action(tmp_path, **inputs)
    assert proc.returncode == 1, proc.stderr
    assert "::error file=app/store.py,line=3,col=22" in proc.stdout
    sarif = json.loads(Path(inputs["sarif-file"]).read_text(encoding="utf-8"))
    assert len(sarif["runs"][0]["results"]) == 1
