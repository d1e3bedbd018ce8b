"""The sarif, github and junit reporters: golden files, schema validation, real runs.

Golden files live in ``tests/report/golden/``.  ``sarif.sarif``,
``github.txt`` and ``junit.xml`` come from a small project built here (a real
SQLite file, real sources, a real engine run); ``agentos/*`` are the CLI's
output on the bundled example.  Set GATECHECK_REGEN=1 to rewrite them after a
deliberate change, then review the diff line by line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import (REPO, SARIF_SCHEMA, build_db, gatecheck, gatecheck_subprocess,
                      write_tree)
from gatecheck.config import load_config
from gatecheck.engine import REPLAY_RULE, Engine, RunResult
from gatecheck.errors import DatabaseError, SourceError
from gatecheck.findings import Finding, Severity
from gatecheck.report import github, junit, sarif

GOLDEN = Path(__file__).resolve().parent / "golden"
#: Golden file name of each format's output.
GOLDEN_NAMES = {"text": "text.txt", "json": "json.json", "sarif": "sarif.sarif",
                "github": "github.txt", "junit": "junit.xml"}

SAMPLE_RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
    message: "task_sessions was merged into chat_sessions (100%, v35): use chat_sessions"
  - id: no-webui-tables
    kind: forbid-tables
    pattern: "webui_*"
    except: ["*_legacy"]
    severity: warning
  - id: no-leftovers
    kind: forbid-tables
    patterns: ["*_new", "*_tmp"]
    severity: info
  - id: no-duplicate-session-tables
    kind: unique-family
    pattern: "*session*"
    except: ["*_legacy"]
  - id: sql-parses
    kind: sql-parses
    message: "SQL does not parse"
"""
SAMPLE_SCHEMA = """\
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE task_sessions_legacy (session_id TEXT);
CREATE TABLE webui_chats (id INTEGER);
CREATE TABLE webui_users_legacy (id INTEGER);
CREATE TABLE tasks_new (id INTEGER);
"""
SAMPLE_STORE = '''\
"""Session storage (task_sessions in a docstring is not a reference)."""

OPEN = "INSERT INTO task_sessions (session_id) VALUES (?)"


def close(cur, sid):
    cur.execute("UPDATE task_sessions SET closed = 1 WHERE session_id = ?", (sid,))
    cur.execute("SELECT id FROM chat_sessions WHERE")
'''
SAMPLE_FILES: dict[str, str | bytes] = {
    "rules.yaml": SAMPLE_RULES,
    "app/store.py": SAMPLE_STORE,
    # A space and a non-ASCII letter: the SARIF URI must percent-encode both.
    "app/old jobs/Ärger.py": 'X = "SELECT * FROM task_sessions"\n',
    # Not UTF-8 and no coding cookie: a run error, the other files still checked.
    "app/latin1.py": b'X = "caf\xe9"\n',
}


def sample_run(root: Path) -> RunResult:
    """A real engine run on the sample project under ``root``."""
    config = load_config(root / "rules.yaml", display_root=root)
    return Engine(config, root.resolve()).run()


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "sample", SAMPLE_FILES)
    build_db(root / "app.db", SAMPLE_SCHEMA)
    return root


@pytest.fixture(scope="session")
def sarif_validator() -> jsonschema.protocols.Validator:
    if not SARIF_SCHEMA.is_file():
        pytest.fail(f"the official SARIF schema is missing: expected {SARIF_SCHEMA} "
                    "(vendored under tests/schemas/)")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def assert_valid_sarif(validator: jsonschema.protocols.Validator, text: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(text)
    problems = sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                      for e in validator.iter_errors(doc))
    assert problems == [], "SARIF is not valid 2.1.0:\n" + "\n".join(problems)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        # Code scanning rejects a result without a physical location.
        assert any("physicalLocation" in loc for loc in result["locations"]), result
    return doc


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GATECHECK_REGEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
    assert path.is_file(), f"no golden file {path}; run with GATECHECK_REGEN=1 and review it"
    assert text == path.read_bytes().decode("utf-8")


# ---------------------------------------------------------------- the sample project


def test_sample_run_covers_what_the_goldens_need(sample: Path) -> None:
    result = sample_run(sample)
    severities = {f.severity for f in result.findings}
    assert severities == {Severity.ERROR, Severity.WARNING, Severity.INFO}
    assert any(f.path is None for f in result.findings)
    assert any(f.path is not None for f in result.findings)
    assert [type(e) for e in result.errors] == [SourceError]
    clean = {s.id for s in result.specs} - {f.rule for f in result.findings}
    assert clean == {"no-duplicate-session-tables"}


@pytest.mark.parametrize("fmt, reporter", [("sarif", sarif), ("github", github),
                                           ("junit", junit)])
def test_golden(sample: Path, fmt: str, reporter: Any) -> None:
    text = reporter.render(sample_run(sample))
    check_golden(GOLDEN_NAMES[fmt], text)
    assert reporter.render(sample_run(sample)) == text, "same input, same output"


