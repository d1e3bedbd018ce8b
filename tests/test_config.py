"""The rules loader: every mistake names file:line:col and what would be valid."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conftest import gatecheck
from gatecheck.config import load_config
from gatecheck.errors import ConfigError
from gatecheck.findings import Severity


def problems(tmp_path: Path, text: str, **files: str) -> list[str]:
    (tmp_path / "rules.yaml").write_text(text, encoding="utf-8")
    for name, content in files.items():
        target = tmp_path / name.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "rules.yaml")
    return [str(p) for p in err.value.problems]


def test_valid_file_loads_every_field(tmp_path: Path) -> None:
    (tmp_path / "gates").mkdir()
    (tmp_path / "gates" / "pack.yaml").write_text(
        "version: 1\nrules:\n  - {id: no-webui, kind: forbid-tables, pattern: 'webui_*'}\n")
    (tmp_path / "rules.yaml").write_text(
        "version: 1\n"
        "database: sqlite:///app.db\n"
        "dialect: sqlite\n"
        "sources:\n  include: ['**/*.py']\n  exclude: ['tests/**']\n"
        "include: [gates/pack.yaml]\n"
        "rules:\n"
        "  - id: no-task-sessions\n"
        "    kind: forbid-table-references\n"
        "    tables: [task_sessions]\n"
        "    severity: warning\n"
        "    message: use chat_sessions\n"
        "    exclude: ['**/migrations/**']\n")
    cfg = load_config(tmp_path / "rules.yaml")
    assert cfg.database is not None and cfg.database.url == "sqlite:///app.db"
    assert cfg.include == ("**/*.py",) and cfg.exclude == ("tests/**",)
    assert [r.id for r in cfg.rules] == ["no-webui", "no-task-sessions"]
    rule = cfg.rules[1]
    assert rule.severity == Severity.WARNING and rule.message == "use chat_sessions"
    assert rule.options.tables == ("task_sessions",) and rule.exclude == ("**/migrations/**",)
    assert (rule.origin.path, rule.origin.line, rule.origin.column) == ("rules.yaml", 9, 5)
    assert str(cfg.rules[0].origin) == "gates/pack.yaml:3:5"


def test_unknown_kind_lists_the_kinds(tmp_path: Path) -> None:
    [msg] = problems(tmp_path, "version: 1\nrules:\n  - id: x\n    kind: forbid-table\n")
    assert msg.startswith("rules.yaml:4:11: rules[0] (id=x) › kind: unknown kind 'forbid-table'")
    assert "forbid-tables" in msg and "forbid-table-references" in msg


def test_unknown_key_lists_the_keys_of_that_kind(tmp_path: Path) -> None:
    [msg] = problems(tmp_path, "version: 1\nrules:\n  - id: x\n    kind: forbid-tables\n"
                               "    pattern: a\n    tables: [b]\n")
    assert msg.startswith("rules.yaml:6:5: rules[0] (id=x): unknown key 'tables'")
    assert "pattern" in msg and "except" in msg and "severity" in msg


def test_wrong_type_names_expected_type(tmp_path: Path) -> None:
    [msg] = problems(tmp_path, "version: 1\nrules:\n  - id: no-webui\n    kind: forbid-tables\n"
                               "    pattern: 3\n")
    assert msg == ("rules.yaml:5:14: rules[0] (id=no-webui) › pattern: expected string or "
                   "list of strings, got int")


def test_all_problems_are_collected(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "version: 2\nbogus: 1\nrules:\n"
                              "  - {id: Bad_Id, kind: forbid-tables, pattern: x}\n"
                              "  - {id: ok, kind: forbid-tables}\n"
                              "  - {id: sev, kind: sql-parses, severity: fatal}\n")
    assert any("version: unsupported version" in m for m in msgs)
    assert any("unknown key 'bogus'" in m for m in msgs)
    assert any("invalid id 'Bad_Id'" in m for m in msgs)
    assert any("missing option 'patterns'" in m for m in msgs)
    assert any("unknown severity 'fatal'; valid: error, warning, info" in m for m in msgs)
    assert len(msgs) == 5


def test_duplicate_ids_and_keys(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "version: 1\nrules:\n  - {id: a, kind: sql-parses}\n"
                              "  - {id: a, kind: sql-parses, id: b}\n")
    assert any("duplicate key 'id'" in m for m in msgs)


def test_duplicate_rule_id_across_files(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "version: 1\ninclude: [p.yaml]\nrules:\n  - {id: a, kind: sql-parses}\n",
                    **{"p.yaml": "version: 1\nrules:\n  - {id: a, kind: sql-parses}\n"})
    assert msgs == ["rules.yaml:4:10: rules[0] (id=a): duplicate rule id, first defined at "
                    "p.yaml:3:5"]


def test_include_cycle_is_detected(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "version: 1\ninclude: [a.yaml]\n",
                    **{"a.yaml": "version: 1\ninclude: [b.yaml]\n",
                       "b.yaml": "version: 1\ninclude: [a.yaml]\n"})
    assert msgs == ["b.yaml:2:11: include cycle: rules.yaml -> a.yaml -> b.yaml -> a.yaml"]


def test_missing_include_and_pack_only_keys(tmp_path: Path) -> None:
    msgs = problems(tmp_path, "version: 1\ninclude: [nope.yaml, p.yaml]\n",
                    **{"p.yaml": "version: 1\ndatabase: sqlite:///x.db\n"})
    assert "rules.yaml:2:11: include: file not found: nope.yaml" in msgs
    assert any(m.startswith("p.yaml:2:1: unknown key 'database'") and "top-level" in m
               for m in msgs)


def test_broken_yaml_names_the_position(tmp_path: Path) -> None:
    [msg] = problems(tmp_path, "version: 1\nrules:\n  - id: x\n   kind: [unclosed\n")
    assert msg.startswith("rules.yaml:4:") and "invalid YAML" in msg


def test_unsafe_yaml_tags_are_refused(tmp_path: Path) -> None:
    [msg] = problems(tmp_path, "version: 1\nrules: !!python/object/apply:os.system ['echo hi']\n")
    assert msg == ("rules.yaml:2:8: unsupported YAML tag !!python/object/apply:os.system "
                   "(rules files are plain YAML)")


def test_alias_bomb_is_rejected_fast(tmp_path: Path) -> None:
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]")
    start = time.perf_counter()
    msgs = problems(tmp_path, "\n".join(lines) + "\n")
    assert time.perf_counter() - start < 5
    assert any("alias bomb" in m for m in msgs)


def test_env_expansion_in_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GC_TEST_DB", "sqlite:///from-env.db")
    (tmp_path / "rules.yaml").write_text("version: 1\ndatabase: ${GC_TEST_DB}\nrules: []\n")
    cfg = load_config(tmp_path / "rules.yaml")
    assert cfg.database is not None and cfg.database.url == "sqlite:///from-env.db"
    monkeypatch.delenv("GC_TEST_DB")
    [msg] = problems(tmp_path, "version: 1\ndatabase: ${GC_TEST_DB}\nrules: []\n")
    assert msg == "rules.yaml:2:11: database: environment variable GC_TEST_DB is not set"


def test_unknown_dialect(tmp_path: Path) -> None:
    [msg] = problems(tmp_path, "version: 1\ndialect: sqlitex\nrules: []\n")
    assert msg.startswith("rules.yaml:2:10: dialect: unknown dialect 'sqlitex'; valid:")
    assert "postgres" in msg


def test_cli_reports_config_errors_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text("version: 1\nrules:\n  - {id: x, kind: nope}\n")
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert run.stderr.startswith("gatecheck: error: rules.yaml:3:19: rules[0] (id=x) › kind:")
    assert "Traceback" not in run.stderr and run.stdout == ""
