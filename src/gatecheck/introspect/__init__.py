"""Read a database's structure.  The only package that opens connections.

`load_schema` dispatches on the database URL.  Every connection is
read-only; a database that does not exist is an error, never created.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from gatecheck.config import DatabaseSpec
from gatecheck.errors import DatabaseError
from gatecheck.model import Schema


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``: safe to print."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^@/]*@", "//***@", url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def sqlite_path(url: str, base_dir: Path) -> Path:
    """The file named by ``sqlite:///relative`` or ``sqlite:////absolute``."""
    if not url.startswith("sqlite:///"):
        raise DatabaseError(f"not a SQLite URL: {redact(url)} (expected sqlite:///path)")
    raw = url[len("sqlite:///"):].split("?", 1)[0]
    if not raw or raw == ":memory:":
        raise DatabaseError("an in-memory SQLite database has no schema to check; "
                            "name a file: sqlite:///path/to/app.db")
    path = Path(raw)
    return path if path.is_absolute() else base_dir / path


def load_schema(spec: DatabaseSpec) -> Schema:
    if spec.url is not None:
        url = spec.url
        if url.startswith("sqlite:"):
            from gatecheck.introspect.sqlite import read_schema

            return read_schema(sqlite_path(url, spec.base_dir), source=url)
        scheme = url.split(":", 1)[0] if ":" in url else url
        raise DatabaseError(f"unsupported database URL scheme {scheme!r} in {redact(url)}; "
                            "supported: sqlite:///path")
    from gatecheck.introspect.migrations import replay_schema

    return replay_schema(spec)