def test_sarif_sample_is_valid(sample: Path, sarif_validator: jsonschema.protocols.Validator,
                               ) -> None:
    result = sample_run(sample)
    doc = assert_valid_sarif(sarif_validator, sarif.render(result))
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [s.id for s in result.specs]
    by_id = {r["id"]: r for r in rules}
    assert by_id["no-webui-tables"]["defaultConfiguration"]["level"] == "warning"
    assert by_id["no-leftovers"]["defaultConfiguration"]["level"] == "note"
    for rule in rules:
        assert rule["help"]["markdown"].count("### ") == 5, rule["id"]
        assert "``" not in rule["help"]["text"].replace("```", "")
    assert run["invocations"][0]["executionSuccessful"] is False
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/latin1.py"

    results = run["results"]
    assert len(results) == len(result.findings)
    for res, finding in zip(results, result.findings):
        loc = res["locations"][0]
        if finding.path is None:
            assert loc["logicalLocations"][0]["fullyQualifiedName"] == f"db:{finding.object}"
            # The physical location is the rule's declaration in rules.yaml.
            assert loc["physicalLocation"]["artifactLocation"]["uri"] == "rules.yaml"
            continue
        region = loc["physicalLocation"]["region"]
        line = (sample / finding.path).read_text(encoding="utf-8").splitlines()[
            region["startLine"] - 1]
        # endColumn is exclusive in SARIF: the slice is exactly the reported name.
        if finding.object is not None:
            assert line[region["startColumn"] - 1:region["endColumn"] - 1] == finding.object
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "app/old%20jobs/%C3%84rger.py" in uris


