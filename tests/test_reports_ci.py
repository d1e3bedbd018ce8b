"""Issue 14 items 5, 6, 10 and 11: reports as their readers and consumers take them.

Code frames and suggestions (item 5), every report from one run and the job
summary (item 6), the formats as GitHub, GitLab and JUnit readers read them
(item 10) and ``init`` (item 11).  Real processes, real git repositories, the
real pre-commit and check-jsonschema, the official SARIF schema and GitLab's
own Code Quality schema (vendored under tests/schemas/).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from conftest import (PRE_COMMIT, REPO, SARIF_SCHEMA, build_db, gatecheck, gatecheck_subprocess,
                      git, new_repo, write_tree)
from gatecheck.engine import RunResult
from gatecheck.errors import DatabaseError
from gatecheck.findings import Finding, Severity
from gatecheck.report import REPOSITORY, github, markdown

GITLAB_SCHEMA = REPO / "tests" / "schemas" / "gitlab-codeclimate.json"
BIN = Path(sys.executable).parent

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - id: code-matches-schema
    kind: references-exist
    columns: true
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
  - id: no-webui
    kind: forbid-tables
    pattern: "webui_*"
    severity: warning
"""
SCHEMA = """\
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT, last_activity TEXT);
CREATE TABLE task_sessions_legacy (session_id TEXT);
CREATE TABLE webui_chats (id INTEGER);
"""
STORE = '''\
def recent(cur):
    cur.execute("SELECT title, last_activty FROM chat_sessions")


def old(cur):
\tcur.execute("DELETE FROM task_sessions")
'''


def project(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    write_tree(root, {"rules.yaml": RULES, "app/store.py": STORE, **(files or {})})
    build_db(root / "app.db", SCHEMA)
    return root


# ---------------------------------------------------------------- item 5: frames, suggestions


def test_text_shows_code_frames_and_suggestions(tmp_path: Path) -> None:
    run = gatecheck("run", cwd=project(tmp_path))
    assert run.exit_code == 1, run.stderr
    assert run.stdout.splitlines() == [
        "db:webui_chats: no-webui table webui_chats matches forbidden pattern 'webui_*' [warning]",
        "app/store.py:2:32: code-matches-schema column last_activty does not exist in table "
        "chat_sessions",
        "  |",
        '2 |     cur.execute("SELECT title, last_activty FROM chat_sessions")',
        "  |" + " " * 32 + "^" * 12,
        "  |",
        "  = help: did you mean `last_activity`?",
        "",
        # A tab is shown as four spaces, and the caret follows it.
        "app/store.py:6:27: code-matches-schema table task_sessions does not exist in the "
        "database",
        "  |",
        '6 |     cur.execute("DELETE FROM task_sessions")',
        "  |" + " " * 30 + "^" * 13,
        "  |",
        # A live table before the archive (task_sessions_legacy is closer by letters).
        "  = help: did you mean `chat_sessions`?",
        "",
        "app/store.py:6:27: no-task-sessions references forbidden table task_sessions",
        "  |",
        '6 |     cur.execute("DELETE FROM task_sessions")',
        "  |" + " " * 30 + "^" * 13,
        "  |",
        "",
        "Found 3 errors, 1 warning (3 rules, 1 file, 2 SQL fragments)",
    ]
    concise = gatecheck("run", "--format", "concise", cwd=tmp_path)
    # Concise is the first line of each finding, the same as the full report's.
    assert concise.stdout.splitlines() == [
        line for line in run.stdout.splitlines()
        if line and not line.startswith(" ") and not line[0].isdigit()]
    findings = gatecheck("run", "--format", "json", cwd=tmp_path).json["findings"]
    assert [(f["object"], f.get("suggestion")) for f in findings] == [
        ("webui_chats", None), ("chat_sessions.last_activty", "last_activity"),
        ("task_sessions", "chat_sessions"), ("task_sessions", None)]


def test_frames_are_inert_and_cut(tmp_path: Path) -> None:
    """Security (docs/security.md): a source line is repository text; its control
    characters are escaped in the frame, a long line shows a window, wide characters
    keep the caret under the name."""
    long_line = "x = 1; " * 60
    write_tree(tmp_path, {
        "rules.yaml": "version: 1\nrules:\n  - {id: no-t, kind: forbid-table-references, "
                      "tables: [t]}\n",
        "a.py": ('A = "SELECT 1 FROM t"  # \x1b[2J\u202e evil\n'
                 f'{long_line}B = "SELECT 1 FROM t"; {long_line}\n'
                 'C = "SELECT \'表表\' FROM t"\n'),
    })
    run = gatecheck_subprocess("run", "--color", cwd=tmp_path)
    lines = run.stdout.splitlines()
    assert run.exit_code == 1, run.stderr
    assert "\x1b[2J" not in run.stdout and "\u202e" not in run.stdout
    assert any("\\x1b[2J\\u202e evil" in line for line in lines)
    frame_lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in lines]
    code = [line for line in frame_lines if line.startswith("2 | ")][0]
    assert code.startswith("2 | …") and code.endswith("…") and len(code) <= 4 + 100 + 2
    carets = frame_lines[frame_lines.index(code) + 1]
    assert code[carets.index("^"):carets.index("^") + 1] == "t"
    wide = [line for line in frame_lines if line.startswith("3 | ")][0]
    carets = frame_lines[frame_lines.index(wide) + 1]
    # Two wide characters take four columns: the caret still lands under t.
    assert carets.index("^") == len('3 | C = "SELECT \'表表\' FROM ') + 2


