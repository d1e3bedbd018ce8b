#!/usr/bin/env python3
"""Precision and recall of gatecheck on real repositories, from hand-graded verdicts.

Nothing of the projects is kept here: `projects.yaml` names each repository,
its exact commit, how its schema is built with the project's own code and
the rules used; `verdicts.csv` holds one hand-graded verdict per finding
(repo, commit, path, line, rule, name, verdict, shape); `mutations.csv`
holds planted mistakes (a real query's name misspelled; ``expect`` is the
name the finding must carry) for recall.  The snapshots come from the
command line:

    python bench/realworld/run.py --snapshot gpodder/gpodder=/path/to/git-dir ...

Each snapshot (a git directory or a work tree) is exported at the recorded
commit (.py and .sql files only) into a scratch directory, and the schema is
built with the project's own DDL: ``schema.python`` (run in the exported
tree, with $BENCH_DB a scratch SQLite file or $BENCH_PG_URL a scratch
PostgreSQL database) or ``schema.sql`` (files of the tree, run in order).
``dialect: postgres`` projects get a uniquely named scratch database on the
server of ``--pg-url`` (default $GATECHECK_TEST_PG_URL), dropped afterwards,
also on error.  gatecheck runs with the recorded rules and each finding is
looked up in the verdicts.

It prints, per project and rule: findings, graded true/false positives,
ungraded, the precision, and the recall: for the rule mutations are planted
for (``mutated_rule``, default ``refs``), the planted mistakes found; for a
``forbid-table-references`` rule, the graded references found out of all
graded references (verdicts ``tp``, and ``fn`` for a reference it missed).
The candidates for ``fn`` are every word-bounded occurrence of a forbidden
table's name in a string literal of a checked .py file (f-strings whole) or
in a checked .sql file (comments included), on a line that is not a finding; each is graded
``fn`` (a reference to the table) or ``tn`` (not one: a column, prose, a
longer name is not matched anyway).  A project's ``sample: {size, seed}``
grades a seeded random sample of that size per rule when a rule has more
findings (or candidates) than that; precision is then the sample's, and the
recall (printed ``~0.91``) weighs each sample by the population it stands for.
Planted mutations that were not found are listed under their project.
``--dump`` prints the ungraded findings and candidates as CSV rows to grade.
"""

from __future__ import annotations

import argparse
import ast
import csv
import fnmatch
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

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


@contextmanager
def scratch_database(project: dict, scratch: Path, pg_url: str | None) -> Iterator[str]:
    """A database URL for gatecheck: a scratch SQLite file, or a PostgreSQL database
    created for this run and dropped afterwards (also on error)."""
    if project.get("dialect", "sqlite") != "postgres":
        yield f"sqlite:///{scratch / 'schema.db'}"
        return
    if not pg_url:
        raise SystemExit(f"{project['repo']}: dialect postgres needs --pg-url "
                         "(or $GATECHECK_TEST_PG_URL)")
    import psycopg
    slug = re.sub(r"[^a-z0-9]+", "_", project["repo"].lower())[:30]
    name = f"bench_{slug}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_schema(project: dict, tree: Path, url: str) -> None:
    """Run the project's own schema code or SQL (recorded in projects.yaml) into ``url``."""
    recipe = project["schema"]
    postgres = url.startswith("postgresql")
    if "sql" in recipe:
        files = [tree / f for f in recipe["sql"]]
        if postgres:
            import psycopg
            with psycopg.connect(url, autocommit=True) as conn:
                for f in files:  # one simple-protocol batch per file, as psql -f runs it
                    conn.execute(f.read_text(encoding="utf-8").encode())
        else:
            import sqlite3
            db = sqlite3.connect(url.removeprefix("sqlite:///"))
            for f in files:
                db.executescript(f.read_text(encoding="utf-8"))
            db.commit()
            db.close()
    if "python" in recipe:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        env["BENCH_PG_URL" if postgres else "BENCH_DB"] = (
            url if postgres else url.removeprefix("sqlite:///"))
        subprocess.run([sys.executable, "-c", recipe["python"]], cwd=tree, env=env,
                       check=True, timeout=300)


