"""Security item 7 (second half): database values stay out of public output.

A pull request can add a ``query`` rule that selects a secret column, or
point ``rows-preserved``/``schema-version``/``legacy-retention`` at one, and
CI prints whatever they read into public logs, annotations and SARIF.
Without ``--show-data`` no value read from a row may appear in any format
or on stderr; with it, the output is as before.  Every database is a real
SQLite file; every run is the real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import build_db, gatecheck, write_tree

SECRET = "PLANTED-s3cret"
FORMATS = ("text", "json", "sarif", "github", "junit")

SCHEMA = f"""
    CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, pw TEXT);
    INSERT INTO users VALUES (1, 'a@example.com', '{SECRET}');
    CREATE TABLE keys_legacy (k TEXT PRIMARY KEY);
    CREATE TABLE keys (k TEXT PRIMARY KEY);
    INSERT INTO keys_legacy VALUES ('{SECRET}-key');
    CREATE TABLE schema_version (version TEXT);
    INSERT INTO schema_version VALUES ('{SECRET}-version');
    CREATE TABLE dates (d TEXT);
    INSERT INTO dates VALUES ('{SECRET}-date');
"""

RULES = """version: 1
database: sqlite:///app.db
rules:
  - id: leak-query
    kind: query
    sql: "SELECT pw FROM users"
  - id: leak-alias
    kind: query
    sql: "SELECT 'PLANTED-' || 's3cret' AS pw FROM users"
  - id: leak-key
    kind: rows-preserved
    from: keys_legacy
    to: keys
  - id: leak-orphan
    kind: no-orphans
    from: keys_legacy.k
    to: keys.k
  - id: leak-version
    kind: schema-version
    table: schema_version
    column: version
    min: "1.0"
  - id: leak-date
    kind: legacy-retention
    pattern: "*_legacy"
    max_age_days: 30
    record_table: dates
    record_column: d
  - id: leak-error
    kind: query
    sql: "SELECT json_extract('{}', pw) FROM users"
"""


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    build_db(tmp_path / "app.db", SCHEMA)
    write_tree(tmp_path, {"rules.yaml": RULES})
    return tmp_path


@pytest.mark.parametrize("fmt", FORMATS)
def test_database_values_are_hidden_in_every_format(repo: Path, fmt: str) -> None:
    """Security item 7: without --show-data no planted value reaches stdout or stderr."""
    run = gatecheck("run", "--format", fmt, cwd=repo)
    assert run.exit_code == 1, run.stderr
    assert SECRET not in run.stdout
    assert SECRET not in run.stderr
    assert "<hidden>" in run.stdout or fmt == "junit" and "&lt;hidden&gt;" in run.stdout


@pytest.mark.parametrize("fmt", FORMATS)
def test_show_data_prints_the_values(repo: Path, fmt: str) -> None:
    """Security item 7: --show-data is the one way to print database values."""
    run = gatecheck("run", "--format", fmt, "--show-data", cwd=repo)
    assert run.exit_code == 1, run.stderr
    assert SECRET in run.stdout


def test_hidden_findings_say_how_to_see_the_values(repo: Path) -> None:
    """Security item 7: each kind puts <hidden> where a value was and names --show-data."""
    run = gatecheck("run", "--format", "json", cwd=repo)
    by_rule = {f["rule"]: f for f in run.json["findings"]}
    assert set(by_rule) == {"leak-query", "leak-alias", "leak-key", "leak-orphan",
                            "leak-version", "leak-date", "leak-error"}
    for finding in by_rule.values():
        assert "pass --show-data to show" in finding["message"], finding
    query = by_rule["leak-query"]
    assert query["message"] == ("the query returned a row: pw (values hidden; pass --show-data "
                                "to show them)")
    assert (query["object"], query["row"]) == ("row 1", "<hidden>")
    key = by_rule["leak-key"]
    assert (key["count"], key["sample"]) == (1, "<hidden>")
    assert "(missing: <hidden>, values hidden; pass --show-data to show them)" in key["message"]
    assert by_rule["leak-version"]["object"] == "schema_version.version"
    assert "holds <hidden>" in by_rule["leak-version"]["message"]
    assert "is <hidden>, which is not a date" in by_rule["leak-date"]["message"]
    # The database's own message quoted the value; what it quoted from the rule stays.
    assert by_rule["leak-error"]["message"].startswith("the query failed: ")
    assert "<hidden>" in by_rule["leak-error"]["message"]


def test_hidden_query_rows_keep_distinct_objects_for_baselines(tmp_path: Path) -> None:
    """Security item 7: hidden rows are told apart by ordinal, so a baseline still works."""
    build_db(tmp_path / "app.db", """
        CREATE TABLE users (id INTEGER PRIMARY KEY, pw TEXT);
        INSERT INTO users VALUES (1, 'same'), (2, 'same'), (3, 'other');
    """)
    write_tree(tmp_path, {"rules.yaml": "version: 1\ndatabase: sqlite:///app.db\nrules:\n"
                          "  - {id: q, kind: query, sql: 'SELECT pw FROM users ORDER BY id'}\n"})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [f["object"] for f in run.json["findings"]] == ["row 1", "row 2", "row 3"]
    for flags in ((), ("--show-data",)):
        base = tmp_path / f"baseline{len(flags)}.json"
        made = gatecheck("baseline", "--output", str(base), *flags, cwd=tmp_path)
        assert made.exit_code == 0, made.stderr
        assert "same" not in base.read_text(encoding="utf-8") or flags
        again = gatecheck("run", "--format", "json", "--baseline", str(base), *flags,
                          cwd=tmp_path)
        assert (again.exit_code, again.json["findings"]) == (0, []), flags


def test_rule_literals_stay_visible(tmp_path: Path) -> None:
    """Security item 7: the version a rule requires and a date it states are not data."""
    build_db(tmp_path / "app.db", """
        CREATE TABLE schema_version (version TEXT);
        INSERT INTO schema_version VALUES ('0.34.0');
        CREATE TABLE t_legacy (x TEXT);
    """)
    write_tree(tmp_path, {"rules.yaml": """version: 1
database: sqlite:///app.db
rules:
  - {id: v, kind: schema-version, table: schema_version, column: version, min: "0.35.0"}
  - {id: r, kind: legacy-retention, pattern: "*_legacy", max_age_days: 30, since: 2025-06-02,
     today: 2025-07-03}
"""})
    run = gatecheck("run", "--format", "json", cwd=tmp_path)
    by_rule = {f["rule"]: f for f in run.json["findings"]}
    version, retention = by_rule["v"], by_rule["r"]
    assert version["message"] == ("schema_version.version is <hidden>, below the required "
                                  "0.35.0 (values hidden; pass --show-data to show them)")
    assert (version["found"], version["min"]) == ("<hidden>", "0.35.0")
    assert "0.34" not in json.dumps(version)
    assert retention["archived_on"] == "2025-06-02"
    assert retention["age_days"] == 31
