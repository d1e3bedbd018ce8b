"""Migration review for the engine and ``gatecheck diff``: trees, scratch databases, sides.

The kinds ``rollback-restores`` and ``breaking-changes`` never open a file
or a connection (STYLE.md): the engine hands them a `Review` (their
``ctx.review``), which

- lists and locates the repository's files, in the work tree or as of a git
  commit (`Tree`): migrations by glob, a rollback script by path, and the
  SQL facts of the sources, analysed by the same pipeline as the work
  tree's (`gatecheck.pipeline.analyse_file`);
- makes scratch databases (`BoundScratch`, over
  `gatecheck.introspect.scratch`) where the rule's database replays
  migrations: on its ``replay_url`` server, else in memory (SQLite).

Every guarantee of a migrations replay holds (docs/security.md): the
globs, the files they match and a rollback script must resolve inside the
repository root (unless ``--allow-outside-includes``); files are read
through ``read_migration``; the scratch databases are sandboxed and
dropped; all the replays of one rule share one ``--replay-timeout``.  Files
at a commit come from git (`gatecheck.gitref`), never from a checkout.

`load_side` turns one argument of ``gatecheck diff`` into a schema.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

from gatecheck.config import DatabaseSpec, GateConfig, RuleSpec, repository_root
from gatecheck.errors import DatabaseError, GatecheckError
from gatecheck.introspect.scratch import (Deadline, MigrationStatement, ReplayFailure, Scratch,
                                          open_scratch)
from gatecheck.kinds._review import MigrationFile
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy

if TYPE_CHECKING:
    from gatecheck.facts import FragmentFacts
    from gatecheck.gitref import Snapshot
    from gatecheck.model import Schema
    from gatecheck.positions import LineIndex, Span


def _posix(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


class Tree:
    """The repository's files in the work tree (``ref`` None) or as of a commit."""

    def __init__(self, *, root: Path, rules_dir: Path, confine: Path | None,
                 include: Sequence[str], exclude: Sequence[str], rule: RuleSpec | None,
                 dialect: str, what: str = "", snapshot: "Snapshot | None" = None) -> None:
        #: Where the files are (the work tree, or the copy of the commit's files).
        self.root = root
        self.rules_dir = rules_dir
        self.confine = confine
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.rule = rule
        self.dialect = dialect
        self.snapshot = snapshot
        #: Who reads the files, for errors: ``rule rollback-check``.
        self.what = what
        self._vetted: dict[str, Path] = {}
        self._lines: dict[str, "LineIndex"] = {}

    @property
    def ref(self) -> str | None:
        return self.snapshot.ref if self.snapshot is not None else None

    @property
    def label(self) -> str:
        """``the work tree``, or ``main (1a2b3c4)``."""
        return self.snapshot.label if self.snapshot is not None else "the work tree"

    # -- files

    def _shown(self, path: Path) -> str:
        return _posix(path, self.root)

    def _fetch(self, pattern: str) -> None:
        """Copy what ``pattern`` (relative to the rules directory) may match out of the commit."""
        if self.snapshot is None:
            return
        from gatecheck.gitref import literal_prefix

        where = posixpath.normpath(posixpath.join(_posix(self.rules_dir, self.snapshot.dir),
                                                  pattern.replace(os.sep, "/")))
        if where.startswith("../") or where == ".." or posixpath.isabs(where):
            return  # outside the repository: `expand` says so
        prefix = literal_prefix(where)
        prefix = "" if prefix == "." else prefix
        self.snapshot.copy(self.snapshot.under(prefix))

    def migrations(self, pattern: str) -> list[MigrationFile]:
        """The files ``pattern`` matches (relative to the rules file's directory), in
        natural order, confined to the repository root."""
        from gatecheck.introspect.migrations import expand

        self._fetch(pattern)
        try:
            files = expand(pattern, self.rules_dir, root=self.confine)
        except DatabaseError as exc:
            raise self._rekey(exc) from None
        out = []
        for path in files:
            shown = self._shown(path)
            self._vetted[shown] = path
            out.append(MigrationFile(shown, _posix(path, self.rules_dir)))
        return out

    def find(self, rel: str) -> str | None:
        """The file at ``rel`` (relative to the rules file's directory) as findings show
        it, or None when there is none; a path that leaves the repository is an error."""
        from gatecheck.introspect.migrations import expand
        import glob

        self._fetch(rel)
        # As a glob that matches only itself: confined and checked like migrations.
        try:
            found = expand(glob.escape(rel), self.rules_dir, root=self.confine, key="rollback")
        except DatabaseError as exc:
            raise self._rekey(exc) from None
        if not found:
            return None
        shown = self._shown(found[0])
        self._vetted[shown] = found[0]
        return shown

    def _rekey(self, exc: DatabaseError) -> DatabaseError:
        """``expand`` speaks of ``database › migrations``; here it is a rule's option."""
        if self.what and exc.message.startswith("database › "):
            exc.message = f"{self.what} › " + exc.message[len("database › "):]
        return exc

    def real(self, shown: str) -> Path:
        """The file behind a path `migrations` or `find` gave."""
        try:
            return self._vetted[shown]
        except KeyError:
            raise DatabaseError(f"{shown}: not a migration found by the rule") from None

    # -- sources

    def sources(self, mentioning: Iterable[str] = ()) -> list["FragmentFacts"]:
        """The SQL facts of the source files (the rules file's ``sources``, the rule's
        ``paths``/``exclude``), parse trees kept.  With ``mentioning``, only files whose
        text holds one of those names (case-insensitively) are analysed."""
        from gatecheck.paths import DEFAULT_EXCLUDE_DIRS, PathMatcher, discover
        from gatecheck.pipeline import Settings, analyse_file

        include, exclude = PathMatcher(self.include), PathMatcher(self.exclude)
        paths = PathMatcher(self.rule.paths if self.rule is not None else ())
        rule_exclude = PathMatcher(self.rule.exclude if self.rule is not None else ())

        def wanted(rel: str) -> bool:
            return include.matches(rel) and not exclude.matches(rel) and \
                (not paths or paths.matches(rel)) and not rule_exclude.matches(rel) and \
                not any(part in DEFAULT_EXCLUDE_DIRS for part in rel.split("/")[:-1])

        names = [n.casefold() for n in mentioning]
        if self.snapshot is None:
            rels = [r for r in discover(self.root, include, exclude) if wanted(r)]
            if names:
                rels = [r for r in rels if _mentions(_read(self.root / r), names)]
        else:
            prefix = _posix(self.root, self.snapshot.dir)
            prefix = "" if prefix == "." else prefix
            candidates = {}
            for top_path in self.snapshot.under(prefix):
                rel = top_path[len(prefix) + 1:] if prefix else top_path
                if wanted(rel):
                    candidates[top_path] = rel
            if names:
                blobs = self.snapshot.read(candidates)
                candidates = {p: r for p, r in candidates.items()
                              if _mentions(blobs.get(p, b""), names)}
            self.snapshot.copy(candidates)
            rels = sorted(candidates.values())
        settings = Settings(self.dialect, sql=True, call_names=frozenset(), keep_trees=True)
        facts: list[FragmentFacts] = []
        for rel in rels:
            result = analyse_file(str(self.root), rel, settings)
            if result.lines is not None:
                self._lines[rel] = result.lines
            facts.extend(result.facts)
        return facts

    def position(self, path: str, span: "Span") -> tuple[int, int]:
        """1-based line and column of ``span`` in source file ``path`` (from `sources`)."""
        index = self._lines.get(path)
        return index.line_col(span.start) if index is not None else (1, 1)

    def display(self, path: str) -> str:
        """``path`` (relative to the checked root) as reports show paths: from the top
        of the git work tree."""
        top = self.snapshot.dir if self.snapshot is not None else repository_root(self.root)
        return _posix(self.root / path, top)