def test_colour_is_forced_for_ci_logs(tmp_path: Path) -> None:
    """--color and FORCE_COLOR colour a report that goes to a pipe (a CI log);
    NO_COLOR and --no-color win; the colour codes are the only escapes."""
    project(tmp_path)
    base = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    plain = gatecheck_subprocess("run", "-f", "concise", cwd=tmp_path, env=base)
    assert "\x1b[" not in plain.stdout
    forced = gatecheck_subprocess("run", "-f", "concise", "--color", cwd=tmp_path, env=base)
    assert "\x1b[1;31mno-task-sessions\x1b[0m" in forced.stdout
    env = {**base, "FORCE_COLOR": "1"}
    assert "\x1b[1;31m" in gatecheck_subprocess("run", cwd=tmp_path, env=env).stdout
    env["NO_COLOR"] = "1"
    assert "\x1b[" not in gatecheck_subprocess("run", cwd=tmp_path, env=env).stdout
    env.pop("NO_COLOR")
    assert "\x1b[" not in gatecheck_subprocess("run", "--no-color", cwd=tmp_path,
                                               env=env).stdout
    # Machine formats never get colour.
    assert "\x1b[" not in gatecheck_subprocess("run", "-f", "json", "--color",
                                               cwd=tmp_path, env=base).stdout


