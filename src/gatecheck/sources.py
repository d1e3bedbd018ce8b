"""Read source files into text and SQL fragments, one file at a time.

Decoding follows what the file's own toolchain would do: a UTF-8 or UTF-16
byte-order mark wins, Python files honour a PEP 263 coding cookie, everything
else must be UTF-8.  A file that cannot be read or decoded, or a Python file
that does not parse, is a `SourceError` naming the file (and line), and the
run goes on with the other files.
"""

from __future__ import annotations

import codecs
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path

from gatecheck.errors import SourceError
from gatecheck.extract import Fragment

#: Beyond this a file is not source code a human wrote; skip it, say so.
MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass
class SourceFile:
    path: str  # root-relative, posix
    text: str
    fragments: list[Fragment]


def decode(rel: str, data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    elif rel.endswith(".py"):
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
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


def load(root: Path, rel: str) -> SourceFile:
    """Read, decode and extract one file (``.sql`` or ``.py``)."""
    full = root / rel
    try:
        size = full.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"file is {size // (1024 * 1024)} MB, over the "
                              f"{MAX_FILE_BYTES // (1024 * 1024)} MB limit; skipped", path=rel)
        data = full.read_bytes()
    except FileNotFoundError:
        raise SourceError("file disappeared during the run; skipped", path=rel) from None
    except PermissionError:
        raise SourceError("permission denied; skipped", path=rel) from None
    except IsADirectoryError:
        raise SourceError("is a directory; skipped", path=rel) from None
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}; skipped", path=rel) from None
    if rel.endswith(".py"):
        return _load_python(rel, data)
    text = decode(rel, data)
    return SourceFile(rel, text, [Fragment(rel, text, sink=True)] if text.strip() else [])


def _load_python(rel: str, data: bytes) -> SourceFile:
    from gatecheck.extract.python_files import extract_python, might_contain_sql

    text = decode(rel, data)
    if not might_contain_sql(text):
        return SourceFile(rel, text, [])
    return SourceFile(rel, text, extract_python(rel, text))
