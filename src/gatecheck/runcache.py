"""A run whose inputs did not change gives the result it gave: warm runs cost a stat per file.

`run(engine)` returns what ``engine.run()`` returned last time when every
input of the run is as it was then:

- gatecheck's own code (the stamp of each of its modules) and the engine's
  settings: the loaded rules (every option of every rule), the files it was
  given or skips, ``--shard``, the baseline, ``--db`` and the command line's
  grants;
- every source file the run checks (path and stamp: mtime, size, inode),
  which also covers suppression comments and the lines reports quote;
- every database, by the identity of its file: a SQLite file's device,
  inode, size, mtime and schema cookie, and its ``-wal`` file's.

Only runs that read nothing else are kept: no data rules (rows change with
no trace in the schema), no git refs (``--changed-since``, rules that review
migrations against a base), no database that is not a SQLite file (a
server's catalog, a migrations replay or a build).  A result with errors,
rules that did not run, or a cache warning is never kept: those may be
transient.  Findings, rules and paths are stored as the run reported them,
in ``.gatecheck_cache/run-<key>.pickle``, a signed pickle (`gatecheck.signed`).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatecheck import __version__

if TYPE_CHECKING:
    from gatecheck.engine import Engine, RunResult

#: Bumped when what is kept changes.
FORMAT = 1
#: Runs on at most this many given files are not kept here (cheap to redo, and
#: the console entry records them whole).
_FEW = 8
#: What a rule may need for its run to be kept (`gatecheck.kinds`).
_KEPT_NEEDS = frozenset({"sources", "calls", "schema", "columns"})


def run(engine: "Engine") -> "RunResult":
    """``engine.run()``, or the same result from the cache."""
    static = _static_key(engine)
    if static is None:
        return engine.run()
    from gatecheck.pipeline import CACHE_DIR

    directory = engine.root / CACHE_DIR
    if directory.is_symlink():
        return engine.run()  # the file cache says why
    dynamic = _dynamic_key(engine)
    if dynamic is None:
        return engine.run()
    cache = directory / f"run-{static}.pickle"
    from gatecheck import signed

    try:
        kept = signed.load(cache)
        if isinstance(kept, tuple) and len(kept) == 2 and kept[0] == dynamic:
            from gatecheck.engine import RunResult

            if isinstance(kept[1], RunResult):
                return kept[1]
    except (OSError, signed.Unreadable):
        pass
    result = engine.run()
    if result.errors or result.not_run or any("cache" in w for w in result.warnings):
        return result
    try:
        from gatecheck.filecache import create_once

        # Only the file cache (source rules) makes the directory: a run of schema
        # rules alone writes nothing into the repository.
        if directory.is_dir() and not directory.is_symlink():
            create_once(directory / ".gitignore", b"# created by gatecheck\n*\n")
            signed.dump(cache, (dynamic, result))
            _prune(directory, cache)
    except (OSError, signed.KeyUnavailable):
        pass
    return result


def eligible(engine: "Engine") -> bool:
    """Whether the run reads nothing but what its keys cover (see the module docstring)."""
    from gatecheck.engine import rule_needs

    if not engine.use_cache or engine.changed_since is not None:
        return False
    return all(rule_needs(rule) <= _KEPT_NEEDS for rule in engine.config.rules)


#: Kept results per cache directory (one per set of settings: rules files edited
#: over time leave older ones), the least recently written dropped first.
_KEEP = 8


def _prune(directory: Path, current: Path) -> None:
    try:
        kept = sorted((p for p in directory.glob("run-*.pickle") if p != current),
                      key=lambda p: p.lstat().st_mtime_ns)
        for old in kept[:max(0, len(kept) - (_KEEP - 1))]:
            old.unlink()
    except OSError:
        pass


def _static_key(engine: "Engine") -> str | None:
    """The key of the engine's settings and gatecheck's code, or None: not kept."""
    if not eligible(engine):
        return None
    if engine.only is not None and len(engine.only) <= _FEW:
        return None  # pre-commit's few files: recorded whole by `gatecheck.replay`
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{__version__}\0{FORMAT}\0{code_identity()}\0".encode())
    settings = (engine.config, engine.root, engine.only, engine.skip, engine.shard,
                engine.known_rules, engine.warn_unused_ignores, engine.baseline,
                engine.database_overrides, engine.policy, engine.base)
    h.update(_canonical(settings).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_identity() -> str:
    """A digest of the stamp of each of gatecheck's modules: a result made by other
    code is never served (a development install, an upgrade without a new version)."""
    h = hashlib.blake2b(digest_size=16)
    package = Path(__file__).parent
    for directory, _, files in sorted(os.walk(package)):
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(directory, name))
                h.update(f"{directory}/{name}\0{st.st_mtime_ns}\0{st.st_size}\0".encode())
    return h.hexdigest()


def _dynamic_key(engine: "Engine") -> bytes | None:
    """The key of the sources' and databases' stamps, or None: not kept."""
    from gatecheck.engine import rule_needs

    needs = frozenset().union(*(rule_needs(rule) for rule in engine.config.rules))
    h = hashlib.blake2b(digest_size=16)
    h.update(repr(cache_stamps(engine.root)).encode("utf-8", "surrogatepass"))
    if needs & {"sources", "calls"}:
        base = str(engine.root) + os.sep
        for rel in engine.source_paths():
            try:
                st = os.stat(base + rel)
                h.update(f"{rel}\0{st.st_mtime_ns}\0{st.st_size}\0{st.st_ino}\n"
                         .encode("utf-8", "surrogatepass"))
            except OSError:
                return None  # the run reports it: an error, never kept
    if "schema" in needs:
        specs = {d.name: d.spec for d in engine.config.named_databases()}
        specs.update(engine.database_overrides)
        if not specs:
            return None
        for name in sorted(specs):
            identity = _sqlite_identity(specs[name])
            if identity is None:
                return None
            h.update(f"{name}\0{identity}\n".encode("utf-8", "surrogatepass"))
    return h.digest()


def cache_files(root: Path) -> list[str]:
    """The caches a run reads in ``root``'s cache directory (not this module's own):
    one changed or planted since means the result is made again, and says so."""
    from gatecheck.pipeline import CACHE_DIR

    directory = root / CACHE_DIR
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(str(directory / n) for n in names
                  if n.startswith(("files-", "verdicts-", "config-")) and not n.startswith("."))


def cache_stamps(root: Path) -> list[tuple[str, int, int, int]]:
    out = []
    for name in cache_files(root):
        try:
            st = os.lstat(name)
        except OSError:
            continue
        out.append((name, st.st_mtime_ns, st.st_size, st.st_ino))
    return out


def _sqlite_identity(spec: Any) -> str | None:
    """A SQLite file's identity (device, inode, size, mtime, schema cookie, its
    ``-wal`` file's size and mtime), or None for anything else."""
    url = getattr(spec, "url", None)
    if spec is None or url is None or not url.startswith("sqlite:///") or spec.schemas:
        return None
    path = sqlite_file(url, spec.base_dir)
    if path is None:
        return None
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            cookie = fh.read(100)[24:100].hex()  # change counter, schema cookie...
    except OSError:
        return None
    try:
        wal = os.stat(f"{path}-wal")
        wal_id = f"{wal.st_size}:{wal.st_mtime_ns}"
    except OSError:
        wal_id = ""
    return f"{path}:{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{cookie}:{wal_id}"


def sqlite_file(url: str, base_dir: Path) -> Path | None:
    """`gatecheck.introspect.sqlite_path` without importing the introspection
    package (a pre-commit run's start-up): None where that raises."""
    raw = url[len("sqlite:///"):].split("?", 1)[0] if url.startswith("sqlite:///") else ""
    if not raw or raw == ":memory:":
        return None
    path = Path(raw)
    return path if path.is_absolute() else base_dir / path


def _canonical(value: Any) -> str:
    """A text that is the same for equal settings in any process (sets sorted,
    dataclasses by field): a key, unlike ``repr`` or a pickle of a frozenset."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ",".join(f"{f.name}={_canonical(getattr(value, f.name))}"
                          for f in dataclasses.fields(value))
        return f"{type(value).__module__}.{type(value).__qualname__}({fields})"
    if isinstance(value, enum.Enum):
        return f"{type(value).__qualname__}.{value.name}"
    if isinstance(value, dict):
        return "{" + ",".join(sorted(f"{_canonical(k)}:{_canonical(v)}"
                                     for k, v in value.items())) + "}"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_canonical(v) for v in value)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_canonical(v) for v in value) + "]"
    if isinstance(value, Path):
        return repr(str(value))
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return repr(value)
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"
