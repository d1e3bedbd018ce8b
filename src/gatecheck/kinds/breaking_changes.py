"""A migration must not remove or rename what the deployed release's code still uses.

**What it does**
Compares the schema the migrations build at ``base`` (a git ref: the
release that is deployed while the migrations run) with the schema the
migrations of the work tree build, both replayed into scratch databases.
For every table, view or column that the difference removes or renames, it
looks for references to it in the SQL of ``base``'s own sources (the files
the rules file's ``sources`` and the rule's ``paths``/``exclude`` select,
read from git at ``base``, not from the work tree; the migration files
themselves left out), resolved as ``references-exist`` resolves them:
table names, qualified ``t.col`` through aliases, columns of a
single-table statement or of the one table that has them, ``INSERT INTO t
(cols)``, ``UPDATE t SET col``.  Each reference is a finding at the
migration statement that removes the object (found by replaying the
changed migrations statement by statement), naming the code that breaks:
``schema_v2_drop_email.sql drops column users.email; app/users.py:2 on main
still uses it``.  The JSON finding also has ``base`` (the ref) and
``reference`` (``path:line:column`` in ``base``).

Additions are never findings, and neither is the code of the work tree
(``references-exist`` checks that against the new schema).  Only ``base``
has to be in the clone: a shallow clone works once it is fetched
(``git fetch --depth=1 origin main``); a ref the clone does not have is an
error.  The scratch databases are made as ``rollback-restores`` makes them
(the rule's database's ``replay_url``, else in-memory SQLite), sandboxed
and dropped; the replays share one ``--replay-timeout``.

**Why it matters**
During a rolling deploy the previous release's code runs against the new
schema: a migration that drops ``users.email`` or renames ``task_sessions``
breaks every request of the old code that still reads them, until the last
old instance is gone.  A schema linter sees that a migration drops a
column, but not which code breaks; a code linter sees the code, but not the
migration.  This rule has both.

**Example**
```yaml
rules:
  - id: deploy-safe
    kind: breaking-changes
    migrations: "db/migrations/*.sql"
    base: origin/main          # default: --changed-since
    exclude: ["tests/**"]
```
fails on a branch that adds ``db/migrations/v2_drop_email.sql`` (``ALTER
TABLE users DROP COLUMN email``) while ``app/users.py`` on ``origin/main``
runs ``SELECT email FROM users``: at the ``ALTER TABLE`` statement, object
``users.email``.

**Fix**
Expand, then contract: ship the code that stops using the column first, and
drop it in a later release (once ``base`` no longer uses it).  For a
rename, add the new name alongside the old one (a view, a copy kept in sync)
until the old code is gone.

**Options**
- ``migrations``: glob of the migration files, relative to the rules file
  (required), applied in natural order; the same glob is used at ``base``.
- ``base``: the git ref of the deployed code (default: ``--changed-since``;
  without either the rule is an error).
- ``paths`` / ``exclude``: which files of ``base`` are read for references.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, NamedTuple, Sequence

from gatecheck.errors import GatecheckError
from gatecheck.kinds import REVIEW, Context, Emit

if TYPE_CHECKING:
    from sqlglot import exp

    from gatecheck.diff import Change
    from gatecheck.facts import FragmentFacts
    from gatecheck.introspect.scratch import MigrationStatement
    from gatecheck.kinds._review import MigrationFile, Review, Tree
    from gatecheck.model import Schema
    from gatecheck.positions import Span

KIND = "breaking-changes"
NEEDS = frozenset({REVIEW})


@dataclass(frozen=True)
class Options:
    migrations: str
    base: str | None = None


class _Reference(NamedTuple):
    path: str
    span: "Span"


#: A change's identity (changes hold dicts: not hashable themselves).
_Key = tuple[str, str, str]


def _key(change: "Change") -> _Key:
    return change.kind, change.old or "", change.object


def check(ctx: Context, options: Options, emit: Emit) -> None:
    from gatecheck.diff import diff

    review = ctx.review
    ref = options.base or review.base
    if not ref:
        raise GatecheckError(f"{KIND}: no base: set 'base:' to the git ref of the deployed "
                             "code, or pass --changed-since REF")
    work = review.tree()
    base = review.tree(ref)
    head_files = work.migrations(options.migrations)
    if not head_files:
        raise GatecheckError(f"{KIND}: no migration files match {options.migrations!r}")
    base_files = base.migrations(options.migrations)

    scratch = review.scratch()
    try:
        failure = scratch.apply(base, [f.path for f in base_files])
        if failure is not None:
            raise GatecheckError(f"{KIND}: the migrations at {base.label} do not replay: "
                                 f"{failure.path}:{failure.line}: {failure.message}")
        before = scratch.schema()
    finally:
        scratch.close()
    scratch = review.scratch()
    try:
        failure = scratch.apply(work, [f.path for f in head_files])
        if failure is not None:
            emit(f"{failure.message}; the replay stopped here, so the schema changes were not "
                 f"checked against the code of {base.label}", path=failure.path,
                 span=failure.span)
            return
        after = scratch.schema()
    finally:
        scratch.close()

    result = diff(before, after)
    changes = [c for c in result.changes if c.action in ("removed", "renamed")
               and c.kind in ("table", "view", "column")]
    if not changes:
        return
    old_table = {new.casefold(): old for old, new in result.renamed_tables.items()}
    migrations_at_base = {f.path for f in base_files}
    names = {_gone(c, old_table)[1] for c in changes}
    facts = [f for f in base.sources(mentioning=names) if f.path not in migrations_at_base]
    references = _references(facts, before, changes, old_table, ctx.dialect)
    if not references:
        ctx.count("removed or renamed objects no code of the base uses", len(changes))
        return
    places = _removals(review, work, base, head_files, base_files,
                       [c for c in changes if references.get(_key(c))], old_table)
    for change in changes:
        place = places.get(_key(change))
        if place is None:
            continue
        verb, what = _verb(change, old_table)
        migration = posixpath.basename(place.path)
        for reference in sorted(set(references.get(_key(change), ())),
                                key=lambda r: (r.path, r.span)):
            line, column = base.position(reference.path, reference.span)
            shown = base.display(reference.path)
            emit(f"{migration} {verb}; {shown}:{line} on {ref} still uses "
                 f"{'it' if change.action == 'removed' else what}",
                 obj=what, path=place.path, span=place.span,
                 extra={"base": ref, "reference": f"{shown}:{line}:{column}"})


def _gone(change: "Change", old_table: dict[str, str]) -> tuple[str, str]:
    """(table, name) of what the base's code calls the object: the table of a column
    (by its old name) and the column, or ("", the table or view)."""
    name = change.old if change.action == "renamed" and change.old else change.object
    if change.kind != "column":
        return "", name
    assert change.table is not None
    table = old_table.get(change.table.casefold(), change.table)
    return table, name[len(change.table) + 1:] if name.startswith(change.table + ".") \
        else name.rsplit(".", 1)[1]


def _verb(change: "Change", old_table: dict[str, str]) -> tuple[str, str]:
    """("drops column users.email", "users.email")."""
    table, name = _gone(change, old_table)
    kind = change.kind
    what = f"{table}.{name}" if kind == "column" else name
    if change.action == "removed":
        return f"drops {kind} {what}", what
    new = change.name if kind != "column" else f"{change.table}.{change.name}"
    return f"renames {kind} {what} to {new}", what


# ---------------------------------------------------------------- references


def _references(facts: "list[FragmentFacts]", before: "Schema", changes: "list[Change]",
                old_table: dict[str, str], dialect: str) -> "dict[_Key, list[_Reference]]":
    """Where the base's code names each removed or renamed object."""
    from gatecheck.facts import default_schemas

    local = {s.casefold() for s in before.schemas or default_schemas(dialect)} | {"temp"}
    relations: dict[str, Change] = {}
    columns: dict[str, dict[str, Change]] = defaultdict(dict)
    for change in changes:
        table, name = _gone(change, old_table)
        if change.kind == "column":
            columns[table.casefold()][name.casefold()] = change
        else:
            relations[name.casefold()] = change
    out: dict[_Key, list[_Reference]] = defaultdict(list)
    for f in facts:
        for ref in f.tables:
            if ref.role != "use" or ref.dynamic:
                continue
            if ref.schema is not None and ref.schema.casefold() not in local:
                continue
            hit = relations.get(ref.name.casefold())
            if hit is not None:
                out[_key(hit)].append(_Reference(f.path, ref.span))
        if not columns:
            continue
        for statement in f.statements:
            if statement.tree is None:
                continue
            for table, column, span in _columns_used(statement.tree, before, columns):
                if f.fragment is not None:
                    out[_key(columns[table][column])].append(
                        _Reference(f.path, f.file_span(span)))
    return out