def run_gatecheck(project: dict, tree: Path, url: str) -> list[dict]:
    rules: dict = {"version": 1, "database": url, "dialect": project.get("dialect", "sqlite"),
                   "rules": project["rules"]}
    if project.get("databases"):
        # Other databases the code talks to (``databases:`` of gatecheck): the
        # project's own is "main", the default for every file.
        rules["databases"] = {"main": rules.pop("database"), **project["databases"]}
        rules = {k: rules[k] for k in ("version", "databases", "dialect", "rules")}
    if project.get("sources"):
        rules["sources"] = project["sources"]
    (tree / "rules.yaml").write_text(yaml.safe_dump(rules, sort_keys=False))
    exe = Path(sys.executable).parent / "gatecheck"
    cmd = [str(exe), "run", "--format", "json", "--no-cache"]
    if url.startswith("postgresql"):
        cmd.append("--allow-privileged-role")  # the scratch server's superuser URL
    proc = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, timeout=1200,
                          check=False)
    if proc.returncode not in (0, 1):
        print(f"  {project['repo']}: gatecheck exit {proc.returncode}: "
              f"{proc.stderr.strip()[:500]}", file=sys.stderr)
    return json.loads(proc.stdout)["findings"] if proc.stdout.strip() else []


def name_of(finding: dict) -> str:
    return str(finding.get("object") or "")


def plant(tree: Path, mutations: list[dict]) -> None:
    for m in mutations:
        path = tree / m["path"]
        lines = path.read_text(encoding="utf-8").split("\n")
        i = int(m["line"]) - 1
        assert m["old"] in lines[i], f"{m['path']}:{m['line']}: {m['old']!r} not on that line"
        lines[i] = lines[i].replace(m["old"], m["new"], 1)
        path.write_text("\n".join(lines), encoding="utf-8")


def glob_match(path: str, pattern: str) -> bool:
    """A gitignore-style glob, as sources/paths/exclude take them (enough for these)."""
    if "/" not in pattern.rstrip("/"):
        return fnmatch.fnmatch(path.rsplit("/", 1)[-1], pattern)
    regex = re.escape(pattern.lstrip("/")).replace(r"\*\*/", "(?:.*/)?").replace(
        r"\*\*", ".*").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
    return re.fullmatch(regex, path) is not None


def checked_files(project: dict, rule: dict, tree: Path) -> list[str]:
    sources = project.get("sources") or {}
    include = sources.get("include", ["**/*.py", "**/*.sql"])
    exclude = list(sources.get("exclude", [])) + list(rule.get("exclude", []))
    paths = rule.get("paths")
    out = []
    for f in sorted(tree.rglob("*")):
        rel = f.relative_to(tree).as_posix()
        if not f.is_file() or f.suffix not in EXPORT or rel == "rules.yaml":
            continue
        if not any(glob_match(rel, p) for p in include) or any(
                glob_match(rel, p) for p in exclude):
            continue
        if paths and not any(glob_match(rel, p) for p in paths):
            continue
        out.append(rel)
    return out


