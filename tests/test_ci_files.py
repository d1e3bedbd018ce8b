"""The GitHub workflow, the action and the pre-commit manifest: validated by real tools.

``check-jsonschema`` ships the GitHub workflow and action schemas inside the
package (``--builtin-schema vendor.*``), so validation needs no network; the
runs below point every proxy variable at a closed port to prove it.  The
action's shell step also runs here for real, on the bundled example.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import REPO

BIN = Path(sys.executable).parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.y*ml"))
#: Any attempt to reach the network fails at once.
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "NO_PROXY": "", "no_proxy": ""}


def run_tool(*args: str, env: dict[str, str] | None = None,
             cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **OFFLINE, **(env or {})})


def check_jsonschema(schema: str, path: Path) -> None:
    proc = run_tool(str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path))
    assert proc.returncode == 0, f"{path.relative_to(REPO)}:\n{proc.stdout}{proc.stderr}"


def test_there_is_a_workflow() -> None:
    assert REPO / ".github" / "workflows" / "ci.yml" in WORKFLOWS


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_is_valid(workflow: Path) -> None:
    check_jsonschema("vendor.github-workflows", workflow)


def test_action_is_valid() -> None:
    check_jsonschema("vendor.github-actions", REPO / "action.yml")


def test_invalid_files_are_caught(tmp_path: Path) -> None:
    """The validation is not vacuous: a broken workflow and action fail."""
    workflow = tmp_path / "broken.yml"
    workflow.write_text("on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                        "    step:\n      - run: echo\n", encoding="utf-8")
    action = tmp_path / "action.yml"
    action.write_text("name: x\ndescription: x\nruns:\n  using: composite\n"
                      "  steps:\n    - run: echo\n      shel: bash\n", encoding="utf-8")
    for schema, path in (("vendor.github-workflows", workflow),
                         ("vendor.github-actions", action)):
        proc = run_tool(str(BIN / "check-jsonschema"), "--builtin-schema", schema, str(path))
        assert proc.returncode == 1, proc.stdout + proc.stderr


def test_pre_commit_manifest_is_valid() -> None:
    proc = run_tool(str(BIN / "pre-commit"), "validate-manifest", ".pre-commit-hooks.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [hook] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "gatecheck" and hook["entry"] == "gatecheck run"
    assert hook["require_serial"] is True and hook["pass_filenames"] is True


def test_ci_workflow_runs_the_tests_and_the_action() -> None:
    ci = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    jobs = ci["jobs"]
    assert any(step.get("run") == "bash .ci/run" for step in jobs["test"]["steps"])
    gate = jobs["gatecheck"]
    assert gate["permissions"] == {"contents": "read", "security-events": "write"}
    [action] = [s for s in gate["steps"] if s.get("uses") == "./"]
    sarif = action["with"]["sarif-file"]
    assert action["with"]["format"] == "github"
    [upload] = [s for s in gate["steps"]
                if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")]
    assert upload["if"] == "always()" and upload["with"]["sarif_file"] == sarif


# ---------------------------------------------------------------- the action's script


def action_script() -> tuple[str, dict[str, str]]:
    """The shell of the action's gatecheck step and the env names it reads."""
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    [step] = [s for s in action["runs"]["steps"] if s.get("name") == "Run gatecheck"]
    assert "${{" not in step["run"], "inputs must reach the script through env only"
    return step["run"], step["env"]


def run_action(tmp_path: Path, *, cwd: Path = REPO, env: dict[str, str] | None = None,
               step: str = "Run gatecheck", path: str | None = None,
               **inputs: str) -> subprocess.CompletedProcess[str]:
    """Run a step as the runner would: bash, inputs as env, gatecheck on PATH.

    ``cwd``: the workspace; ``env``: the workflow step's ``env:``; ``path``:
    directories put first on PATH; ``step``: which step of the action.
    """
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    [found] = [s for s in action["runs"]["steps"] if s.get("name") == step]
    assert "${{" not in found["run"], "inputs must reach the script through env only"
    variables = dict(env or {})
    for name, expression in found.get("env", {}).items():
        key = expression.removeprefix("${{ inputs.").removesuffix(" }}")
        variables[name] = inputs.get(key, action["inputs"][key]["default"])
    variables["PATH"] = os.pathsep.join([*([path] if path else []), str(BIN),
                                         os.environ["PATH"]])
    variables["GITHUB_ACTION_PATH"] = str(REPO)
    script_file = tmp_path / "step.sh"
    script_file.write_text(found["run"], encoding="utf-8")
    return run_tool("bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script_file),
                    env=variables, cwd=cwd)


