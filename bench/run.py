#!/usr/bin/env python3
"""gatecheck's speed and accuracy benchmark, side by side with the tools teams use today.

    python bench/run.py                    # full run (~5 min): prints a markdown table
    python bench/run.py --quick            # smaller corpora, for a smoke test
    python bench/run.py --write docs/performance.md

It generates the corpora with bench/gen_corpus.py (default corpus:
2,000 modules, 120 .sql files; 5x corpus: 10,000 modules, 600 .sql files),
then times, in one run on the same machine:

* gatecheck cold (no cache) with forbid-table-references + sql-parses,
  scored with bench/score.py (strict: exact line), vs semgrep with one
  rule matching string literals that contain task_sessions (--jobs 1);
* gatecheck on the .sql migrations alone vs ``sqlfluff lint --rules LT01``;
* gatecheck warm (nothing changed) vs ``rg -niw task_sessions``;
* a one-file run as pre-commit makes it (a changed file, and an unchanged
  one), with a schema rule served from the cached schema;
* the 5x corpus cold, as a ratio to the default corpus;
* SQLite introspection of 2,000 and 20,000 tables, cold and cached.

semgrep and sqlfluff are installed into a separate virtualenv
(``~/.cache/gatecheck-bench-tools``) on first use; rg comes from Debian's
``ripgrep`` package.  A tool that is missing is reported, not faked.
Timings are wall-clock, best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"  # gen_corpus.py and score.py live here
GATECHECK = str(Path(sys.executable).parent / "gatecheck")
TOOLS = Path.home() / ".cache" / "gatecheck-bench-tools"
SEMGREP_VERSION, SQLFLUFF_VERSION = "1.185.0", "4.5.0"

RULES = """\
version: 1
dialect: sqlite
sources: {include: ["**/*.py", "**/*.sql"]}
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses}
"""
SCHEMA_RULES = RULES.replace("version: 1\n", "version: 1\ndatabase: sqlite:///schema.db\n") + \
    '  - {id: no-webui, kind: forbid-tables, pattern: "webui_*", except: ["*_legacy"]}\n'
SEMGREP_RULE = """\
rules:
  - id: task-sessions-literal
    languages: [python]
    severity: ERROR
    message: string literal mentions task_sessions
    patterns:
      - pattern: '"$STR"'
      - metavariable-regex:
          metavariable: $STR
          regex: (?i).*\\btask_sessions\\b
"""


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.pop("PYTHONDONTWRITEBYTECODE", None)  # measure what users run: cached bytecode
    return e


def timed(cmd: list[str], cwd: Path, *, repeat: int = 1, stdin: str | None = None,
          prepare: "list[str] | None" = None) -> tuple[float, str]:
    """Best wall time of ``repeat`` runs, and the last run's stdout."""
    best, out = float("inf"), ""
    for _ in range(repeat):
        if prepare:
            subprocess.run(prepare, cwd=cwd, env=env(), capture_output=True, check=False)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True,
                              input=stdin, check=False)
        best = min(best, time.perf_counter() - start)
        out = proc.stdout
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return best, out


def score(corpus: Path, mode: str, output: str, *extra: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, str(BENCH / "score.py"),
                           str(corpus / "ground_truth.json"), mode, *extra],
                          input=output, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def recall_without_generator_quirk(corpus: Path, output: str) -> float:
    """Recall on ground-truth lines that name task_sessions as a whole identifier.

    gen_corpus.py records ``CREATE VIEW v_task_sessions_NNNN AS`` lines as
    references to task_sessions (the view's own name, a longer identifier that
    must not fire); the real reference, on the view's FROM line, is recorded
    too.  This recall leaves those lines out and counts everything else.
    """
    import re

    word = re.compile(r"(?i)(?<![\w$])[\"`\[]?task_sessions[\"`\]]?(?![\w$])")
    found = {(f["path"], f["line"]) for f in json.loads(output)["findings"]
             if f["rule"] == "no-task-sessions"}
    gt = [g for g in json.loads((corpus / "ground_truth.json").read_text())
          if g["kind"] != "py-indirect"]
    lines: dict[str, list[str]] = {}
    kept = []
    for g in gt:
        text = lines.setdefault(g["path"], (corpus / g["path"]).read_text().splitlines())
        if word.search(text[g["line"] - 1]):
            kept.append(g)
    return sum((g["path"], g["line"]) in found for g in kept) / len(kept)


