#!/usr/bin/env python3
"""Precision and recall of gatecheck on real repositories, from hand-graded verdicts.

Nothing of the projects is kept here: `projects.yaml` names each repository,
its exact commit, how its schema is built with the project's own code and
the rules used; `verdicts.csv` holds one hand-graded verdict per finding
(repo, commit, path, line, rule, name, verdict, shape); `mutations.csv`
holds planted mistakes (a real query's name misspelled; ``expect`` is the
name the finding must carry) for recall.  The
snapshots come from the command line:

    python bench/realworld/run.py --snapshot gpodder/gpodder=/path/to/git-dir ...

Each snapshot (a git directory or a work tree) is exported at the recorded
commit (.py and .sql files only) into a scratch directory, the schema is
built there into a scratch SQLite file, gatecheck runs with the recorded
rules, and each finding is looked up in the verdicts.  It prints, per
project and rule: findings, graded true/false positives, ungraded, the
precision, and the planted-mutation recall.  ``--dump`` prints the
ungraded findings as CSV rows to grade.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
EXPORT = (".py", ".sql")


def export(snapshot: Path, commit: str, dest: Path) -> int:
    """Write the .py/.sql files of ``commit`` into ``dest``; the number written."""
    if (snapshot / "objects").is_dir() or (snapshot / ".git").exists():
        git_dir = snapshot if (snapshot / "objects").is_dir() else snapshot / ".git"
        names = subprocess.run(["git", f"--git-dir={git_dir}", "ls-tree", "-r", "-z", commit],
                               check=True, capture_output=True).stdout.split(b"\0")
        wanted = []
        for entry in names:
            if not entry:
                continue
            meta, _, path = entry.partition(b"\t")
            mode, kind, sha = meta.split()
            if kind == b"blob" and mode != b"120000" and path.decode().endswith(EXPORT):
                wanted.append((sha.decode(), path.decode()))
        proc = subprocess.Popen(["git", f"--git-dir={git_dir}", "cat-file", "--batch"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdin and proc.stdout
        written = 0
        for sha, path in wanted:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) < 3:  # missing object (a large file left out of the snapshot)
                continue
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)
            target = dest / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written += 1
        proc.stdin.close()
        proc.wait()
        return written
    written = 0
    for path in snapshot.rglob("*"):
        if path.suffix in EXPORT and path.is_file() and ".git" not in path.parts:
            target = dest / path.relative_to(snapshot)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
            written += 1
    return written


def build_schema(project: dict, tree: Path, db: Path) -> None:
    """Run the project's own schema code (recorded in projects.yaml) into ``db``."""
    env = {**os.environ, "BENCH_DB": str(db), "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([sys.executable, "-c", project["schema"]["python"]], cwd=tree, env=env,
                   check=True, timeout=300)


def run_gatecheck(project: dict, tree: Path, db: Path) -> list[dict]:
    rules = {"version": 1, "database": f"sqlite:///{db}", "rules": project["rules"]}
    if project.get("sources"):
        rules["sources"] = project["sources"]
    (tree / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    exe = Path(sys.executable).parent / "gatecheck"
    proc = subprocess.run([str(exe), "run", "--format", "json", "--no-cache"], cwd=tree,
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode not in (0, 1):
        print(f"  gatecheck exit {proc.returncode}: {proc.stderr.strip()[:500]}",
              file=sys.stderr)
    return json.loads(proc.stdout)["findings"] if proc.stdout.strip() else []


def name_of(finding: dict) -> str:
    return str(finding.get("object") or "")


def key(f: dict) -> tuple[str, int, str, str]:
    return (f["path"], int(f["line"]), f["rule"], f["name"] if "name" in f else name_of(f))


def plant(tree: Path, mutations: list[dict]) -> None:
    for m in mutations:
        path = tree / m["path"]
        lines = path.read_text(encoding="utf-8").split("\n")
        i = int(m["line"]) - 1
        assert m["old"] in lines[i], f"{m['path']}:{m['line']}: {m['old']!r} not on that line"
        lines[i] = lines[i].replace(m["old"], m["new"], 1)
        path.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", action="append", default=[], metavar="REPO=PATH")
    parser.add_argument("--dump", action="store_true", help="print ungraded findings as CSV")
    args = parser.parse_args()
    snapshots = dict(s.split("=", 1) for s in args.snapshot)
    projects = yaml.safe_load((HERE / "projects.yaml").read_text())["projects"]
    with open(HERE / "verdicts.csv", newline="") as fh:
        verdicts = {(r["repo"], r["path"], int(r["line"]), r["rule"], r["name"]): r
                    for r in csv.DictReader(fh)}
    with open(HERE / "mutations.csv", newline="") as fh:
        mutations = list(csv.DictReader(fh))
    print(f"{'project':28} {'rule':8} {'found':>5} {'TP':>4} {'FP':>4} {'ungr':>4} "
          f"{'precision':>9} {'recall':>7}")
    dump = csv.writer(sys.stdout) if args.dump else None
    for project in projects:
        repo = project["repo"]
        if repo not in snapshots:
            print(f"{repo:28} (no snapshot given)")
            continue
        with tempfile.TemporaryDirectory() as scratch:
            tree, db = Path(scratch) / "tree", Path(scratch) / "schema.db"
            tree.mkdir()
            export(Path(snapshots[repo]), project["commit"], tree)
            build_schema(project, tree, db)
            findings = run_gatecheck(project, tree, db)
            planted = [m for m in mutations if m["repo"] == repo]
            plant(tree, planted)
            after = run_gatecheck(project, tree, db) if planted else []
        caught = sum(any(f["path"] == m["path"] and f["line"] == int(m["line"])
                         and name_of(f).casefold().endswith(m["expect"].casefold()) for f in after)
                     for m in planted)
        for rule in sorted({r["id"] for r in project["rules"]}):
            mine = [f for f in findings if f["rule"] == rule]
            graded = [verdicts.get((repo, f["path"], f["line"], rule, name_of(f)))
                      for f in mine]
            tp = sum(1 for g in graded if g and g["verdict"] == "tp")
            fp = sum(1 for g in graded if g and g["verdict"] == "fp")
            ungraded = [f for f, g in zip(mine, graded) if g is None]
            precision = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
            recall = (f"{caught}/{len(planted)}" if planted and rule == project.get(
                "mutated_rule", "refs") else "")
            print(f"{repo:28} {rule:8} {len(mine):5} {tp:4} {fp:4} {len(ungraded):4} "
                  f"{precision:>9} {recall:>7}")
            if dump is not None:
                for f in ungraded:
                    dump.writerow([repo, project["commit"], f["path"], f["line"], rule,
                                   name_of(f), "?", f["message"]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
