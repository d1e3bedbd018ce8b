#!/usr/bin/env python3
"""gatecheck's speed and accuracy benchmark, side by side with the tools teams use today.

    python bench/run.py                    # full run (~10 min): prints a markdown table
    python bench/run.py --quick            # smaller corpora, for a smoke test
    python bench/run.py --write docs/performance.md --app /tmp/app

It generates the corpora with bench/gen_corpus.py (default corpus:
2,000 modules, 120 .sql files; 5x corpus: 10,000 modules, 600 .sql files),
then times, in one run on the same machine, each row with its reference
and the ratio the target is stated in:

* gatecheck cold (no cache) with forbid-table-references + sql-parses,
  scored with bench/score.py (strict: exact line), vs semgrep with one
  rule matching string literals that contain task_sessions (--jobs 1);
* the same cold run of other revisions of gatecheck (``--compare
  NAME=REV``, default release 0.1.0 and the revision before the engine
  verdicts), each checked out with ``git worktree`` into the work directory
  and installed into its own virtualenv (same sqlglot, click and PyYAML);
* gatecheck on the .sql migrations alone vs ``sqlfluff lint --rules LT01``;
* gatecheck warm (nothing changed) vs ``grep -rniw task_sessions .`` (and rg);
* ``gatecheck --version`` and a run with nothing to do vs ``python -c pass``
  (this interpreter: the floor of any Python program);
* a one-file run as pre-commit makes it (an unchanged file; a changed one:
  a line added above its SQL, and its SQL edited), with a schema rule served
  from the cached schema, vs ``python -c pass``;
* ``references-exist`` with ``columns: true``, warm, vs the same run without it;
* a real application (``--app DIR``, made by bench/realworld/app.py),
  ``references-exist`` with columns, cold, vs release 0.1.0 on the same tree;
* the default corpus split over three databases (``databases:``) vs one, cold;
* the 5x corpus cold, as a ratio to the default corpus;
* SQLite introspection of 2,000 and 20,000 tables, cold and cached.

semgrep and sqlfluff are installed into a separate virtualenv
(``~/.cache/gatecheck-bench-tools``) on first use; rg comes from Debian's
``ripgrep`` package.  A tool that is missing is reported, not faked.
Timings are wall-clock, best of ``--repeat`` runs; the load average before
and after the run is printed with the table.  ``--profile`` adds where the
time of a cold and a warm run goes (cProfile, in-process, one worker).
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
#: The default corpus with references-exist (``COLUMNS``: true or false).
REFS_RULES = RULES.replace("version: 1\n", "version: 1\ndatabase: sqlite:///schema_2000.db\n") + \
    "  - {id: refs, kind: references-exist, columns: COLUMNS}\n"
#: Revisions timed side by side by default: release 0.1.0, and the last one
#: before the engine verdicts (whose cold time the precision issue must keep).
COMPARE = ("release 0.1.0=311c923", "before the engine verdicts=78c3694")
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
          prepare: "list[str] | None" = None, errors_ok: bool = False) -> tuple[float, str]:
    """Best wall time of ``repeat`` runs, and the last run's stdout.

    The output goes to a file, read after the clock stops: what is timed is the
    program, not this script decoding megabytes of JSON from a pipe.
    """
    best, out = float("inf"), ""
    for _ in range(repeat):
        if prepare:
            subprocess.run(prepare, cwd=cwd, env=env(), capture_output=True, check=False)
        with tempfile.TemporaryFile() as sink, tempfile.TemporaryFile() as errors:
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=cwd, env=env(), stdout=sink, stderr=errors,
                                  input=stdin.encode() if stdin is not None else None,
                                  check=False)
            best = min(best, time.perf_counter() - start)
            sink.seek(0)
            out = sink.read().decode("utf-8", "replace")
            errors.seek(0)
            stderr = errors.read().decode("utf-8", "replace")
        if proc.returncode not in (0, 1, 2) or proc.returncode == 2 and not errors_ok:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return best, out


def score(corpus: Path, mode: str, output: str, *extra: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, str(BENCH / "score.py"),
                           str(corpus / "ground_truth.json"), mode, *extra],
                          input=output, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


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


def revision(rev: str, work: Path) -> str:
    """The ``gatecheck`` of git revision ``rev``: a worktree in ``work`` with its own
    virtualenv, the same versions of sqlglot, click and PyYAML as this one."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    from importlib.metadata import PackageNotFoundError, version

    try:  # the compiled sqlglot (``.[fast]``) where this gatecheck has it
        fast = bool(version("sqlglotc"))
    except PackageNotFoundError:
        fast = False
    dest = work / f"rev-{sha[:12]}"
    env_dir = dest / (".venv-fast" if fast else ".venv")
    exe = env_dir / "bin" / "gatecheck"
    if exe.exists():
        return str(exe)
    if not dest.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(dest), sha],
                       check=True, capture_output=True)
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    names = ("sqlglot", "click", "PyYAML", *(("sqlglotc",) if fast else ()))
    pins = dest / "pins.txt"
    pins.write_text("".join(f"{name}=={version(name)}\n" for name in names))
    subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", "-c", str(pins),
                    "-e", f"{dest}[fast]" if fast else str(dest)], check=True,
                   capture_output=True)
    return str(exe)