def _columns_used(tree: "exp.Expr", schema: "Schema", wanted: dict[str, dict[str, Any]]
                  ) -> Iterator[tuple[str, str, "Span"]]:
    """(table, column, span in the fragment) of each use of a wanted column, folded."""
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    from gatecheck.columnfacts import own_columns, scope_source

    seen: set[tuple[int, int]] = set()

    def hit(table: str, ident: Any) -> Iterator[tuple[str, str, "Span"]]:
        from gatecheck.positions import Span

        meta = getattr(ident, "meta", {})
        name = ident.name.casefold()
        if "start" not in meta or name not in wanted.get(table, {}):
            return
        span = (meta["start"], meta["end"] + 1)
        if span not in seen:
            seen.add(span)
            yield table, name, Span(*span)

    def has(table: "exp.Table", column: str) -> bool:
        found = schema.table(table.name)
        return found is not None and found.column(column) is not None

    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Schema) and \
            isinstance(tree.this.this, exp.Table):
        target = tree.this.this.name.casefold()
        for ident in tree.this.expressions:
            if isinstance(ident, exp.Identifier):
                yield from hit(target, ident)
    if isinstance(tree, (exp.Update, exp.Delete)) and isinstance(tree.this, exp.Table):
        target_table = tree.this
        for column in own_columns(tree):
            if column.table and column.table.casefold() != target_table.alias_or_name.casefold():
                continue
            yield from hit(target_table.name.casefold(), column.this)
    try:
        scopes = list(traverse_scope(tree))
    except Exception:  # sqlglot cannot scope some shapes: no guess
        return
    for scope in scopes:
        for column in scope.columns:
            name = column.name.casefold()
            if not any(name in cols for cols in wanted.values()):
                continue
            if column.table:
                source = scope_source(scope, column.table)
                if isinstance(source, exp.Table):
                    yield from hit(source.name.casefold(), column.this)
                continue
            tables = [s for s in scope.sources.values() if isinstance(s, exp.Table)]
            having = [t for t in tables if has(t, name)]
            if len(having) == 1:
                yield from hit(having[0].name.casefold(), column.this)


