"""SQLite and PostgreSQL give the same findings for the same logical database.

The seed scenario -- the ``task_sessions`` -> ``chat_sessions`` merge of
``examples/agentos`` -- is built in both engines in four states: before the
merge (v34), after it (v35, the foreign key of ``tasks`` left on the
archive), after the fix (v36) and a "broken" state (v35 plus
``tests/postgres/broken_*.sql``: lost rows, orphans, an unrecorded
migration, a version not bumped, a webui table, a name conflict, a composite
foreign key to the archive, a trigger naming a missing table and column).
``tests/postgres/parity.yaml`` (both packs plus rules for the kinds and
shapes the packs leave out) runs against each, and the JSON findings must be
equal rule by rule: message, object, count, sample and every other field.

The PostgreSQL migrations are the example's own files, except two ports in
``tests/postgres/agentos/``: v1 (a PostgreSQL trigger runs a PL/pgSQL
function; its body is the SQLite trigger's) and v35 (``INSERT OR IGNORE`` is
``ON CONFLICT DO NOTHING``, ``json_extract`` is ``->>``).

Engine differences, and why none shows in the findings:
- ``ALTER TABLE task_sessions RENAME TO task_sessions_legacy``: SQLite rewrites
  the text of the foreign key of ``tasks``; PostgreSQL's foreign key names the
  table by OID.  Either way the key follows the renamed table, so
  ``fk-resolve`` reports ``tasks.session_id`` in both after v35.
- The renamed table's views and triggers: SQLite rewrites their text,
  PostgreSQL keeps views by OID (they follow too) but a trigger function's body
  is text and does NOT follow a rename.  The scenario renames nothing a trigger
  body names, so this does not show; ``test_postgres.py`` covers it.
- A view over a dropped table: SQLite keeps the view; PostgreSQL refuses the
  DROP (or drops the view with CASCADE), so a dangling view cannot exist there.
  The broken state uses a trigger instead, which both engines leave dangling.
- Orphans under a declared foreign key: PostgreSQL enforces it, SQLite only
  with ``PRAGMA foreign_keys=ON``; the orphans here are in ``task_links``,
  which declares none, so both engines hold the same rows.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, gatecheck
from pgserver import reader_url, run_sql, scratch_database, server_url, with_database

EXAMPLE = REPO / "examples" / "agentos"
HERE = Path(__file__).parent / "postgres"
CONFIG = HERE / "parity.yaml"
TODAY = "2025-06-20"

#: state -> last migration applied (None: all), and whether the broken scripts follow.
STATES: dict[str, tuple[int | None, bool]] = {
    "before-v34": (34, False),
    "after-v35": (35, False),
    "fixed-v36": (None, False),
    "broken": (35, True),
}

#: Sanity: what each state must report (the comparison alone would pass on two empty lists).
EXPECTED_RULES = {
    "before-v34": {"legacy-kept", "new-columns", "no-duplicate-session-tables", "no-leftovers",
                   "no-table-name-conflicts", "old-gone", "recorded", "tasks-resolve",
                   "version", "zero-loss", "legacy-channels", "links-resolve",
                   "webui-retention"},
    "after-v35": {"fk-resolve", "no-leftovers", "legacy-channels", "links-resolve",
                  "untitled", "webui-retention"},
    "fixed-v36": {"legacy-channels", "links-resolve", "untitled", "webui-retention"},
    "broken": {"cleanup", "dependents", "fk-resolve", "legacy-channels", "links-resolve",
               "no-duplicate-session-tables", "no-leftovers", "no-table-name-conflicts",
               "no-webui-tables", "recorded", "tasks-resolve", "untitled", "version",
               "webui-retention", "zero-loss"},
}


def _number(path: Path) -> int:
    return int(path.name.split("_")[1].lstrip("v"))


def postgres_files(upto: int | None) -> list[Path]:
    """The PostgreSQL migrations in order, the seed right after v1."""
    from gatecheck.introspect.migrations import natural_key

    files = sorted((EXAMPLE / "migrations").glob("schema_v*.sql"),
                   key=lambda p: natural_key(p.name))
    files = [HERE / "agentos" / p.name if (HERE / "agentos" / p.name).exists() else p
             for p in files if upto is None or _number(p) <= upto]
    return [files[0], EXAMPLE / "seed" / "seed_v1.sql", *files[1:]]


def build_sqlite(path: Path, upto: int | None, broken: bool) -> str:
    args = [] if upto is None else ["--upto", str(upto)]
    subprocess.run([sys.executable, str(EXAMPLE / "build_db.py"), "--out", str(path), *args],
                   check=True, capture_output=True, text=True, timeout=120)
    if broken:
        conn = sqlite3.connect(path)
        for name in ("broken_common.sql", "broken_sqlite.sql"):
            conn.executescript((HERE / name).read_text(encoding="utf-8"))
        conn.commit()
        conn.close()
    return f"sqlite:///{path}"


def build_postgres(url: str, upto: int | None, broken: bool) -> None:
    scripts = [p.read_text(encoding="utf-8") for p in postgres_files(upto)]
    if broken:
        scripts += [(HERE / n).read_text(encoding="utf-8")
                    for n in ("broken_common.sql", "broken_postgres.sql")]
    run_sql(url, *scripts)


def findings(db_url: str, cwd: Path, config: Path = CONFIG) -> list[dict[str, object]]:
    # Values shown: the engines must agree on them too.  PostgreSQL as a
    # SELECT-only role, as docs/security.md recommends (a superuser is refused).
    if db_url.startswith("postgresql:"):
        db_url = reader_url(db_url)
    run = gatecheck("run", "--config", str(config), "--db", db_url, "--format", "json",
                    "--show-data", cwd=cwd)
    assert run.stderr == "", run.stderr
    assert run.exit_code in (0, 1)
    return run.json["findings"]  # type: ignore[no-any-return]


def by_rule(items: list[dict[str, object]]) -> dict[str, list[dict[str, object]]]:
    out: dict[str, list[dict[str, object]]] = {}
    for f in items:
        out.setdefault(str(f["rule"]), []).append(f)
    return out


@pytest.mark.parametrize("state", list(STATES))
def test_same_findings_in_sqlite_and_postgres(state: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATECHECK_TODAY", TODAY)
    upto, broken = STATES[state]
    lite = findings(build_sqlite(tmp_path / "agentos.db", upto, broken), tmp_path)
    with scratch_database("gct_parity") as url:
        build_postgres(url, upto, broken)
        pg = findings(url, tmp_path)
    lite_rules, pg_rules = by_rule(lite), by_rule(pg)
    assert set(lite_rules) == EXPECTED_RULES[state]
    for rule in sorted(set(lite_rules) | set(pg_rules)):
        assert pg_rules.get(rule) == lite_rules.get(rule), rule
    assert pg == lite


def test_broken_state_findings_in_detail(tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The data kinds' counts and samples (equal in both engines, by the test above)."""
    monkeypatch.setenv("GATECHECK_TODAY", TODAY)
    with scratch_database("gct_parity") as url:
        build_postgres(url, 35, True)
        got = by_rule(findings(url, tmp_path))
    [zero] = got["zero-loss"]
    assert (zero["count"], zero["sample"]) == (2, ["sess-0002", "sess-0005"])
    [links] = got["links-resolve"]
    assert (links["count"], links["sample"]) == (2, [["task-0002", "sess-0001"],
                                                     ["task-0009", "sess-0009"]])
    [channels] = got["legacy-channels"]
    assert channels["sample"] == [["sess-0002", "slack"], ["sess-0003", "api"],
                                  ["sess-0005", "api"]]
    assert [f["object"] for f in got["fk-resolve"]] == [
        "session_links.(session_id,channel)", "tasks.session_id", "tasks_new.session_id"]
    assert [f["message"] for f in got["dependents"]] == [
        "trigger audit_task_status references task_audit, which does not exist",
        "trigger audit_task_status references users.last_seen, but users has no column "
        "last_seen"]
    [version] = got["version"]
    assert (version["found"], version["min"]) == ("0.9.1", "0.35.0")
    [retention] = got["webui-retention"]
    assert (retention["archived_on"], retention["date_source"]) == ("2024-04-15", "record")


