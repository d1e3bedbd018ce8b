"""Fuzzing the CLI end to end on generated trees.

Each example writes a tree (a rules file, maybe a database, a few source
files of every sort: generated Python, SQL scripts, SQL soup, random bytes,
directories named like files, broken links) and runs ``gatecheck run``.
Invariants: exit 0, 1 or 2; no traceback and no "internal error"; every
error line names its file; the JSON is valid, sorted, and every finding's
position is inside its file (and on the name, for forbid-table-references);
every other format parses; running again (other ``--jobs``, warm, cold or no
cache) prints the same bytes.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hypothesis import given, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fuzz import (DATABASE_RULES, SCHEMA_SQL, SOURCE_RULES, check_cli_output,  # noqa: E402
                   fuzz_settings, scratch_dir, sql_script, sql_soup, time_limit, write_files)
from conftest import gatecheck  # noqa: E402
from gatecheck import pipeline  # noqa: E402
from test_fuzz_extract import python_file, python_noise  # noqa: E402

DIRS = ["", "src/", "src/app/", "migrations/", "tests/", "deep/er/still/"]
NAMES = ["a", "b", "store", "db", "0001_init", "é", "with space", "x.y"]

contents = st.one_of(
    python_file().map(lambda case: ("py", case[0].encode(case[2]))),
    sql_script.map(lambda s: ("sql", s.encode())),
    sql_soup.map(lambda s: ("sql", s.encode())),
    python_noise.map(lambda s: ("py", s.encode())),
    st.tuples(st.sampled_from(["py", "sql"]), st.binary(max_size=200)),
)


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, str | bytes], list[tuple[str, str]], str]:
    """(files, special entries [(kind, path)], database mode)."""
    files: dict[str, str | bytes] = {}
    for _ in range(draw(st.integers(0, 6))):
        ext, data = draw(contents)
        files[f"{draw(st.sampled_from(DIRS))}{draw(st.sampled_from(NAMES))}.{ext}"] = data
    specials = draw(st.lists(st.tuples(
        st.sampled_from(["dir", "dangling", "loop", "empty", "ignored"]),
        st.sampled_from(["odd.sql", "src/odd.py", "deep/odd.sql"])),
        max_size=2, unique_by=lambda t: t[1]))
    mode = draw(st.sampled_from(["none", "sqlite", "missing", "migrations"]))
    rules = SOURCE_RULES
    if mode != "none":
        database = {"sqlite": "sqlite:///app.db", "missing": "sqlite:///nowhere/app.db",
                    "migrations": "{migrations: 'migrations/*.sql'}"}[mode]
        rules = rules.replace("version: 1\n", f"version: 1\ndatabase: {database}\n") + \
            DATABASE_RULES
    files["rules.yaml"] = rules
    return files, specials, mode


def build(root: Path, tree: tuple[dict[str, str | bytes], list[tuple[str, str]], str]) -> None:
    files, specials, mode = tree
    write_files(root, files)
    for kind, rel in specials:
        target = root / rel
        if target.exists() or target.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "dir":
            target.mkdir()
        elif kind == "dangling":
            target.symlink_to(root / "nowhere" / "gone.sql")
        elif kind == "loop":
            target.symlink_to(target)
        elif kind == "empty":
            target.write_bytes(b"")
        else:
            (root / ".gitignore").write_text(rel + "\n")
            target.write_text("SELECT * FROM task_sessions;\n")
    if mode == "sqlite":
        conn = sqlite3.connect(root / "app.db")
        conn.executescript(SCHEMA_SQL)
        conn.close()


def run(root: Path, *args: str) -> tuple[int, str, str]:
    result = gatecheck("run", *args, cwd=root)
    return result.exit_code, result.stdout, result.stderr


@fuzz_settings(250)
@given(trees(), st.sampled_from([(), ("--jobs", "1"), ("--jobs", "2")]),
       st.sampled_from([(), ("--no-cache",)]), st.booleans(),
       st.sampled_from(["warm", "cold", "no-cache", "jobs"]))
def test_run_on_generated_trees(tree: Any, jobs: tuple[str, ...], cache: tuple[str, ...],
                                unused: bool, again: str) -> None:
    saved = pipeline.MIN_FILES_PER_JOB
    # Worker processes on a handful of files too, so --jobs 2 really forks.
    pipeline.MIN_FILES_PER_JOB = 1
    try:
        with scratch_dir() as root, time_limit():
            build(root, tree)
            args = ["--format", "json", *jobs, *cache,
                    *(["--warn-unused-ignores"] if unused else [])]
            code, out, err = run(root, *args)
            check_cli_output(root, code, out, err)
            second = {"warm": args, "cold": args, "no-cache": [*args, "--no-cache"],
                      "jobs": [a for a in args if a not in ("--jobs", "1", "2")] +
                      ["--jobs", "2" if "1" in jobs else "1"]}[again]
            if again == "cold":
                import shutil

                shutil.rmtree(root / ".gatecheck_cache", ignore_errors=True)
            code2, out2, err2 = run(root, *second)
            assert (code2, out2) == (code, out), "a second run printed something else"
            assert _without_cache_notes(err2) == _without_cache_notes(err)
    finally:
        pipeline.MIN_FILES_PER_JOB = saved


def _without_cache_notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "cache" not in line]


@fuzz_settings(60)
@given(trees(), st.sampled_from(["text", "sarif", "github", "junit", "json"]))
def test_every_format_parses(tree: Any, fmt: str) -> None:
    with scratch_dir() as root, time_limit():
        build(root, tree)
        code, out, err = run(root, "--format", fmt, "--no-cache")
        check_cli_output(root, code, out, err, fmt=fmt)
    if fmt in ("json", "sarif"):
        doc = json.loads(out)
        if fmt == "sarif":
            _sarif_validator().validate(doc)
    elif fmt == "junit":
        ET.fromstring(out.split("\n", 1)[1])
    elif fmt == "github":
        lines = out.splitlines()
        # Past GitHub's 10 annotations of a level, findings are plain log lines
        # and an annotation says how many.
        plain = [line for line in lines[:-1] if not line.startswith("::")]
        assert not plain or "not shown as annotations" in out, out
        assert lines[-1].startswith(("PASS", "Found", "NOT CHECKED")), out
    else:
        assert out.splitlines()[-1].startswith(("PASS", "Found", "NOT CHECKED")), out


_VALIDATOR: Any = None


def _sarif_validator() -> Any:
    global _VALIDATOR
    if _VALIDATOR is None:
        import jsonschema

        from conftest import SARIF_SCHEMA

        schema = json.loads(SARIF_SCHEMA.read_text())
        cls = jsonschema.validators.validator_for(schema)
        _VALIDATOR = cls(schema)
    return _VALIDATOR


@fuzz_settings(60)
@given(trees())
def test_baseline_accepts_exactly_todays_findings(tree: Any) -> None:
    with scratch_dir() as root, time_limit():
        build(root, tree)
        code, out, err = run(root, "--format", "json", "--no-cache")
        check_cli_output(root, code, out, err)
        written = gatecheck("baseline", "--output", "base.json", "--no-cache", cwd=root)
        assert "Traceback" not in written.stderr and "internal error" not in written.stderr
        if code == 2:  # errors: no baseline over a partial check
            assert written.exit_code == 2 and "baseline not written" in written.stderr
            return
        assert written.exit_code == 0, written.stderr
        code2, out2, err2 = run(root, "--format", "json", "--no-cache", "--baseline", "base.json")
        payload = check_cli_output(root, code2, out2, err2)
        assert code2 == 0 and payload["findings"] == []