def test_the_pre_commit_hook_shows_the_frame(tmp_path: Path, env: dict[str, str],
                                             hook_repo: tuple[str, str]) -> None:
    """The real pre-commit in a real git repository: the blocked commit's output has
    the line, the caret and the suggestion."""
    repo_path, rev = hook_repo
    repo = new_repo(tmp_path / "project", env)
    project(repo, {".pre-commit-config.yaml": f"repos:\n  - repo: {repo_path}\n"
                   f"    rev: {rev}\n    hooks:\n      - id: gatecheck\n"})
    git("add", "rules.yaml", "app/store.py", ".pre-commit-config.yaml", cwd=repo, env=env)
    proc = subprocess.run([PRE_COMMIT, "run", "gatecheck"], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    assert '2 |     cur.execute("SELECT title, last_activty FROM chat_sessions")' in output
    assert "  |" + " " * 32 + "^" * 12 + "\n" in output
    assert "= help: did you mean `last_activity`?" in output


# ---------------------------------------------------------------- item 6: one run, every report


def test_every_report_from_one_run(tmp_path: Path) -> None:
    """--sarif-output, --json-output, --junit-output, --gitlab-output: one process writes
    them all besides the main report, each what --format would print on its own."""
    project(tmp_path)
    outputs = {fmt: tmp_path / "reports" / f"out.{fmt}" for fmt in
               ("sarif", "json", "junit", "gitlab")}
    (tmp_path / "reports").mkdir()
    run = gatecheck_subprocess("run", "-f", "github", "--no-cache",
                               *(arg for fmt, path in outputs.items()
                                 for arg in (f"--{fmt}-output", str(path))), cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    assert run.stdout.count("::error ") == 3 and run.stdout.count("::warning ") == 1
    for fmt, path in outputs.items():
        alone = gatecheck_subprocess("run", "-f", fmt, "--no-cache", cwd=tmp_path)
        assert path.read_text(encoding="utf-8") == alone.stdout, fmt
    same = gatecheck("run", "-o", "x.json", "--json-output", "./x.json", cwd=tmp_path)
    assert same.exit_code == 2 and "name the same file" in same.stderr


def test_statistics_exit_zero_and_quiet(tmp_path: Path) -> None:
    project(tmp_path)
    run = gatecheck("run", "--statistics", cwd=tmp_path)
    assert run.exit_code == 1
    assert run.stdout.splitlines() == [
        "2  code-matches-schema  error    references-exist",
        "1  no-task-sessions     error    forbid-table-references",
        "1  no-webui             warning  forbid-tables",
        "Found 3 errors, 1 warning (3 rules, 1 file, 2 SQL fragments)",
    ]
    rows = gatecheck("run", "--statistics", "-f", "json", cwd=tmp_path).json
    assert rows[0] == {"rule": "code-matches-schema", "kind": "references-exist",
                       "severity": "error", "count": 2}
    bad = gatecheck("run", "--statistics", "-f", "sarif", cwd=tmp_path)
    assert bad.exit_code == 2 and "--statistics" in bad.stderr
    assert gatecheck("run", "--exit-zero", cwd=tmp_path).exit_code == 0
    quiet = gatecheck("run", "-q", "-f", "concise", cwd=tmp_path)
    assert quiet.exit_code == 1 and len(quiet.stdout.splitlines()) == 4
    assert "Found" not in quiet.stdout
    # Errors are never quiet, and --exit-zero does not hide them.
    broken = gatecheck("run", "-q", "--exit-zero", "--db", "sqlite:///missing.db",
                       cwd=tmp_path)
    assert broken.exit_code == 2 and "database file not found" in broken.stderr


def summary_env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/shop",
            **more}


def test_job_summary_in_a_monorepo(tmp_path: Path, env: dict[str, str]) -> None:
    """A real git repository with backend/rules.yaml, run from its root as the Action
    does: the summary counts per rule, links each finding to its line at the commit (from
    the repository's root), escapes what the repository wrote, and says what did not run."""
    repo = new_repo(tmp_path / "repo", env)
    project(repo / "backend")
    rules = (repo / "backend" / "rules.yaml").read_text(encoding="utf-8")
    (repo / "backend" / "rules.yaml").write_text(rules.replace(
        "    tables: [task_sessions]\n",
        "    tables: [task_sessions]\n    message: \"[click](https://evil.example) <img src=x>"
        " *use* chat_sessions\"\n"), encoding="utf-8")
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "-m", "start", cwd=repo, env=env)
    sha = git("rev-parse", "HEAD", cwd=repo, env=env).strip()
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    run = gatecheck_subprocess("run", "-f", "github", "backend/app/store.py", cwd=repo,
                               env=summary_env(tmp_path, GITHUB_SHA=sha))
    assert run.exit_code == 1, run.stderr
    text_md = summary.read_text(encoding="utf-8")
    assert text_md.startswith("earlier step\n### gatecheck: Found 3 errors, 1 warning")
    assert "| code-matches-schema | references-exist | error | 2 |" in text_md
    link = (f"(https://github.com/acme/shop/blob/{sha}/backend/app/store.py#L2)")
    assert f"[backend/app/store.py:2:32]{link}" in text_md
    assert "did you mean \\`last\\_activity\\`?" in text_md
    assert "\\[click\\]\\(https://evil.example\\) &lt;img src=x> \\*use\\*" in text_md
    assert "<img" not in text_md and "](https://evil" not in text_md

    # A database that cannot be opened: the summary says which rules did not run.
    summary.write_text("", encoding="utf-8")
    run = gatecheck_subprocess("run", "--db", "sqlite:///nowhere.db", "backend", cwd=repo,
                               env=summary_env(tmp_path, GITHUB_SHA=sha))
    assert run.exit_code == 2
    text_md = summary.read_text(encoding="utf-8")
    assert "**Not checked**" in text_md
    assert re.search(r"- 2 rules not run \(see the database error\): code-matches-schema, "
                     r"no-webui", text_md), text_md
    assert "- error: " in text_md and "nowhere.db" in text_md


