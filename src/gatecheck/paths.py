"""Which files gatecheck reads: discovery, ``.gitignore`` and path globs.

Globs use ``.gitignore`` syntax everywhere (``sources.include/exclude``, a
rule's ``paths``/``exclude``/``allow``), with the semantics of the `pathspec`
library's ``gitignore`` patterns, so ``**/migrations/**``, ``tests/**`` and
``*.sql`` mean what they mean to git; the matcher is gatecheck's own, in
time polynomial whatever the pattern (see `_Glob`).
In a git work tree the file list comes from ``git ls-files`` (tracked and
untracked-but-not-ignored files), which honours every ignore source git
knows; elsewhere the tree is walked and ``.gitignore`` files are applied.
"""

from __future__ import annotations

import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from gatecheck.safefile import Refused, read_regular

#: Never worth scanning, ignored or not (as ruff and sqlfluff do by default).
DEFAULT_EXCLUDE_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", "node_modules",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".gatecheck_cache", "site-packages",
    ".eggs", ".hypothesis",
})

#: A ``.gitignore`` bigger than this is not one a human wrote: it is not read.
MAX_GITIGNORE_BYTES = 8 * 1024 * 1024


class PathMatcher:
    """A set of gitignore-style globs matched against root-relative posix paths.

    The last pattern that matches decides (a ``!pattern`` re-includes), as in
    a ``.gitignore`` file; a path ending in ``/`` is a directory.
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        # "**/*.py" and "*.sql" (the defaults) are suffix tests: no need to
        # compile globs for them.
        suffixes = [_suffix(p) for p in self.patterns]
        if all(suffixes):
            self._suffixes: tuple[str, ...] | None = tuple(s for s in suffixes if s)
            self._globs: tuple[_Glob, ...] = ()
        else:
            self._suffixes = None
            self._globs = _compile(self.patterns)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def matches(self, rel_path: str) -> bool:
        if self._suffixes is not None:
            return rel_path.endswith(self._suffixes)
        return _last_match(self._globs, rel_path)


_SUFFIX_GLOB = re.compile(r"^(?:\*\*/)?\*(\.[A-Za-z0-9_]+)$")


def _suffix(pattern: str) -> str | None:
    """``.py`` for ``**/*.py`` or ``*.py`` (which gitignore matches at any depth)."""
    match = _SUFFIX_GLOB.match(pattern)
    return match.group(1) if match else None


def _last_match(globs: tuple["_Glob", ...], rel_path: str) -> bool:
    for glob in reversed(globs):
        if glob.matches(rel_path):
            return glob.include
    return False


@lru_cache(maxsize=256)
def _compile(patterns: tuple[str, ...]) -> tuple["_Glob", ...]:
    return tuple(glob for glob in map(_Glob.parse, patterns) if glob is not None)


class _Glob:
    """One gitignore pattern, matched a path segment at a time.

    The semantics are pathspec's ``gitignore`` patterns (git's documented
    ones), but not its method: pathspec compiles a pattern into one regular
    expression whose ``*`` and ``**`` parts backtrack against each other, so
    ``a*a*a*a*a*a*a*a*a*a*a*b`` against a 40-character name, or
    ``**/a/**/a/**/a/**/a/**/a/**/b`` against 80 directories, runs for
    seconds to hours: a rules file and a file name in a pull request could
    hang CI.  Here a segment's stars cannot backtrack (atomic groups, as
    `fnmatch` does), and ``**`` is resolved by one pass over the path's
    segments, so a match costs at most segments x pattern segments x segment
    length.  Unlike pathspec, a wildcard never matches ``/``.  A pattern git
    could never match (a trailing backslash, a reversed range) matches nothing.
    """

    __slots__ = ("include", "segments", "anything", "no_descendants")

    def __init__(self, include: bool, segments: tuple["re.Pattern[str] | None", ...],
                 anything: str | None = None, no_descendants: bool = False) -> None:
        self.include = include
        #: Compiled segment globs; None for ``**``.
        self.segments = segments
        #: A last segment of ``*`` ("foo/*") matches a name, not what is below it.
        self.no_descendants = no_descendants
        #: "any": every path; "nested": every path below the root; None: use segments.
        self.anything = anything

    @classmethod
    def parse(cls, pattern: str) -> "_Glob | None":
        """The glob, or None for a blank line or a comment."""
        if not pattern.endswith("\\ "):
            pattern = pattern.rstrip()
        if not pattern or pattern.startswith("#"):
            return None
        include = not pattern.startswith("!")
        if not include:
            pattern = pattern[1:]
        parts = pattern.split("/")
        is_dir = bool(parts[-1] == "" and pattern != "/")
        if parts[0] == "":
            del parts[0]  # "/x": anchored at the root
        elif len(parts) == 1 or (len(parts) == 2 and parts[1] == ""):
            if parts[0] != "**":
                parts.insert(0, "**")  # "x" and "x/": at any depth
        if not parts:
            return cls(include, (), "never")
        if parts[-1] == "":
            parts[-1] = "**"  # "x/": everything below x
        parts = [p for i, p in enumerate(parts) if not (p == "**" and i and parts[i - 1] == "**")]
        if parts == ["**"]:
            return cls(include, (), "nested" if is_dir else "any")
        segments: list[re.Pattern[str] | None] = []
        for part in parts:
            if part == "**":
                segments.append(None)
                continue
            compiled = _segment_glob(part)
            if compiled is None:
                return cls(include, (), "never")
            segments.append(compiled)
        return cls(include, tuple(segments), no_descendants=parts[-1] == "*")

    def matches(self, path: str) -> bool:
        if self.anything is not None:
            return {"any": bool(path), "nested": "/" in path, "never": False}[self.anything]
        names = path.split("/")
        last = len(self.segments) - 1
        # The path positions (indexes into names) the pattern so far can end at.
        positions = {0}
        for i, segment in enumerate(self.segments):
            if segment is None:
                if i == last:
                    return any(j < len(names) for j in positions)  # "x/**": below x
                # A leading or inner "**": zero or more whole directories.
                positions = set(range(min(positions), len(names)))
            else:
                positions = {j + 1 for j in positions
                             if j < len(names) and segment.fullmatch(names[j])}
            if not positions:
                return False
        if self.no_descendants:
            return any(j == len(names) or (j == len(names) - 1 and not names[-1])
                       for j in positions)
        return True  # a match of a directory covers everything below it


def _segment_glob(glob: str) -> "re.Pattern[str] | None":
    """A regular expression for one segment (no ``/``), or None if it never matches."""
    if glob == "*":
        return _ANY_NAME
    # Fixed runs between stars; each star but the last finds the shortest
    # next run inside an atomic group, so nothing backtracks into it.
    runs: list[list[str]] = [[]]
    i, n = 0, len(glob)
    while i < n:
        char = glob[i]
        i += 1
        if char == "\\":
            if i == n:
                return None  # escapes nothing: git never matches it
            runs[-1].append(re.escape(glob[i]))
            i += 1
        elif char == "*":
            if runs[-1] or len(runs) == 1:
                runs.append([])
        elif char == "?":
            runs[-1].append(".")
        elif char == "[":
            j = i
            if j < n and glob[j] in "!^":
                j += 1
            if j < n and glob[j] == "]":
                j += 1
            while j < n and glob[j] != "]":
                j += 1
            if j >= n:
                runs[-1].append(re.escape("["))  # no closing bracket: a literal
                continue
            negate = glob[i] in "!^"
            body = glob[i + 1 if negate else i:j].replace("\\", "\\\\")
            runs[-1].append(f"[{'^' if negate else ''}{body}]")
            i = j + 1
        else:
            runs[-1].append(re.escape(char))
    fixed = ["".join(run) for run in runs]
    if len(fixed) == 1:
        regex = fixed[0]
    else:
        middle = "".join(f"(?>.*?{run})" for run in fixed[1:-1])
        regex = f"{fixed[0]}{middle}.*{fixed[-1]}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "possible nested set" in [[:alpha:]]
            return re.compile(regex, re.DOTALL)
    except re.error:
        return None  # a reversed range, "[z-a]": matches nothing


_ANY_NAME = re.compile(".+", re.DOTALL)


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
    if not any((d / ".git").exists() for d in (root, *root.parents)):
        return None  # not in a git work tree: no git process to start (a warm run's 10%)
    import subprocess

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
    out: list[str] = []
    # (directory prefix, globs) for every .gitignore seen on the way down.
    specs: list[tuple[str, tuple[_Glob, ...]]] = []

    def ignored(rel: str, is_dir: bool) -> bool:
        probe = rel + "/" if is_dir else rel
        for prefix, globs in specs:
            if probe.startswith(prefix) and _last_match(globs, probe[len(prefix):]):
                return True
        return False

    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        if ".gitignore" in filenames:
            try:
                # Not a regular file inside the root (a FIFO, a link out):
                # ignored, as git ignores a .gitignore that is a symbolic link.
                data = read_regular(Path(dirpath) / ".gitignore", root=root,
                                    limit=MAX_GITIGNORE_BYTES)
                lines = data.decode("utf-8", errors="replace").splitlines()
                specs.append((prefix, _compile(tuple(lines))))
            except (OSError, Refused):
                pass
        dirnames[:] = sorted(d for d in dirnames
                             if d not in DEFAULT_EXCLUDE_DIRS and not ignored(prefix + d, True))
        out.extend(prefix + f for f in filenames if not ignored(prefix + f, False))
    return out


def changed_files(root: Path, ref: str) -> list[str]:
    """Root-relative paths changed since ``ref`` (committed, staged, unstaged, untracked).

    ``ref`` comes from the command line but reaches git as an argument, so
    it is checked to be a ref, never an option (``--output=FILE`` made git
    write FILE): it may not start with ``-``, it is resolved to a commit by
    ``git rev-parse --verify --end-of-options``, and git diff gets that
    commit's hash.
    """
    from gatecheck.errors import GatecheckError

    import subprocess

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=60,
                                  check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GatecheckError(f"--changed-since: cannot run git: {exc}") from None

    def output(*args: str) -> bytes:
        proc = git(*args)
        if proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GatecheckError(f"--changed-since {ref}: "
                                 f"{detail[-1] if detail else 'git failed'}")
        return proc.stdout

    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise GatecheckError(f"--changed-since {ref}: not a git ref (a ref cannot start with "
                             "'-' or be empty)")
    if not _is_git(root):
        raise GatecheckError(f"--changed-since needs a git work tree; {root} is not in one")
    proc = git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    commit = proc.stdout.decode("ascii", "replace").strip()
    if proc.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", commit):
        raise GatecheckError(f"--changed-since {ref}: not a commit in this repository")
    changed = output("diff", "--name-only", "--relative", "-z", commit, "--")
    untracked = output("ls-files", "--others", "--exclude-standard", "-z", "--", ".")
    names = {os.fsdecode(n) for n in (changed + b"\0" + untracked).split(b"\0") if n}
    return sorted(n for n in names if (root / n).is_file())


def _is_git(root: Path) -> bool:
    import subprocess

    try:
        proc = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root,
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0
