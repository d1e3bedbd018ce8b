"""What the migration-review kinds see of the repository and its scratch databases.

``ctx.review`` (kinds that need `gatecheck.kinds.REVIEW`) is one of these;
the engine's implementation is `gatecheck.review.Review`.  A kind never
opens a file or a connection: it asks for files by glob or path and gets
back the paths findings show, and it feeds those paths to scratch
databases that the engine opens, sandboxes and drops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, NamedTuple, Protocol, Sequence

if TYPE_CHECKING:
    from gatecheck.facts import FragmentFacts
    from gatecheck.introspect.scratch import MigrationStatement, ReplayFailure
    from gatecheck.model import Schema
    from gatecheck.positions import Span


class MigrationFile(NamedTuple):
    """A migration found by a glob."""

    #: As findings show it (relative to the checked root).
    path: str
    #: Relative to the rules file's directory, as globs and templates are written.
    rel: str


class Tree(Protocol):
    """The repository's files in the work tree, or as of a git commit."""

    @property
    def ref(self) -> str | None: ...

    @property
    def label(self) -> str:
        """``the work tree``, or ``main (1a2b3c4)``."""
        ...

    def migrations(self, pattern: str) -> Sequence[MigrationFile]:
        """The files the glob (relative to the rules file's directory) matches, in
        natural order."""
        ...

    def find(self, rel: str) -> str | None:
        """The file at ``rel`` (relative to the rules file's directory), as findings
        show it; None when there is none."""
        ...

    def sources(self, mentioning: Iterable[str] = ()) -> "list[FragmentFacts]":
        """SQL facts (with parse trees) of the source files; with ``mentioning``, only
        of the files that mention one of those names."""
        ...

    def position(self, path: str, span: "Span") -> tuple[int, int]:
        """1-based line and column in a source file `sources` read."""
        ...

    def display(self, path: str) -> str:
        """A path relative to the checked root as reports show it (from the top of the
        git work tree)."""
        ...


class Scratch(Protocol):
    """A scratch database: replayed step by step, read, copied, dropped."""

    dialect: str

    def statements(self, tree: Tree, path: str
                   ) -> "list[MigrationStatement] | ReplayFailure": ...

    def run(self, statement: "MigrationStatement") -> "ReplayFailure | None": ...

    def apply(self, tree: Tree, paths: Sequence[str]) -> "ReplayFailure | None": ...

    def schema(self) -> "Schema": ...

    def fork(self) -> "Scratch": ...

    def close(self) -> None: ...


class Review(Protocol):
    #: ``--changed-since`` (None when not given).
    base: str | None

    def tree(self, ref: str | None = None) -> Tree: ...

    def scratch(self) -> Scratch: ...
