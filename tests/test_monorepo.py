"""A monorepo, in real git repositories: paths from the repository's root, a rules file
per file, and baselines that agree wherever the command runs (issue 14, items 2, 3, 7).

``backend/rules.yaml`` and ``frontend/rules.yaml`` each check their own tree;
gatecheck runs at the repository's root, as pre-commit and the Action do.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import SARIF_SCHEMA, build_db, gatecheck, gatecheck_subprocess, git, new_repo, \
    write_tree

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*"}
"""
BAD = 'import sqlite3\n\nSQL = "SELECT * FROM task_sessions WHERE session_id = ?"\n'
GOOD = 'import sqlite3\n\nSQL = "SELECT * FROM chat_sessions WHERE session_id = ?"\n'


@pytest.fixture
def monorepo(tmp_path: Path, env: dict[str, str]) -> Path:
    """A git repository with two projects, each with its rules file and database."""
    repo = new_repo(tmp_path / "repo", env)
    write_tree(repo, {
        "backend/rules.yaml": RULES, "backend/app/store.py": BAD, "backend/app/ok.py": GOOD,
        "frontend/rules.yaml": RULES, "frontend/app/store.py": BAD,
        "scripts/tool.py": BAD, ".gitignore": "*.db\n.gatecheck_cache/\n"})
    build_db(repo / "backend" / "app.db", "CREATE TABLE chat_sessions (id INTEGER);")
    build_db(repo / "frontend" / "app.db", "CREATE TABLE webui_chats (id INTEGER);")
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", "projects", cwd=repo, env=env)
    return repo


# ---------------------------------------------------------------- item 2: paths


def test_machine_formats_name_files_from_the_repository_root(monorepo: Path) -> None:
    """JSON, GitHub, SARIF and JUnit name ``backend/app/store.py``, a file that exists
    from the repository's root, wherever the command runs (there or in backend/)."""
    for cwd, arg in ((monorepo, "backend"), (monorepo / "backend", ".")):
        data = gatecheck("run", "-f", "json", arg, cwd=cwd).json
        assert [f["path"] for f in data["findings"]] == ["backend/app/store.py"]
        github = gatecheck("run", "-f", "github", arg, cwd=cwd).stdout
        assert github.startswith("::error file=backend/app/store.py,line=3,col=22,")
        junit = ET.fromstring(gatecheck("run", "-f", "junit", arg, cwd=cwd).stdout)
        assert "backend/app/store.py:3:22" in "".join(junit.itertext())
    for path in data["findings"]:
        assert (monorepo / path["path"]).is_file()


def test_sarif_paths_and_their_base(monorepo: Path) -> None:
    """SARIF: repository-relative URIs against %SRCROOT%, declared in
    originalUriBaseIds; a schema finding points at its rule in backend/rules.yaml."""
    build_db(monorepo / "backend" / "app.db", "CREATE TABLE webui_x (id INTEGER);")
    doc: dict[str, Any] = gatecheck("run", "-f", "sarif", "backend", cwd=monorepo).json
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(doc, schema)
    [run] = doc["runs"]
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"]
                 for r in run["results"]]
    assert locations == [{"uri": "backend/rules.yaml", "uriBaseId": "%SRCROOT%"},
                         {"uri": "backend/app/store.py", "uriBaseId": "%SRCROOT%"}]
    assert set(run["originalUriBaseIds"]) == {"%SRCROOT%"}
    assert "uri" not in run["originalUriBaseIds"]["%SRCROOT%"]  # nothing machine-specific


