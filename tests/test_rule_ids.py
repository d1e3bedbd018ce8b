"""Rule ids as first-class names (issue 14, item 8): explain and list configured rules (text
and JSON), select by glob and kind, suppressions that name unknown rules or a whole file,
and ``[tool.gatecheck]`` errors with their TOML line and column."""

from __future__ import annotations

from pathlib import Path

from conftest import build_db, gatecheck, write_tree

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - id: no-task-sessions
    kind: forbid-table-references
    tables: [task_sessions]
    exclude: ["**/migrations/**"]
    message: use chat_sessions
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*", severity: warning}
  - {id: parses, kind: sql-parses}
"""


def project(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    write_tree(root, {"rules.yaml": RULES, **(files or {})})
    build_db(root / "app.db", "CREATE TABLE webui_chats (id INTEGER);")
    return root


# ---------------------------------------------------------------- explain and rules


def test_explain_a_configured_rule(tmp_path: Path) -> None:
    project(tmp_path, {"app/sub/x.py": ""})
    run = gatecheck("explain", "no-task-sessions", cwd=tmp_path / "app" / "sub")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:6] == [
        "no-task-sessions: a forbid-table-references rule, severity error",
        "declared at ../../rules.yaml:4:5",
        "message: use chat_sessions",
        'exclude: ["**/migrations/**"]',
        "options:",
        '  tables: ["task_sessions"]']
    assert "forbid-table-references" in lines and "**What it does**" in lines
    # A kind is still a kind; a rule id is looked for in --config too.
    assert gatecheck("explain", "forbid-tables", cwd=tmp_path).stdout.startswith(
        "forbid-tables\n\n")
    (tmp_path / "rules.yaml").rename(tmp_path / "gates.yaml")
    assert gatecheck("explain", "parses", cwd=tmp_path).exit_code == 2
    run = gatecheck("explain", "parses", "--config", "gates.yaml", cwd=tmp_path)
    assert run.stdout.startswith("parses: a sql-parses rule, severity error\n")


def test_explain_json(tmp_path: Path) -> None:
    project(tmp_path)
    data = gatecheck("explain", "no-webui", "-f", "json", cwd=tmp_path).json
    assert data["version"] == 1
    assert data["rule"] == {
        "id": "no-webui", "kind": "forbid-tables", "severity": "warning", "message": None,
        "origin": {"path": "rules.yaml", "line": 9, "column": 5}, "paths": [],
        "exclude": [], "ignore": [], "databases": [],
        "options": {"patterns": ["webui_*"], "except": []}}
    assert data["kind"]["name"] == "forbid-tables"
    assert set(data["kind"]["sections"]) == {"What it does", "Why it matters", "Example",
                                             "Fix", "Options"}
    kind = gatecheck("explain", "sql-parses", "-f", "json", cwd=tmp_path / "..").json
    assert list(kind) == ["version", "kind"] and kind["kind"]["summary"]
    listing = gatecheck("explain", "-f", "json").json
    assert {"name": "forbid-tables", "summary": data["kind"]["summary"]} in listing["kinds"]


def test_explain_unknown_name_and_broken_rules_file(tmp_path: Path) -> None:
    project(tmp_path)
    run = gatecheck("explain", "no-task-session", cwd=tmp_path)
    assert run.exit_code == 2
    assert "unknown kind or rule id 'no-task-session'; did you mean 'no-task-sessions'? " \
           "valid kinds: " in run.stderr
    assert "rule ids: no-task-sessions, no-webui, parses" in run.stderr
    (tmp_path / "rules.yaml").write_text("version: 1\nrules: [\n")
    assert gatecheck("explain", "forbid-tables", cwd=tmp_path).exit_code == 0
    run = gatecheck("explain", "parses", cwd=tmp_path)
    assert run.exit_code == 2 and "rules.yaml:3:1: invalid YAML" in run.stderr


def test_rules_json(tmp_path: Path) -> None:
    project(tmp_path / "backend")
    (tmp_path / ".git").mkdir()  # the repository's root: paths for tools start there
    data = gatecheck("rules", "backend", "--format", "json", cwd=tmp_path).json
    assert [(r["id"], r["kind"], r["severity"]) for r in data["rules"]] == [
        ("no-task-sessions", "forbid-table-references", "error"),
        ("no-webui", "forbid-tables", "warning"), ("parses", "sql-parses", "error")]
    assert data["rules"][0]["origin"] == {"path": "backend/rules.yaml", "line": 4, "column": 5}
    assert data["rules"][0]["options"]["tables"] == ["task_sessions"]
    text = gatecheck("rules", cwd=tmp_path / "backend").stdout.splitlines()
    assert text[0].split() == ["no-task-sessions", "forbid-table-references", "error",
                               "rules.yaml:4:5"]


# ---------------------------------------------------------------- --select / --ignore


def test_select_and_ignore_take_globs_and_kinds(tmp_path: Path) -> None:
    project(tmp_path, {"app/q.sql": "SELECT * FROM task_sessions;\nSELEC 1;\n"})

    def rules(*args: str) -> list[str]:
        run = gatecheck("run", "-f", "json", *args, cwd=tmp_path)
        assert run.exit_code in (0, 1), run.stderr
        return sorted({f["rule"] for f in run.json["findings"]})

    assert rules() == ["no-task-sessions", "no-webui", "parses"]
    assert rules("--select", "no-*") == ["no-task-sessions", "no-webui"]
    assert rules("--select", "forbid-tables,sql-parses") == ["no-webui", "parses"]
    assert rules("--ignore", "forbid-*") == ["parses"]
    assert rules("--select", "no-*", "--ignore", "no-webui") == ["no-task-sessions"]
    assert rules("--select", "require-tables") == []  # a kind no rule has: nothing to run
    run = gatecheck("run", "--select", "nope-*", cwd=tmp_path)
    assert run.exit_code == 2
    assert "--select: 'nope-*' matches no rule id or kind; rules: no-task-sessions" in run.stderr
    run = gatecheck("run", "--ignore", "nope", cwd=tmp_path)
    assert run.exit_code == 2 and "--ignore: unknown rule id 'nope'" in run.stderr


# ---------------------------------------------------------------- suppressions


def test_a_suppression_naming_an_unknown_rule_is_reported(tmp_path: Path) -> None:
    project(tmp_path, {
        "app/a.py": 'X = "SELECT * FROM task_sessions"  # gatecheck: ignore[no-task-session]\n',
        "app/b.sql": "SELECT 1; -- gatecheck: ignore[parses, typo]\n"})
    run = gatecheck("run", "-f", "json", "--warn-unused-ignores", cwd=tmp_path)
    found = [(f["rule"], f["path"], f["line"], f["column"], f["severity"])
             for f in run.json["findings"] if f["path"]]
    assert found == [
        ("no-task-sessions", "app/a.py", 1, 20, "error"),
        ("unknown-rule-in-ignore", "app/a.py", 1, 36, "warning"),
        ("unknown-rule-in-ignore", "app/b.sql", 1, 11, "warning")]
    messages = [f["message"] for f in run.json["findings"] if f["rule"].startswith("unknown")]
    assert messages[0] == ("suppression comment names rule 'no-task-session', which the rules "
                           "file does not declare, so it suppresses nothing; did you mean "
                           "'no-task-sessions'?")
    assert "'typo'" in messages[1]
    # A rule left out with --select is still a rule of the file: not unknown.
    run = gatecheck("run", "-f", "json", "--select", "no-task-sessions", cwd=tmp_path)
    unknown = [f["message"] for f in run.json["findings"] if f["rule"].startswith("unknown")]
    assert len(unknown) == 2 and not any("'parses'" in m for m in unknown)


def test_file_level_suppression(tmp_path: Path) -> None:
    project(tmp_path, {
        "app/a.py": ('"""Old code."""\n# gatecheck: ignore-file[no-task-sessions]\n'
                     'X = "SELECT * FROM task_sessions"\nY = "SELECT * FROM task_sessions t"\n'),
        "app/b.sql": "-- gatecheck: ignore-file\nSELECT * FROM task_sessions;\nSELEC 1;\n",
        "app/c.py": '# gatecheck: ignore-files[no-task-sessions]\nX = "SELECT * FROM task_sessions"\n',
        "app/d.py": '# gatecheck: ignore-file[parses]\nX = "SELECT * FROM task_sessions"\n'})
    run = gatecheck("run", "-f", "json", "--warn-unused-ignores", cwd=tmp_path)
    found = [(f["rule"], f["path"], f["line"]) for f in run.json["findings"] if f["path"]]
    assert found == [("no-task-sessions", "app/c.py", 2),
                     ("unused-ignore", "app/d.py", 1), ("no-task-sessions", "app/d.py", 2)]


# ---------------------------------------------------------------- pyproject.toml


PYPROJECT = """\
[project]
name = "x"