def test_replayed_postgres_migrations_match_the_live_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``database: {migrations, replay_url}`` checks what a live v35 database checks."""
    monkeypatch.setenv("GATECHECK_TODAY", TODAY)
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    for path in postgres_files(35):
        # The seed runs right after v1: schema_v1_initial < schema_v1_seed < schema_v2.
        name = "schema_v1_seed.sql" if path.parent.name == "seed" else path.name
        shutil.copy(path, migrations / name)
    shutil.copytree(REPO / "gates", tmp_path / "gates")
    config = tmp_path / "rules.yaml"
    config.write_text(CONFIG.read_text(encoding="utf-8").replace("../../gates/", "gates/")
                      + "database:\n"
        "  migrations: migrations/*.sql\n  replay_url: ${GATECHECK_TEST_PG_URL}\n",
        encoding="utf-8")
    monkeypatch.setenv("GATECHECK_TEST_PG_URL", server_url())
    # The scratch database is gatecheck's own, built as the test server's superuser.
    run = gatecheck("run", "--config", str(config), "--format", "json", "--show-data",
                    "--allow-privileged-role", cwd=tmp_path)
    assert run.stderr == ""
    replayed = run.json["findings"]
    with scratch_database("gct_parity") as url:
        build_postgres(url, 35, False)
        live = findings(url, tmp_path)
    assert replayed == live
    assert {f["rule"] for f in replayed} == EXPECTED_RULES["after-v35"]


def test_postgres_files_are_the_example_plus_two_ports() -> None:
    ported = [p.name for p in postgres_files(None) if p.parent == HERE / "agentos"]
    assert ported == ["schema_v1_initial.sql", "schema_v35_merge_task_sessions.sql"]
    assert with_database("postgresql://u:p@h:1/postgres", "x") == "postgresql://u:p@h:1/x"