def _read(path: Path) -> bytes:
    from gatecheck.safefile import Refused, read_regular
    from gatecheck.sources import MAX_FILE_BYTES

    try:
        return read_regular(path, limit=MAX_FILE_BYTES)
    except (Refused, OSError):
        return b""


def _mentions(data: bytes, names: list[str]) -> bool:
    text = data.decode("utf-8", "replace").casefold()
    return any(name in text for name in names)


class BoundScratch:
    """A scratch database, fed with the files of a `Tree`."""

    def __init__(self, scratch: Scratch, review: "Review") -> None:
        self._scratch = scratch
        self._review = review
        self.dialect = scratch.dialect

    def statements(self, tree: Tree, path: str) -> list[MigrationStatement] | ReplayFailure:
        return self._scratch.statements(tree.real(path), path)

    def run(self, statement: MigrationStatement) -> ReplayFailure | None:
        return self._scratch.run(statement)

    def apply(self, tree: Tree, paths: Sequence[str]) -> ReplayFailure | None:
        return self._scratch.apply([(tree.real(p), p) for p in paths])

    def schema(self) -> "Schema":
        return self._scratch.schema()

    def fork(self) -> "BoundScratch":
        return self._review._keep(self._scratch.fork())

    def close(self) -> None:
        if self in self._review._open:
            self._review._open.remove(self)
            self._scratch.close()