def test_sarif_fingerprints_survive_a_line_shift(sample: Path) -> None:
    def results() -> list[dict[str, Any]]:
        doc = json.loads(sarif.render(sample_run(sample)))
        return doc["runs"][0]["results"]  # type: ignore[no-any-return]

    def start_line(res: dict[str, Any]) -> int:
        return res["locations"][0]["physicalLocation"]["region"]["startLine"]  # type: ignore

    before = results()
    store = sample / "app" / "store.py"
    store.write_text("\n" + store.read_text(encoding="utf-8"), encoding="utf-8")
    after = results()

    assert len(after) == len(before)
    shifted = 0
    for old, new in zip(before, after):
        assert new["partialFingerprints"] == old["partialFingerprints"]
        moved = old["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == \
            "app/store.py"
        assert start_line(new) == start_line(old) + (1 if moved else 0)
        shifted += moved
    assert shifted == 3
    fingerprints = [r["partialFingerprints"]["gatecheck/v1"] for r in after]
    assert len(set(fingerprints)) == len(fingerprints), "two findings share a fingerprint"


def test_sarif_describes_rules_only_findings_name(
        sarif_validator: jsonschema.protocols.Validator) -> None:
    # The engine's own migrations-replay rule is not in the rules file.
    result = RunResult(
        findings=[Finding(rule=REPLAY_RULE, kind=REPLAY_RULE, severity=Severity.ERROR,
                          message="near \"TABL\": syntax error", path="migrations/v2.sql",
                          line=3, column=1, end_line=3, end_column=1)],
        errors=[DatabaseError("cannot open sqlite:///missing.db: no such file")],
    )
    doc = assert_valid_sarif(sarif_validator, sarif.render(result))
    [rule] = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["id"] == REPLAY_RULE
    assert rule["shortDescription"]["text"]
    [note] = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert note["descriptor"]["id"] == "database-error" and "locations" not in note


def test_junit_sample_parses_back(sample: Path) -> None:
    """One test case per finding (most CI systems show one failure per test case), one per
    clean rule; findings below --fail-on pass and say so in <system-out>."""
    result = sample_run(sample)
    root = ET.fromstring(junit.render(result))
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "gatecheck"
    cases = suite.findall("testcase")
    by_rule: dict[str, list[ET.Element]] = {}
    for case in cases:
        by_rule.setdefault(case.get("classname") or "", []).append(case)
    assert set(by_rule) == {s.id for s in result.specs} | {"gatecheck"}
    assert len(suite.findall("testcase/failure")) == len(result.findings)
    assert len(by_rule["no-task-sessions"]) == 3
    assert all(len(case.findall("failure")) == 1 for case in by_rule["no-task-sessions"])
    first = by_rule["no-task-sessions"][0]
    finding = next(f for f in result.findings if f.rule == "no-task-sessions")
    assert first.get("name") == f"{finding.path}:{finding.line}:{finding.column}"
    assert (first.get("file"), first.get("line")) == (finding.path, str(finding.line))
    [clean] = by_rule["no-duplicate-session-tables"]
    assert clean.get("name") == "no-duplicate-session-tables" and clean.findall("*") == []
    [error] = suite.findall("testcase[@classname='gatecheck']/error")
    assert "app/latin1.py" in (error.text or "")
    assert suite.get("tests") == str(len(cases))
    assert suite.get("failures") == str(len(result.findings)) and suite.get("errors") == "1"

    # --fail-on error: the warning and the info are not failures, but still listed.
    root = ET.fromstring(junit.render(result, fail_on=Severity.ERROR))
    [suite] = root.findall("testsuite")
    errors = sum(1 for f in result.findings if f.severity == Severity.ERROR)
    assert suite.get("failures") == str(errors) and errors < len(result.findings)
    outs = [case.findtext("system-out") or "" for case in suite.findall("testcase")
            if case.find("system-out") is not None]
    assert len(outs) == len(result.findings) - errors
    assert {o.split(" ", 1)[0] for o in outs} == {"warning", "info"}
    assert all("(below --fail-on)" in o for o in outs)


def test_junit_escapes_markup_and_control_characters() -> None:
    message = 'a <b> & "c" \x01 ]]> d'
    result = RunResult(findings=[Finding(rule="r", kind="query", severity=Severity.ERROR,
                                         message=message, object="t")], errors=[])
    [failure] = ET.fromstring(junit.render(result)).iter("failure")
    assert failure.get("message") == message.replace("\x01", "\\x01")
    assert failure.text == "db:t: " + message.replace("\x01", "\\x01") + " [r, query]"


# ---------------------------------------------------------------- github commands


def test_github_escapes_data_and_properties() -> None:
    finding = Finding(rule="no-x", kind="forbid-table-references", severity=Severity.WARNING,
                      message="100% sure:\r\nuse a, b", path="dir,1/a:b%.py",
                      line=4, column=2, end_line=4, end_column=6, object="x")
    lines = github.render(RunResult(findings=[finding], errors=[])).splitlines()
    assert lines[0] == ("::warning file=dir%2C1/a%3Ab%25.py,line=4,col=2,endLine=4,"
                        "endColumn=6,title=no-x::100%25 sure:\\r\\nuse a, b")
    assert lines[1] == "Found 1 warning (0 rules, 0 files, 0 SQL fragments)"
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert github.escape_data("a:b,c%\r") == "a:b,c%25%0D"


def test_github_spans_across_lines_and_schema_findings() -> None:
    findings = [
        Finding(rule="sql-parses", kind="sql-parses", severity=Severity.ERROR,
                message="SQL does not parse", path="a.py", line=3, column=9,
                end_line=5, end_column=4),
        Finding(rule="no-webui", kind="forbid-tables", severity=Severity.INFO,
                message="table webui_x, not allowed", object="webui_x"),
    ]
    errors = [SourceError("cannot decode", path="b.py"), DatabaseError("no database")]
    lines = github.render(RunResult(findings=findings, errors=errors)).splitlines()
    assert lines == [
        "::error file=a.py,line=3,endLine=5,title=sql-parses::SQL does not parse",
        "::notice title=no-webui::db:webui_x: table webui_x, not allowed",
        "::error file=b.py,title=gatecheck::cannot decode",
        "::error title=gatecheck::no database",
        "Found 1 error, 1 info; 1 error stopped part of the check (0 rules, 0 files, 0 SQL fragments)",
    ]


# ---------------------------------------------------------------- the bundled example


@pytest.fixture(scope="session")
def agentos_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("agentos") / "agentos.db"
    subprocess.run([sys.executable, str(REPO / "examples" / "agentos" / "build_db.py"),
                    "--out", str(out)], check=True, capture_output=True, timeout=120)
    return out


@pytest.fixture(scope="session")
def agentos_json(agentos_db: Path) -> dict[str, Any]:
    run = gatecheck("run", "--db", f"app=sqlite:///{agentos_db}", "--format", "json", cwd=REPO)
    return run.json  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", list(GOLDEN_NAMES))
def test_bundled_example(fmt: str, agentos_db: Path, agentos_json: dict[str, Any],
                         sarif_validator: jsonschema.protocols.Validator) -> None:
    run = gatecheck("run", "--db", f"app=sqlite:///{agentos_db}", "--format", fmt, cwd=REPO)
    assert run.stderr == ""
    findings = agentos_json["findings"]
    assert findings, "the bundled example has known violations"
    assert run.exit_code == 1
    check_golden(f"agentos/{GOLDEN_NAMES[fmt]}", run.stdout)
    if fmt == "sarif":
        doc = assert_valid_sarif(sarif_validator, run.stdout)
        assert len(doc["runs"][0]["results"]) == len(findings)
    elif fmt == "junit":
        assert len(list(ET.fromstring(run.stdout).iter("failure"))) == len(findings)
    elif fmt == "github":
        commands = [line for line in run.stdout.splitlines() if line.startswith("::")]
        assert len(commands) == len(findings)


def test_output_file_from_a_real_process(agentos_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "gatecheck.sarif"
    out.parent.mkdir()
    run = gatecheck_subprocess("run", "--db", f"app=sqlite:///{agentos_db}", "--format", "sarif",
                               "--output", str(out), cwd=REPO)
    assert (run.exit_code, run.stdout, run.stderr) == (1, "", "")
    check_golden("agentos/sarif.sarif", out.read_text(encoding="utf-8"))