def load() -> str:
    """The 1-minute load average (``uptime``): other work on the machine skews the ratios."""
    try:
        return os.getloadavg().__repr__()
    except OSError:
        return "unknown"


def profile(corpus: Path, out: list[str]) -> None:
    """Where a cold run (one worker, in-process) and a warm run spend their time."""
    code = """
import cProfile, io, pstats, sys
from pathlib import Path
from gatecheck.config import load_config
from gatecheck.engine import Engine
root = Path(sys.argv[1]).resolve()
for label, cache in (("cold (jobs 1)", False), ("warm", True)):
    if cache:
        Engine(load_config(root / "rules.yaml"), root, jobs=1).run()
    engine = Engine(load_config(root / "rules.yaml"), root, jobs=1, use_cache=cache)
    prof = cProfile.Profile()
    prof.enable()
    engine.run()
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(14)
    print(f"### {label}")
    print(text.getvalue().split("ncalls", 1)[-1].rstrip())
"""
    proc = subprocess.run([sys.executable, "-c", code, str(corpus)], capture_output=True,
                          text=True, check=True, env=env())
    for block in proc.stdout.split("### ")[1:]:
        label, _, body = block.partition("\n")
        out.append(f"{label}:\n\n```\n   ncalls{body.rstrip()}\n```\n")


def generate(out: Path, modules: int, sql_files: int, db_tables: int) -> Path:
    if not (out / "ground_truth.json").exists():
        subprocess.run([sys.executable, str(BENCH / "gen_corpus.py"), "--out", str(out),
                        "--modules", str(modules), "--sql-files", str(sql_files),
                        "--db-tables", str(db_tables)], check=True, capture_output=True)
    (out / "rules.yaml").write_text(RULES)
    return out


#: Tells this run's edits from an earlier run's (whose SQL the cache may know).
_RUN_ID = os.urandom(4).hex()