@dataclass
class Review:
    """What the migration-review kinds of one rule may use (their ``ctx.review``)."""

    config: GateConfig
    #: The checked root (findings' paths are relative to it).
    root: Path
    policy: Policy
    rule: RuleSpec | None = None
    #: ``--changed-since``: the default ``base`` of ``breaking-changes``.
    base: str | None = None
    #: Who reads the files, for errors, when no rule does (a side of ``gatecheck diff``).
    label: str = "git"

    def __post_init__(self) -> None:
        self._trees: dict[str | None, Tree] = {}
        self._open: list[BoundScratch] = []
        self._snapshots: list[Snapshot] = []
        self._deadline: Deadline | None = None

    @property
    def rules_dir(self) -> Path:
        return self.config.path.parent.resolve()

    def tree(self, ref: str | None = None) -> Tree:
        """The work tree (None), or the repository as of ``ref``."""
        tree = self._trees.get(ref)
        if tree is not None:
            return tree
        root = self.root.resolve()
        confine = None if self.policy.allow_outside_includes else \
            repository_root(self.rules_dir).resolve()
        what = f"rule {self.rule.id}" if self.rule is not None else self.label
        if ref is None:
            tree = Tree(root=root, rules_dir=self.rules_dir, confine=confine,
                        include=self.config.include, exclude=self.config.exclude,
                        rule=self.rule, dialect=self.config.dialect, what=what)
        else:
            from gatecheck.gitref import Snapshot

            snapshot = Snapshot(self.rules_dir, ref, what=what)
            self._snapshots.append(snapshot)
            inside = []
            for path in (root, self.rules_dir):
                try:
                    inside.append(path.relative_to(snapshot.top))
                except ValueError:
                    raise GatecheckError(f"{what}: {path} is outside the git work tree "
                                         f"{snapshot.top}") from None
            tree = Tree(root=snapshot.dir / inside[0], rules_dir=snapshot.dir / inside[1],
                        confine=snapshot.dir, include=self.config.include,
                        exclude=self.config.exclude, rule=self.rule,
                        dialect=self.config.dialect, what=what, snapshot=snapshot)
        self._trees[ref] = tree
        return tree

    def _target(self) -> DatabaseSpec | None:
        """The database whose ``replay_url`` (and ``schemas``) scratch databases follow."""
        named = [d for d in self.config.named_databases() if d.spec is not None]
        if self.rule is not None and self.rule.databases:
            named = [d for d in named if d.name in self.rule.databases]
        return named[0].spec if named else None

    def scratch(self) -> BoundScratch:
        """An empty scratch database (dropped at the end of the rule at the latest)."""
        if self._deadline is None:
            self._deadline = Deadline(self.policy.replay_timeout_s)
        target = self._target()
        replay_url = target.replay_url if target is not None else None
        schemas = target.schemas if target is not None and replay_url is not None else ()
        return self._keep(open_scratch(self._deadline, replay_url=replay_url, schemas=schemas,
                                       policy=self.policy))

    def _keep(self, scratch: Scratch) -> BoundScratch:
        bound = BoundScratch(scratch, self)
        self._open.append(bound)
        return bound

    def close(self) -> None:
        errors = []
        for bound in list(self._open):
            try:
                bound.close()
            except DatabaseError as exc:
                errors.append(exc)
        for snapshot in self._snapshots:
            snapshot.close()
        self._snapshots.clear()
        if errors:
            raise errors[0]


# ---------------------------------------------------------------- gatecheck diff


MIGRATIONS_SCHEME = "migrations:"


class Side(NamedTuple):
    """One argument of ``gatecheck diff``, read."""

    label: str
    schema: "Schema"


