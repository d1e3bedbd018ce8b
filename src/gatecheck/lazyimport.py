"""A module imported on first use of one of its attributes.

PyYAML costs a tenth of gatecheck's start-up, and a run whose rules file
comes from the cache (`gatecheck.configcache`) never parses YAML: the
modules that use it bind ``yaml`` to a `lazy` stand-in instead.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _Lazy(types.ModuleType):
    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it when an attribute is read."""
    return _Lazy(name)