def test_text_names_files_from_the_current_directory(monorepo: Path) -> None:
    """Text output is for the person at the terminal: paths from where they are."""
    at_root = gatecheck("run", "-f", "concise", "backend", cwd=monorepo)
    assert at_root.stdout.splitlines()[0].startswith("backend/app/store.py:3:22: ")
    inside = gatecheck("run", "-f", "concise", cwd=monorepo / "backend")
    assert inside.stdout.splitlines()[0].startswith("app/store.py:3:22: ")
    below = gatecheck("run", "-f", "concise", "..", cwd=monorepo / "backend" / "app")
    assert below.stdout.splitlines()[0].startswith("store.py:3:22: ")
    climb = gatecheck("run", "-f", "concise", "../frontend/app/store.py",
                      cwd=monorepo / "backend")
    assert climb.stdout.splitlines()[:2] == [
        "db:webui_chats: no-webui table webui_chats matches forbidden pattern 'webui_*'",
        "../frontend/app/store.py:3:22: no-task-sessions references forbidden table "
        "task_sessions"]


def test_errors_name_files_as_the_report_does(monorepo: Path) -> None:
    """A file that cannot be read: repository-relative in the annotation, relative to
    the current directory on stderr; a config error relative to the current directory."""
    write_tree(monorepo, {"backend/app/latin1.py": b'X = "caf\xe9"\n'})
    run = gatecheck("run", "-f", "github", "backend", cwd=monorepo)
    assert "::error file=backend/app/latin1.py,title=gatecheck::" in run.stdout
    assert "gatecheck: error: backend/app/latin1.py: cannot decode" in run.stderr
    (monorepo / "backend" / "rules.yaml").write_text("version: 1\nrules: 3\n")
    run = gatecheck("run", "backend", cwd=monorepo)
    assert run.exit_code == 2
    assert run.stderr.startswith("gatecheck: error: backend/rules.yaml:2:8: rules: ")


def test_outside_git_paths_stay_relative_to_the_rules_file(tmp_path: Path) -> None:
    write_tree(tmp_path, {"proj/rules.yaml": RULES, "proj/app/store.py": BAD})
    build_db(tmp_path / "proj" / "app.db", "CREATE TABLE chat_sessions (id INTEGER);")
    data = gatecheck("run", "-f", "json", "proj", cwd=tmp_path).json
    assert [f["path"] for f in data["findings"]] == ["app/store.py"]
    text = gatecheck("run", "-f", "concise", "proj", cwd=tmp_path).stdout
    assert text.startswith("proj/app/store.py:3:22: ")


# ---------------------------------------------------------------- item 3: a rules file per file


def test_each_file_is_checked_under_its_nearest_rules_file(monorepo: Path) -> None:
    """What pre-commit does: files of both projects, from the root, no --config."""
    run = gatecheck("run", "-f", "json", "backend/app/store.py", "backend/app/ok.py",
                    "frontend/app/store.py", cwd=monorepo)
    assert run.exit_code == 1, run.stderr
    data = run.json
    assert [(f["path"], f["rule"], f.get("object")) for f in data["findings"]] == [
        (None, "no-webui", "webui_chats"),  # frontend's database, frontend's rule
        ("backend/app/store.py", "no-task-sessions", "task_sessions"),
        ("frontend/app/store.py", "no-task-sessions", "task_sessions")]
    assert data["summary"]["rules"] == 4 and data["summary"]["files"] == 3
    assert run.stderr == ""


def test_files_without_a_rules_file_are_left_alone(monorepo: Path) -> None:
    """A commit that touches only scripts/ is not blocked, and says why nothing ran."""
    run = gatecheck("run", "scripts/tool.py", cwd=monorepo)
    assert run.exit_code == 0, run.stderr
    assert "1 file with no rules file above it, not checked: scripts/tool.py" in run.stderr
    run = gatecheck("run", "scripts/tool.py", "backend/app/store.py", cwd=monorepo)
    assert run.exit_code == 1 and "scripts/tool.py" in run.stderr


def test_a_root_without_rules_names_the_ones_below(monorepo: Path) -> None:
    run = gatecheck("run", cwd=monorepo)
    assert run.exit_code == 2
    assert "no rules.yaml found in" in run.stderr
    assert ("rules files below it: backend/rules.yaml, frontend/rules.yaml (check them "
            "with: gatecheck run backend frontend)") in run.stderr
    both = gatecheck("run", "-f", "json", "backend", "frontend", cwd=monorepo).json
    assert {f["path"] for f in both["findings"]} == \
        {None, "backend/app/store.py", "frontend/app/store.py"}


