"""Each migration's rollback script must restore the schema from before the migration.

**What it does**
For every migration (``migrations``, in natural order) that has a rollback
script (found through the ``rollback`` template), replays the migrations
before it into a scratch database (schema A), then the migration and its
rollback (schema B), and compares A and B structurally (as ``gatecheck
diff`` does: tables, views, columns, indexes, foreign keys, triggers,
renames).  Every difference is a finding at the rollback script, naming
the object: a table or column the migration added that is still there, an
index it dropped that the rollback does not recreate, a column whose type
it changed, a table it renamed that keeps its new name.  A rollback that
fails to run is a finding at its failing statement.  A migration that
fails to replay is a finding at its statement; the rollbacks after it are
not checked.

The scratch databases are made where the rule's database (its
``database:``, else the rules file's first) replays migrations: on its
``replay_url`` PostgreSQL server, else in memory (SQLite).  They are
sandboxed like every replay (docs/security.md), dropped afterwards, and all
the replays of the rule share one ``--replay-timeout``.  The migrations and
the rollback scripts must lie inside the repository (unless
``--allow-outside-includes``).

**Why it matters**
A rollback plan is written once, under pressure, and run for the first
time in an incident.  The merge this tool comes from published one (rename
``task_sessions_legacy`` back, recreate its two indexes, delete the
migration record) that does not restore the schema: the two columns the
migration added to ``chat_sessions`` stay, and running the migration again
after that rollback fails ("duplicate column name: channel").

**Example**
```yaml
rules:
  - id: rollbacks-restore
    kind: rollback-restores
    migrations: "migrations/*.sql"
    rollback: "migrations/rollback/{stem}.down.sql"
```
fails on ``migrations/rollback/schema_v35_merge_task_sessions.down.sql``
when it renames the archive back and recreates its indexes but keeps the
columns: ``chat_sessions.channel was added by
schema_v35_merge_task_sessions.sql and is still there after its rollback``
(object ``chat_sessions.channel``).

**Fix**
Make the rollback undo all of the migration (here: ``ALTER TABLE
chat_sessions DROP COLUMN channel``), and check it again.  What a rollback
keeps on purpose can be suppressed with ``-- gatecheck: ignore[RULE-ID]``
on the rollback script's first line, where its findings are.

**Options**
- ``migrations``: glob of the migration files, relative to the rules file
  (required); they are applied in natural order (``v2`` before ``v10``).
- ``rollback``: where a migration's rollback script is, relative to the
  rules file (required): a template with ``{stem}`` (the migration's file
  name without its extension), ``{name}`` (its file name) and ``{dir}``
  (its directory, relative to the rules file).  A migration without a
  rollback script is replayed, not checked.
"""

from __future__ import annotations

import posixpath
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import yaml

from gatecheck.errors import GatecheckError
from gatecheck.kinds import REVIEW, Context, Emit
from gatecheck.options import OptionError, as_str

if TYPE_CHECKING:
    from gatecheck.diff import Change
    from gatecheck.kinds._review import MigrationFile, Scratch, Tree
    from gatecheck.introspect.scratch import ReplayFailure

KIND = "rollback-restores"
NEEDS = frozenset({REVIEW})
#: The placeholders of the ``rollback`` template.
PLACEHOLDERS = ("stem", "name", "dir")


def _parse_template(node: yaml.Node) -> str:
    text = as_str(node)
    try:
        fields = [(name, spec, conversion)
                  for _, name, spec, conversion in string.Formatter().parse(text)
                  if name is not None]
    except ValueError as exc:
        raise OptionError(f"invalid template: {exc} (write a brace as {{{{ or }}}})",
                          node) from None
    for name, spec, conversion in fields:
        if name not in PLACEHOLDERS or spec or conversion:
            raise OptionError(f"unknown placeholder {{{name}{'!' + conversion if conversion else ''}"
                              f"{':' + spec if spec else ''}}}; valid: "
                              f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}", node)
    if not any(name in ("stem", "name") for name, _, _ in fields):
        raise OptionError("the template must name the migration with {stem} or {name}, "
                          "e.g. 'rollback/{stem}.down.sql'", node)
    return text


@dataclass(frozen=True)
class Options:
    migrations: str
    rollback: str = field(metadata={"parse": _parse_template})


