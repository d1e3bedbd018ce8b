"""Loaded rules files, kept between runs: a warm run parses no YAML.

Loading a rules file imports PyYAML and composes every pack; the result
(`gatecheck.config.GateConfig`) depends only on the files the loader read,
the command line's grants (`gatecheck.policy.Policy`), the directory paths
are shown from, and gatecheck's own code.  So it is kept in
``.gatecheck_cache/config-<key>.pickle`` -- a signed pickle
(`gatecheck.signed`), like every cache -- with the stamp and digest of each
of those files (the rules file, its packs, and the modules that define what
a rule may say: `gatecheck.config`, `gatecheck.options` and the kinds used),
and used while all of them are unchanged.

A rules file that expands ``${ENV}`` is never kept: its values would be
secrets written to disk, and the environment may differ from run to run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from gatecheck import __version__

if TYPE_CHECKING:
    from gatecheck.config import GateConfig
    from gatecheck.policy import Policy

#: Bumped when what is kept changes.
FORMAT = 1
_Dep = tuple[str, int, int, bytes]


def load(path: Path, *, display_root: Path, policy: "Policy", enabled: bool) -> "GateConfig":
    """`gatecheck.config.load_config`, from the cache when nothing it read has changed."""
    cache = _cache_file(path, display_root, policy) if enabled else None
    if cache is not None:
        kept = _read(cache)
        if kept is not None:
            return kept
    from gatecheck.config import load_config

    config = load_config(path, display_root=display_root, policy=policy)
    if cache is not None:
        _write(cache, config)
    return config


def _cache_file(path: Path, display_root: Path, policy: "Policy") -> Path | None:
    from gatecheck.pipeline import CACHE_DIR

    directory = display_root / CACHE_DIR
    if directory.is_symlink():
        return None  # the file cache says so
    key = hashlib.blake2b("\0".join([__version__, str(FORMAT), str(path.resolve()),
                                     str(display_root.resolve()), repr(policy)]).encode(),
                          digest_size=12).hexdigest()
    return directory / f"config-{key}.pickle"


def _read(cache: Path) -> "GateConfig | None":
    from gatecheck import signed

    try:
        kept = signed.load(cache)
    except (OSError, signed.Unreadable):
        return None
    if not (isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], tuple)):
        return None
    deps, config = kept
    for dep in deps:
        if not _unchanged(dep):
            return None
    from gatecheck.config import GateConfig

    return config if isinstance(config, GateConfig) else None


def _unchanged(dep: _Dep) -> bool:
    name, mtime, size, digest = dep
    try:
        st = os.stat(name)
        if st.st_mtime_ns == mtime and st.st_size == size:
            return True
        if st.st_size != size:
            return False
        with open(name, "rb") as fh:
            return _digest(fh.read()) == digest
    except OSError:
        return False


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _write(cache: Path, config: "GateConfig") -> None:
    from gatecheck import signed
    from gatecheck.filecache import create_once

    deps: list[_Dep] = []
    code = Path(__file__).parent
    sources = [*config.files, code / "config.py", code / "options.py",
               *(code / "kinds" / f"{kind.replace('-', '_')}.py"
                 for kind in sorted({rule.kind for rule in config.rules}))]
    try:
        for source in sources:
            with open(source, "rb") as fh:
                data = fh.read()
            if source in config.files and b"${" in data:
                return  # environment values: secrets, and they may change
            st = os.stat(source)
            deps.append((str(Path(source).resolve()), st.st_mtime_ns, st.st_size,
                         _digest(data)))
        if not cache.parent.is_dir() or cache.parent.is_symlink():
            return  # only the file cache (source rules) makes the directory
        create_once(cache.parent / ".gitignore", b"# created by gatecheck\n*\n")
        signed.dump(cache, (tuple(deps), config))
    except (OSError, signed.KeyUnavailable):
        pass  # no cache, same result (the file cache's warning says why)
