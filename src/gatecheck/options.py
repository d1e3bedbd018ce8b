"""Option parsing shared by the rules loader and the rule kinds.

Each parser takes a ``yaml.compose`` node and returns a plain value, or
raises `OptionError` carrying the offending node; the loader turns that node
into ``file:line:col``.  Kept apart from `gatecheck.config` so that the kinds
(custom option parsers) never import the loader, and the loader reaches the
kind registry without an import circle.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import yaml
else:  # imported when a rules file is parsed (`gatecheck.lazyimport`)
    from gatecheck.lazyimport import lazy

    yaml = lazy("yaml")

def type_name(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    if isinstance(node, yaml.SequenceNode):
        return "list"
    return {
        "tag:yaml.org,2002:str": "string", "tag:yaml.org,2002:int": "int",
        "tag:yaml.org,2002:float": "float", "tag:yaml.org,2002:bool": "bool",
        "tag:yaml.org,2002:null": "null",
    }.get(node.tag, node.tag.rsplit(":", 1)[-1])


class OptionError(Exception):
    """Raised by option parsers; the loader adds the location."""

    def __init__(self, message: str, node: yaml.Node | None = None) -> None:
        super().__init__(message)
        self.node = node


def scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        raise OptionError(f"expected a scalar, got {type_name(node)}", node)
    value = yaml.constructor.SafeConstructor().construct_object(node)
    if isinstance(value, str) and "\0" in value:
        # "\0" in a double-quoted string: no path, glob, name or SQL holds one.
        raise OptionError("a NUL character (\\0) is not allowed here", node)
    return value


def as_str(node: yaml.Node) -> str:
    if type_name(node) != "string":
        raise OptionError(f"expected string, got {type_name(node)}", node)
    return str(scalar(node))


def as_str_list(node: yaml.Node) -> tuple[str, ...]:
    """A string or a list of strings (so ``pattern: x`` and ``[x, y]`` both work)."""
    if isinstance(node, yaml.SequenceNode):
        items = []
        for item in node.value:
            if type_name(item) != "string":
                raise OptionError(
                    f"expected string or list of strings, got list containing {type_name(item)}",
                    item)
            items.append(str(scalar(item)))
        return tuple(items)
    if type_name(node) == "string":
        return (str(scalar(node)),)
    raise OptionError(f"expected string or list of strings, got {type_name(node)}", node)


def as_int(node: yaml.Node) -> int:
    if type_name(node) != "int":
        raise OptionError(f"expected integer, got {type_name(node)}", node)
    return int(scalar(node))


def as_number(node: yaml.Node) -> float:
    if type_name(node) not in ("int", "float"):
        raise OptionError(f"expected number, got {type_name(node)}", node)
    return float(scalar(node))


def as_bool(node: yaml.Node) -> bool:
    if type_name(node) != "bool":
        raise OptionError(f"expected true or false, got {type_name(node)}", node)
    return bool(scalar(node))


def mapping_items(node: yaml.Node) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """(key, key node, value node) of a mapping with string keys."""
    if not isinstance(node, yaml.MappingNode):
        raise OptionError(f"expected mapping, got {type_name(node)}", node)
    out = []
    for key_node, value_node in node.value:
        if type_name(key_node) != "string":
            raise OptionError(f"keys must be strings, got {type_name(key_node)}", key_node)
        out.append((str(scalar(key_node)), key_node, value_node))
    return out


_BY_TYPE: dict[Any, Callable[[yaml.Node], Any]] = {
    str: as_str, int: as_int, float: as_number, bool: as_bool,
    tuple[str, ...]: as_str_list,
}


def option_key(f: dataclasses.Field[Any]) -> str:
    """YAML key of an options field: ``except_`` is spelled ``except``."""
    return f.name.rstrip("_")


def unwrap_optional(hint: Any) -> tuple[Any, bool]:
    """``X`` and True for ``X | None`` (``Optional[X]``); ``hint`` and False otherwise.
    A union of several types other than None is returned as it is."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return (args[0] if len(args) == 1 else hint), len(args) < len(typing.get_args(hint))
    return hint, False


def parser_for(f: dataclasses.Field[Any], hint: Any) -> Callable[[yaml.Node], Any]:
    custom = f.metadata.get("parse")
    if custom is not None:
        return custom  # type: ignore[no-any-return]
    hint, optional = unwrap_optional(hint)
    parse = _BY_TYPE.get(hint)
    if parse is None:
        raise TypeError(f"no YAML parser for option type {hint!r} ({f.name})")
    if not optional:
        return parse

    def parse_optional(node: yaml.Node) -> Any:
        return None if type_name(node) == "null" else parse(node)
    return parse_optional


@functools.lru_cache(maxsize=None)
def option_fields(options_cls: type) -> tuple[tuple[dataclasses.Field[Any], Any], ...]:
    # Cached: resolving the type hints costs more than parsing a rule.
    hints = typing.get_type_hints(options_cls)
    return tuple((f, hints[f.name]) for f in dataclasses.fields(options_cls))


