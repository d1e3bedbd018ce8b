"""``database: {build: COMMAND}``: the project's own migrate command builds the scratch database.

Real commands (this interpreter running real scripts), real SQLite files, a
real PostgreSQL server: the command runs only with ``--allow-build``, gets a
fresh scratch database in ``GATECHECK_DB``, a minimal environment and a
deadline, and its output is shown, inert, when it fails.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from conftest import gatecheck, write_tree

PYTHON = sys.executable

#: The project's own migrate entry point: SQL files, and Python between them
#: (a column added before v2 that no SQL file adds).  It checks what it was
#: given and leaves a note of it for the test.
MIGRATE = r'''
import json, os, sqlite3, sys
db = os.environ["GATECHECK_DB"]
note = {"db": db, "cwd": os.getcwd(), "env": sorted(os.environ),
        "tmpdir": os.environ.get("TMPDIR")}
with open("note.json", "w") as fh:
    json.dump(note, fh)
conn = sqlite3.connect(db)
for name in sorted(os.listdir("db"), key=lambda n: int(n.split("_")[0])):
    if name == "2_channel_index.sql":
        conn.execute("ALTER TABLE sessions ADD COLUMN channel TEXT")  # the Python hook
    with open(os.path.join("db", name)) as fh:
        conn.executescript(fh.read())
conn.commit()
print("migrated", len(os.listdir("db")), "files")
'''

FILES = {
    "migrate.py": MIGRATE,
    "db/1_sessions.sql": "CREATE TABLE sessions (id TEXT PRIMARY KEY);\n",
    # Fails when replayed as SQL alone: the column comes from the hook.
    "db/2_channel_index.sql": "CREATE INDEX idx_channel ON sessions (channel);\n",
    "seed/sessions.sql": "INSERT INTO sessions VALUES ('s1', 'cli');\n",
}


def rules(build: object, extra: str = "", rules_text: str = "") -> str:
    return f"""version: 1
