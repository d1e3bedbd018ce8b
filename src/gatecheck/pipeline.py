"""Turn source files into `FileResult`s: cached, and in parallel when it pays.

Per file, the work is read → decode → extract fragments → parse each once
with sqlglot → keep the facts (`gatecheck.facts`).  Facts do not depend on
the rules, only on the file's content, the dialect and what is extracted,
so they are cached per file in ``.gatecheck_cache/`` (keyed by file path,
mtime and size; the cache file name carries gatecheck's version, the
dialect and the extraction settings).  Rules are applied fresh on every run,
so changing a rule can never serve a stale finding.

Files missing from the cache are processed in worker processes
(``--jobs``, default: the number of CPUs) when there are enough of them to
pay for starting the workers; otherwise in this process.  A warm run reads
one cache file and never imports sqlglot.

The cache is a signed pickle (`gatecheck.signed`): a cache file committed to
the repository by someone else is ignored, never unpickled.
"""

from __future__ import annotations

import gc
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gatecheck import __version__, signed
from gatecheck.errors import SourceError
from gatecheck.positions import LineIndex

if TYPE_CHECKING:
    from gatecheck.extract.python_calls import CallSite
    from gatecheck.facts import FragmentFacts
    from gatecheck.suppress import Suppression

CACHE_DIR = ".gatecheck_cache"
#: Below this many files to process, worker start-up costs more than it saves.
MIN_FILES_PER_JOB = 64