def test_github_annotations_past_the_cap_are_summarised() -> None:
    """GitHub keeps 10 annotations of each level per step: the rest are plain log lines
    and one annotation of that level counts them; run errors are never crowded out."""
    findings = [Finding(rule="no-t", kind="forbid-table-references", severity=Severity.ERROR,
                        message=f"m{i}", path="a.py", line=i + 1, column=1, end_line=i + 1,
                        end_column=2) for i in range(25)]
    findings += [Finding(rule="w", kind="forbid-tables", severity=Severity.WARNING,
                         message=f"w{i}", object=f"t{i}") for i in range(3)]
    lines = github.render(RunResult(findings=findings, errors=[DatabaseError("boom")])
                          ).splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    assert len(errors) == github.ANNOTATIONS_PER_LEVEL  # 8 findings, the count, the run error
    assert sum(1 for line in errors if "title=no-t::" in line) == 8
    assert any(line.startswith("::error title=gatecheck::17 more errors not shown as "
                               "annotations (GitHub shows 10 of each level per step)")
               for line in lines)
    assert "::error title=gatecheck::boom" in lines
    plain = [line for line in lines if line.startswith("a.py:")]
    assert len(plain) == 17 and plain[0] == "a.py:9:1: no-t m8"
    assert sum(1 for line in lines if line.startswith("::warning ")) == 3
    assert "more warnings" not in "\n".join(lines)
    # Under the cap nothing changes.
    few = github.render(RunResult(findings=findings[:10], errors=[])).splitlines()
    assert sum(1 for line in few if line.startswith("::error ")) == 10


def test_the_action_runs_gatecheck_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    """action.yml calls gatecheck once for the log, the SARIF file and the job summary;
    its fail-on default is the command line's."""
    from gatecheck.cli import DEFAULT_FAIL_ON
    from test_ci_files import action_script, run_action

    script, _ = action_script()
    assert len(re.findall(r"^\s*gatecheck run\b", script, re.MULTILINE)) == 1
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert action["inputs"]["fail-on"]["default"] == DEFAULT_FAIL_ON
    root = project(tmp_path / "p")
    sarif = tmp_path / "out" / "gatecheck.sarif"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    proc = run_action(tmp_path, config=str(root / "rules.yaml"),
                      **{"sarif-file": str(sarif), "fail-on": "error"})
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(sarif.read_text(encoding="utf-8"))
    assert len(doc["runs"][0]["results"]) == 4
    assert summary.read_text(encoding="utf-8").startswith("### gatecheck: Found 3 errors")


