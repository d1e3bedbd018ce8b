"""``[tool.gatecheck]`` of a ``pyproject.toml`` as YAML nodes marked with the TOML's own places.

The rules loader validates ``yaml.compose`` nodes and reports their marks as
``file:line:col`` (`gatecheck.config`).  A ``pyproject.toml`` is parsed by
`tomllib`, which keeps no positions, so its table is represented as YAML nodes
and each node is then given the line and column where the TOML writes that
key or value: a small scanner walks the (already valid) TOML text and notes
where every key path starts (``[[tool.gatecheck.rules]]`` headers, dotted
keys, inline tables, arrays).  Where it cannot tell, a node gets the place of
the nearest enclosing one, never a made-up line.
"""

from __future__ import annotations

import bisect
import datetime
import io
import re
import tomllib
from typing import Any

import yaml

#: A key path inside the document: table keys and array indexes.
KeyPath = tuple[str | int, ...]

_AT = re.compile(r"^(?P<message>.*?) \(at line (?P<line>\d+), column (?P<column>\d+)\)$",
                 re.DOTALL)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_STRINGS = (
    ('"""', re.compile(r'"""(?:[^"\\]|\\.|"{1,2}(?!"))*"{0,2}"""', re.DOTALL)),
    ("'''", re.compile(r"'''(?:[^']|'{1,2}(?!'))*'{0,2}'''", re.DOTALL)),
    ('"', re.compile(r'"(?:[^"\\\n]|\\.)*"')),
    ("'", re.compile(r"'[^'\n]*'")),
)
_SCALAR = re.compile(r"[^,\]}\n#]+")


class TomlSyntaxError(Exception):
    """The text is not valid TOML: 1-based line and column, as tomllib says."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


def loads(text: str) -> dict[str, Any]:
    """`tomllib.loads`, with the error's place as fields."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _AT.match(message)
        if match is not None:
            raise TomlSyntaxError(match["message"], int(match["line"]),
                                  int(match["column"])) from None
        # "... (at end of document)": the place after the last character.
        lines = text.split("\n")
        raise TomlSyntaxError(message.replace(" (at end of document)", " at the end"),
                              len(lines), len(lines[-1]) + 1) from None


def table_node(text: str, data: dict[str, Any], keys: tuple[str, ...],
               name: str) -> yaml.Node | None:
    """The table at ``keys`` of ``data`` (parsed from ``text``) as a YAML node tree.

    None when there is no such table.  ``name`` is the file name the marks carry.
    """
    table: Any = data
    for key in keys:
        table = table.get(key) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        return None
    dumper = yaml.SafeDumper(io.StringIO(), sort_keys=False)
    node: yaml.Node = dumper.represent_data(_plain(table))
    places = _Scanner(text)
    try:
        places.scan()
    except (IndexError, ValueError):
        pass  # not expected of valid TOML; nodes then take their parents' places
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def mark(offset: int) -> yaml.Mark:
        line = bisect.bisect_right(starts, offset) - 1
        return yaml.Mark(name, offset, line, offset - starts[line], "", 0)

    def place(node: yaml.Node, path: KeyPath, fallback: int) -> None:
        offset = places.values.get(path, fallback)
        node.start_mark = node.end_mark = mark(offset)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, key_node.value)
                key_node.start_mark = key_node.end_mark = mark(places.keys.get(child, offset))
                place(value_node, child, offset)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                place(item, (*path, index), offset)

    place(node, keys, 0)
    return node


def _plain(value: Any) -> Any:
    """TOML values YAML can represent: a local time becomes its text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.time):
        return value.isoformat()
    return value


class _Scanner:
    """Where each key path of a valid TOML document is written (character offsets)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        #: Where the value (or the table header) of a key path starts.
        self.values: dict[KeyPath, int] = {}
        #: Where the key naming a path is written.
        self.keys: dict[KeyPath, int] = {}
        #: Arrays of tables: how many elements their headers have opened.
        self.arrays: dict[KeyPath, int] = {}

    def scan(self) -> None:
        table: KeyPath = ()
        while True:
            self.blank()
            if self.i >= len(self.text):
                return
            before = self.i
            if self.text[self.i] == "[":
                table = self.header()
            else:
                self.key_value(table)
            if self.i == before:
                raise ValueError("no progress")

    def spaces(self) -> None:
        while self.i < len(self.text) and self.text[self.i] in " \t":
            self.i += 1

    def blank(self) -> None:
        """Spaces, line breaks and comments."""
        while self.i < len(self.text):
            char = self.text[self.i]
            if char in " \t\r\n":
                self.i += 1
            elif char == "#":
                end = self.text.find("\n", self.i)
                self.i = len(self.text) if end < 0 else end
            else:
                return

    def key(self) -> list[tuple[str, int]]:
        """A dotted key: each part and where it starts."""
        parts = []
        while True:
            self.spaces()
            start = self.i
            char = self.text[self.i]
            if char in "\"'":
                match = _STRINGS[2 if char == '"' else 3][1].match(self.text, self.i)
                if match is None:
                    raise ValueError("unterminated key")
                name = tomllib.loads(f"k = {match.group()}")["k"]
            else:
                match = _BARE_KEY.match(self.text, self.i)
                if match is None:
                    raise ValueError("not a key")
                name = match.group()
            self.i = match.end()
            parts.append((str(name), start))
            self.spaces()
            if self.i < len(self.text) and self.text[self.i] == ".":
                self.i += 1
                continue
            return parts

    def header(self) -> KeyPath:
        start = self.i
        array = self.text.startswith("[[", self.i)
        self.i += 2 if array else 1
        parts = self.key()
        self.spaces()
        self.i += 2 if array else 1
        path: KeyPath = ()
        for index, (name, offset) in enumerate(parts):
            path = (*path, name)
            self.keys.setdefault(path, offset)
            self.values.setdefault(path, start)
            if path in self.arrays and not (array and index == len(parts) - 1):
                path = (*path, self.arrays[path] - 1)  # [a.b] after [[a]]: in its last element
        if array:
            count = self.arrays.get(path, 0)
            self.arrays[path] = count + 1
            path = (*path, count)
        self.values[path] = start
        return path

    def key_value(self, table: KeyPath) -> None:
        parts = self.key()
        path = table
        for name, offset in parts:
            path = (*path, name)
            self.keys.setdefault(path, offset)
            self.values.setdefault(path, offset)
        self.keys[path] = parts[-1][1]
        self.spaces()
        self.i += 1  # "="
        self.spaces()
        self.value(path)

    def value(self, path: KeyPath) -> None:
        self.values[path] = self.i
        text = self.text
        for opener, pattern in _STRINGS:
            if text.startswith(opener, self.i):
                match = pattern.match(text, self.i)
                if match is None:
                    raise ValueError("unterminated string")
                self.i = match.end()
                return
        char = text[self.i]
        if char == "[":
            self.i += 1
            index = 0
            while True:
                self.blank()
                if text[self.i] == "]":
                    self.i += 1
                    return
                self.value((*path, index))
                index += 1
                self.blank()
                if text[self.i] == ",":
                    self.i += 1
        elif char == "{":
            self.i += 1
            while True:
                self.blank()
                if text[self.i] == "}":
                    self.i += 1
                    return
                self.key_value(path)
                self.blank()
                if text[self.i] == ",":
                    self.i += 1
        else:
            match = _SCALAR.match(text, self.i)
            if match is None:
                raise ValueError("not a value")
            self.i = match.start() + len(match.group().rstrip())
