"""Every rule kind, by its YAML name.  Add a kind by importing it here."""

from __future__ import annotations

from types import ModuleType

from gatecheck.kinds import (
    forbid_calls,
    forbid_statements,
    forbid_table_references,
    forbid_tables,
    name_conflicts,
    references_exist,
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
)


def _build(modules: tuple[ModuleType, ...]) -> dict[str, ModuleType]:
    kinds: dict[str, ModuleType] = {}
    for module in modules:
        if module.KIND in kinds:
            raise RuntimeError(f"rule kind {module.KIND!r} registered twice")
        kinds[module.KIND] = module
    return kinds


KINDS: dict[str, ModuleType] = _build(_MODULES)
