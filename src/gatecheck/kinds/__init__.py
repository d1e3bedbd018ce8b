"""Rule kinds: one module per kind, registered in `gatecheck.kinds.registry`.

A kind module defines ``KIND`` (its name in YAML), ``NEEDS`` (what the engine
must prepare: source fragments, call sites, parse trees, the schema, a data
connection; an optional ``needs(options)`` refines it per rule), a frozen
``Options`` dataclass (its YAML options, validated by the config loader) and
``check(ctx, options, emit)``.  Its docstring is its documentation, printed
by ``gatecheck explain KIND``: What it does / Why it matters / Example / Fix /
Options.  A check never prints, opens files or opens connections.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Iterable, Protocol

if TYPE_CHECKING:
    from gatecheck.extract.python_calls import CallSite
    from gatecheck.introspect import Database
    from gatecheck.model import Schema
    from gatecheck.policy import Policy
    from gatecheck.positions import Span
    from gatecheck.facts import FragmentFacts
    from gatecheck.kinds._review import Review
    from gatecheck.verdicts import VerdictCache

SOURCES = "sources"  # SQL fragments of the source files
CALLS = "calls"  # Python call sites, resolved through imports
TREES = "trees"  # sqlglot trees of the fragments (not cached; parsed in-process)
#: Column references resolved to their candidate sources (`gatecheck.columnfacts`);
#: cached, and made in worker processes like every source fact.
COLUMNS = "columns"
FRAGMENTS = "fragments"  # each fact keeps its source fragment (no trees)
SCHEMA = "schema"
DATA = "data"
REVIEW = "review"  # migrations replayed in scratch databases, files at git refs


class Emit(Protocol):
    """Report one problem.

    A source finding gives the file's ``path`` and a ``span`` in that file's
    text (fact spans already are; a span inside a tree goes through
    `FragmentFacts.file_span`); a schema finding gives neither and names the
    schema object in ``obj``.  ``extra`` adds JSON fields (``count``...).
    """

    def __call__(self, message: str, *, obj: str | None = None, path: str | None = None,
                 span: "Span | None" = None, extra: dict[str, Any] | None = None) -> None: ...


class Context(Protocol):
    """What a check may look at."""

    dialect: str
    #: How messages name the database checked: "the database", or "database
    #: analytics" when the rules file has several (``databases:``).
    database_label: str
    #: What the command line allows (``policy.show_data``: database values
    #: may appear in messages; see `gatecheck.kinds._data.shown`).
    policy: "Policy"

    @property
    def schema(self) -> "Schema": ...

    @property
    def sources(self) -> "list[FragmentFacts]": ...

    @property
    def calls(self) -> "list[tuple[str, CallSite]]":
        """(path, call site) of every Python call, for kinds that need CALLS."""
        ...

    def count(self, what: str, n: int = 1) -> None:
        """Tally something not reported as a finding (``--verbose`` prints it)."""
        ...

    def not_checked(self, path: str, span: "Span", name: str, why: str) -> None:
        """A reference the rule could not decide, at ``span`` of ``path``: no finding,
        but listed (``--verbose``, JSON ``not_checked``) and counted in the summary."""
        ...

    @property
    def data(self) -> "Database":
        """The read-only database handle, for kinds that need DATA."""
        ...

    @property
    def verdicts(self) -> "VerdictCache | None":
        """Engine verdicts kept between runs (`gatecheck.verdicts`); None: no cache."""
        ...

    @property
    def review(self) -> "Review":
        """Files (work tree or a git ref) and scratch databases, for kinds that need REVIEW."""
        ...


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern.casefold()))


def glob_match(name: str, patterns: Iterable[str]) -> str | None:
    """The first glob of ``patterns`` that ``name`` matches, case-insensitively."""
    folded = name.casefold()
    for pattern in patterns:
        if _glob(pattern).match(folded):
            return pattern
    return None


def relation_match(name: str, patterns: Iterable[str]) -> str | None:
    """`glob_match` for table and view names, which may be schema-qualified.

    A PostgreSQL schema read from several schemas names tables ``app.tasks``;
    a pattern without a dot (``*_legacy``) matches the name without its
    schema, one with a dot (``app.*``) the qualified name.
    """
    patterns = tuple(patterns)
    hit = glob_match(name, patterns)
    if hit is None and "." in name:
        hit = glob_match(name.rsplit(".", 1)[1], (p for p in patterns if "." not in p))
    return hit


_HEADING = re.compile(r"^\*\*(.+)\*\*$")


def doc_sections(doc: str) -> tuple[str, dict[str, str]]:
    """(first line, {heading: body}) of a kind's docstring (``**What it does**`` ...)."""
    lines = doc.strip().splitlines()
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines[1:]:
        heading = _HEADING.match(line.strip())
        if heading:
            current = sections.setdefault(heading.group(1), [])
        elif current is not None:
            current.append(line)
    return (lines[0].strip() if lines else ""), \
        {k: "\n".join(v).strip() for k, v in sections.items()}


def split_name(name: str) -> tuple[str, str]:
    """(schema, name) of ``app.tasks``; ("", name) when unqualified."""
    schema, _, bare = name.rpartition(".")
    return schema, bare
