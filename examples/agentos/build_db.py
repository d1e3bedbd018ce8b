#!/usr/bin/env python3
"""Build the agentos example database from its migrations (stdlib only).

    python examples/agentos/build_db.py                 # all migrations: after the FK fix (v36)
    python examples/agentos/build_db.py --upto 35       # after the merge, FK still stale
    python examples/agentos/build_db.py --upto 34       # before the merge
    python examples/agentos/build_db.py --out /tmp/agentos.db

Migrations run in natural order (schema_v2 before schema_v10), and seed/seed_v1.sql
runs right after the first one. The output is built in a temporary file next to
it and moved into place only when every script succeeded.
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIGRATIONS = HERE / "migrations"
SEED = HERE / "seed" / "seed_v1.sql"
NUMBER = re.compile(r"^schema_v(\d+)_")


def natural_key(name: str) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def migration_files(upto: int | None) -> list[Path]:
    files = sorted(MIGRATIONS.glob("schema_v*.sql"), key=lambda p: natural_key(p.name))
    if upto is None:
        return files
    return [p for p in files if (m := NUMBER.match(p.name)) and int(m.group(1)) <= upto]


def parse_upto(value: str) -> int:
    digits = value[1:] if value[:1] in ("v", "V") else value
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"expected a migration number such as 34 or v34, got {value!r}")
    return int(digits)


def fail(message: str) -> int:
    print(f"build_db.py: {message}", file=sys.stderr)
    return 2


class BuildError(Exception):
    """A migration or seed script failed; the message names the file."""


def build(out: Path, files: list[Path]) -> None:
    """Apply `files` (and the seed after the first) to a fresh database at `out`."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=".tmp.db", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the result ordinary permissions
    try:
        conn = sqlite3.connect(tmp)
        try:
            for index, path in enumerate(files):
                scripts = [("migration", path)] + ([("seed", SEED)] if index == 0 else [])
                for what, script in scripts:
                    try:
                        conn.executescript(script.read_text(encoding="utf-8"))
                    except (sqlite3.Error, OSError, UnicodeDecodeError) as exc:
                        rel = script.relative_to(HERE).as_posix()
                        raise BuildError(f"{what} {rel} failed: {exc}") from exc
            conn.commit()
        finally:
            conn.close()
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the agentos example SQLite database.")
    parser.add_argument("--out", type=Path, default=HERE / "agentos.db",
                        help="database to write (default: agentos.db next to this script)")
    parser.add_argument("--upto", type=parse_upto, metavar="VERSION",
                        help="stop after migration schema_v{VERSION} (e.g. 34 or 35)")
    args = parser.parse_args(argv)

    files = migration_files(args.upto)
    if not files:
        return fail(f"no migrations found in {MIGRATIONS}")
    out: Path = args.out
    if not out.parent.is_dir():
        return fail(f"output directory does not exist: {out.parent}")
    existed = out.exists()
    try:
        build(out, files)
    except BuildError as exc:
        return fail(f"{exc} ({out} {'left unchanged' if existed else 'not written'})")
    except (sqlite3.Error, OSError) as exc:
        return fail(f"cannot build {out}: {exc}")
    print(f"built {out}: applied {len(files)} migrations ({files[0].name} .. {files[-1].name}) + seed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