def test_a_file_is_checked_once_by_the_nearest_rules_file(monorepo: Path, env: dict[str, str]
                                                          ) -> None:
    """A rules file at the root too: given both trees, backend's files go to backend's
    rules only (the root's tree leaves backend/ out)."""
    write_tree(monorepo, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: root-rule, kind: forbid-table-references, "
                          "tables: [task_sessions]}\n"})
    data = gatecheck("run", "-f", "json", ".", "backend", cwd=monorepo).json
    assert sorted((f["path"], f["rule"]) for f in data["findings"] if f["path"]) == [
        ("backend/app/store.py", "no-task-sessions"),
        ("frontend/app/store.py", "root-rule"), ("scripts/tool.py", "root-rule")]


def test_select_and_db_across_rules_files(monorepo: Path) -> None:
    run = gatecheck("run", "-f", "json", "--select", "forbid-tables", "backend", "frontend",
                    cwd=monorepo)
    assert [f["rule"] for f in run.json["findings"]] == ["no-webui"]
    run = gatecheck("run", "--db", "nope=sqlite:///x.db", "backend", "frontend", cwd=monorepo)
    assert run.exit_code == 2 and "unknown database 'nope'" in run.stderr


# ---------------------------------------------------------------- item 7: baselines


def test_without_the_key_each_project_gets_its_own_file_and_is_told(monorepo: Path) -> None:
    """No ``baseline:``: each rules file's findings go beside it (never one file for
    two projects in the current directory), and the command says how 'run' reads it."""
    made = gatecheck("baseline", "backend", "frontend", cwd=monorepo)
    assert made.exit_code == 0, made.stderr
    assert not (monorepo / ".gatecheck-baseline.json").exists()
    paths = {p: [f["path"] for f in json.loads(
                 (monorepo / p / ".gatecheck-baseline.json").read_text())["findings"]]
             for p in ("backend", "frontend")}
    assert all(path.startswith(p + "/") for p, found in paths.items() for path in found
               if path is not None)  # schema findings name no file
    assert paths["backend"] and paths["frontend"]
    assert ("gatecheck: note: 'run' reads it once backend/rules.yaml says "
            "'baseline: .gatecheck-baseline.json'") in made.stderr


def test_baseline_key_written_and_read_wherever_the_command_runs(monorepo: Path) -> None:
    """``baseline:`` in backend/rules.yaml: ``gatecheck baseline`` writes it, ``run``
    reads it; the file is the same whether written at the root or in backend/."""
    rules = monorepo / "backend" / "rules.yaml"
    rules.write_text(RULES.replace("rules:\n", "baseline: .gatecheck-baseline.json\nrules:\n"))
    made = gatecheck("baseline", "backend", cwd=monorepo)
    assert made.exit_code == 0, made.stderr
    assert made.stderr == "gatecheck: wrote 1 finding(s) to backend/.gatecheck-baseline.json\n"
    written = (monorepo / "backend" / ".gatecheck-baseline.json").read_text()
    assert json.loads(written)["findings"][0]["path"] == "backend/app/store.py"
    again = gatecheck("baseline", cwd=monorepo / "backend")
    assert again.stderr == "gatecheck: wrote 1 finding(s) to .gatecheck-baseline.json\n"
    assert (monorepo / "backend" / ".gatecheck-baseline.json").read_text() == written

    for cwd, args in ((monorepo, ("backend",)), (monorepo, ("backend/app/store.py",)),
                      (monorepo / "backend", ())):
        run = gatecheck("run", *args, cwd=cwd)
        assert run.exit_code == 0, (cwd, run.stdout, run.stderr)
        assert "1 known finding(s) not reported, 0 baseline entries now fixed" in run.stderr
    # --no-baseline shows everything; --baseline FILE replaces the key.
    assert gatecheck("run", "--no-baseline", "backend", cwd=monorepo).exit_code == 1
    (monorepo / "empty.json").write_text('{"version": 2, "findings": []}\n')
    assert gatecheck("run", "--baseline", "empty.json", "backend", cwd=monorepo).exit_code == 1


