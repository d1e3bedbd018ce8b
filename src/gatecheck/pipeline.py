"""Turn source files into `FileResult`s: cached, and in parallel when it pays.

Per file, the work is read → decode → extract fragments → parse each once
with sqlglot → keep the facts (`gatecheck.facts`).  Facts do not depend on
the rules, only on the file's content, the dialect and what is extracted,
so they are cached per file in ``.gatecheck_cache/`` (`gatecheck.filecache`:
one SQLite database per settings key, one signed row per file, keyed by path
and checked by mtime, size and, when only those changed, the digest of the
file's bytes).  A run reads the rows of the files it checks, no others.
Rules are applied fresh on every run, so changing a rule can never serve a
stale finding.

Files missing from the cache are processed in worker processes
(``--jobs``, default: the number of CPUs) when there are enough of them to
pay for starting the workers; otherwise in this process.  A warm run reads
its rows and never imports sqlglot.  Column facts (``references-exist``
with ``columns: true``) and fragments (``server_check``) are facts like the
others: cached and made by the workers.  Only parse trees (`Settings.keep_trees`)
stay in this process, uncached.

Cache rows are signed (`gatecheck.signed`): a cache committed to the
repository by someone else is ignored, never unpickled.
"""

from __future__ import annotations

import gc
import hashlib
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from gatecheck import __version__
from gatecheck.errors import SourceError
from gatecheck.positions import LineIndex

if TYPE_CHECKING:
    from gatecheck.extract.python_calls import CallSite
    from gatecheck.extract import Fragment
    from gatecheck.facts import FragmentFacts
    from gatecheck.filecache import FragmentMemo
    from gatecheck.routing import DatabaseMark
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
    #: Column facts for ``references-exist`` (`gatecheck.columnfacts`).
    columns: bool = False
    #: Keep each fact's source fragment (no trees), for ``server_check``.
    fragments: bool = False

    def flags(self) -> int:
        """The optional facts a cache row must hold (`gatecheck.filecache`)."""
        from gatecheck.filecache import FLAG_COLUMNS, FLAG_FRAGMENTS

        return (FLAG_COLUMNS if self.columns else 0) | (FLAG_FRAGMENTS if self.fragments else 0)

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
    #: ``gatecheck: database=NAME`` comments (`gatecheck.routing`).
    databases: list["DatabaseMark"] = field(default_factory=list)
    error: SourceError | None = None
    #: ``path:line:col: message`` notes for stderr (a Python syntax problem
    #: read around by the tolerant parser), cached with the facts.
    warnings: list[str] = field(default_factory=list)
    #: Line starts and length of the file's text (files with facts or calls),
    #: so that a warm run maps spans to lines without reading the file.
    lines: "LineIndex | None" = None
    #: The digest of the file's bytes (`gatecheck.filecache.digest`).
    digest: bytes = b""


def analyse_file(root: str, rel: str, settings: Settings,
                 memo: "FragmentMemo | _LocalMemo | None" = None) -> FileResult:
    """All of one file's facts (runs in a worker process, or in this one).

    ``memo``: facts of SQL texts analysed before (`gatecheck.filecache.FragmentMemo`),
    by text: a file edited around its SQL is read again, its SQL is not parsed
    again (nor sqlglot imported).
    """
    from gatecheck import sources, suppress

    from gatecheck.filecache import digest

    try:
        data = sources.read_source(Path(root), rel)
        source = sources.load(Path(root), rel, sql=settings.sql,
                              call_names=settings.call_names, data=data)
    except SourceError as exc:
        return FileResult(rel, error=exc)
    result = FileResult(rel, calls=source.calls, warnings=source.warnings, digest=digest(data))
    if source.fragments and memo is not None and not (settings.keep_trees or settings.fragments):
        from gatecheck.facts import located

        for fragment in source.fragments:
            key = memo_key(fragment, settings)
            kept = memo.get(key)
            if kept is None:
                from gatecheck.sqlfacts import analyse_in_place

                kept = analyse_in_place(fragment, settings.dialect, columns=settings.columns)
                memo.put(key, kept)
            if kept.is_sql:
                result.facts.append(located(kept, fragment))
    elif source.fragments:
        from gatecheck.sqlfacts import analyse

        # Candidates that turned out not to be SQL (prose starting with
        # "Select ...") concern no rule: drop them before they are cached.
        result.facts = [facts for facts in
                        (analyse(f, settings.dialect, keep_trees=settings.keep_trees,
                                 columns=settings.columns, keep_fragment=settings.fragments)
                         for f in source.fragments) if facts.is_sql]
    if result.facts or result.calls:
        from gatecheck.routing import database_marks

        result.marks = suppress.suppressions(rel, source.text)
        result.databases = database_marks(source.text)
        result.lines = LineIndex(source.text)
    return result


def memo_key(fragment: "Fragment", settings: Settings) -> bytes:
    """What the facts of a fragment's SQL depend on (its place in the file aside)."""
    from gatecheck.facts import FORMAT

    h = hashlib.blake2b(repr((__version__, FORMAT, settings.dialect, settings.columns,
                              fragment.sink, fragment.piece, fragment.prefix,
                              tuple(fragment.placeholders))).encode(), digest_size=20)
    h.update(fragment.sql.encode("utf-8", "surrogatepass"))
    return h.digest()