@dataclass(frozen=True)
class Settings:
    """Everything besides a file's content that its facts depend on."""

    dialect: str
    sql: bool
    call_names: frozenset[str]
    keep_trees: bool = False

    def key(self) -> str:
        from gatecheck.facts import FORMAT

        text = "\0".join([__version__, str(FORMAT), self.dialect, str(self.sql),
                          *sorted(self.call_names)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class FileResult:
    path: str
    facts: list["FragmentFacts"] = field(default_factory=list)
    calls: list["CallSite"] = field(default_factory=list)
    marks: list["Suppression"] = field(default_factory=list)
    error: SourceError | None = None
    #: Line starts and length of the file's text (files with facts or calls),
    #: so that a warm run maps spans to lines without reading the file.
    lines: "LineIndex | None" = None


def analyse_file(root: str, rel: str, settings: Settings) -> FileResult:
    """All of one file's facts (runs in a worker process, or in this one)."""
    from gatecheck import sources, suppress

    try:
        source = sources.load(Path(root), rel, sql=settings.sql,
                              call_names=settings.call_names)
    except SourceError as exc:
        return FileResult(rel, error=exc)
    result = FileResult(rel, calls=source.calls)
    if source.fragments:
        from gatecheck.sqlfacts import analyse

        # Candidates that turned out not to be SQL (prose starting with
        # "Select ...") concern no rule: drop them before they are cached.
        result.facts = [facts for facts in
                        (analyse(f, settings.dialect, keep_trees=settings.keep_trees)
                         for f in source.fragments) if facts.is_sql]
    if result.facts or result.calls:
        result.marks = suppress.suppressions(rel, source.text)
        result.lines = LineIndex(source.text)
    return result


def _analyse_chunk(args: tuple[str, list[str], Settings]) -> list[FileResult]:
    root, rels, settings = args
    with _fewer_collections():
        return [analyse_file(root, rel, settings) for rel in rels]


class _fewer_collections:
    """Run the cyclic GC far less often while files are analysed.

    Parsing allocates millions of short-lived objects; at the default
    threshold the GC scans them over and over (about 10% of the time).  The
    sqlglot trees that do form cycles are dropped per fragment and collected
    at the next, rarer, collection, so memory stays bounded.
    """

    def __enter__(self) -> None:
        self.old = gc.get_threshold()
        gc.set_threshold(100_000, 50, 100)

    def __exit__(self, *exc: object) -> None:
        gc.set_threshold(*self.old)


class FileCache:
    """Per-file results keyed by (path, mtime, size), in one pickle per settings key."""

    def __init__(self, root: Path, settings: Settings, *, enabled: bool) -> None:
        self.enabled = enabled and not settings.keep_trees
        self.file = root / CACHE_DIR / f"files-{settings.key()}.pickle"
        self.entries: dict[str, tuple[int, int, FileResult]] = {}
        self.dirty = False
        self.warning: str | None = None
        if self.enabled:
            self._load()

    def _load(self) -> None:
        directory = self.file.parent
        if directory.is_symlink():
            # A pull request can commit .gatecheck_cache as a link to any
            # directory: gatecheck would read from and write into it.
            self.warning = f"{CACHE_DIR} is a symbolic link; no cache"
            self.enabled = False
            return
        try:
            data = signed.load(self.file)
            if not isinstance(data, dict):
                raise signed.Unreadable("not a cache mapping")
            self.entries = data
        except FileNotFoundError:
            pass
        except (OSError, signed.Unreadable) as exc:  # corrupt or foreign: start over
            self.warning = (f"ignoring unreadable cache {self.file.name} "
                            f"({exc}); it will be rebuilt")
            self.entries = {}

    def get(self, rel: str, stat: os.stat_result | None) -> FileResult | None:
        if not self.enabled or stat is None:
            return None
        entry = self.entries.get(rel)
        if entry is None or entry[0] != stat.st_mtime_ns or entry[1] != stat.st_size \
                or not isinstance(entry[2], FileResult):
            return None
        return entry[2]

    def put(self, rel: str, stat: os.stat_result | None, result: FileResult) -> None:
        if self.enabled and stat is not None and result.error is None:
            self.entries[rel] = (stat.st_mtime_ns, stat.st_size, result)
            self.dirty = True

    def save(self, keep: set[str]) -> None:
        """Write atomically (temp file + rename): concurrent runs never see half a file."""
        stale = set(self.entries) - keep
        if not self.enabled or not (self.dirty or stale):
            return
        for rel in stale:
            del self.entries[rel]
        directory = self.file.parent
        try:
            directory.mkdir(exist_ok=True)
            if directory.is_symlink():  # appeared during the run
                return
            _create_once(directory / ".gitignore", b"# created by gatecheck\n*\n")
            signed.dump(self.file, self.entries)
        except signed.KeyUnavailable as exc:
            self.warning = f"no cache: {exc}"
        except OSError as exc:
            # A read-only checkout still gets its findings, just no cache.
            self.warning = f"cannot write cache in {directory}: {exc.strerror or exc}"


def _create_once(path: Path, data: bytes) -> None:
    """Write ``path`` if nothing is there; a link there (dangling or not) is left alone.

    ``O_CREAT | O_EXCL`` never follows a symbolic link, so a committed
    ``.gitignore -> ../../outside/file`` cannot make gatecheck create a file.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def analyse_all(root: Path, paths: list[str], settings: Settings, *, jobs: int | None,
                use_cache: bool) -> tuple[list[FileResult], str | None]:
    """(results in path order, a cache warning or None)."""
    cache = FileCache(root, settings, enabled=use_cache)
    results: dict[str, FileResult] = {}
    todo: list[tuple[str, os.stat_result | None]] = []
    base = str(root) + os.sep
    for rel in paths:
        try:
            stat: os.stat_result | None = os.stat(base + rel)
        except OSError:
            stat = None  # analyse_file reports the precise problem
        hit = cache.get(rel, stat)
        if hit is not None:
            results[rel] = hit
        else:
            todo.append((rel, stat))
    for result in _run(root, [rel for rel, _ in todo], settings, jobs):
        results[result.path] = result
    for rel, stat in todo:
        cache.put(rel, stat, results[rel])
    cache.save(set(paths))
    return [results[rel] for rel in paths], cache.warning


def _run(root: Path, rels: list[str], settings: Settings, jobs: int | None) -> list[FileResult]:
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(rels) // MIN_FILES_PER_JOB))
    if settings.keep_trees:
        workers = 1  # trees stay in this process: they are costly to pickle
    # Interleave files across chunks so every worker gets a fair mix of big
    # and small files, and keep chunks small enough to balance the load.
    n_chunks = min(len(rels), workers * 8 if workers > 1 else max(1, len(rels) // 50))
    chunks = [(str(root), rels[i::n_chunks], settings) for i in range(n_chunks)]
    progress = _Progress(len(rels))
    results: list[FileResult] = []
    try:
        if workers == 1:
            for chunk in chunks:
                results.extend(_analyse_chunk(chunk))
                progress.advance(len(chunk[1]))
            return results
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for done in pool.map(_analyse_chunk, chunks):
                results.extend(done)
                progress.advance(len(done))
        return results
    finally:
        progress.close()


class _Progress:
    """``parsed 812/2120 files`` on stderr, for runs past a second on a terminal only."""

    DELAY_S = 1.0

    def __init__(self, total: int) -> None:
        import sys
        import time

        self.total, self.done, self.shown = total, 0, False
        self.start = time.monotonic()
        self.stream = sys.stderr
        self.enabled = total > 0 and self.stream.isatty()

    def advance(self, n: int) -> None:
        import time

        self.done += n
        if self.enabled and time.monotonic() - self.start > self.DELAY_S:
            self.stream.write(f"\rgatecheck: parsed {self.done}/{self.total} files")
            self.stream.flush()
            self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
