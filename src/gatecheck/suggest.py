""""Did you mean ...?": the closest known names to a misspelt one.

Used for names missing from the schema (a finding's ``suggestion``) and for
names in the rules file or on the command line (the error message).  The
measure is `difflib`'s ratio on case-folded names, as in CPython's own
"Did you mean" hints: a suggestion only when one name is clearly close.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from gatecheck.kinds import glob_match

if TYPE_CHECKING:
    from gatecheck.model import Schema

#: Names of archived tables (the conventions `gatecheck init` proposes rules for).
ARCHIVED = ("*_legacy", "*_archive")
#: How alike two names must be (difflib's ratio) to be offered.
CUTOFF = 0.6


def closest(name: str, candidates: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The candidate most like ``name`` (case-insensitive), or None.

    ``name`` itself (in any case) is never its own suggestion; ties go to
    the first candidate in sorted order, so the answer is deterministic.
    """
    folded: dict[str, str] = {}
    for candidate in sorted(set(candidates)):
        if candidate.casefold() != name.casefold():
            folded.setdefault(candidate.casefold(), candidate)
    import difflib  # only when a name is missing: not at start-up

    match = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=cutoff)
    return folded[match[0]] if match else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"did you mean 'x'? "``, to put before a config error's list of what is
    valid (``unknown kind 'a'; did you mean 'b'? valid kinds: ...``), or ``""``."""
    match = closest(name, candidates)
    return f"did you mean {match!r}? " if match is not None else ""


def for_reference(schema: "Schema", what: str, obj: str,
                  owners: Iterable[str] = ()) -> dict[str, Any]:
    """``{"suggestion": NAME}`` for a missing table or column, else ``{}``.

    ``what`` is ``"table"`` (``obj`` is its name) or ``"column"`` (``obj`` is
    ``table.column``; ``owners`` the tables it was looked for in).  Tables
    are compared with every table and view, columns with the columns of the
    owners (a view's, when known).
    """
    if what == "table":
        # Names carry their schema only when several were read (``app.tasks``).
        name = obj if schema.qualified else obj.rsplit(".", 1)[-1]
        relations = schema.relation_names()
        # An archive (``task_sessions_legacy``) is what code must not use: the
        # live table is the better advice, the archive only when nothing else fits.
        live = [r for r in relations if not glob_match(r, ARCHIVED)]
        match = closest(name, live) or closest(name, relations)
    else:
        column = obj.rsplit(".", 1)[-1]
        names: list[str] = []
        for owner in owners or (obj.rsplit(".", 1)[0],):
            table = schema.table(owner)
            if table is not None:
                names.extend(c.name for c in table.columns)
                continue
            view = schema.view(owner)
            if view is not None:
                names.extend(view.columns)
        match = closest(column, names)
    return {"suggestion": match} if match is not None else {}