def rollback_path(template: str, migration: "MigrationFile") -> str:
    """The rollback script of ``migration`` (relative to the rules file's directory)."""
    directory, name = posixpath.split(migration.rel)
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return posixpath.normpath(template.format(stem=stem, name=name, dir=directory or "."))


def check(ctx: Context, options: Options, emit: Emit) -> None:
    review = ctx.review
    tree = review.tree()
    files = tree.migrations(options.migrations)
    if not files:
        raise GatecheckError(f"{KIND}: no migration files match {options.migrations!r}")
    rollbacks = {f.path: tree.find(rollback_path(options.rollback, f)) for f in files}
    if not any(rollbacks.values()):
        ctx.count("migrations without a rollback script", len(files))
        return
    scratch = review.scratch()
    try:
        for migration in files:
            rollback = rollbacks[migration.path]
            failure = None
            if rollback is None:
                ctx.count("migrations without a rollback script")
            else:
                failure = _check_rollback(ctx, scratch, tree, migration, rollback, emit)
                if failure is not None and failure.timed_out and failure.path == rollback:
                    return  # reported at the rollback; nothing more can be replayed
            if failure is None:
                failure = scratch.apply(tree, [migration.path])
            if failure is not None:
                emit(f"{failure.message}; the replay stopped here, so the rollbacks of this "
                     "migration and the later ones were not checked",
                     path=failure.path, span=failure.span)
                return
    finally:
        scratch.close()


def _check_rollback(ctx: Context, scratch: "Scratch", tree: "Tree", migration: "MigrationFile",
                    rollback: str, emit: Emit) -> "ReplayFailure | None":
    """Compare the schema before ``migration`` with the one after it and its rollback;
    a failure of the migration itself is returned (the caller reports it), and so is
    a rollback that ran out of time (reported here: the caller stops)."""
    from gatecheck.diff import diff
    from gatecheck.positions import Span

    name = posixpath.basename(migration.path)
    before = scratch.schema()
    trial = scratch.fork()
    try:
        failure = trial.apply(tree, [migration.path])
        if failure is not None:
            return failure
        migrated = trial.schema()
        failure = trial.apply(tree, [rollback])
        if failure is not None:
            emit(f"the rollback of {name} fails: {failure.message}", path=failure.path,
                 span=failure.span)
            return failure if failure.timed_out else None
        after = trial.schema()
    finally:
        trial.close()
    ctx.count("rollback scripts checked")
    by_migration = {(c.kind, c.old or c.object, c.action) for c in diff(before, migrated).changes}
    for change in diff(before, after).changes:
        emit(_message(change, name, by_migration), obj=change.object, path=rollback,
             span=Span(0, 0))
    return None


def _what(change: "Change", obj: str) -> str:
    """``chat_sessions.channel``, ``table tasks_tmp``, ``index idx_x``."""
    if change.kind == "column":
        return obj
    return f"{change.kind.replace('_', ' ')} {obj}"


def _message(change: "Change", migration: str, by_migration: set[tuple[str, str, str]]) -> str:
    key = (change.kind, change.old or change.object, change.action)
    done_by_it = key in by_migration
    what = _what(change, change.old or change.object)
    if change.action == "added":
        return (f"{what} was added by {migration} and is still there after its rollback"
                if done_by_it else
                f"{what} was not there before {migration} and is there after its rollback")
    if change.action == "removed":
        return (f"{what} was removed by {migration} and its rollback does not restore it"
                if done_by_it else
                f"{what} was there before {migration} and is missing after its rollback")
    if change.action == "renamed":
        return (f"{what} was renamed to {change.name} by {migration} and its rollback does "
                "not rename it back" if done_by_it else
                f"{what} is named {change.name} after the rollback of {migration}")
    from gatecheck.diff import shown_value

    differences = ", ".join(f"{a.name} {shown_value(a.after)} "
                            f"(before {migration}: {shown_value(a.before)})"
                            if a.name != "sql" else "its definition"
                            for a in change.attributes)
    return (f"{what} was changed by {migration} and its rollback does not restore it: "
            f"{differences}" if done_by_it else
            f"{what} differs after the rollback of {migration}: {differences}")
