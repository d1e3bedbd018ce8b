"""The README's "Use in CI" snippets, read from the README and run for real.

Only what cannot work offline is substituted: the pre-commit ``repo:``/``rev:``
point at a snapshot of this checkout, and the action's ``uses:`` line is
checked to name this repository's action.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


def test_the_first_command_prints_what_the_readme_shows(tmp_path: Path) -> None:
    """The README's first command, on a copy of the example: the same findings, to the byte."""
    import shutil
    import sys

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"The first prints the example's findings.*?\n```\n(.*?)```", readme,
                      re.DOTALL)
    assert match, "README has no output block after its two commands"
    for name in ("rules.yaml", "gates", "examples"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name,
                            ignore=shutil.ignore_patterns("*.db", "__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    subprocess.run([sys.executable, "examples/agentos/build_db.py"], cwd=tmp_path, check=True,
                   capture_output=True)
    gatecheck_exe = Path(sys.executable).parent / "gatecheck"
    proc = subprocess.run([str(gatecheck_exe), "run", "--no-cache"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == match.group(1)


def hook_config(name: str, hook_repo: tuple[str, str]) -> str:
    """A pre-commit snippet of the README, pointed at this checkout's snapshot."""
    text = snippet(name)
    [repo_entry] = yaml.safe_load(text)["repos"]
    path, rev = hook_repo
    return text.replace(repo_entry["repo"], path).replace(f"rev: {repo_entry['rev']}",
                                                          f"rev: {rev}")


def test_pre_commit_postgres_snippet(tmp_path: Path, env: dict[str, str],
                                     hook_repo: tuple[str, str]) -> None:
    """The hook with the driver (the postgres extra) checks a real PostgreSQL database."""
    from pgserver import run_sql, scratch_database

    repo = new_repo(tmp_path / "project", env)
    rules = ("version: 1\ndatabase: ${DATABASE_URL}\ndialect: postgres\nrules:\n"
             "  - {id: no-webui, kind: forbid-tables, pattern: \"webui_*\"}\n"
             "  - {id: refs, kind: references-exist}\n")
    write_tree(repo, {".pre-commit-config.yaml": hook_config("pre-commit-postgres", hook_repo),
                      "rules.yaml": rules,
                      "app/store.py": 'SQL = "SELECT id FROM chat_sessions"\n'})
    with scratch_database() as url:
        run_sql(url, "CREATE TABLE chat_sessions (id int); CREATE TABLE webui_chats (id int);")
        git("add", "-A", cwd=repo, env=env)
        proc = subprocess.run([PRE_COMMIT, "run", "gatecheck"], cwd=repo,
                              env={**env, "DATABASE_URL": url}, capture_output=True,
                              text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert "db:webui_chats: no-webui table webui_chats matches forbidden pattern" in output
    assert "Found 1 error (2 rules, 1 file, 1 SQL fragment)" in output  # refs ran, passed


def test_monorepo_snippets_with_a_baseline(tmp_path: Path, env: dict[str, str],
                                           hook_repo: tuple[str, str]) -> None:
    """The README's monorepo: its backend/rules.yaml, the plain hook, a baseline written
    by 'gatecheck baseline backend'.  Old findings pass, a new one blocks the commit,
    files outside the projects never do."""
    rules = snippet("monorepo-rules")
    assert rules.startswith("# backend/rules.yaml\n")
    repo = new_repo(tmp_path / "project", env)
    write_tree(repo, {".pre-commit-config.yaml": hook_config("pre-commit", hook_repo),
                      "backend/rules.yaml": rules,
                      "backend/migrations/001_sessions.sql":
                          "CREATE TABLE chat_sessions (session_id TEXT);\n",
                      "backend/app/legacy.py": BAD, "scripts/one_off.py": BAD})
    gatecheck_exe = Path(sys.executable).parent / "gatecheck"
    made = subprocess.run([str(gatecheck_exe), "baseline", "backend"], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert made.stderr == "gatecheck: wrote 2 finding(s) to backend/.gatecheck-baseline.json\n"
    subprocess.run([PRE_COMMIT, "install"], cwd=repo, env=env, check=True,
                   capture_output=True, timeout=60)
    git("add", "-A", cwd=repo, env=env)
    first = commit(repo, env)
    assert first.returncode == 0, first.stdout + first.stderr

    write_tree(repo, {"backend/app/store.py": BAD, "scripts/other.py": BAD})
    git("add", "-A", cwd=repo, env=env)
    blocked = commit(repo, env)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode == 1, output
    assert "backend/app/store.py:3:22: no-task-sessions" in output
    assert "backend/app/legacy.py" not in output and "scripts/" not in output.split(
        "not checked:")[0]
    (repo / "backend" / "app" / "store.py").write_text(GOOD, encoding="utf-8")
    git("add", "-A", cwd=repo, env=env)
    assert commit(repo, env).returncode == 0


def test_github_actions_monorepo_snippet(tmp_path: Path, env: dict[str, str]) -> None:
    """The monorepo workflow: valid, checks out the history, and its action step, run
    with exactly its inputs in a pull request's clone, installs the postgres extra and
    annotates the new violation by its path from the repository's root."""
    from pgserver import run_sql, scratch_database
    from test_ci_files import monorepo_clone, pip_shim

    text = snippet("github-actions-monorepo")
    workflow = tmp_path / "gatecheck.yml"
    workflow.write_text(text, encoding="utf-8")
    check_jsonschema("vendor.github-workflows", workflow)
    steps = yaml.safe_load(text)["jobs"]["gatecheck"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[0]["with"]["fetch-depth"] == 0
    [gate] = [s for s in steps if s.get("uses", "").split("@")[0].endswith("/gatecheck")]
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert set(gate["with"]) <= set(action["inputs"])
    inputs = {k: str(v).replace("${{ github.base_ref }}", "main")
              for k, v in gate["with"].items()}

    shim, report = pip_shim(tmp_path)
    installed = run_action(tmp_path, step="Install gatecheck", path=str(shim), **inputs)
    assert installed.returncode == 0, installed.stderr
    [item] = json.loads(report.read_text(encoding="utf-8"))["install"]
    assert item["requested_extras"] == ["postgres"]

    clone = monorepo_clone(tmp_path, env)
    frontend = ("version: 1\ndatabase: ${FRONTEND_DB_URL}\ndialect: postgres\nrules:\n"
                "  - {id: no-webui, kind: forbid-tables, pattern: \"webui_*\"}\n")
    (clone / "frontend" / "rules.yaml").write_text(frontend, encoding="utf-8")
    with scratch_database() as url:
        run_sql(url, "CREATE TABLE webui_chats (id int);")
        proc = run_action(tmp_path, cwd=clone, env={"FRONTEND_DB_URL": url}, **inputs)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert annotations == [
        "::error title=no-webui::db:webui_chats: table webui_chats matches forbidden "
        "pattern 'webui_*'",
        "::error file=backend/app/new.py,line=3,col=22,endLine=3,endColumn=34,"
        "title=no-task-sessions::references forbidden table task_sessions"]
    sarif = json.loads((clone / inputs["sarif-file"]).read_text(encoding="utf-8"))
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in sarif["runs"][0]["results"]]
    assert uris == ["frontend/rules.yaml", "backend/app/new.py"]