# ---------------------------------------------------------------- item 10: the consumers


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _slugs(markdown_text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    out = set()
    for line in markdown_text.splitlines():
        match = re.match(r"^#+ (.*)$", line)
        if match:
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


def test_sarif_as_github_reads_it(tmp_path: Path,
                                  sarif_validator: jsonschema.protocols.Validator) -> None:
    project(tmp_path)
    out = gatecheck("run", "-f", "sarif", cwd=tmp_path).stdout
    doc: dict[str, Any] = json.loads(out)
    assert list(sarif_validator.iter_errors(doc)) == []
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    for rule_id, rule in rules.items():
        assert rule["name"] == rule_id
        props = rule["properties"]
        assert props["tags"][:2] == ["gatecheck", props["kind"]]
        assert props["precision"] in ("very-high", "high")
        assert props["problem.severity"] in ("error", "warning", "recommendation")
        # helpUri is this repository's docs at this version's tag, at an anchor that exists.
        page, _, anchor = rule["helpUri"].partition("#")
        assert page.startswith(f"{REPOSITORY}/blob/v")
        doc_file = REPO / "docs" / page.rsplit("/docs/", 1)[1]
        assert anchor in _slugs(doc_file.read_text(encoding="utf-8")), rule["helpUri"]
    assert rules["no-webui"]["properties"]["problem.severity"] == "warning"
    assert rules["no-webui"]["properties"]["precision"] == "very-high"
    assert rules["no-task-sessions"]["properties"]["precision"] == "high"
    for result in run["results"]:
        region = result["locations"][0]["physicalLocation"]["region"]
        assert {"startLine", "startColumn", "endLine", "endColumn"} <= set(region), result
        # GitHub computes primaryLocationLineHash on upload (docs/output.md says why).
        assert set(result["partialFingerprints"]) == {"gatecheck/v1"}
    schema_result = next(r for r in run["results"] if r["ruleId"] == "no-webui")
    region = schema_result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["endLine"]) == (10, 10)
    assert region["endColumn"] == len("  - id: no-webui") + 1
    suggested = next(r for r in run["results"] if r["ruleId"] == "code-matches-schema")
    assert suggested["message"]["text"].endswith("; did you mean `last_activity`?")
    assert suggested["properties"]["suggestion"] == "last_activity"
    # shortDescription is the rule's message when it has one.
    write_tree(tmp_path, {"rules.yaml": RULES.replace(
        "    tables: [task_sessions]\n", "    tables: [task_sessions]\n    message: use chat\n")})
    doc = json.loads(gatecheck("run", "-f", "sarif", cwd=tmp_path).stdout)
    [rule] = [r for r in doc["runs"][0]["tool"]["driver"]["rules"]
              if r["id"] == "no-task-sessions"]
    assert rule["shortDescription"]["text"] == "use chat"


def test_engine_rules_link_to_their_docs() -> None:
    from gatecheck.report import help_uri

    for kind, page in (("migrations-replay", "configuration.md"),
                       ("unused-ignore", "configuration.md")):
        uri = help_uri(kind)
        anchor = uri.partition("#")[2]
        assert anchor in _slugs((REPO / "docs" / page).read_text(encoding="utf-8")), uri
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"repo: {REPOSITORY}" in readme