def ensure_tools() -> dict[str, str | None]:
    tools: dict[str, str | None] = {"rg": shutil.which("rg")}
    if not (TOOLS / "bin" / "semgrep").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
        subprocess.run([str(TOOLS / "bin" / "pip"), "install", "-q",
                        f"semgrep=={SEMGREP_VERSION}", f"sqlfluff=={SQLFLUFF_VERSION}"],
                       check=False)
    for name in ("semgrep", "sqlfluff"):
        exe = TOOLS / "bin" / name
        tools[name] = str(exe) if exe.exists() else None
    return tools


def generate(out: Path, modules: int, sql_files: int, db_tables: int) -> Path:
    if not (out / "ground_truth.json").exists():
        subprocess.run([sys.executable, str(BENCH / "gen_corpus.py"), "--out", str(out),
                        "--modules", str(modules), "--sql-files", str(sql_files),
                        "--db-tables", str(db_tables)], check=True, capture_output=True)
    (out / "rules.yaml").write_text(RULES)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "gatecheck-bench"))
    ap.add_argument("--quick", action="store_true", help="small corpora (smoke test)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", metavar="FILE", help="also write the table into FILE")
    args = ap.parse_args()

    modules, sql_files = (200, 12) if args.quick else (2000, 120)
    work = Path(args.work) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    tools = ensure_tools()
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, gatecheck: str, other: str, ratio: str) -> None:
        rows.append((what, gatecheck, other, ratio))
        print(f"  {what}: gatecheck {gatecheck} | {other} | {ratio}", flush=True)

    print(f"corpus: {modules} modules, {sql_files} .sql files ...", flush=True)
    corpus = generate(work / "corpus", modules, sql_files, 2000)
    cold_cmd = [GATECHECK, "run", "--no-cache", "--format", "json"]
    cold, out = timed(cold_cmd, corpus, repeat=args.repeat)
    s = score(corpus, "gatecheck", out, "no-task-sessions")
    quirk_recall = recall_without_generator_quirk(corpus, out)
    size_mb = sum(p.stat().st_size for p in corpus.rglob("*") if p.suffix in (".py", ".sql")) / 1e6
    accuracy = (f"precision {s['precision']}, recall (direct) {s['recall_direct']} "
                f"[{quirk_recall:.4f} without the generator's view-name lines], "
                f"py-indirect missed {s['missed_by_kind'].get('py-indirect', 0)}")  # type: ignore[union-attr]
    if tools["semgrep"]:
        (work / "semgrep.yaml").write_text(SEMGREP_RULE)
        sg, sg_out = timed([tools["semgrep"], "scan", "--config", str(work / "semgrep.yaml"),
                            "--jobs", "1", "--json", "--metrics", "off", "--disable-version-check",
                            "--no-git-ignore", "."], corpus, repeat=1)
        sgs = score(corpus, "semgrep", sg_out)
        row(f"cold, default corpus ({size_mb:.1f} MB)", f"{cold:.2f} s ({accuracy})",
            f"semgrep --jobs 1 {sg:.1f} s (precision {sgs['precision']}, recall {sgs['recall']})",
            f"{cold / sg:.3f}x (target <= 0.1x)")
    else:
        row(f"cold, default corpus ({size_mb:.1f} MB)", f"{cold:.2f} s ({accuracy})",
            "semgrep: not installed", "-")

    sql_tree = work / "sql-only"
    if not sql_tree.exists():
        shutil.copytree(corpus / "migrations", sql_tree / "migrations")
    (sql_tree / "rules.yaml").write_text(RULES)
    sql_cold, _ = timed(cold_cmd, sql_tree, repeat=args.repeat)
    if tools["sqlfluff"]:
        fl, _ = timed([tools["sqlfluff"], "lint", "--dialect", "sqlite", "--rules", "LT01",
                       "--processes", "1", "migrations"], sql_tree, repeat=1)
        row(f".sql only ({sql_files} files)", f"{sql_cold:.2f} s",
            f"sqlfluff lint --rules LT01 {fl:.1f} s", f"{sql_cold / fl:.3f}x (target <= 0.05x)")
    else:
        row(f".sql only ({sql_files} files)", f"{sql_cold:.2f} s", "sqlfluff: not installed", "-")

    warm_cmd = [GATECHECK, "run", "--format", "json"]
    subprocess.run(warm_cmd, cwd=corpus, env=env(), capture_output=True, check=False)
    warm, _ = timed(warm_cmd, corpus, repeat=args.repeat)
    if tools["rg"]:
        rg, _ = timed([tools["rg"], "-niw", "task_sessions", "."], corpus, repeat=args.repeat)
        row("warm (nothing changed)", f"{warm:.3f} s", f"rg -niw {rg:.3f} s",
            f"{warm / rg:.1f}x rg (target <= 0.15 s and <= 5x rg)")
    else:
        row("warm (nothing changed)", f"{warm:.3f} s", "rg: not installed", "target <= 0.15 s")

    one = work / "one-file"
    if not one.exists():
        shutil.copytree(corpus / "src" / "pkg00", one / "src" / "pkg00")
        shutil.copy(corpus / "schema_2000.db", one / "schema.db")
    (one / "rules.yaml").write_text(SCHEMA_RULES)
    target = next(p for p in sorted((one / "src" / "pkg00").glob("*.py"))
                  if "execute(" in p.read_text())
    rel = str(target.relative_to(one))
    subprocess.run([GATECHECK, "run", rel], cwd=one, env=env(), capture_output=True, check=False)
    unchanged, _ = timed([GATECHECK, "run", rel], cwd=one, repeat=args.repeat)
    changed, _ = timed([GATECHECK, "run", rel], cwd=one, repeat=args.repeat,
                       prepare=["touch", rel])
    row("one file, as pre-commit runs it (schema from cache)",
        f"changed file {changed:.3f} s, unchanged {unchanged:.3f} s", "-", "target <= 0.15 s")

    if not args.quick:
        big = generate(work / "corpus5x", modules * 5, sql_files * 5, 0)
        big_cold, _ = timed(cold_cmd, big, repeat=1)
        row("5x corpus, cold", f"{big_cold:.2f} s", f"default corpus {cold:.2f} s",
            f"{big_cold / cold:.2f}x (target <= 5.5x)")

    for tables in ((2000,) if args.quick else (2000, 20000)):
        db = corpus / "schema_2000.db" if tables == 2000 else work / "db20k" / "schema_20000.db"
        if not db.exists():
            subprocess.run([sys.executable, str(BENCH / "gen_corpus.py"), "--out",
                            str(db.parent), "--db-only", "--db-tables", str(tables)],
                           check=True, capture_output=True)
        code = ("import sys, time; from pathlib import Path; "
                "from gatecheck.introspect.sqlite import SQLiteDatabase as D; "
                "t = time.perf_counter(); d = D.open_file(Path(sys.argv[1]), source='x'); "
                "n = len(d.schema().tables); print(time.perf_counter() - t, n)")
        xdg = tempfile.mkdtemp()
        e = dict(env(), XDG_CACHE_HOME=xdg)
        times = []
        for _ in range(2):  # first: introspection; second: the schema cache
            proc = subprocess.run([sys.executable, "-c", code, str(db)], env=e,
                                  capture_output=True, text=True, check=True)
            times.append(float(proc.stdout.split()[0]))
        shutil.rmtree(xdg, ignore_errors=True)
        target_s = 0.2 if tables == 2000 else 3.5
        row(f"SQLite introspection, {tables:,} tables", f"{times[0]:.3f} s cold, "
            f"{times[1]:.3f} s cached", "-", f"target <= {target_s} s")

    table = ["| measurement | gatecheck | reference | ratio / target |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPUs, Python "
              f"{sys.version.split()[0]}, with `python bench/run.py"
              f"{' --quick' if args.quick else ''}`:")
    text = header + "\n\n" + "\n".join(table) + "\n"
    print("\n" + text)
    if args.write:
        path = Path(args.write)
        doc = path.read_text() if path.exists() else ""
        start, end = "<!-- bench:start -->", "<!-- bench:end -->"
        if start in doc and end in doc:
            doc = doc[:doc.index(start) + len(start)] + "\n" + text + doc[doc.index(end):]
        else:
            doc += f"\n{start}\n{text}{end}\n"
        path.write_text(doc)


if __name__ == "__main__":
    main()
