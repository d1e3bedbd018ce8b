"""Signed pickle files: gatecheck's caches, safe to keep inside a repository.

Unpickling runs code, and a cache file inside a checkout may have come from
anyone (a hostile pull request can commit ``.gatecheck_cache/``).  So every
cache file carries an HMAC-SHA256 made with a per-user secret key kept
outside the repository (``$XDG_CACHE_HOME/gatecheck/key``, mode 0600), and a
file whose MAC does not verify is never unpickled.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
import tempfile
from pathlib import Path
from typing import Any

_MAGIC = b"GCC1"
_MAC_SIZE = 32


class Unreadable(Exception):
    """The file exists but is corrupt, foreign or unsigned."""


def cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gatecheck"


def _secret_key() -> bytes | None:
    """This user's signing key, created on first use; None if it cannot be."""
    path = cache_home() / "key"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    except FileExistsError:
        pass  # another run created it first
    except OSError:
        return None
    try:
        return path.read_bytes()
    except OSError:
        return None


def load(path: Path) -> Any:
    """The object stored in ``path``; FileNotFoundError, or `Unreadable`."""
    with open(path, "rb") as fh:
        blob = fh.read()
    key = _secret_key()
    if key is None:
        raise Unreadable("no signing key (the user cache directory is not writable)")
    mac, payload = blob[len(_MAGIC):len(_MAGIC) + _MAC_SIZE], blob[len(_MAGIC) + _MAC_SIZE:]
    if not blob.startswith(_MAGIC) or not hmac.compare_digest(
            mac, hmac.new(key, payload, hashlib.sha256).digest()):
        raise Unreadable("not written by this user's gatecheck")
    try:
        return pickle.loads(payload)
    except Exception as exc:  # signed but unloadable: a gatecheck upgrade, say
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None


def dump(path: Path, obj: Any) -> bool:
    """Write atomically (temp file + rename); False when there is no signing key."""
    key = _secret_key()
    if key is None:
        return False
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(_MAGIC + mac + payload)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return True