[tool.gatecheck]
version = 1
sources.include = ["**/*.sql"]

[[tool.gatecheck.rules]]
id = "no-task-sessions"
kind = "forbid-table-references"
tables = ["task_sessions"]

[[tool.gatecheck.rules]]
id = "second"
kind = "forbid-tables"
patterns = ["a", 3]
severity = "fatal"
"""


def test_pyproject_errors_have_line_and_column(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": PYPROJECT, "q.sql": "SELECT 1;\n"})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert run.stderr.splitlines() == [
        "gatecheck: error: pyproject.toml:17:12: [tool.gatecheck] rules[1] (id=second) › "
        "severity: unknown severity 'fatal'; valid: error, warning, info",
        "gatecheck: error: pyproject.toml:16:18: [tool.gatecheck] rules[1] (id=second) › "
        "patterns: expected string or list of strings, got list containing int"]
    fixed = PYPROJECT.replace(', 3]', ']').replace('"fatal"', '"warning"')
    (tmp_path / "pyproject.toml").write_text(fixed)
    rules = gatecheck("rules", cwd=tmp_path).stdout.splitlines()
    assert rules[0].split()[-1] == "pyproject.toml:8:1"  # its [[tool.gatecheck.rules]]


def test_pyproject_syntax_error_says_so(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.gatecheck]\nversion = 1\nrules = [\n",
                          "sub/q.sql": "SELECT 1;\n"})
    run = gatecheck("run", cwd=tmp_path / "sub")
    assert run.exit_code == 2
    assert run.stderr.startswith("gatecheck: error: ../pyproject.toml:")
    assert ": invalid TOML: " in run.stderr and "no rules.yaml found" not in run.stderr
    # A broken pyproject.toml that is not about gatecheck is not ours to report.
    (tmp_path / "pyproject.toml").write_text("[project\nname = 'x'\n")
    run = gatecheck("run", cwd=tmp_path / "sub")
    assert run.exit_code == 2 and "no rules.yaml found" in run.stderr
