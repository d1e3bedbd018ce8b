"""Every rule kind, by its YAML name.  Add a kind by importing it here."""

from __future__ import annotations

from types import ModuleType

from gatecheck.kinds import (
    dependents_resolve,
    forbid_calls,
    forbid_statements,
    forbid_table_references,
    forbid_tables,
    foreign_keys_resolve,
    legacy_retention,
    name_conflicts,
    no_orphans,
    query,
    references_exist,
    require_columns,
    require_tables,
    row_exists,
    rows_preserved,
    schema_version,
    sql_parses,
    unique_family,
)

_MODULES: tuple[ModuleType, ...] = (
    forbid_tables,
    unique_family,
    name_conflicts,
    forbid_table_references,
    sql_parses,
    references_exist,
    forbid_statements,
    forbid_calls,
    require_tables,
    require_columns,
    foreign_keys_resolve,
    dependents_resolve,
    rows_preserved,
    no_orphans,
    row_exists,
    schema_version,
    legacy_retention,
    query,
)


def _build(modules: tuple[ModuleType, ...]) -> dict[str, ModuleType]:
    kinds: dict[str, ModuleType] = {}
    for module in modules:
        if module.KIND in kinds:
            raise RuntimeError(f"rule kind {module.KIND!r} registered twice")
        kinds[module.KIND] = module
    return kinds


KINDS: dict[str, ModuleType] = _build(_MODULES)