@pytest.fixture(scope="module")
def gitlab_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(GITLAB_SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def test_gitlab_code_quality(tmp_path: Path,
                             gitlab_validator: jsonschema.protocols.Validator) -> None:
    """Each issue valid against GitLab's own schema (codeclimate.json), plus what its
    documentation requires: check_name, a severity of its scale, a unique fingerprint,
    location.path and location.lines.begin."""
    project(tmp_path)
    run = gatecheck("run", "-f", "gitlab", cwd=tmp_path)
    assert run.exit_code == 1
    issues = json.loads(run.stdout)
    assert len(issues) == 4
    for issue in issues:
        assert list(gitlab_validator.iter_errors(issue)) == []
        assert issue["check_name"] and issue["severity"] in (
            "info", "minor", "major", "critical", "blocker")
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["location"]["path"]
    assert len({i["fingerprint"] for i in issues}) == 4
    by_rule = {i["check_name"]: i for i in issues}
    webui = by_rule["no-webui"]
    assert webui["severity"] == "minor"
    assert webui["location"] == {"path": "rules.yaml", "lines": {"begin": 10}}
    assert webui["description"].startswith("db:webui_chats: ")
    assert by_rule["no-task-sessions"]["location"] == {
        "path": "app/store.py", "lines": {"begin": 6, "end": 6}}
    # The fingerprint is the baseline's: it survives a line shift.
    store = tmp_path / "app" / "store.py"
    store.write_text("\n" + store.read_text(encoding="utf-8"), encoding="utf-8")
    shifted = json.loads(gatecheck("run", "-f", "gitlab", cwd=tmp_path).stdout)
    assert {i["fingerprint"] for i in shifted} == {i["fingerprint"] for i in issues}


def test_gitlab_ci_snippet(tmp_path: Path) -> None:
    """docs/output.md's GitLab job: valid against the GitLab CI schema check-jsonschema
    ships, and its script, run for real, writes both reports it names."""
    doc = (REPO / "docs" / "output.md").read_text(encoding="utf-8")
    match = re.search(r"```yaml\n(gatecheck:\n.*?)```", doc, re.DOTALL)
    assert match, "docs/output.md has no GitLab job"
    job_file = tmp_path / ".gitlab-ci.yml"
    job_file.write_text(match.group(1), encoding="utf-8")
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema",
                           "vendor.gitlab-ci", str(job_file)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    job = yaml.safe_load(match.group(1))["gatecheck"]
    root = project(tmp_path / "p")
    [command] = job["script"]
    argv = command.split()
    assert argv[:2] == ["gatecheck", "run"]
    run = gatecheck_subprocess(*argv[1:], cwd=root)
    assert run.exit_code == 1, run.stderr
    for report in job["artifacts"]["reports"].values():
        assert (root / report).stat().st_size > 0


def test_junit_lists_every_finding(tmp_path: Path) -> None:
    project(tmp_path)
    out = tmp_path / "junit.xml"
    run = gatecheck("run", "--fail-on", "error", "--junit-output", str(out), cwd=tmp_path)
    assert run.exit_code == 1
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    failures = suite.findall("testcase/failure")
    assert len(failures) == 3 and suite.get("failures") == "3"
    [warning] = [c for c in cases if c.get("classname") == "no-webui"]
    assert warning.find("failure") is None
    assert (warning.findtext("system-out") or "").startswith("warning (below --fail-on): ")


# ---------------------------------------------------------------- item 11: init


def test_init_dialect_follows_the_url_and_proposes_references_exist(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    build_db(tmp_path / "data" / "app.db", SCHEMA)
    write_tree(tmp_path, {"svc/app/store.py": STORE})
    run = gatecheck("init", "--db", "sqlite:///data/app.db", "-o", "svc/rules.yaml",
                    cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    written = (tmp_path / "svc" / "rules.yaml").read_text(encoding="utf-8")
    # The path is relative to the rules file, as the loader reads it.
    assert 'database: "sqlite:///../data/app.db"' in written
    assert "dialect: sqlite" in written
    assert "  - id: code-matches-schema\n    kind: references-exist\n    columns: true\n" \
        in written
    found = gatecheck("run", "-f", "json", cwd=tmp_path / "svc")
    assert found.exit_code == 1, found.stderr
    assert {(f["rule"], f["object"], f.get("suggestion")) for f in found.json["findings"]} >= {
        ("code-matches-schema", "chat_sessions.last_activty", "last_activity")}


def test_init_on_postgres_writes_a_reference_and_the_dialect(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real server, a URL with a password: ${DATABASE_URL} in the file, dialect postgres,
    and the hint printed on stderr has no password either."""
    from pgserver import password_of, run_sql, scratch_database

    with scratch_database("gct_init14") as url:
        run_sql(url, "CREATE TABLE chat_sessions (session_id text PRIMARY KEY, title text);")
        run = gatecheck("init", "--db", url, cwd=tmp_path)
        assert run.exit_code == 0, run.stderr
        written = (tmp_path / "rules.yaml").read_text(encoding="utf-8")
        assert password_of(url) not in written + run.stderr
        assert 'database: "${DATABASE_URL}"' in written and "dialect: postgres" in written
        assert "kind: references-exist" in written
        assert "export DATABASE_URL='postgresql://" in run.stderr and ":***@" in run.stderr
        # The file works once the variable is set.
        write_tree(tmp_path, {"app/q.py": 'def f(c):\n    c.execute("SELECT titel FROM '
                                          'chat_sessions")\n'})
        monkeypatch.setenv("DATABASE_URL", url)
        found = gatecheck("run", "-f", "json", cwd=tmp_path)
        assert found.exit_code == 1, found.stderr
        assert [f.get("suggestion") for f in found.json["findings"]] == ["title"]


def test_markdown_escape_leaves_nothing_active() -> None:
    hostile = "[a](javascript:x) ![i](http://x/i.png) <script>x</script> `c` *b* _i_ | &amp;"
    escaped = markdown.escape(hostile)
    assert "<" not in escaped and "](" not in escaped and "&amp;amp;" in escaped
    assert "`" not in escaped.replace("\\`", "")
