"""Every rule kind, by its YAML name.  Add a kind by naming its module here.

A kind's module is named after the kind (``forbid-tables`` ->
``gatecheck.kinds.forbid_tables``) and imported the first time the kind is
looked up: a run imports the kinds its rules use, not all twenty (start-up
is most of a warm run).  Iterating lists every kind, in this order.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from types import ModuleType

_MODULES: tuple[str, ...] = (
    "forbid_tables",
    "unique_family",
    "name_conflicts",
    "forbid_table_references",
    "sql_parses",
    "references_exist",
    "forbid_statements",
    "forbid_calls",
    "require_tables",
    "require_columns",
    "foreign_keys_resolve",
    "dependents_resolve",
    "rows_preserved",
    "no_orphans",
    "row_exists",
    "schema_version",
    "legacy_retention",
    "query",
    "rollback_restores",
    "breaking_changes",
    "executed_references",
)


class _Kinds(Mapping[str, ModuleType]):
    """Kind name -> its module, imported on first use."""

    def __init__(self, modules: tuple[str, ...]) -> None:
        self._modules: dict[str, str] = {}
        for module in modules:
            kind = module.replace("_", "-")
            if kind in self._modules:
                raise RuntimeError(f"rule kind {kind!r} registered twice")
            self._modules[kind] = module
        self._loaded: dict[str, ModuleType] = {}

    def __getitem__(self, kind: str) -> ModuleType:
        module = self._loaded.get(kind)
        if module is None:
            module = importlib.import_module(f"gatecheck.kinds.{self._modules[kind]}")
            if module.KIND != kind:
                raise RuntimeError(f"gatecheck.kinds.{self._modules[kind]} defines kind "
                                   f"{module.KIND!r}, not {kind!r}")
            self._loaded[kind] = module
        return module

    def __contains__(self, kind: object) -> bool:
        return kind in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


KINDS: Mapping[str, ModuleType] = _Kinds(_MODULES)