def test_file_subset_runs_do_not_call_other_files_fixed(monorepo: Path, env: dict[str, str]
                                                        ) -> None:
    """Entries of files a pre-commit or --changed-since run did not check stay known."""
    write_tree(monorepo, {"backend/app/other.py": BAD})
    git("add", "-A", cwd=monorepo, env=env)
    git("commit", "-q", "-m", "another", cwd=monorepo, env=env)
    assert gatecheck("baseline", "-o", "base.json", "backend", cwd=monorepo).exit_code == 0
    run = gatecheck("run", "--baseline", "base.json", "backend/app/ok.py", cwd=monorepo)
    assert "0 known finding(s) not reported, 0 baseline entries now fixed" in run.stderr
    (monorepo / "backend" / "app" / "other.py").write_text(GOOD)
    run = gatecheck("run", "--baseline", "base.json", "--changed-since", "HEAD", "backend",
                    cwd=monorepo)
    assert run.exit_code == 0, run.stderr
    assert "0 known finding(s) not reported, 1 baseline entry now fixed" in run.stderr
    run = gatecheck("run", "--baseline", "base.json", "backend/app/store.py", cwd=monorepo)
    assert "1 known finding(s) not reported, 0 baseline entries now fixed" in run.stderr
    # The whole tree: the fixed file's entry is fixed.
    run = gatecheck("run", "--baseline", "base.json", "backend", cwd=monorepo)
    assert "1 known finding(s) not reported, 1 baseline entry now fixed" in run.stderr


def test_one_baseline_for_two_rules_files_keeps_them_apart(monorepo: Path) -> None:
    """Both projects have app/store.py with the same line: an entry of one never
    accepts the other's finding."""
    gatecheck("baseline", "-o", "base.json", "backend/app/store.py", cwd=monorepo)
    run = gatecheck("run", "-f", "json", "--baseline", "base.json", "backend/app/store.py",
                    "frontend/app/store.py", cwd=monorepo)
    assert [f["path"] for f in run.json["findings"]] == [None, "frontend/app/store.py"]


def test_version_1_baselines_still_match(monorepo: Path) -> None:
    """Entries written before paths were repository-relative (relative to the rules file)."""
    gatecheck("baseline", "-o", "base.json", "backend", cwd=monorepo)
    data = json.loads((monorepo / "base.json").read_text())
    data["version"] = 1
    for entry in data["findings"]:
        entry["path"] = entry["path"].removeprefix("backend/")
    (monorepo / "base.json").write_text(json.dumps(data))
    run = gatecheck("run", "--baseline", "base.json", "backend", cwd=monorepo)
    assert run.exit_code == 0, run.stdout + run.stderr


def test_baseline_key_stays_inside_the_repository(monorepo: Path) -> None:
    (monorepo / "backend" / "rules.yaml").write_text(
        RULES.replace("rules:\n", "baseline: ../../outside.json\nrules:\n"))
    run = gatecheck("run", "backend", cwd=monorepo)
    assert run.exit_code == 2
    assert "backend/rules.yaml:3:11: baseline: ../../outside.json resolves outside the " \
           "repository root" in run.stderr
    (monorepo / "backend" / "rules.yaml").write_text(
        RULES.replace("rules:\n", "baseline: missing.json\nrules:\n"))
    run = gatecheck("run", "backend", cwd=monorepo)
    assert run.exit_code == 2
    assert "backend/missing.json: baseline file not found" in run.stderr


def test_real_process_in_a_subdirectory(monorepo: Path) -> None:
    run = gatecheck_subprocess("run", "-f", "github", "app/store.py",
                               cwd=monorepo / "backend")
    assert run.exit_code == 1
    assert run.stdout.startswith("::error file=backend/app/store.py,line=3,col=22,")
