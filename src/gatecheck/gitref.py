"""Files of the repository as of a git commit, read through git, never checked out.

``breaking-changes`` replays the migrations and reads the sources of the
release that is deployed (``base``), and ``gatecheck diff REF:GLOB``
replays the migrations at a ref.  Neither touches the work tree or the
index: `Snapshot` lists the commit's tree (``git ls-tree``) and copies the
blobs it is asked for (``git cat-file --batch``) into a temporary directory
of its own, removed on `Snapshot.close`.

A ref comes from the command line or the rules file, and reaches git as an
argument, so it is checked as ``--changed-since`` is (docs/security.md):
it may not be empty, start with ``-`` or hold a control character, and it
is resolved to a commit by ``git rev-parse --verify --end-of-options``;
every later git command gets the commit's hash.  A ref the clone does not
have (a shallow clone that did not fetch it) is an error that says so.

Only regular files are copied (no symbolic link, no submodule), at most
`MAX_BLOB_BYTES` each, under paths made of plain names (no ``..``, no
absolute path), created without following links in a directory nobody
else writes: whatever the commit holds, nothing is written outside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import Iterable

from gatecheck.errors import GatecheckError

#: Beyond this a blob is not a migration or source file a human wrote: not copied.
MAX_BLOB_BYTES = 64 * 1024 * 1024
_GIT_TIMEOUT_S = 120
_HASH = re.compile(r"[0-9a-f]{40,64}")


def _git(cwd: Path, *args: str, data: bytes | None = None,
         what: str = "git") -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True,
                              timeout=_GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GatecheckError(f"{what}: cannot run git: {exc}") from None


def top_level(directory: Path, *, what: str) -> Path:
    """The top of the git work tree holding ``directory``."""
    proc = _git(directory, "rev-parse", "--show-toplevel", what=what)
    if proc.returncode != 0:
        raise GatecheckError(f"{what}: needs a git work tree; {directory} is not in one")
    return Path(os.fsdecode(proc.stdout.rstrip(b"\n"))).resolve()


def resolve(directory: Path, ref: str, *, what: str) -> str:
    """The commit ``ref`` names in the repository of ``directory`` (its full hash)."""
    if not ref or ref.startswith("-") or any(ord(c) < 0x20 or c == "\x7f" for c in ref):
        raise GatecheckError(f"{what}: {ref!r} is not a git ref (a ref cannot be empty, start "
                             "with '-' or hold a control character)")
    top_level(directory, what=what)
    proc = _git(directory, "rev-parse", "--verify", "--quiet", "--end-of-options",
                f"{ref}^{{commit}}", what=what)
    commit = proc.stdout.decode("ascii", "replace").strip()
    if proc.returncode != 0 or not _HASH.fullmatch(commit):
        shallow = _git(directory, "rev-parse", "--is-shallow-repository", what=what)
        hint = ""
        if shallow.stdout.strip() == b"true":
            remotes = _git(directory, "remote", what=what).stdout.decode("utf-8", "replace")
            remote, _, branch = ref.partition("/")
            fetch = f"{remote} {branch}:refs/remotes/{ref}" if branch and \
                remote in remotes.split() else f"origin {ref}"
            hint = f"; this is a shallow clone: fetch it first (git fetch --depth=1 {fetch})"
        raise GatecheckError(f"{what}: {ref}: not a commit in this repository{hint}")
    return commit


class Snapshot:
    """The regular files of one commit, copied on demand into a private directory."""

    def __init__(self, directory: Path, ref: str, *, what: str) -> None:
        self.ref = ref
        self.what = what
        self.commit = resolve(directory, ref, what=what)
        self.top = top_level(directory, what=what)
        #: Where the files are copied to: the work tree's top, as of the commit.
        self.dir = Path(tempfile.mkdtemp(prefix="gatecheck-ref-")).resolve()
        self._entries: dict[str, tuple[str, int]] | None = None
        self._copied: set[str] = set()

    @property
    def label(self) -> str:
        """``main (1a2b3c4)``: how messages name the commit."""
        return f"{self.ref} ({self.commit[:7]})"

    def entries(self) -> dict[str, tuple[str, int]]:
        """Regular files of the commit: path from the top -> (blob id, size)."""
        if self._entries is None:
            proc = _git(self.top, "ls-tree", "-r", "-z", "--long", "--full-tree", self.commit,
                        what=self.what)
            if proc.returncode != 0:
                detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
                raise GatecheckError(f"{self.what}: cannot list {self.label}: "
                                     f"{detail[-1] if detail else 'git failed'}")
            entries: dict[str, tuple[str, int]] = {}
            for record in proc.stdout.split(b"\0"):
                head, tab, raw = record.partition(b"\t")
                fields = head.split()
                if not tab or len(fields) != 4 or fields[1] != b"blob" or \
                        fields[0] not in (b"100644", b"100755"):
                    continue  # symbolic links, submodules, trees
                path = os.fsdecode(raw)
                if _safe(path) and fields[3].isdigit():
                    entries[path] = (fields[2].decode("ascii"), int(fields[3]))
            self._entries = entries
        return self._entries

    def under(self, prefix: str) -> list[str]:
        """The files below directory ``prefix`` (``""``: all), paths from the top."""
        prefix = prefix.strip("/")
        if not prefix:
            return sorted(self.entries())
        return sorted(p for p in self.entries() if p == prefix or p.startswith(prefix + "/"))

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The contents of ``paths`` (paths from the top; unknown and too big ones left out)."""
        entries = self.entries()
        wanted = [(p, entries[p][0], entries[p][1]) for p in paths
                  if p in entries and entries[p][1] <= MAX_BLOB_BYTES]
        out: dict[str, bytes] = {}
        batch: list[tuple[str, str]] = []
        size = 0
        for path, oid, blob_size in wanted:
            batch.append((path, oid))
            size += blob_size
            if size >= MAX_BLOB_BYTES:  # bounded memory, whatever the tree holds
                out.update(self._cat(batch))
                batch, size = [], 0
        if batch:
            out.update(self._cat(batch))
        return out

    def _cat(self, batch: list[tuple[str, str]]) -> dict[str, bytes]:
        proc = _git(self.top, "cat-file", "--batch",
                    data="".join(f"{oid}\n" for _, oid in batch).encode("ascii"),
                    what=self.what)
        if proc.returncode != 0:
            raise GatecheckError(f"{self.what}: cannot read the files of {self.label}")
        out: dict[str, bytes] = {}
        data, at = proc.stdout, 0
        for path, _ in batch:
            end = data.find(b"\n", at)
            header = data[at:end].split() if end >= 0 else []
            if len(header) != 3 or header[1] != b"blob" or not header[2].isdigit():
                raise GatecheckError(f"{self.what}: cannot read {path} at {self.label} (a "
                                     "partial clone without the file's contents?)")
            size = int(header[2])
            out[path] = data[end + 1:end + 1 + size]
            at = end + 1 + size + 1
        return out

    def copy(self, paths: Iterable[str]) -> None:
        """Write ``paths`` (from the top) under `dir`, once each."""
        todo = [p for p in paths if p not in self._copied]
        for path, data in self.read(todo).items():
            self._copied.add(path)
            target = self.dir.joinpath(*PurePosixPath(path).parts)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             0o600)
            except OSError:
                continue  # "a" and "a/b" both, or names that fold alike on this system
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def _safe(path: str) -> bool:
    """A relative path of plain names: nothing it names can leave the directory."""
    if not path or path.startswith("/") or "\0" in path or "\\" in path:
        return False
    return all(part not in ("", ".", "..") for part in path.split("/"))


def literal_prefix(pattern: str) -> str:
    """The directories of a glob before its first wildcard (``db/migrations`` of
    ``db/migrations/**/*.sql``), as a path relative to the same place."""
    parts = []
    for part in PurePosixPath(pattern.replace(os.sep, "/")).parts[:-1]:
        if any(c in part for c in "*?["):
            break
        parts.append(part)
    else:
        if not any(c in pattern for c in "*?["):
            return pattern  # a plain file name
    return "/".join(parts)
