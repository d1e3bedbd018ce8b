#!/usr/bin/env python3
"""One tree of real application code for the speed benchmark (`bench/run.py --app DIR`).

None of the projects of `projects.yaml` has 1,000 Python files on its own,
so this exports all of them side by side (``DIR/<owner>+<name>/``, .py and
.sql files at the recorded commits, as `run.py` exports them) under one
rules file: ``references-exist`` with ``columns: true``, ``sql-parses`` and
``forbid-table-references``, SQLite dialect, against one SQLite database
that holds the schemas the SQLite projects' own recipes build (a table name
two projects share is kept from the first).  The PostgreSQL projects' SQL is
read as SQLite's: their names are proposals the engine then decides, real
work either way.  Nothing of the projects is kept in this repository:

    python bench/realworld/app.py --out /tmp/app \\
        --snapshot gpodder/gpodder=/path/to/git-dir ...
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run as realworld  # noqa: E402  (bench/realworld/run.py)

RULES = """\
version: 1
database: sqlite:///schema.db
dialect: sqlite
sources: {include: ["**/*.py", "**/*.sql"]}
rules:
  - {id: refs, kind: references-exist, columns: true}
  - {id: parses, kind: sql-parses}
  - {id: ftr, kind: forbid-table-references, tables: [history, episode, catalog_tables]}
"""


def build(out: Path, snapshots: dict[str, Path]) -> int:
    """Export every project with a snapshot into ``out``; the number of .py files."""
    projects = yaml.safe_load((HERE / "projects.yaml").read_text())["projects"]
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    db = sqlite3.connect(out / "schema.db")
    for project in projects:
        snapshot = snapshots.get(project["repo"])
        if snapshot is None:
            continue
        tree = out / project["repo"].replace("/", "+")
        realworld.export(snapshot, project["commit"], tree)
        if project.get("dialect", "sqlite") != "sqlite":
            continue
        with tempfile.TemporaryDirectory() as scratch:
            own = Path(scratch) / "schema.db"
            realworld.build_schema(project, tree, f"sqlite:///{own}")
            source = sqlite3.connect(own)
            known = {r[0].casefold() for r in
                     db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            for kind, name, sql in source.execute(
                    "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
                    "ORDER BY type = 'index'"):
                if kind == "table" and name.casefold() in known:
                    continue
                try:
                    db.execute(sql)
                except sqlite3.Error:
                    pass  # an index of a table another project named first
            source.close()
    db.commit()
    db.close()
    (out / "rules.yaml").write_text(RULES)
    return sum(1 for _ in out.rglob("*.py"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--snapshot", action="append", default=[], metavar="OWNER/NAME=PATH")
    args = ap.parse_args()
    snapshots = {}
    for item in args.snapshot:
        repo, _, path = item.partition("=")
        snapshots[repo] = Path(path)
    print(f"{build(Path(args.out), snapshots)} .py files in {args.out}")


if __name__ == "__main__":
    main()
