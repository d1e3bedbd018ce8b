"""Which files gatecheck reads: discovery, ``.gitignore`` and path globs.

Globs use ``.gitignore`` syntax everywhere (``sources.include/exclude``, a
rule's ``paths``/``exclude``/``allow``), matched by the `pathspec` library,
so ``**/migrations/**``, ``tests/**`` and ``*.sql`` mean what they mean to git.
In a git work tree the file list comes from ``git ls-files`` (tracked and
untracked-but-not-ignored files), which honours every ignore source git
knows; elsewhere the tree is walked and ``.gitignore`` files are applied.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

#: Never worth scanning, ignored or not (as ruff and sqlfluff do by default).
DEFAULT_EXCLUDE_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "node_modules",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".gatecheck_cache", "site-packages",
    ".eggs", ".hypothesis",
})


class PathMatcher:
    """A set of gitignore-style globs matched against root-relative posix paths."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        # "**/*.py" and "*.sql" (the defaults) are suffix tests: no need to
        # import and compile pathspec for them.
        suffixes = [_suffix(p) for p in self.patterns]
        if all(suffixes):
            self._suffixes: tuple[str, ...] | None = tuple(s for s in suffixes if s)
            self._spec = None
        else:
            self._suffixes = None
            self._spec = _compile(self.patterns) if self.patterns else None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, rel_path: str) -> bool:
        if self._suffixes is not None:
            return rel_path.endswith(self._suffixes)
        return self._spec is not None and self._spec.match_file(rel_path)


_SUFFIX_GLOB = re.compile(r"^(?:\*\*/)?\*(\.[A-Za-z0-9_]+)$")


def _suffix(pattern: str) -> str | None:
    """``.py`` for ``**/*.py`` or ``*.py`` (which gitignore matches at any depth)."""
    match = _SUFFIX_GLOB.match(pattern)
    return match.group(1) if match else None


@lru_cache(maxsize=256)
def _compile(patterns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    import pathspec

    return pathspec.PathSpec.from_lines("gitignore", patterns)


def discover(root: Path, include: PathMatcher, exclude: PathMatcher) -> list[str]:
    """Root-relative posix paths of the files to check, sorted."""
    files = _git_files(root)
    if files is None:
        files = _walk(root)
    return sorted(p for p in files
                  if include.matches(p) and not exclude.matches(p)
                  and not _in_default_excluded_dir(p))


def _in_default_excluded_dir(rel: str) -> bool:
    return any(part in DEFAULT_EXCLUDE_DIRS for part in rel.split("/")[:-1])


def _git_files(root: Path) -> list[str] | None:
    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
            cwd=root, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None  # not a git work tree (or git is missing): walk instead
    out = []
    for raw in proc.stdout.split(b"\0"):
        if not raw:
            continue
        rel = os.fsdecode(raw)
        # Deleted from the work tree but still in the index: nothing to read.
        if os.path.isfile(root / rel):
            out.append(rel)
    return sorted(set(out))


def _walk(root: Path) -> list[str]:
    import pathspec

    out: list[str] = []
    # (directory prefix, spec) for every .gitignore seen on the way down.
    specs: list[tuple[str, "pathspec.PathSpec[Any]"]] = []

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        for prefix, spec in specs:
            if probe.startswith(prefix) and spec.match_file(probe[len(prefix):]):
                return True
        return False

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        if ".gitignore" in filenames:
            try:
                lines = (Path(dirpath) / ".gitignore").read_text(encoding="utf-8",
                                                                 errors="replace").splitlines()
                specs.append((prefix, pathspec.PathSpec.from_lines("gitignore", lines)))
            except OSError:
                pass
        dirnames[:] = sorted(d for d in dirnames
                             if d not in DEFAULT_EXCLUDE_DIRS and not ignored(prefix + d, True))
        out.extend(prefix + f for f in filenames if not ignored(prefix + f, False))
    return out


def changed_files(root: Path, ref: str) -> list[str]:
    """Root-relative paths changed since ``ref`` (committed, staged, unstaged, untracked)."""
    from gatecheck.errors import GatecheckError

    def git(*args: str) -> bytes:
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=60,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GatecheckError(f"--changed-since: cannot run git: {exc}") from None
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GatecheckError(f"--changed-since {ref}: "
                                 f"{detail[-1] if detail else 'git failed'}")
        return proc.stdout

    if not _is_git(root):
        raise GatecheckError(f"--changed-since needs a git work tree; {root} is not in one")
    changed = git("diff", "--name-only", "--relative", "-z", ref, "--")
    untracked = git("ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    names = {os.fsdecode(n) for n in (changed + b"\0" + untracked).split(b"\0") if n}
    return sorted(n for n in names if (root / n).is_file())


def _is_git(root: Path) -> bool:
    try:
        proc = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0
