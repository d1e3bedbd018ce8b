"""Read source files into text and SQL fragments, one file at a time.

Only regular files inside the root are read, at most `MAX_FILE_BYTES` of
them (`read_source`).  Decoding follows what the file's own toolchain would
do: a UTF-8 or UTF-16 byte-order mark wins, Python files honour a PEP 263
coding cookie, everything else must be UTF-8.  A file that cannot be read or
decoded is a `SourceError` naming the file (and line), and the run goes on
with the other files.  A Python file that this interpreter cannot parse is
read with the tolerant parser: a syntax problem in it is a note
(`SourceFile.warnings`), never an error.
"""

from __future__ import annotations

import codecs
import re
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gatecheck.errors import SourceError
from gatecheck.extract import Fragment
from gatecheck.positions import Span
from gatecheck.safefile import Refused, read_regular

if TYPE_CHECKING:
    from gatecheck.extract.python_calls import CallSite

#: Beyond this a file is not source code a human wrote; skip it, say so.
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class SourceFile:
    path: str  # root-relative, posix
    text: str
    fragments: list[Fragment]
    calls: list[CallSite] = field(default_factory=list)
    #: ``path:line:col: message`` notes: a syntax problem read around.
    warnings: list[str] = field(default_factory=list)


def decode(rel: str, data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif rel.endswith(".py"):
        try:
            encoding, _ = tokenize.detect_encoding(_first_lines(data).__next__)
        except SyntaxError as exc:
            raise SourceError(f"cannot decode: {exc.msg}", path=rel) from None
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except LookupError:
        raise SourceError(f"unknown encoding {encoding!r} declared", path=rel) from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SourceError(f"not valid {encoding} (byte 0x{data[exc.start]:02x}); "
                          "skipped", path=rel, line=line) from None
    if "\0" in text:
        raise SourceError("binary file (contains NUL bytes); skipped", path=rel)
    return text


_LINE = re.compile(rb"[^\r\n]*(?:\r\n?|\n)?")


def _first_lines(data: bytes) -> Iterator[bytes]:
    """Lines as Python's tokenizer splits them (a lone CR ends one too), then b"" forever.

    ``BytesIO.readline`` splits at LF only, so the coding cookie of a file
    with CR line endings would be looked for in one line the size of the file.
    """
    pos = 0
    while True:
        match = _LINE.match(data, pos)
        assert match is not None  # the pattern matches the empty string
        yield match.group()
        pos = match.end()


def read_source(root: Path, rel: str) -> bytes:
    """The bytes of one source file, read only if it is safe to (`gatecheck.safefile`).

    A regular file inside ``root`` (symbolic links resolved; a link out of
    the root or into ``.git`` refused), never a FIFO or device, at most
    `MAX_FILE_BYTES`; anything else is a `SourceError` that never quotes
    what the file holds.
    """
    full = root / rel
    try:
        return read_regular(full, root=root, limit=MAX_FILE_BYTES)
    except Refused as exc:
        raise SourceError(f"{exc}; skipped", path=rel) from None
    except FileNotFoundError:
        what = "broken symbolic link" if full.is_symlink() else "file disappeared during the run"
        raise SourceError(f"{what}; skipped", path=rel) from None
    except PermissionError:
        raise SourceError("permission denied; skipped", path=rel) from None
    except IsADirectoryError:
        raise SourceError("is a directory; skipped", path=rel) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}; skipped", path=rel) from None


def load(root: Path, rel: str, *, sql: bool = True,
         call_names: frozenset[str] = frozenset(), data: bytes | None = None) -> SourceFile:
    """Read, decode and extract one file (``.sql`` or ``.py``).

    ``sql``: extract SQL fragments.  ``call_names``: the last components of
    the dotted names call rules look for (``connect``); a Python file that
    mentions one of them also gets its call sites.  ``data``: the file's
    bytes, when the caller has read them already (`read_source`).
    """
    text = decode(rel, data if data is not None else read_source(root, rel))
    if rel.endswith(".py"):
        return _load_python(rel, text, sql, call_names)
    return SourceFile(rel, text, [Fragment(rel, text, sink=True)] if sql and text.strip() else [])


def _load_python(rel: str, text: str, sql: bool, call_names: frozenset[str]) -> SourceFile:
    from gatecheck.extract.python_files import extract_python, might_contain_sql

    source = SourceFile(rel, text, [])
    extracted = sql and might_contain_sql(text)
    if extracted:
        source.fragments = extract_python(rel, text, source.warnings)
    if call_names and any(name in text for name in call_names):
        import ast

        from gatecheck.extract.python_calls import find_calls

        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            from gatecheck.extract.python_read import parse

            # What this interpreter cannot parse, the tolerant parser reads
            # (and notes, unless extract_python did already).
            bom = 1 if text.startswith("\ufeff") else 0
            try:
                tree = parse(rel, text, bom, None if extracted else source.warnings)
            except SourceError:
                if not source.fragments:  # extract_python reported it already otherwise
                    raise SourceError("Python file does not parse; its calls were not checked",
                                      path=rel) from None
                return source
            if bom:  # positions count from after the mark: shift them onto the text
                source.calls = [call._replace(span=Span(call.span.start + bom,
                                                        call.span.end + bom))
                                for call in find_calls(tree, text[bom:])]
                return source
        source.calls = find_calls(tree, text)
    return source
