"""Call sites of dotted names in Python, resolved through imports.

``import sqlite3 as s; s.connect(...)``, ``from sqlite3 import connect``,
``from sqlite3 import connect as c; c(...)`` and plain ``sqlite3.connect(...)``
all resolve to ``sqlite3.connect``.  Names bound by imports anywhere in the
file count (function-local imports included); a name that no import binds
resolves to itself, so ``connect(...)`` is only ``sqlite3.connect`` when it
was imported from ``sqlite3``.
"""

from __future__ import annotations

import ast
from typing import Callable, NamedTuple

from gatecheck.positions import LineIndex, Span


class CallSite(NamedTuple):
    name: str  # fully resolved dotted name, e.g. "sqlite3.connect"
    span: Span  # of the called expression (``s.connect``), in the file's text


def _aliases(tree: ast.AST) -> dict[str, str]:
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    out[alias.asname] = alias.name
                else:
                    head = alias.name.split(".", 1)[0]
                    out[head] = head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    out[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return out


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def char_offsets(text: str) -> Callable[[int, int], int]:
    """(1-based line, UTF-8 byte column) as ``ast`` reports them -> character offset."""
    index = LineIndex(text)

    def to_offset(lineno: int, byte_col: int) -> int:
        start = index.line_start(min(lineno, index.line_count))
        head = text[start:start + byte_col]  # never fewer chars than bytes
        if head.isascii():
            return start + byte_col
        return start + len(head.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))
    return to_offset


def find_calls(tree: ast.AST, text: str) -> list[CallSite]:
    """Every call whose callee is a (resolvable) dotted name, in file order."""
    aliases = _aliases(tree)
    to_offset = char_offsets(text)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        parts = _dotted(node.func)
        if parts is None:
            continue
        head = aliases.get(parts[0], parts[0])
        name = ".".join([head, *parts[1:]])
        func = node.func
        if func.end_lineno is None or func.end_col_offset is None:
            continue
        span = Span(to_offset(func.lineno, func.col_offset),
                    to_offset(func.end_lineno, func.end_col_offset))
        out.append(CallSite(name, span))
    out.sort(key=lambda c: c.span)
    return out