database:
  build: {json.dumps(build)}
{extra}rules:
  - {{id: built, kind: require-tables, tables: [sessions, never_built]}}
  - {{id: channel, kind: require-columns, table: sessions, columns: [channel]}}
{rules_text}"""


def test_build_is_refused_without_the_flag_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    write_tree(tmp_path, {"rules.yaml": rules([PYTHON, "-c", f"open({str(marker)!r}, 'w')"])})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "database › build:" in run.stderr
    assert "pass --allow-build on the command line" in run.stderr
    assert "2 rules not run" in run.stdout
    assert not marker.exists()
    # The same for `gatecheck schema`.
    schema = gatecheck("schema", cwd=tmp_path)
    assert schema.exit_code == 2 and "--allow-build" in schema.stderr
    assert not marker.exists()


def test_build_runs_with_the_flag_in_a_scratch_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:s3cret-pw@prod.example/app")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_not_for_the_build")
    write_tree(tmp_path, {**FILES, "rules.yaml": rules(
        f"{PYTHON} migrate.py", extra='  seed_data: ["seed/*.sql"]\n', rules_text=(
            "  - {id: seeded, kind: row-exists, table: sessions, where: \"channel = 'cli'\"}\n"))})
    run = gatecheck("run", "--allow-build", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    # The hook added the column and the index built; the seed file ran after.
    assert [(f["rule"], f["object"]) for f in run.json["findings"]] == [
        ("built", "never_built")]
    assert run.exit_code == 1
    note = json.loads((tmp_path / "note.json").read_text())
    assert Path(note["cwd"]) == tmp_path.resolve()  # the rules file's directory
    scratch = Path(note["db"]).parent
    assert not scratch.is_relative_to(tmp_path.resolve())
    assert note["tmpdir"] == str(scratch)
    assert not scratch.exists()  # removed with its database
    assert "DATABASE_URL" not in note["env"] and "GITHUB_TOKEN" not in note["env"]
    assert set(note["env"]) <= {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ",
                                "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT", "GATECHECK_DB",
                                "TMPDIR", "TMP", "TEMP", "PYTHONUNBUFFERED"}
    # Only the SQL files would not build it: the replay of the same files fails.
    (tmp_path / "rules.yaml").write_text(rules(f"{PYTHON} migrate.py").replace(
        "  build: " + json.dumps(f"{PYTHON} migrate.py"), '  migrations: "db/*.sql"'))
    replayed = gatecheck("run", "--format", "json", cwd=tmp_path)
    assert [f["rule"] for f in replayed.json["findings"]] == ["migrations-replay"]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def test_a_build_past_the_time_limit_is_killed_with_what_it_started(tmp_path: Path) -> None:
    script = ("import subprocess, sys, time\n"
              "subprocess.Popen([sys.executable, '-c', 'import os, time; "
              "open(\"child.pid\", \"w\").write(str(os.getpid())); time.sleep(60)'])\n"
              "print('waiting for ever', flush=True)\n"
              "time.sleep(60)\n")
    write_tree(tmp_path, {"slow.py": script, "rules.yaml": rules([PYTHON, "slow.py"])})
    started = time.monotonic()
    run = gatecheck("run", "--allow-build", "--replay-timeout", "2", cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert run.exit_code == 2
    assert ("did not finish within the time limit of 2 s and was stopped (raise it with "
            "--replay-timeout SECONDS)") in run.stderr
    assert "  | waiting for ever" in run.stderr
    pid = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "a process the build started outlived it"


def test_a_failing_build_shows_its_output_inert_and_scrubbed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPLAY_PASSWORD", "hunter2-secret")
    script = ("import sys\n"
              "print('x' * 100 + '\\n') \n"
              "for i in range(2000):\n"
              "    print('filler line', i, '.' * 40)\n"
              "print('::error::injected \\x1b[31mred\\x1b[0m\\rback')\n"
              "print('connecting to postgresql://app:hunter2-secret@db.example/app')\n"
              "sys.stderr.write('Traceback: boom\\n')\n"
              "sys.exit(3)\n")
    write_tree(tmp_path, {"fail.py": script, "rules.yaml": rules([PYTHON, "fail.py"])})
    run = gatecheck("run", "--allow-build", cwd=tmp_path)
    assert run.exit_code == 2
    lines = run.stderr.splitlines()
    assert lines[0] == (f"gatecheck: error: database › build: `{PYTHON} fail.py` exited with "
                        "status 3; its output:")
    assert lines[1] == "gatecheck: error:   | [... only the last 64 KB are shown]"
    assert "filler line 0 " not in run.stderr  # the start is cut, the end is kept
    assert lines[-3:] == [
        "gatecheck: error:   | ::error::injected \\x1b[31mred\\x1b[0m\\rback",
        "gatecheck: error:   | connecting to postgresql://app:***@db.example/app",
        "gatecheck: error:   | Traceback: boom"]
    assert "\x1b" not in run.stderr and "\r" not in run.stderr
    assert "hunter2" not in run.stderr
    assert len(run.stderr) < 64 * 1024 + 2100 * len("gatecheck: error:   | ")


def test_a_build_that_writes_no_database_or_cannot_start_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"rules.yaml": rules([PYTHON, "-c", "pass"])})
    run = gatecheck("run", "--allow-build", cwd=tmp_path)
    assert run.exit_code == 2
    assert "succeeded but wrote no database: it must create the SQLite file named by " \
           "$GATECHECK_DB" in run.stderr
    (tmp_path / "rules.yaml").write_text(rules("./no-such-migrate --all"))
    run = gatecheck("run", "--allow-build", cwd=tmp_path)
    assert run.exit_code == 2
    assert "database › build: cannot run `./no-such-migrate --all`: No such file or " \
           "directory" in run.stderr


def test_a_failing_seed_after_a_build_follows_on_failure(tmp_path: Path) -> None:
    write_tree(tmp_path, {**FILES, "seed/bad.sql": "INSERT INTO nowhere VALUES (1);\n",
                          "rules.yaml": rules(f"{PYTHON} migrate.py",
                                              extra='  seed_data: ["seed/bad.sql"]\n')})
    run = gatecheck("run", "--allow-build", "--format", "json", cwd=tmp_path)
    assert [(f["rule"], f["path"], f["line"]) for f in run.json["findings"]] == [
        ("migrations-replay", "seed/bad.sql", 1)]
    assert run.json["summary"]["rules_not_run"] == 2


# ---------------------------------------------------------------- configuration


@pytest.mark.parametrize(("database", "where", "message"), [
    ('{migrations: "db/*.sql", build: "make migrate"}', "3:36",
     "database › build: goes instead of 'migrations', not with it"),
    ('{url: "sqlite:///x.db", build: "make migrate"}', "3:35",
     "database › build: goes instead of 'url', not with it"),
    ('{build: "make migrate", pattern: "(\\\\d+)"}', "3:35",
     "database › pattern: selects the files a migrations replay applies"),
    ("{build: 42}", "3:19", "database › build: expected a command string or a list of "
                            "strings, got int"),
    ('{build: ""}', "3:19", "database › build: expected a command, e.g. "
                            "'python -m app.migrate'"),
    ('{build: "make db && make migrate"}', "3:19",
     "database › build: no shell runs the command, so '&&' would be passed as an argument"),
    ('{build: "python \'unclosed"}', "3:19",
     "database › build: cannot split the command into words: No closing quotation"),
    ('{migrations: "db/*.sql", on_failure: halt}', "3:48",
     "database › on_failure: unknown value 'halt'; valid: stop, continue"),
    ('{migrations: "db/*.sql", pattern: "v\\\\d+"}', "3:45",
     "database › pattern: expected a regular expression with a group that captures the "
     "version"),
    ('{migrations: "db/*.sql", pattern: "v(\\\\d+"}', "3:45",
     "database › pattern: invalid regular expression: missing ), unterminated subpattern"),
    ('{migrations: "db/*.sql", skip: [1]}', "3:",
     "database: expected string or list of strings, got list containing int"),
    ('{url: "sqlite:///x.db", pattern: "(\\\\d+)"}', "3:",
     "database: 'pattern' goes with 'migrations', not with 'url'"),
])
def test_database_runner_keys_are_validated(tmp_path: Path, database: str, where: str,
                                            message: str) -> None:
    write_tree(tmp_path, {"rules.yaml": f"version: 1\n\ndatabase: {database}\nrules: []\n"})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert f"rules.yaml:{where}" in run.stderr and message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


# ---------------------------------------------------------------- PostgreSQL


PG_MIGRATE = r'''
import os, psycopg
with psycopg.connect(os.environ["GATECHECK_DB"], autocommit=True) as conn:
    assert conn.info.dbname.startswith("gatecheck_replay_"), conn.info.dbname
    conn.execute("CREATE TABLE sessions (id text PRIMARY KEY)")
    conn.execute("ALTER TABLE sessions ADD COLUMN channel text")
print("migrated")
'''


def test_build_on_postgres_builds_checks_and_drops_a_scratch_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pgserver import creator_url, databases

    monkeypatch.setenv("REPLAY_URL", creator_url())
    before = databases("gatecheck_replay_%")
    extra = "  replay_url: ${REPLAY_URL}\ndialect: postgres\n"
    write_tree(tmp_path, {"migrate.py": PG_MIGRATE, "fail.py": "raise SystemExit('no')\n",
                          "rules.yaml": rules([PYTHON, "migrate.py"], extra=extra)})
    run = gatecheck("run", "--allow-build", "--format", "json", cwd=tmp_path)
    assert run.stderr == ""
    assert [(f["rule"], f["object"]) for f in run.json["findings"]] == [
        ("built", "never_built")]
    assert databases("gatecheck_replay_%") == before
    # A failing build is an error, and its scratch database is dropped too.
    (tmp_path / "rules.yaml").write_text(rules([PYTHON, "fail.py"], extra=extra))
    run = gatecheck("run", "--allow-build", cwd=tmp_path)
    assert run.exit_code == 2
    assert "exited with status 1; its output:" in run.stderr and "  | no" in run.stderr
    assert databases("gatecheck_replay_%") == before
    # Refused without the flag: no scratch database is even created.
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2 and "--allow-build" in run.stderr
    assert databases("gatecheck_replay_%") == before


def test_on_failure_on_postgres_stops_or_continues(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from pgserver import creator_url, databases

    monkeypatch.setenv("REPLAY_URL", creator_url())
    before = databases("gatecheck_replay_%")
    files = {"db/v1.sql": "CREATE TABLE sessions (id text PRIMARY KEY);\n",
             "db/v2.sql": "CREATE TABLE ok (x int);\nINSERT INTO missing VALUES (1);\n"}
    outcomes = {}
    for mode in ("stop", "continue"):
        write_tree(tmp_path, {**files, "rules.yaml": f"""version: 1
