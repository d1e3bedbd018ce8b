#!/usr/bin/env python3
"""Precision and recall of ``references-exist`` (tables and columns) on a generated corpus.

    python bench/refs_corpus.py [--queries 3000] [--seed 1] [--out DIR]

bench/gen_corpus.py has ground truth for one table name only, so this
generator adds what references-exist needs: a SQLite schema (tables with
known columns) and queries in the shapes the rule resolves (qualified columns
through aliases, single-table statements, joins, INSERT column lists,
UPDATE ... SET, DELETE, CTE outputs, subqueries), in Python string literals
and .sql files.  A fraction of the queries is mutated: a table renamed to one
that does not exist, or one column misspelled; the ground truth is the exact
line and column of each mutation.  Decoys that must stay silent: dynamic
f-string table names, columns of unknown attached schemas, CTE names that
shadow missing tables, SELECT aliases used in ORDER BY.

Scoring is strict: a finding counts only at the exact line and column.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

WORDS = """account agent alert archive asset batch bill blob budget build cache card
channel check claim client comment config contact cost device digest document draft
entry event export feature file flag folder grant group hook host image invoice issue
item job label lead ledger license link lock log member message metric model note
order page payment plan policy post price profile project prompt quota receipt record
report request review role rule run schedule secret session share signal site skill
snapshot source span stage step stream survey tag target task team ticket token topic
trace upload usage user vendor version visit wallet webhook widget""".split()
COLUMNS = """id name title status kind created_at updated_at owner_id parent_id amount
currency score priority payload email slug body version started_at finished_at token
position enabled label description weight""".split()


def misspell(rng: random.Random, name: str) -> str:
    i = rng.randrange(len(name))
    if name[i] == "_" or rng.random() < 0.5:
        return name + "s" if not name.endswith("s") else name[:-1]
    return name[:i] + name[i + 1:] if len(name) > 3 else name + "x"


class Gen:
    def __init__(self, rng: random.Random, tables: dict[str, list[str]]) -> None:
        self.rng, self.tables = rng, tables
        self.names = sorted(tables)

    def table(self) -> str:
        return self.rng.choice(self.names)

    def cols(self, t: str, k: int) -> list[str]:
        return self.rng.sample(self.tables[t], min(k, len(self.tables[t])))

    def query(self) -> tuple[list[tuple[str, str | None]], str]:
        """Pieces of (text, mutable-slot kind) and the template name.

        A piece with kind "table:T" or "column:T" may be mutated; others are fixed text.
        """
        r, t = self.rng, self.table()
        shape = r.choice(["alias", "single", "join", "insert", "update", "delete", "cte",
                          "subquery", "order_alias"])
        c = self.cols(t, 3)
        P: list[tuple[str, str | None]] = []
        if shape == "alias":
            P += [("SELECT ", None), ("a.", None), (c[0], f"column:{t}"), (", a.", None),
                  (c[-1], f"column:{t}"), (" FROM ", None), (t, "table"), (" AS a WHERE a.", None),
                  (c[1 % len(c)], f"column:{t}"), (" = ?", None)]
        elif shape == "single":
            P += [("SELECT ", None), (c[0], f"column:{t}"), (" FROM ", None), (t, "table"),
                  (" WHERE ", None), (c[-1], f"column:{t}"), (" IS NOT NULL", None)]
        elif shape == "join":
            u = self.table()
            d = self.cols(u, 2)
            P += [("SELECT a.", None), (c[0], f"column:{t}"), (", b.", None),
                  (d[0], f"column:{u}"), (" FROM ", None), (t, "table"), (" a JOIN ", None),
                  (u, "table"), (" b ON b.", None), (d[-1], f"column:{u}"), (" = a.", None),
                  (c[-1], f"column:{t}")]
        elif shape == "insert":
            P += [("INSERT INTO ", None), (t, "table"), (" (", None)]
            for i, col in enumerate(c):
                P += [(", " if i else "", None), (col, f"column:{t}")]
            P += [(") VALUES (" + ", ".join("?" for _ in c) + ")", None)]
        elif shape == "update":
            P += [("UPDATE ", None), (t, "table"), (" SET ", None), (c[0], f"column:{t}"),
                  (" = ? WHERE ", None), (c[-1], f"column:{t}"), (" = ?", None)]
        elif shape == "delete":
            P += [("DELETE FROM ", None), (t, "table"), (" WHERE ", None),
                  (c[0], f"column:{t}"), (" < ?", None)]
        elif shape == "cte":
            P += [("WITH recent AS (SELECT ", None), (c[0], f"column:{t}"), (" AS x FROM ", None),
                  (t, "table"), (") SELECT recent.", None), ("x", "output:recent"),
                  (" FROM recent", None)]
        elif shape == "subquery":
            u = self.table()
            d = self.cols(u, 1)
            P += [("SELECT ", None), (c[0], f"column:{t}"), (" FROM ", None), (t, "table"),
                  (" WHERE ", None), (c[-1], f"column:{t}"), (" IN (SELECT ", None),
                  (d[0], f"column:{u}"), (" FROM ", None), (u, "table"), (")", None)]
        else:
            P += [("SELECT count(*) AS n, ", None), (c[0], f"column:{t}"), (" FROM ", None),
                  (t, "table"), (" GROUP BY ", None), (c[0], f"column:{t}"),
                  (" ORDER BY n DESC", None)]
        return P, shape


def build(out: Path, queries: int, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    tables: dict[str, list[str]] = {}
    for w in rng.sample(WORDS, 40):
        tables[w + "s"] = sorted(set(["id"] + rng.sample(COLUMNS, rng.randint(4, 10))))
    db = out / "app.db"
    if db.exists():
        db.unlink()
    conn = sqlite3.connect(db)
    for t, cols in tables.items():
        conn.execute(f"CREATE TABLE {t} ({', '.join(cols)})")
    conn.commit()
    conn.close()
    gen = Gen(rng, tables)
    truth: list[dict[str, object]] = []
    files: dict[str, list[str]] = {}
    mutated = 0
    for q in range(queries):
        pieces, shape = gen.query()
        slots = [i for i, (_, kind) in enumerate(pieces) if kind]
        mutation = None
        if rng.random() < 0.3:
            i = rng.choice(slots)
            text, kind = pieces[i]
            assert kind is not None
            if kind == "table":
                # every occurrence of that table in the statement is renamed
                new = text + "_old"
                for j, (tx, k) in enumerate(pieces):
                    if k == "table" and tx == text:
                        pieces[j] = (new, k)
                mutation = ("table", new, [j for j, (tx, k) in enumerate(pieces)
                                           if k == "table" and tx == new])
            else:
                new = misspell(rng, text)
                owner = kind.split(":", 1)[1]
                if kind.startswith("column:") and new in tables[owner]:
                    new = text + "_xx"
                pieces[i] = (new, kind)
                # the same column may appear twice (GROUP BY c ... c): misspell both
                same = [j for j, (tx, k) in enumerate(pieces) if k == kind and tx == text]
                for j in same:
                    pieces[j] = (new, kind)
                mutation = ("column", new, [i, *same])
            mutated += 1
        sql = "".join(tx for tx, _ in pieces)
        offsets, pos = [], 0
        for tx, _ in pieces:
            offsets.append(pos)
            pos += len(tx)
        if rng.random() < 0.7:
            path = f"app/mod{q // 25:03d}.py"
            lines = files.setdefault(path, ["def run(cur, params, table_name):"])
            prefix = "    cur.execute(\""
            lines.append(f"{prefix}{sql}\", params)")
            col0 = len(prefix)
        else:
            path = f"sql/q{q // 25:03d}.sql"
            lines = files.setdefault(path, ["-- generated queries"])
            lines.append(sql + ";")
            col0 = 0
        if mutation is not None:
            kind, name, idxs = mutation
            for j in sorted(set(idxs)):
                truth.append({"path": path, "line": len(lines), "column": col0 + offsets[j] + 1,
                              "kind": kind, "object": name})
        # decoys in the same file: never findings
        if rng.random() < 0.1 and path.endswith(".py"):
            lines.append('    cur.execute(f"SELECT nope FROM {table_name} WHERE x = ?", params)')
        if rng.random() < 0.05:
            decoy = "SELECT anything FROM other.elsewhere"
            lines.append(f'    cur.execute("{decoy}")' if path.endswith(".py") else decoy + ";")
        if rng.random() < 0.05:
            t = gen.table()
            decoy = (f"WITH missing_table AS (SELECT id FROM {t}) "
                     "SELECT id FROM missing_table")
            lines.append(f'    cur.execute("{decoy}")' if path.endswith(".py") else decoy + ";")
    for path, lines in files.items():
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
    (out / "rules.yaml").write_text(
        "version: 1\ndatabase: sqlite:///app.db\nrules:\n"
        "  - {id: code-matches-schema, kind: references-exist, columns: true}\n")
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=0))
    return {"queries": queries, "mutated": mutated, "truth": len(truth), "files": len(files)}


def score(out: Path, gatecheck: str) -> dict[str, object]:
    proc = subprocess.run([gatecheck, "run", "--no-cache", "--format", "json"], cwd=out,
                          capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr)
    found = {(f["path"], f["line"], f["column"]) for f in json.loads(proc.stdout)["findings"]}
    truth = {(g["path"], g["line"], g["column"])
             for g in json.loads((out / "ground_truth.json").read_text())}
    tp = len(found & truth)
    return {"findings": len(found), "truth": len(truth), "tp": tp,
            "precision": round(tp / len(found), 4) if found else None,
            "recall": round(tp / len(truth), 4) if truth else None,
            "false_positives": sorted(found - truth)[:10],
            "missed": sorted(truth - found)[:10]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "gatecheck-refs"))
    args = ap.parse_args()
    out = Path(args.out)
    stats = build(out, args.queries, args.seed)
    gatecheck = str(Path(sys.executable).parent / "gatecheck")
    print(json.dumps({**stats, **score(out, gatecheck)}, indent=1))


if __name__ == "__main__":
    main()
