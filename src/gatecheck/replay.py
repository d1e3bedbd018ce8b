"""A run that nothing could change is answered from its last output, before anything is imported.

``gatecheck run`` (the command lines `gatecheck.launch` handles) records, for
a run that printed no warning and no error, what it wrote and the stamp of
everything it read: gatecheck's own modules, the directories searched for
rules files and walked for sources (a file added or removed changes its
directory's mtime), the rules files and packs, every source file checked,
the ``.gitignore`` files and git's index and excludes, each SQLite database
file (and its ``-wal``), the baseline.  The next identical command line, in
the same directory, with the same environment switches and terminals, is
answered with that output when every stamp is still the same: a warm run
then costs the interpreter's start, a stat per file and no import of
gatecheck's engine.  Anything else -- a stamp changed, a file appeared, an
``${ENV}`` rules file, a data rule, a database that is not a SQLite file,
``--no-cache`` -- runs as usual (`gatecheck.runcache` may still serve the
engine's result).  Stamps are mtime, size and inode; a file changed during
the run that recorded it is never trusted (it is recorded as changed).

Records live in the user's cache directory (``$XDG_CACHE_HOME/gatecheck/
runs/``), not in the repository, signed like every cache (`gatecheck.signed`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from typing import TYPE_CHECKING, Any

from gatecheck import __version__

if TYPE_CHECKING:
    from gatecheck.targets import Loaded, Plan

#: Bumped when what is recorded changes.
FORMAT = 2
#: Environment variables that change what a run prints or reads.
_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM", "GITHUB_STEP_SUMMARY", "GIT_DIR", "GIT_WORK_TREE",
        "GIT_INDEX_FILE", "XDG_CONFIG_HOME", "HOME", "GATECHECK_DEBUG", "GATECHECK_TODAY")
#: A stamp: (path, mtime_ns, size, inode); size -1: a directory; mtime -1: absent.
Stamp = tuple[str, int, int, int]


def _record_file(argv: list[str]) -> str | None:
    from gatecheck.signed import cache_home

    if os.environ.get("GITHUB_STEP_SUMMARY"):
        return None  # the run appends to that file: a side effect to redo
    env = [(k, os.environ.get(k)) for k in _ENV]
    key = repr([__version__, FORMAT, os.getcwd(), argv, env, sys.stdout.isatty(),
                sys.stderr.isatty(), sys.executable, sys.stdout.encoding])
    name = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return str(cache_home() / "runs" / f"{name}.pickle")


def lookup(argv: list[str]) -> tuple[bytes, int] | None:
    """(stdout, exit code) of the last identical run, if nothing it read has changed."""
    path = _record_file(argv)
    if path is None or not os.path.exists(path):
        return None
    from pathlib import Path

    from gatecheck import signed

    try:
        kept = signed.load(Path(path))
    except (OSError, signed.Unreadable):
        return None
    if not (isinstance(kept, tuple) and len(kept) == 3):
        return None
    stamps, out, code = kept
    if not isinstance(out, bytes) or code not in (0, 1):
        return None
    for item in stamps:
        if _stamp(item[0]) != item:
            return None
    return out, code


def record(argv: list[str], found: "Plan", loaded: "list[Loaded]", out: str, code: int,
           started: float) -> None:
    """Keep this run's output and the stamps of what it read (see the module docstring)."""
    path = _record_file(argv)
    if path is None:
        return
    try:
        stamps = _stamps(found, loaded)
    except OSError:
        return
    if stamps is None or any(s[1] >= started - 50_000_000 for s in stamps):
        return  # something changed while this run read it: not a stamp to trust
    from pathlib import Path

    from gatecheck import signed

    try:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Kept encoded: unpickling bytes is a copy, unpickling text decodes it again.
        data = out.encode(sys.stdout.encoding or "utf-8", errors="surrogateescape")
        signed.dump(target, (tuple(stamps), data, code))
        prune(target.parent)
    except (OSError, signed.KeyUnavailable):
        pass


#: Records kept per directory; past this, the least recently written go.
KEEP = 64


def prune(directory: Any, keep: int = KEEP) -> None:
    """Drop the oldest records of ``directory`` beyond ``keep`` (a record per command
    line and directory would otherwise pile up)."""
    try:
        entries = [e for e in os.scandir(directory)
                   if e.name.endswith(".pickle") and e.is_file(follow_symlinks=False)]
        if len(entries) <= keep:
            return
        entries.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns)
        for entry in entries[:len(entries) - keep]:
            os.unlink(entry.path)
    except OSError:
        pass


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return (path, -1, -1, -1)
    if stat.S_ISDIR(st.st_mode):
        return (path, st.st_mtime_ns, -1, st.st_ino)
    return (path, st.st_mtime_ns, st.st_size, st.st_ino)


def _stamps(found: "Plan", loaded: "list[Loaded]") -> list[Stamp] | None:
    from pathlib import Path

    from gatecheck import runcache
    from gatecheck.config import CONFIG_NAMES, PYPROJECT
    from gatecheck.paths import DEFAULT_EXCLUDE_DIRS

    paths: set[str] = set()
    package = Path(__file__).parent
    for directory, _, files in os.walk(package):
        paths.update(os.path.join(directory, f) for f in files if f.endswith(".py"))
    # Where rules files were looked for: every directory up from the start points.
    starts = [Path.cwd()] + [t.root for t in found.targets]
    for target in found.targets:
        for rel in target.only or ():
            starts.append((target.root / rel).parent)
    for start in starts:
        for above in (start.resolve(), *start.resolve().parents):
            paths.add(str(above))
            for name in (*CONFIG_NAMES, PYPROJECT):
                paths.add(str(above / name))
    for item in loaded:
        engine = item.engine
        if not runcache.eligible(engine):
            return None  # data rules, git refs...: not a run to replay
        paths.update(str(f) for f in item.config.files)
        paths.update(runcache.cache_files(engine.root))
        if item.config.baseline is not None:
            paths.add(str(item.config.baseline))
        root = engine.root.resolve()
        if engine.only is not None:
            paths.update(str(root / rel) for rel in engine.only)
        else:
            # Every directory a walk may enter (a superset: gitignored ones too),
            # every .gitignore, git's index and excludes, and the files checked.
            for directory, dirnames, files in os.walk(root):
                dirnames[:] = [d for d in dirnames if d not in DEFAULT_EXCLUDE_DIRS]
                paths.add(directory)
                if ".gitignore" in files:
                    paths.add(os.path.join(directory, ".gitignore"))
            for top in (root, *root.parents):
                git = top / ".git"
                if git.exists():
                    paths.update(str(git / p) for p in ("index", "info/exclude", "HEAD"))
                    paths.add(str(Path.home() / ".config" / "git" / "ignore"))
                    paths.add(str(Path.home() / ".gitconfig"))
                    break
            paths.update(str(root / rel) for rel in engine.source_paths())
        specs = {d.name: d.spec for d in item.config.named_databases()}
        specs.update(engine.database_overrides)
        for spec in specs.values():
            url = getattr(spec, "url", None)
            if spec is None or url is None or not url.startswith("sqlite:///"):
                return None
            db_file = runcache.sqlite_file(url, spec.base_dir)
            if db_file is None:
                return None
            db = db_file.resolve()
            paths.update((str(db), f"{db}-wal", str(db.parent)))
    return [_stamp(p) for p in sorted(paths)]


def replay(out: bytes, code: int) -> Any:
    """Write a recorded run's output; its exit code."""
    sys.stdout.flush()
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return code