def parse_upto(text: str) -> tuple[str, str | None]:
    """``GLOB@STOP`` -> (GLOB, STOP); without ``@``, (text, None)."""
    glob, at, stop = text.rpartition("@")
    if not at:
        return text, None
    if not stop:
        raise GatecheckError(f"{text}: nothing after '@' (name the last migration to "
                             "replay, e.g. @schema_v34)")
    return glob, stop


def _upto(files: list[Path], stop: str | None, label: str) -> list[Path]:
    """``files`` up to and with the one ``stop`` names (its name, its stem, or the start
    of its stem up to a character that is not a letter or digit)."""
    if stop is None:
        return files
    folded = stop.casefold()

    def names(path: Path) -> bool:
        name, stem = path.name.casefold(), path.stem.casefold()
        if folded in (name, stem):
            return True
        return stem.startswith(folded) and not stem[len(folded)].isalnum()

    hits = [i for i, p in enumerate(files) if names(p)]
    if not hits:
        raise GatecheckError(f"{label}: no migration is named {stop!r} (give its file name, "
                             "its stem, or the start of its stem, e.g. schema_v34)")
    if len(hits) > 1:
        raise GatecheckError(f"{label}: {stop!r} names {len(hits)} migrations: "
                             f"{', '.join(files[i].name for i in hits)}")
    return files[:hits[0] + 1]


def load_side(text: str, *, cwd: Path, policy: Policy = DEFAULT_POLICY,
              replay_url: str | None = None, schemas: Sequence[str] = ()) -> Side:
    """The schema one ``gatecheck diff`` argument names.

    ``sqlite:///path`` and ``postgresql://...`` are read read-only, as
    ``--db``; ``migrations:GLOB[@STOP]`` replays the files (up to the one
    ``STOP`` names) into a scratch database; ``REF:GLOB[@STOP]`` does the same
    with the files as of git ref ``REF``.  Globs are relative to ``cwd``.
    """
    from gatecheck.introspect import load_schema, postgres, redact

    if text.startswith("sqlite:") or postgres.is_postgres_url(text):
        from gatecheck.config import expand_env

        try:
            url = expand_env(text)
        except KeyError as exc:
            raise GatecheckError(f"{text}: environment variable {exc.args[0]} is not set") \
                from None
        spec = DatabaseSpec(url=url, base_dir=cwd,
                            schemas=tuple(schemas) if postgres.is_postgres_url(url) else ())
        return Side(redact(text), load_schema(spec, policy))
    if text.startswith(MIGRATIONS_SCHEME):
        ref, rest = None, text[len(MIGRATIONS_SCHEME):]
    else:
        ref, colon, rest = text.partition(":")
        if not colon or not ref or not rest:
            raise GatecheckError(
                f"{text}: not a schema; give sqlite:///PATH, postgresql://..., "
                "migrations:GLOB[@LAST] or REF:GLOB[@LAST] (docs/diff.md)")
    pattern, stop = parse_upto(rest)
    return Side(text, _replayed(pattern, stop, ref, text, cwd=cwd, policy=policy,
                                replay_url=replay_url, schemas=schemas))


def _replayed(pattern: str, stop: str | None, ref: str | None, label: str, *, cwd: Path,
              policy: Policy, replay_url: str | None, schemas: Sequence[str]) -> "Schema":
    config = GateConfig(path=cwd.resolve() / "rules.yaml",
                        database=DatabaseSpec(migrations=pattern, replay_url=replay_url,
                                              schemas=tuple(schemas) if replay_url else (),
                                              base_dir=cwd))
    review = Review(config, cwd.resolve(), policy, label=label)
    try:
        tree = review.tree(ref)
        files = tree.migrations(pattern)
        if not files:
            where = f" at {tree.label}" if ref is not None else ""
            raise GatecheckError(f"{label}: no migration files match {pattern!r}{where}")
        kept = _upto([tree.real(f.path) for f in files], stop, label)
        scratch = review.scratch()
        failure = scratch.apply(tree, [f.path for f in files[:len(kept)]])
        if failure is not None:
            where = f" (at {tree.label})" if ref is not None else ""
            raise DatabaseError(f"{label}: the migrations replay failed at {failure.path}:"
                                f"{failure.line}{where}: {failure.message}")
        return scratch.schema()
    finally:
        review.close()