def _edit(target: Path, original: str, n: int, sql: bool) -> None:
    """A new version of a file: a line added above its SQL (``sql``: and its SQL edited,
    with text no run has seen before)."""
    text = f"# edit {n}\n" + original
    if sql:
        text = text.replace('execute("SELECT ', f'execute("SELECT {n} AS edit_{_RUN_ID}_{n}, ', 1)
        assert f"edit_{_RUN_ID}_{n}" in text, "no execute(\"SELECT to edit"
    target.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "gatecheck-bench"))
    ap.add_argument("--quick", action="store_true", help="small corpora (smoke test)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", metavar="FILE", help="also write the table into FILE")
    ap.add_argument("--before", metavar="REV", default="HEAD",
                    help="the revision every row is also measured with (default HEAD: the "
                         "numbers before the working tree's changes); 'none' to skip")
    ap.add_argument("--compare", action="append", metavar="NAME=REV",
                    help=f"also time git revision REV cold (default: {', '.join(COMPARE)})")
    ap.add_argument("--app", metavar="DIR",
                    help="a real application's tree with its rules.yaml (bench/realworld/app.py)")
    ap.add_argument("--profile", action="store_true", help="add where the time goes")
    args = ap.parse_args()

    modules, sql_files = (200, 12) if args.quick else (2000, 120)
    work = Path(args.work) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    tools = ensure_tools()
    tools["grep"] = shutil.which("grep")
    compare: dict[str, str] = {}
    for item in args.compare or COMPARE:
        name, _, rev = item.rpartition("=")
        compare[name or rev] = revision(rev, Path(args.work))
    #: Every row is measured with each of these: (label, gatecheck executable).
    subjects = [("after", GATECHECK)]
    if args.before != "none":
        subjects.append(("before", revision(args.before, Path(args.work))))
    load_before = load()
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, gatecheck: str, other: str, ratio: str) -> None:
        rows.append((what, gatecheck, other, ratio))
        print(f"  {what}: gatecheck {gatecheck} | {other} | {ratio}", flush=True)

    def both(times: dict[str, float], unit: str = "s", digits: int = 3) -> str:
        return "; ".join(f"{label} {t:.{digits}f} {unit}" for label, t in times.items())

    def ratios(times: dict[str, float], reference: float, target: str, suffix: str = "x") -> str:
        return "; ".join(f"{label} {t / reference:.2f}{suffix}" for label, t in times.items()) \
            + f" (target {target})"

    python = [sys.executable, "-c", "pass"]
    # The floor of any Python program, the reference of the start-up rows: best of many.
    floor, _ = timed(python, Path.cwd(), repeat=25)

    print(f"corpus: {modules} modules, {sql_files} .sql files ...", flush=True)
    corpus = generate(work / "corpus", modules, sql_files, 2000)
    cold_cmd = ["run", "--no-cache", "--format", "json"]
    cold: dict[str, float] = {}
    accuracy = ""
    for label, exe in subjects:
        cold[label], out = timed([exe, *cold_cmd], corpus, repeat=args.repeat)
        if label == "after":
            s = score(corpus, "gatecheck", out, "no-task-sessions")
            accuracy = f"precision {s['precision']}, recall {s['recall']}"
    size_mb = sum(p.stat().st_size for p in corpus.rglob("*") if p.suffix in (".py", ".sql")) / 1e6
    what = (f"cold, forbid-table-references + sql-parses, default corpus ({size_mb:.1f} MB, "
            f"{modules:,} modules)")
    if tools["semgrep"]:
        (work / "semgrep.yaml").write_text(SEMGREP_RULE)
        sg, sg_out = timed([tools["semgrep"], "scan", "--config", str(work / "semgrep.yaml"),
                            "--jobs", "1", "--json", "--metrics", "off", "--disable-version-check",
                            "--no-git-ignore", "."], corpus, repeat=1)
        sgs = score(corpus, "semgrep", sg_out)
        row(what, f"{both(cold, digits=2)} ({accuracy})",
            f"semgrep --jobs 1 {sg:.1f} s (precision {sgs['precision']}, recall {sgs['recall']})",
            ratios(cold, sg, "<= 0.08x semgrep", "x semgrep"))
    else:
        row(what, f"{both(cold, digits=2)} ({accuracy})", "semgrep: not installed", "-")
    for name, exe in compare.items():
        other, _ = timed([exe, *cold_cmd], corpus, repeat=args.repeat)
        row(f"cold, default corpus, vs {name}", both(cold, digits=2), f"{name}: {other:.2f} s",
            ratios(cold, other, "<= 1.10x" if "verdicts" in name else "-"))

    sql_tree = work / "sql-only"
    if not sql_tree.exists():
        shutil.copytree(corpus / "migrations", sql_tree / "migrations")
    (sql_tree / "rules.yaml").write_text(RULES)
    sql_cold = {label: timed([exe, *cold_cmd], sql_tree, repeat=args.repeat)[0]
                for label, exe in subjects}
    if tools["sqlfluff"]:
        fl, _ = timed([tools["sqlfluff"], "lint", "--dialect", "sqlite", "--rules", "LT01",
                       "--processes", "1", "migrations"], sql_tree, repeat=1)
        row(f".sql only ({sql_files} files)", both(sql_cold, digits=2),
            f"sqlfluff lint --rules LT01 {fl:.1f} s", ratios(sql_cold, fl, "<= 0.05x"))
    else:
        row(f".sql only ({sql_files} files)", both(sql_cold, digits=2),
            "sqlfluff: not installed", "-")

    def warm_times(cwd: Path, args_: list[str], repeat: int, settle: int = 3,
                   prepare: list[str] | None = None, after_only: bool = False
                   ) -> dict[str, float]:
        out = {}
        for label, exe in subjects[:1] if after_only else subjects:
            # The caches written, then what the caches need settled (a run is recorded
            # whole once what the runs before it wrote is older than it).
            for _ in range(settle if label == "after" else 1):
                subprocess.run([exe, *args_], cwd=cwd, env=env(), capture_output=True,
                               check=False)
                time.sleep(0.1)
            out[label], _ = timed([exe, *args_], cwd,
                                  repeat=repeat if label == "after" else 1, prepare=prepare)
        return out

    warm = warm_times(corpus, ["run", "--format", "json"], args.repeat)
    grep, _ = timed([tools["grep"] or "grep", "-rniw", "task_sessions", "."], corpus,
                    repeat=args.repeat)
    rg = ""
    if tools["rg"]:
        rg_s, _ = timed([tools["rg"], "-niw", "task_sessions", "."], corpus, repeat=args.repeat)
        rg = f", rg -niw {rg_s:.3f} s"
    row("warm (nothing changed), default corpus", both(warm), f"grep -rniw {grep:.3f} s{rg}",
        ratios(warm, grep, "<= 3x grep", "x grep"))

    version = {label: timed([exe, "--version"], corpus, repeat=max(9, args.repeat))[0]
               for label, exe in subjects}
    idle = work / "nothing-to-do"
    idle.mkdir(exist_ok=True)
    (idle / "rules.yaml").write_text(RULES)
    nothing = warm_times(idle, ["run"], max(9, args.repeat))
    row("start-up: `gatecheck --version`", both(version), f"python -c pass {floor:.3f} s",
        ratios(version, floor, "< 4x"))
    row("a run with nothing to do (a rules file, no source file)", both(nothing),
        f"python -c pass {floor:.3f} s", ratios(nothing, floor, "< 4x"))

    one = work / "one-file"
    if not one.exists():
        shutil.copytree(corpus / "src" / "pkg00", one / "src" / "pkg00")
        shutil.copy(corpus / "schema_2000.db", one / "schema.db")
    (one / "rules.yaml").write_text(SCHEMA_RULES)
    target = next(p for p in sorted((one / "src" / "pkg00").glob("*.py"))
                  if "execute(" in p.read_text())
    original = target.read_text()
    rel = str(target.relative_to(one))
    unchanged = warm_times(one, ["run", rel], max(9, args.repeat))
    row("one unchanged file, as pre-commit runs it (+ a schema rule, 2,000 tables)",
        both(unchanged), f"python -c pass {floor:.3f} s", ratios(unchanged, floor, "<= 6x"))
    changed: dict[str, float] = {}
    changed_sql: dict[str, float] = {}
    edits = 0
    for label, exe in subjects:
        for sql, into in ((False, changed), (True, changed_sql)):
            best = float("inf")
            for _ in range(max(5, args.repeat)):
                edits += 1
                _edit(target, original, edits, sql)
                best = min(best, timed([exe, "run", rel], one, repeat=1)[0])
                time.sleep(0.05)
            into[label] = best
    target.write_text(original)
    row("one changed file, as pre-commit runs it: a line added above its SQL",
        both(changed), f"python -c pass {floor:.3f} s", ratios(changed, floor, "<= 8x"))
    row("one changed file, as pre-commit runs it: its SQL edited", both(changed_sql),
        f"python -c pass {floor:.3f} s", ratios(changed_sql, floor, "<= 8x"))

    # Warm, and warm with one file touched (a new mtime, the same bytes: no run is
    # answered whole, every fact and verdict still comes from the cache).
    touched = str(corpus / "src" / "pkg00" / "mod00000.py")
    for variant, prepare in (("warm", None), ("warm, one file touched", ["touch", touched])):
        columns: dict[str, dict[str, float]] = {}
        for setting in ("false", "true"):
            (corpus / "rules.yaml").write_text(REFS_RULES.replace("COLUMNS", setting))
            # Before, a warm run is the same with a file touched or not: measured once.
            columns[setting] = warm_times(corpus, ["run", "--format", "json"], args.repeat,
                                          prepare=prepare, after_only=prepare is not None)
        row(f"references-exist with `columns: true`, {variant}, default corpus "
            "(8,300 column findings, 27 times the output)", both(columns["true"]),
            f"the same run without columns: {both(columns['false'])}",
            "; ".join(f"{label} {columns['true'][label] / columns['false'][label]:.2f}x"
                      for label in columns["true"]) + " (target <= 1.5x)")
    (corpus / "rules.yaml").write_text(RULES)

    if args.app:
        app = Path(args.app).resolve()
        files = sum(1 for p in app.rglob("*") if p.suffix in (".py", ".sql"))
        # Python 2 files of gratipay: an error each in revisions without the tolerant
        # parser (exit 2), the other files checked all the same.
        app_cold = {label: timed([exe, *cold_cmd], app, repeat=args.repeat, errors_ok=True)[0]
                    for label, exe in subjects}
        for name, exe in compare.items():
            if "0.1.0" not in name:
                continue
            other, _ = timed([exe, *cold_cmd], app, repeat=args.repeat, errors_ok=True)
            row(f"real application ({files:,} .py/.sql files: the six projects of "
                "bench/realworld), references-exist with columns + sql-parses + "
                "forbid-table-references, cold", both(app_cold, digits=2),
                f"{name}: {other:.2f} s", ratios(app_cold, other, "<= 0.35x"))

    # Several databases (issue 12): the same run with the corpus split over three
    # SQLite files (two of them copies of the schema) by package, against one.
    for name in ("db_b.db", "db_c.db"):
        shutil.copyfile(corpus / "schema_2000.db", corpus / name)
    rules = RULES + ("  - {id: refs, kind: references-exist}\n"
                     '  - {id: leftovers, kind: forbid-tables, patterns: ["*_tmp"]}\n')
    (corpus / "one_db.yaml").write_text(rules.replace(
        "version: 1\n", "version: 1\ndatabase: sqlite:///schema_2000.db\n"))
    (corpus / "three_db.yaml").write_text(rules.replace("version: 1\n", (
        "version: 1\ndatabases:\n  app: sqlite:///schema_2000.db\n"
        '  analytics: {url: "sqlite:///db_b.db", paths: ["src/pkg0[0-6]/**"]}\n'
        '  billing: {url: "sqlite:///db_c.db",'
        ' paths: ["src/pkg0[7-9]/**", "src/pkg1[0-3]/**"]}\n')))
    # Alternated, best of each: the host drifts more within a minute than the
    # difference measured here.
    by_dbs = {"one": float("inf"), "three": float("inf")}
    for _ in range(args.repeat):
        for n in by_dbs:
            by_dbs[n] = min(by_dbs[n], timed([GATECHECK, "run", "--config", f"{n}_db.yaml",
                                              "--no-cache", "--format", "json"], corpus,
                                             repeat=1)[0])
    row("three databases (`databases:`, paths by package) vs one, cold, default corpus, "
        "forbid-table-references + sql-parses + references-exist + forbid-tables",
        f"after {by_dbs['three']:.2f} s", f"one database: {by_dbs['one']:.2f} s",
        f"after {by_dbs['three'] / by_dbs['one']:.2f}x (target <= 1.2x)")

    if not args.quick:
        big = generate(work / "corpus5x", modules * 5, sql_files * 5, 0)
        # Best of as many runs as the 1x row: on a shared host one run varies by
        # a third, and a ratio of one run to a best of three reads the noise.
        big_cold = {label: timed([exe, *cold_cmd], big, repeat=args.repeat)[0]
                    for label, exe in subjects}
        row("5x corpus (10,000 modules), cold", both(big_cold, digits=2),
            f"default corpus: {both(cold, digits=2)}",
            "; ".join(f"{label} {big_cold[label] / cold[label]:.2f}x" for label in big_cold)
            + " (target <= 5.5x)")

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
        introspection = []
        for _ in range(2):  # first: introspection; second: the schema cache
            proc = subprocess.run([sys.executable, "-c", code, str(db)], env=e,
                                  capture_output=True, text=True, check=True)
            introspection.append(float(proc.stdout.split()[0]))
        shutil.rmtree(xdg, ignore_errors=True)
        target_s = 0.2 if tables == 2000 else 3.5
        row(f"SQLite introspection, {tables:,} tables", f"after {introspection[0]:.3f} s cold, "
            f"{introspection[1]:.3f} s cached", "-", f"target <= {target_s} s")
    notes: list[str] = []
    if args.profile:
        profile(corpus, notes)

    table = ["| measurement | gatecheck (after; before) | reference | ratio (after; before) / target |",
             "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    from importlib.metadata import PackageNotFoundError, version as installed

    try:
        compiled = f", sqlglot {installed('sqlglot')} with sqlglotc {installed('sqlglotc')}"
    except PackageNotFoundError:
        compiled = ", sqlglot without sqlglotc"
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPUs, Python "
              f"{sys.version.split()[0]}{compiled} (every revision alike), with `python bench/run.py"
              f"{' --quick' if args.quick else ''}` (best of {args.repeat}; semgrep and "
              f"sqlfluff once; load average {load_before} before, {load()} after; "
              f"\"before\" is {args.before}, measured in the same run):")
    text = header + "\n\n" + "\n".join(table) + "\n"
    if notes:
        text += "\nWhere the time goes (cProfile, by own time):\n\n" + "\n".join(notes) + "\n"
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
