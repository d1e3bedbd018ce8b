"""Read a file only when it is a regular file, inside the root, and not too big.

A pull request controls every file of the checkout, symbolic links and FIFO
names included.  So every reader of a file gatecheck did not write itself
goes through `read_regular`:

- with a ``root``, the path is resolved (symbolic links followed) and refused
  when it leads outside the root or into a ``.git`` directory (whose
  ``config`` can hold a CI token); without one, a symbolic link is refused;
- a FIFO, device, socket or directory is never opened: the file is checked
  with ``lstat``, opened ``O_NONBLOCK | O_NOFOLLOW`` (so a swap after the
  check can neither block nor follow a link) and checked again with
  ``fstat`` on what was opened;
- at most ``limit`` bytes are read, whatever the size said.

A refusal is `Refused`, whose message names the reason and never quotes the
file's contents; a file that is missing, unreadable or a loop of links is
the usual `OSError`.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

_FLAGS = (os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
          | getattr(os, "O_NOCTTY", 0))
_MB = 1024 * 1024


class Refused(Exception):
    """The file is not read: why, in words fit for a message (never its contents)."""


def read_regular(path: Path, *, root: Path | None = None, limit: int) -> bytes:
    """The bytes of ``path``; `Refused` or `OSError` (see the module's docstring)."""
    return read_regular_stat(path, root=root, limit=limit)[0]


def read_regular_stat(path: Path, *, root: Path | None = None,
                      limit: int) -> tuple[bytes, os.stat_result]:
    """`read_regular`, with the ``fstat`` of the file that was read."""
    target = _confined(path, root) if root is not None else path
    before = os.lstat(target)
    if stat.S_ISLNK(before.st_mode):
        # Without a root every link is refused; with one, the resolved path
        # is a link only when it is a loop (or was swapped since it was resolved).
        raise Refused("is a symbolic link" if root is None else "a loop of symbolic links")
    _check(before, limit)
    fd = os.open(target, _FLAGS)
    try:
        after = os.fstat(fd)
        _check(after, limit)
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, _MB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # it grew after the size check
        raise Refused(f"larger than the {_size(limit)} limit")
    return data, after


def _confined(path: Path, root: Path) -> Path:
    """``path`` with every link resolved, refused when that leaves ``root``."""
    link = path.is_symlink()
    # A file's directory is resolved once a run (thousands of files share a
    # few hundred): the checkout does not change under a run, and what is
    # opened is checked again without following links.
    real = Path(os.path.realpath(path)) if link or path.name in ("", ".", "..") else \
        Path(_realpath(os.path.dirname(os.path.abspath(path))), path.name)
    base = Path(_realpath(str(root)))
    try:
        rel = real.relative_to(base)
    except ValueError:
        raise Refused("symbolic link to a file outside the repository" if link else
                      "leads outside the repository through a symbolic link") from None
    if ".git" in rel.parts:
        raise Refused("symbolic link into .git" if link else "inside .git")
    return real


@functools.lru_cache(maxsize=4096)
def _realpath(directory: str) -> str:
    return os.path.realpath(directory)


def new_run() -> None:
    """Forget the directories resolved so far (a process may run gatecheck again
    after the tree changed: the test suite, an editor's server)."""
    _realpath.cache_clear()


def _check(st: os.stat_result, limit: int) -> None:
    mode = st.st_mode
    if stat.S_ISDIR(mode):
        raise Refused("is a directory")
    if not stat.S_ISREG(mode):
        raise Refused(f"not a regular file ({_kind(mode)})")
    if st.st_size > limit:
        raise Refused(f"file is {_size(st.st_size)}, over the {_size(limit)} limit")


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    return "not a file"


def _size(n: int) -> str:
    return f"{n // _MB} MB" if n >= _MB else f"{n} bytes"