database: {{migrations: "db/*.sql", replay_url: "${{REPLAY_URL}}", on_failure: {mode}}}
dialect: postgres
rules:
  - {{id: built, kind: require-tables, tables: [sessions, never_built]}}
"""})
        run = gatecheck("run", "--format", "json", cwd=tmp_path)
        assert run.stderr == ""
        outcomes[mode] = ([(f["rule"], f["path"] or f["object"]) for f in run.json["findings"]],
                          run.json["summary"]["rules_not_run"])
    assert outcomes == {
        "stop": ([("migrations-replay", "db/v2.sql")], 1),
        "continue": ([("built", "never_built"), ("migrations-replay", "db/v2.sql")], 0)}
    assert databases("gatecheck_replay_%") == before


# ---------------------------------------------------------------- the GitHub Action


def test_the_action_grants_build_only_through_its_input(tmp_path: Path) -> None:
    from test_ci_files import run_action

    marker = tmp_path / "ran"
    script = f"import os, sqlite3; open({str(marker)!r}, 'w'); " \
             "sqlite3.connect(os.environ['GATECHECK_DB']).execute('CREATE TABLE sessions (x)')"
    (tmp_path / "rules.yaml").write_text(
        f"version: 1\ndatabase: {{build: {json.dumps([PYTHON, '-c', script])}}}\nrules:\n"
        "  - {id: built, kind: require-tables, tables: [sessions]}\n")
    config = str(tmp_path / "rules.yaml")
    proc = run_action(tmp_path, config=config, format="text")
    assert proc.returncode == 2 and "--allow-build" in proc.stderr
    assert not marker.exists()
    proc = run_action(tmp_path, config=config, format="text", **{"allow-build": "yes please"})
    assert proc.returncode == 2
    assert proc.stderr == ("gatecheck: error: input allow-build: expected true or false, "
                           "got 'yes please'\n")
    assert not marker.exists()
    proc = run_action(tmp_path, config=config, format="text", **{"allow-build": "true"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("PASS")
    assert marker.exists()