class _LocalMemo:
    """The statement memo of a worker process: the same SQL text in several files
    (a query copied around, a migration's boilerplate) is parsed once per process."""

    LIMIT = 20_000

    def __init__(self) -> None:
        self.facts: dict[bytes, "FragmentFacts"] = {}

    def get(self, key: bytes) -> "FragmentFacts | None":
        return self.facts.get(key)

    def put(self, key: bytes, facts: "FragmentFacts") -> None:
        if len(self.facts) >= self.LIMIT:
            self.facts.clear()
        self.facts[key] = facts


_LOCAL_MEMO = _LocalMemo()


def _analyse_chunk(args: tuple[str, list[str], Settings],
                   memo: "FragmentMemo | _LocalMemo | None" = None) -> list[FileResult]:
    root, rels, settings = args
    with _fewer_collections():
        return [analyse_file(root, rel, settings, memo or _LOCAL_MEMO) for rel in rels]


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


def shard_of(rel: str, count: int) -> int:
    """The shard (1..count) a file belongs to: a stable hash of its path."""
    import zlib

    return zlib.crc32(rel.encode("utf-8", "surrogatepass")) % count + 1


def analyse_all(root: Path, paths: list[str], settings: Settings, *, jobs: int | None,
                use_cache: bool, full: bool = False) -> tuple[list[FileResult], list[str]]:
    """(results in path order, notes for stderr: a cache warning, ignored --jobs).

    ``full``: ``paths`` are all the files the rules file checks, so the rows
    of other files are dropped from the cache.
    """
    from gatecheck.filecache import FileCache

    notes: list[str] = []
    cache = FileCache(root / CACHE_DIR, settings.key(), flags=settings.flags(),
                      enabled=use_cache and not settings.keep_trees)
    cache.lookup(paths)
    results: dict[str, FileResult] = {}
    todo: list[tuple[str, os.stat_result | None]] = []
    base = str(root) + os.sep
    for rel in paths:
        try:
            stat: os.stat_result | None = os.stat(base + rel)
        except OSError:
            stat = None  # analyse_file reports the precise problem
        hit = cache.get(rel, stat, partial(_read, root, rel))
        if hit is not None:
            results[rel] = hit
        else:
            todo.append((rel, stat))
    done, note = _run(root, [rel for rel, _ in todo], settings, jobs, cache.memo())
    if note:
        notes.append(note)
    for result in done:
        results[result.path] = result
    for rel, stat in todo:
        result = results[rel]
        cache.put(rel, stat, result.digest, result)
    cache.save(paths if full else None)
    if cache.warning:
        notes.insert(0, cache.warning)
    return [results[rel] for rel in paths], notes


def _read(root: Path, rel: str) -> bytes:
    from gatecheck.sources import read_source

    return read_source(root, rel)


def _run(root: Path, rels: list[str], settings: Settings, jobs: int | None,
         memo: "FragmentMemo | None" = None) -> tuple[list[FileResult], str | None]:
    """The results of ``rels`` (in no particular order), and a note when ``--jobs``
    could not be honoured.  ``memo``: used where files are analysed in this process."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    workers = max(1, min(workers, len(rels) // MIN_FILES_PER_JOB))
    note = None
    if settings.keep_trees and workers > 1:
        # Parse trees cost more to pickle than to make: they stay in this process.
        if jobs is not None:
            note = (f"--jobs {jobs} not used: a rule needs parse trees, which are made "
                    "in this process")
        workers = 1
    # Interleave files across chunks so every worker gets a fair mix of big
    # and small files, and keep chunks small enough to balance the load.
    if workers > 1:
        # Many small chunks, the biggest files first: a worker that finishes early takes
        # the next chunk, and the run does not wait on one worker's last big files.
        sizes = {rel: _size(root, rel) for rel in rels}
        rels = sorted(rels, key=lambda rel: -sizes[rel])
        n_chunks = min(len(rels), max(workers * 8, len(rels) // 16))
        step = -(-len(rels) // n_chunks)
        chunks = [(str(root), rels[i:i + step], settings) for i in range(0, len(rels), step)]
    else:
        n_chunks = min(len(rels), max(1, len(rels) // 50))
        chunks = [(str(root), rels[i::n_chunks], settings) for i in range(n_chunks)]
    progress = _Progress(len(rels))
    results: list[FileResult] = []
    try:
        if workers == 1:
            for chunk in chunks:
                results.extend(_analyse_chunk(chunk, memo))
                progress.advance(len(chunk[1]))
            return results, note
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            for done in pool.map(_analyse_chunk, chunks):
                results.extend(done)
                progress.advance(len(done))
        return results, note
    finally:
        progress.close()


def _size(root: Path, rel: str) -> int:
    try:
        return os.stat(root / rel).st_size
    except OSError:
        return 0


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
