"""The command line, in-process (click's runner) and as a real subprocess."""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import build_db, gatecheck, gatecheck_subprocess, write_tree
from gatecheck import __version__
from gatecheck.kinds.registry import KINDS

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*", severity: warning}
"""


def project(root: Path, *, sql: str = "SELECT * FROM chat_sessions;\n") -> Path:
    write_tree(root, {"rules.yaml": RULES, "app/q.sql": sql})
    build_db(root / "app.db", "CREATE TABLE chat_sessions (id INTEGER);")
    return root


def test_version() -> None:
    run = gatecheck("--version")
    assert run.exit_code == 0 and run.stdout.strip() == f"gatecheck, version {__version__}"


def test_clean_run_exits_0(tmp_path: Path) -> None:
    run = gatecheck("run", cwd=project(tmp_path))
    assert run.exit_code == 0, run.stderr
    assert run.stdout == "PASS: no findings (2 rules, 1 file, 1 SQL fragment)\n"


def test_findings_exit_1_and_text_format(tmp_path: Path) -> None:
    project(tmp_path, sql="-- header\nSELECT id FROM task_sessions;\n")
    build_db(tmp_path / "app.db", "CREATE TABLE webui_chats (id INTEGER);")
    run = gatecheck("run", "--format", "concise", cwd=tmp_path)
    assert run.exit_code == 1
    assert run.stdout.splitlines() == [
        "db:webui_chats: no-webui table webui_chats matches forbidden pattern 'webui_*' [warning]",
        "app/q.sql:2:16: no-task-sessions references forbidden table task_sessions",
        "Found 1 error, 1 warning (2 rules, 1 file, 1 SQL fragment)",
    ]
    # The full report (the default) adds a code frame under the source finding.
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 1
    assert run.stdout.splitlines() == [
        "db:webui_chats: no-webui table webui_chats matches forbidden pattern 'webui_*' [warning]",
        "app/q.sql:2:16: no-task-sessions references forbidden table task_sessions",
        "  |",
        "2 | SELECT id FROM task_sessions;",
        "  |                ^^^^^^^^^^^^^",
        "  |",
        "",
        "Found 1 error, 1 warning (2 rules, 1 file, 1 SQL fragment)",
    ]


def test_json_contract(tmp_path: Path) -> None:
    project(tmp_path, sql="SELECT id FROM task_sessions;\n")
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    data = run.json
    assert list(data) == ["version", "findings", "summary", "errors", "not_checked"]
    assert data["version"] == 1
    assert data["findings"] == [{
        "rule": "no-task-sessions", "kind": "forbid-table-references", "severity": "error",
        "message": "references forbidden table task_sessions", "path": "app/q.sql",
        "line": 1, "column": 16, "end_line": 1, "end_column": 28, "object": "task_sessions"}]
    assert data["summary"] == {"files": 1, "fragments": 1, "rules": 2, "errors": 1,
                               "warnings": 0, "infos": 0,
                               "rules_not_run": 0, "not_checked": 0}
    assert data["not_checked"] == []


def test_fail_on_threshold(tmp_path: Path) -> None:
    project(tmp_path)
    build_db(tmp_path / "app.db", "CREATE TABLE webui_chats (id INTEGER);")
    assert gatecheck("run", cwd=tmp_path).exit_code == 1
    assert gatecheck("run", "--fail-on", "error", cwd=tmp_path).exit_code == 0


def test_select_and_ignore(tmp_path: Path) -> None:
    project(tmp_path, sql="SELECT id FROM task_sessions;\n")
    build_db(tmp_path / "app.db", "CREATE TABLE webui_chats (id INTEGER);")
    rules = {f["rule"] for f in gatecheck("run", "-f", "json", "--select", "no-webui",
                                          cwd=tmp_path).json["findings"]}
    assert rules == {"no-webui"}
    rules = {f["rule"] for f in gatecheck("run", "-f", "json", "--ignore", "no-webui",
                                          cwd=tmp_path).json["findings"]}
    assert rules == {"no-task-sessions"}
    run = gatecheck("run", "--select", "nope", cwd=tmp_path)
    assert run.exit_code == 2 and "unknown rule id 'nope'" in run.stderr


def test_db_override_and_missing_database(tmp_path: Path) -> None:
    project(tmp_path)
    run = gatecheck("run", "--db", "sqlite:///missing.db", cwd=tmp_path)
    assert run.exit_code == 2
    assert "database file not found" in run.stderr and "missing.db" in run.stderr
    assert not (tmp_path / "missing.db").exists(), "a missing database must never be created"
    # Source rules still ran and reported.
    assert run.stdout.endswith("(2 rules, 1 file, 1 SQL fragment)\n")


def test_config_flag_and_no_config(tmp_path: Path) -> None:
    project(tmp_path / "p")
    (tmp_path / "p" / "rules.yaml").rename(tmp_path / "p" / "gates.yaml")
    run = gatecheck("run", cwd=tmp_path / "p")
    assert run.exit_code == 2 and "no rules.yaml found" in run.stderr
    run = gatecheck("run", "--config", "gates.yaml", cwd=tmp_path / "p")
    assert run.exit_code == 0, run.stderr


def test_files_restrict_source_rules(tmp_path: Path) -> None:
    project(tmp_path, sql="SELECT id FROM task_sessions;\n")
    write_tree(tmp_path, {"app/ok.sql": "SELECT 1;\n"})
    run = gatecheck("run", "app/ok.sql", cwd=tmp_path)
    assert run.exit_code == 0 and "1 file" in run.stdout
    run = gatecheck("run", "app/q.sql", "app/ok.sql", cwd=tmp_path)
    assert run.exit_code == 1 and "2 files" in run.stdout


def test_output_file(tmp_path: Path) -> None:
    project(tmp_path, sql="SELECT id FROM task_sessions;\n")
    run = gatecheck("run", "-f", "json", "-o", "out.json", cwd=tmp_path)
    assert run.exit_code == 1 and run.stdout == ""
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["errors"] == 1


def test_explain_every_kind_has_the_five_sections() -> None:
    listing = gatecheck("explain")
    assert listing.exit_code == 0
    for kind in KINDS:
        assert kind in listing.stdout
        run = gatecheck("explain", kind)
        assert run.exit_code == 0
        for section in ("**What it does**", "**Why it matters**", "**Example**", "**Fix**",
                        "**Options**"):
            assert section in run.stdout, f"{kind} lacks {section}"
    run = gatecheck("explain", "nope")
    assert run.exit_code == 2 and "valid kinds" in run.stderr


def test_rules_lists_origin(tmp_path: Path) -> None:
    project(tmp_path)
    run = gatecheck("rules", cwd=tmp_path)
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["no-task-sessions", "forbid-table-references", "error",
                                "rules.yaml:4:5"]
    assert lines[1].split() == ["no-webui", "forbid-tables", "warning", "rules.yaml:5:5"]


def test_schema_command(tmp_path: Path) -> None:
    project(tmp_path)
    run = gatecheck("schema", cwd=tmp_path)
    assert run.exit_code == 0
    assert [t["name"] for t in run.json["tables"]] == ["chat_sessions"]


def test_real_subprocess_no_traceback(tmp_path: Path) -> None:
    project(tmp_path, sql="SELECT id FROM task_sessions;\n")
    run = gatecheck_subprocess("run", "--format", "json", cwd=tmp_path)
    assert run.exit_code == 1
    assert run.json["findings"][0]["path"] == "app/q.sql"
    (tmp_path / "rules.yaml").write_text("version: [\n")
    run = gatecheck_subprocess("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "rules.yaml:" in run.stderr and "Traceback" not in run.stderr


def test_version_does_not_import_sqlglot(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gatecheck", "--version"],
                          capture_output=True, text=True, env=env, check=True)
    assert "sqlglot" not in proc.stderr


def test_init_proposes_rules_from_the_schema(tmp_path: Path) -> None:
    build_db(tmp_path / "app.db",
             "CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);"
             "CREATE TABLE task_sessions_legacy (session_id TEXT);"
             "CREATE TABLE tasks (id INTEGER, session_id TEXT "
             "REFERENCES task_sessions_legacy(session_id));")
    write_tree(tmp_path, {"app/q.py": 'def f(c):\n    c.execute("SELECT * FROM task_sessions")\n'})
    run = gatecheck("init", "--db", "sqlite:///app.db", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
    text = (tmp_path / "rules.yaml").read_text()
    assert 'tables: ["task_sessions", "task_sessions_legacy"]' in text
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    assert {(f["rule"], f["object"]) for f in run.json["findings"]} == {
        ("no-task-sessions-references", "task_sessions"),
        ("code-matches-schema", "task_sessions"),
        ("foreign-keys-resolve", "tasks.session_id")}
    again = gatecheck("init", cwd=tmp_path)
    assert again.exit_code == 2 and "--force" in again.stderr


def test_init_without_database_loads_cleanly(tmp_path: Path) -> None:
    assert gatecheck("init", cwd=tmp_path).exit_code == 0
    write_tree(tmp_path, {"a.sql": "SELECT 1;\n"})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr


def test_config_from_pyproject(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": '[project]\nname = "x"\n\n[tool.gatecheck]\nversion = 1\n'
                          '[[tool.gatecheck.rules]]\nid = "no-task-sessions"\n'
                          'kind = "forbid-table-references"\ntables = ["task_sessions"]\n',
        "sub/q.sql": "SELECT * FROM task_sessions;\n"})
    run = gatecheck("run", "--format", "json", cwd=tmp_path / "sub")
    assert run.exit_code == 1, run.stderr
    assert [f["path"] for f in run.json["findings"]] == ["sub/q.sql"]
    rules = gatecheck("rules", cwd=tmp_path)
    assert rules.stdout.split()[:3] == ["no-task-sessions", "forbid-table-references", "error"]
    # A mistake is reported at the TOML's own line and column.
    (tmp_path / "pyproject.toml").write_text(
        "[tool.gatecheck]\nversion = 1\n[[tool.gatecheck.rules]]\nid = \"x\"\nkind = \"nope\"\n")
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert run.stderr.startswith("gatecheck: error: pyproject.toml:5:8: [tool.gatecheck] "
                                 "rules[0] (id=x) › kind: unknown kind 'nope'")


def test_rules_yaml_wins_over_pyproject(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.gatecheck]\nversion = 1\n",
                          "rules.yaml": RULES})
    run = gatecheck("rules", cwd=tmp_path)
    assert "no-webui" in run.stdout


def test_warm_run_never_imports_sqlglot(tmp_path: Path) -> None:
    """A run served from the cache must not pay for importing sqlglot (~60 ms)."""
    import subprocess
    import sys
    project(tmp_path, sql="SELECT id FROM task_sessions;\n")
    cmd = [sys.executable, "-X", "importtime", "-m", "gatecheck", "run", "--select",
           "no-task-sessions"]
    subprocess.run(cmd, cwd=tmp_path, capture_output=True, check=False)  # fills the cache
    warm = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert warm.returncode == 1, warm.stderr
    assert "app/q.sql:1:16: no-task-sessions" in warm.stdout
    assert "sqlglot" not in warm.stderr


def test_a_file_edited_around_its_sql_imports_only_what_the_run_uses(tmp_path: Path) -> None:
    """Pre-commit on a file changed above its SQL: the SQL's facts come from the
    statement memo, so neither sqlglot nor modules only some runs need (json for
    baselines and secrets, difflib for suggestions, shlex for build:) are imported."""
    import subprocess
    import sys
    project(tmp_path)
    write_tree(tmp_path, {"rules.yaml": RULES + "  - {id: parses, kind: sql-parses}\n",
                          "app/jobs.py": 'def f(cur):\n    cur.execute("SELECT id FROM task_sessions")\n'})
    cmd = [sys.executable, "-X", "importtime", "-m", "gatecheck", "run", "app/jobs.py"]
    subprocess.run(cmd, cwd=tmp_path, capture_output=True, check=False)  # fills the caches
    (tmp_path / "app/jobs.py").write_text(
        '# a comment above\ndef f(cur):\n    cur.execute("SELECT id FROM task_sessions")\n')
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 1, run.stderr
    assert "app/jobs.py:3:33: no-task-sessions" in run.stdout, run.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    assert "gatecheck.pipeline" in imported  # the file was analysed, not replayed
    assert not imported & {"sqlglot", "json", "difflib", "shlex"}, imported


def test_the_summary_never_says_pass_when_rules_did_not_run(tmp_path: Path) -> None:
    """A database that cannot be opened: exit 2, and the summary names the rules that did
    not run instead of PASS (which reads green in a CI log)."""
    write_tree(tmp_path, {"rules.yaml": (
        "version: 1\ndatabase: sqlite:///nowhere.db\nrules:\n"
        "  - {id: built, kind: require-tables, tables: [a]}\n"
        "  - {id: parses, kind: sql-parses}\n"), "q.sql": "SELECT 1;\n"})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert run.stdout.splitlines()[-1] == (
        "NOT CHECKED: 1 rule not run (built: see the database error); no findings from the "
        "rest (2 rules, 1 file, 1 SQL fragment)")
    assert "database file not found" in run.stderr
    assert gatecheck("run", "-f", "json", cwd=tmp_path).json["summary"]["rules_not_run"] == 1


def test_verbose_lists_every_reference_not_checked(tmp_path: Path) -> None:
    """What references-exist and sql-parses could not decide is listed with place and
    why (stderr with --verbose, JSON's not_checked) and counted in the summary."""
    build_db(tmp_path / "app.db", "CREATE TABLE tasks (id INTEGER, title TEXT);")
    write_tree(tmp_path, {
        "rules.yaml": ("version: 1\ndatabase: sqlite:///app.db\nrules:\n"
                       "  - {id: refs, kind: references-exist, columns: true}\n"
                       "  - {id: parses, kind: sql-parses}\n"),
        "app.py": ("def f(cur, col, table, where):\n"
                   '    cur.execute(f"SELECT {col} FROM tasks")\n'
                   '    cur.execute(f"SELECT id FROM {table}")\n'
                   '    cur.execute("SELECT id FROM other.tasks")\n'
                   '    cur.execute("SELECT title FROM tasks WHERE id = 1 %s GROUP" % where)\n'
                   '    cur.execute("SELECT titel FROM tasks")\n')})
    run = gatecheck("run", "--verbose", cwd=tmp_path)
    listed = [line.removeprefix("gatecheck: not checked: ") for line in run.stderr.splitlines()
              if line.startswith("gatecheck: not checked: ")]
    assert listed == [
        "app.py:2:26: {…}: column name from a template hole [refs]",
        "app.py:3:26: id: table name from a template hole [refs]",
        "app.py:3:34: {…}: table name from a template hole [refs]",
        "app.py:4:25: id: table in another schema or database [refs]",
        "app.py:4:39: other.tasks: another schema or database (other) [refs]",
        "app.py:5:18: SELECT title FROM tasks WHERE id = 1 %s GROUP: partial "
        "template: a placeholder stands for SQL text, checked only at run time [parses]",
    ], run.stderr
    assert run.stdout.splitlines()[-1] == \
        "Found 1 error (2 rules, 1 file, 5 SQL fragments; 6 not checked, see --verbose)"
    data = gatecheck("run", "--format", "json", cwd=tmp_path).json
    assert data["summary"]["not_checked"] == 6
    assert [(u["line"], u["rule"]) for u in data["not_checked"]] == \
        [(2, "refs"), (3, "refs"), (3, "refs"), (4, "refs"), (4, "refs"), (5, "parses")]


def test_a_name_read_by_several_queries_is_one_finding(tmp_path: Path) -> None:
    """A table constant used by three queries is written once: one finding, at it."""
    write_tree(tmp_path, {
        "rules.yaml": ("version: 1\nrules:\n  - {id: no-ts, kind: forbid-table-references,"
                       " tables: [task_sessions]}\n"),
        "app.py": ("class Store:\n"
                   "    TABLE = 'task_sessions'\n"
                   "    def a(self, cur):\n"
                   "        cur.execute('SELECT id FROM %s' % self.TABLE)\n"
                   "        cur.execute('DELETE FROM %s WHERE id = 1' % self.TABLE)\n"
                   "        cur.execute('SELECT * FROM ' + self.TABLE)\n")})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [(f["line"], f["column"]) for f in run.json["findings"]] == [(2, 14)]