def string_spans(source: str) -> list[tuple[int, str]] | None:
    """(first line, source text) of each string literal of a Python file (an f-string
    as a whole, its holes included), or None when it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    spans, inside = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside.update(id(v) for v in ast.walk(node) if v is not node)
    for node in ast.walk(tree):
        if id(node) in inside or not (isinstance(node, ast.JoinedStr) or (
                isinstance(node, ast.Constant) and isinstance(node.value, str))):
            continue
        text = ast.get_source_segment(source, node)
        if text is not None:
            spans.append((node.lineno, text))
    return spans


def candidates(project: dict, rule: dict, tree: Path) -> list[tuple[str, int, str]]:
    """(path, line, table) of each word-bounded occurrence of a forbidden table in a
    string literal of a checked .py file or in a checked .sql file."""
    words = [re.compile(rf"(?<![\w$]){re.escape(t)}(?![\w$])", re.IGNORECASE)
             for t in rule["tables"]]
    out = set()
    for rel in checked_files(project, rule, tree):
        text = (tree / rel).read_text(encoding="utf-8", errors="replace")
        spans = string_spans(text) if rel.endswith(".py") else [(1, text)]
        for first, segment in spans or []:
            for table, word in zip(rule["tables"], words):
                for m in word.finditer(segment):
                    out.add((rel, first + segment.count("\n", 0, m.start()), table))
    return sorted(out)


def sample(items: list, project: dict) -> list:
    spec = project.get("sample")
    if not spec or len(items) <= spec["size"]:
        return items
    keep = sorted(random.Random(spec.get("seed", 0)).sample(range(len(items)), spec["size"]))
    return [items[i] for i in keep]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", action="append", default=[], metavar="REPO=PATH")
    parser.add_argument("--pg-url", default=os.environ.get("GATECHECK_TEST_PG_URL"),
                        help="PostgreSQL server for dialect: postgres projects (a superuser "
                        "URL; default $GATECHECK_TEST_PG_URL)")
    parser.add_argument("--dump", action="store_true",
                        help="print ungraded findings and candidates as CSV")
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
            tree = Path(scratch) / "tree"
            tree.mkdir()
            export(Path(snapshots[repo]), project["commit"], tree)
            with scratch_database(project, Path(scratch), args.pg_url) as url:
                build_schema(project, tree, url)
                findings = run_gatecheck(project, tree, url)
                scans = {r["id"]: candidates(project, r, tree) for r in project["rules"]
                         if r["kind"] == "forbid-table-references"}
                planted = [m for m in mutations if m["repo"] == repo]
                plant(tree, planted)
                after = run_gatecheck(project, tree, url) if planted else []
        missed_planted = [m for m in planted
                  if not any(f["path"] == m["path"] and f["line"] == int(m["line"])
                             and name_of(f).casefold().endswith(m["expect"].casefold())
                             for f in after)]
        caught = len(planted) - len(missed_planted)
        for rule in sorted({r["id"] for r in project["rules"]}):
            mine = [f for f in findings if f["rule"] == rule]
            shown = sample(sorted(mine, key=lambda f: (f["path"], f["line"], name_of(f))),
                           project)
            graded = [verdicts.get((repo, f["path"], f["line"], rule, name_of(f)))
                      for f in shown]
            tp = sum(1 for g in graded if g and g["verdict"] == "tp")
            fp = sum(1 for g in graded if g and g["verdict"] == "fp")
            ungraded = [[f["path"], f["line"], name_of(f), f["message"]]
                        for f, g in zip(shown, graded) if g is None]
            precision = f"{tp / (tp + fp):.2f}" if tp + fp else "-"
            recall = ""
            if planted and rule == project.get("mutated_rule", "refs"):
                recall = f"{caught}/{len(planted)}"
            if rule in scans:
                found = {(f["path"], f["line"]) for f in mine}
                everything = [c for c in scans[rule] if c[:2] not in found]
                unfound = sample(everything, project)
                fn = 0
                for path, line, table in unfound:
                    g = verdicts.get((repo, path, line, rule, table))
                    if g is None:
                        ungraded.append([path, line, table, "candidate not found"])
                    fn += bool(g and g["verdict"] == "fn")
                if len(shown) == len(mine) and len(unfound) == len(everything):
                    recall = f"{tp}/{tp + fn}" if tp + fn else "-"
                else:  # sampled: each sample stands for its whole population
                    tp_all = tp * len(mine) / max(len(shown), 1)
                    fn_all = fn * len(everything) / max(len(unfound), 1)
                    recall = f"~{tp_all / (tp_all + fn_all):.2f}" if tp_all + fn_all else "-"
            print(f"{repo:28} {rule:8} {len(mine):5} {tp:4} {fp:4} {len(ungraded):4} "
                  f"{precision:>9} {recall:>7}")
            if dump is not None:
                for path, line, name, message in ungraded:
                    dump.writerow([repo, project["commit"], path, line, rule, name, "?",
                                   message])
        for m in missed_planted:
            print(f"  missed planted {m['path']}:{m['line']} {m['expect']} ({m['shape']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