# ---------------------------------------------------------------- where it happens


def _removals(review: "Review", work: "Tree", base: "Tree",
              head_files: "Sequence[MigrationFile]", base_files: "Sequence[MigrationFile]",
              changes: "list[Change]", old_table: dict[str, str]
              ) -> "dict[_Key, MigrationStatement]":
    """The statement of the work tree's migrations after which each object is gone
    for good: the migrations are replayed again, those that differ from ``base``
    statement by statement, and the schema is looked at after each."""
    by_rel = {f.rel: f for f in base_files}
    scratch = review.scratch()
    present = {_key(c): False for c in changes}
    last: dict[_Key, MigrationStatement] = {}
    fallback: MigrationStatement | None = None
    try:
        for migration in head_files:
            statements = scratch.statements(work, migration.path)
            if not isinstance(statements, list):
                break
            if not statements:
                continue
            same = by_rel.get(migration.rel)
            unchanged = False
            if same is not None:
                old = scratch.statements(base, same.path)
                unchanged = isinstance(old, list) and [s.sql for s in old] == \
                    [s.sql for s in statements]
            if not unchanged:
                fallback = fallback or statements[0]
            steps = [statements] if unchanged else [[s] for s in statements]
            for step in steps:
                for statement in step:
                    if scratch.run(statement) is not None:
                        return _with_fallback(last, changes, fallback)
                schema = scratch.schema()
                for change in changes:
                    now = _exists(schema, change, old_table)
                    if present[_key(change)] and not now:
                        last[_key(change)] = step[0]
                    present[_key(change)] = now
    finally:
        scratch.close()
    return _with_fallback(last, changes, fallback)


def _with_fallback(last: "dict[_Key, MigrationStatement]", changes: "list[Change]",
                   fallback: "MigrationStatement | None") -> "dict[_Key, MigrationStatement]":
    if fallback is not None:
        for change in changes:
            last.setdefault(_key(change), fallback)
    return last


def _exists(schema: "Schema", change: "Change", old_table: dict[str, str]) -> bool:
    table, name = _gone(change, old_table)
    if change.kind == "table":
        return schema.table(name) is not None
    if change.kind == "view":
        return schema.view(name) is not None
    assert change.table is not None
    return any(found is not None and found.column(name) is not None
               for found in (schema.table(table), schema.table(change.table)))
