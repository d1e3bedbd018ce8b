"""``run --shard I/N`` splits the files; ``gatecheck merge`` joins the reports into one run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import build_db, gatecheck, write_tree

RULES = """\
version: 1
database: sqlite:///app.db
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses}
  - {id: code-matches-schema, kind: references-exist, columns: true}
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*"}
"""


def _repo(tmp_path: Path) -> Path:
    files: dict[str, str | bytes] = {"rules.yaml": RULES}
    for i in range(40):
        files[f"pkg{i % 5}/m{i}.py"] = (
            "def f(cur):\n"
            f'    cur.execute("SELECT id, titel FROM tasks WHERE id = {i}")\n'
            f'    cur.execute("SELECT * FROM task_sessions WHERE id = {i}")\n'
            f'    cur.execute("SELECT FROM WHERE {i}")\n'
            "    cur.execute('SELECT x FROM gone')  # gatecheck: ignore[nope]\n")
        files[f"sql/q{i}.sql"] = f"UPDATE tasks SET title = 'x' WHERE id = {i};\n"
    root = write_tree(tmp_path, files)
    build_db(root / "app.db", "CREATE TABLE tasks (id INTEGER, title TEXT);"
                              "CREATE TABLE webui_chats (id INTEGER);")
    return root


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_merged_shards_equal_the_single_run(tmp_path: Path, fmt: str) -> None:
    root = _repo(tmp_path)
    single = gatecheck("run", "--format", fmt, "--no-cache", cwd=root)
    assert single.exit_code == 1, single.stderr
    parts = []
    files = []
    for i in range(1, 4):
        run = gatecheck("run", "--format", fmt, "--shard", f"{i}/3", cwd=root)
        assert run.exit_code in (0, 1), run.stderr
        part = tmp_path / f"shard{i}.{fmt}"
        part.write_text(run.stdout)
        parts.append(str(part))
        if fmt == "json":
            files.append(json.loads(run.stdout)["summary"]["files"])
    if fmt == "json":
        assert all(0 < n < 80 for n in files) and sum(files) == 80, files
    merged = gatecheck("merge", *parts, cwd=root)
    assert merged.exit_code == 0, merged.stderr
    assert merged.stdout == single.stdout
    # The schema rule ran once, in shard 1.
    if fmt == "json":
        objects = [[f["object"] for f in json.loads(Path(p).read_text())["findings"]
                    if f["rule"] == "no-webui"] for p in parts]
        assert objects == [["webui_chats"], [], []]


def test_shards_are_stable_and_cover_every_file() -> None:
    from gatecheck.pipeline import shard_of

    paths = [f"src/m{i}.py" for i in range(1000)]
    shards = [shard_of(p, 4) for p in paths]
    assert shards == [shard_of(p, 4) for p in paths]
    assert set(shards) == {1, 2, 3, 4}
    assert all(150 < shards.count(i) < 350 for i in range(1, 5))


def test_bad_shard_and_mixed_reports_are_usage_errors(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    for bad in ("0/2", "3/2", "x", "1/0"):
        run = gatecheck("run", "--shard", bad, cwd=root)
        assert run.exit_code == 2 and "--shard" in run.stderr, (bad, run.stderr)
    (tmp_path / "a.json").write_text(gatecheck("run", "-f", "json", cwd=root).stdout)
    (tmp_path / "b.sarif").write_text(gatecheck("run", "-f", "sarif", cwd=root).stdout)
    run = gatecheck("merge", str(tmp_path / "a.json"), str(tmp_path / "b.sarif"), cwd=root)
    assert run.exit_code == 2 and "one format" in run.stderr