@pytest.fixture(scope="module")
def agentos_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("agentos") / "agentos.db"
    subprocess.run([sys.executable, str(REPO / "examples" / "agentos" / "build_db.py"),
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    return out


def test_action_step_reports_and_writes_sarif(tmp_path: Path, agentos_db: Path) -> None:
    sarif = tmp_path / "out" / "gatecheck.sarif"
    proc = run_action(tmp_path, db=f"app=sqlite:///{agentos_db}", **{"sarif-file": str(sarif)})
    assert proc.returncode == 1, proc.stderr
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    doc: dict[str, Any] = json.loads(sarif.read_text(encoding="utf-8"))
    assert annotations and len(doc["runs"][0]["results"]) == len(annotations)
    assert proc.stdout.splitlines()[-1].startswith("Found ")


def test_action_step_paths_and_fail_on(tmp_path: Path, agentos_db: Path) -> None:
    # Only a file without violations: clean, exit 0, and no SARIF asked for.
    proc = run_action(tmp_path, db=f"app=sqlite:///{agentos_db}", format="text",
                      paths="examples/agentos/app/store/db.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("PASS")


def test_action_inputs_are_not_shell_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    proc = run_action(tmp_path, config=f"$(touch {marker})", paths=f"`touch {marker}`")
    # Both reach gatecheck as literal text: paths first, then the config.
    assert proc.returncode == 2
    assert proc.stderr == "gatecheck: error: `touch: no such file or directory\n"
    assert not marker.exists()
    proc = run_action(tmp_path, config=f"$(touch {marker})")
    assert proc.returncode == 2
    assert proc.stderr == f"gatecheck: error: $(touch {marker}): rules file not found\n"
    assert not marker.exists()


def test_action_grants_come_from_inputs_only(tmp_path: Path, agentos_db: Path) -> None:
    """Security (docs/security.md): what widens a run is an Action input that becomes a
    command-line flag; data-rules: false skips the data rules, a bad value is an error."""
    config = "examples/agentos/integrity.yaml"
    proc = run_action(tmp_path, config=config, db=f"sqlite:///{agentos_db}", format="text",
                      **{"data-rules": "false"})
    assert ("5 data rules not run (--no-data-rules): zero-loss, tasks-resolve, recorded, "
            "version, cleanup") in proc.stderr, proc.stderr
    assert proc.stdout.startswith("PASS: no findings (10 rules"), proc.stdout
    proc = run_action(tmp_path, config=config, db=f"sqlite:///{agentos_db}", format="text")
    assert "not run (--no-data-rules)" not in proc.stderr
    assert " cleanup " in proc.stdout  # the data rule ran: the archive is past its 30 days
    for name in ("data-rules", "show-data", "allow-privileged-role"):
        proc = run_action(tmp_path, config=config, **{name: "yes please"})
        assert proc.returncode == 2
        assert proc.stderr == (f"gatecheck: error: input {name}: expected true or false, "
                               "got 'yes please'\n")


# ---------------------------------------------------------------- monorepo, baseline, extras


def pip_shim(tmp_path: Path) -> tuple[Path, Path]:
    """(directory, report): a ``python`` first on PATH that runs the install step's
    ``pip install`` for real, as a dry run that records what it resolved (offline: the
    dependencies are those of this environment)."""
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir()
    report = tmp_path / "pip-report.json"
    shim = shim_dir / "python"
    shim.write_text(f'#!/bin/bash\n[ "$1 $2 $3" = "-m pip install" ] || exit 99\nshift 3\n'
                    f'exec {sys.executable} -m pip install --dry-run --report {report} "$@"\n',
                    encoding="utf-8")
    shim.chmod(0o755)
    return shim_dir, report


def test_action_installs_the_postgres_extra(tmp_path: Path) -> None:
    """``extras: postgres`` installs gatecheck with its postgres extra (a real pip
    resolution of the step's requirement, which also needs psycopg to be found)."""
    shim, report = pip_shim(tmp_path)

    def requested() -> dict[str, list[str]]:
        data = json.loads(report.read_text(encoding="utf-8"))
        return {item["metadata"]["name"]: item.get("requested_extras", [])
                for item in data["install"]}

    proc = run_action(tmp_path, step="Install gatecheck", path=str(shim), extras="postgres")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert requested() == {"gatecheck": ["postgres"]}
    proc = run_action(tmp_path, step="Install gatecheck", path=str(shim), extras=" postgres\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert requested() == {"gatecheck": ["postgres"]}
    assert run_action(tmp_path, step="Install gatecheck", path=str(shim)).returncode == 0
    assert requested() == {"gatecheck": []}
    for bad in ("postgres]; touch x", "$(id)", "Postgres"):
        proc = run_action(tmp_path, step="Install gatecheck", path=str(shim), extras=bad)
        assert proc.returncode == 2
        assert proc.stderr.startswith("gatecheck: error: input extras: expected names")


def monorepo_clone(tmp_path: Path, env: dict[str, str]) -> Path:
    """A monorepo pushed to an ``origin`` and cloned, then a branch with a new
    violation in backend/: what actions/checkout with fetch-depth 0 gives a PR job."""
    from conftest import git, new_repo, write_tree

    origin = new_repo(tmp_path / "origin", env)
    rules = ("version: 1\ndatabase: {migrations: \"migrations/*.sql\"}\n"
             "baseline: .gatecheck-baseline.json\nrules:\n"
             "  - {id: no-task-sessions, kind: forbid-table-references, "
             "tables: [task_sessions]}\n")
    bad = 'SQL = "SELECT * FROM task_sessions"\n'
    write_tree(origin, {"backend/rules.yaml": rules,
                        "backend/migrations/001.sql": "CREATE TABLE chat_sessions (id int);\n",
                        "backend/app/old.py": bad, "frontend/rules.yaml": rules,
                        "frontend/migrations/001.sql": "CREATE TABLE webui_x (id int);\n",
                        "frontend/app/old.py": bad})
    made = subprocess.run([str(BIN / "gatecheck"), "baseline", "backend", "frontend"],
                          cwd=origin, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    git("add", "-A", cwd=origin, env=env)
    git("commit", "-q", "-m", "base", cwd=origin, env=env)
    clone = tmp_path / "workspace"
    git("clone", "-q", str(origin), str(clone), cwd=tmp_path, env=env)
    for key, value in (("user.name", "gatecheck tests"), ("user.email", "t@gatecheck.invalid")):
        git("config", key, value, cwd=clone, env=env)
    git("checkout", "-q", "-b", "feature", cwd=clone, env=env)
    write_tree(clone, {"backend/app/new.py": "import os\n\n" + bad})
    git("add", "-A", cwd=clone, env=env)
    git("commit", "-q", "-m", "feature", cwd=clone, env=env)
    return clone


def test_action_in_a_monorepo(tmp_path: Path, env: dict[str, str]) -> None:
    """``paths: backend frontend``: one run, annotations and SARIF from the repository's
    root; the baselines in the rules files apply; ``changed-since`` limits the files;
    ``baseline`` replaces the rules files' own."""
    clone = monorepo_clone(tmp_path, env)
    sarif = clone / "gatecheck.sarif"
    proc = run_action(tmp_path, cwd=clone, paths="backend frontend",
                      **{"sarif-file": str(sarif)})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert annotations == ["::error file=backend/app/new.py,line=3,col=22,endLine=3,"
                           "endColumn=34,title=no-task-sessions::references forbidden table "
                           "task_sessions"]
    results = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in results] == ["backend/app/new.py"]
    assert "2 known finding(s) not reported, 0 baseline entries now fixed" in proc.stderr

    proc = run_action(tmp_path, cwd=clone, paths="backend frontend",
                      **{"changed-since": "origin/main", "format": "text"})
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[-1].startswith("Found 1 error (2 rules, 1 file,")
    # The baseline entries of the files the run did not check are not "fixed".
    assert "0 known finding(s) not reported, 0 baseline entries now fixed" in proc.stderr
    proc = run_action(tmp_path, cwd=clone, paths="backend", format="text",
                      **{"changed-since": "no-such-ref"})
    assert proc.returncode == 2 and "not a commit in this repository" in proc.stderr

    empty = tmp_path / "empty.json"
    empty.write_text('{"version": 2, "findings": []}\n', encoding="utf-8")
    proc = run_action(tmp_path, cwd=clone, paths="backend", format="concise",
                      baseline=str(empty))
    assert [line.split(":")[0] for line in proc.stdout.splitlines()[:-1]] == \
        ["backend/app/new.py", "backend/app/old.py"]
