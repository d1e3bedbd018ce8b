"""Signed pickle files: gatecheck's caches, safe to keep inside a repository.

Unpickling runs code, and a cache file inside a checkout may have come from
anyone (a hostile pull request can commit ``.gatecheck_cache/``).  So every
cache file carries an HMAC-SHA256 made with a per-user secret key kept
outside the repository (``$XDG_CACHE_HOME/gatecheck/key``, mode 0600), and a
file whose MAC does not verify is never unpickled.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import pickle
from pathlib import Path
from typing import Any

from gatecheck.safefile import Refused, read_regular, read_regular_stat

_MAGIC = b"GCC1"
_MAC_SIZE = 32
KEY_BYTES = 32
#: A cache file bigger than this is not read (a link to /dev/zero, a
#: committed 3 GB file): gatecheck's own caches stay far below it.
MAX_BYTES = 256 * 1024 * 1024


class Unreadable(Exception):
    """The file exists but is corrupt, foreign, unsigned, a link or too big."""


class KeyUnavailable(Unreadable):
    """This user's signing key cannot be made or is not trusted: nothing is signed or read."""


def cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gatecheck"


def _secret_key() -> bytes:
    """This user's signing key, created on first use; `KeyUnavailable` if it cannot be.

    The key is trusted only as exactly `KEY_BYTES` bytes of a regular file
    (not a link) owned by this user that no one else can read or write: the
    0-byte key a failed first write used to leave, or a key another user
    could have written, would sign a hostile pickle.  It is created whole or
    not at all: written to a temporary file in the same directory, synced,
    then linked into place (``link`` never replaces, so runs racing to create
    it all end up using the first one).
    """
    path = cache_home() / "key"
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _create_key(path)
    except OSError as exc:
        raise KeyUnavailable(f"cannot create the signing key {path}: "
                             f"{exc.strerror or exc}") from None
    try:
        return _read_key(path)
    except FileNotFoundError:
        raise KeyUnavailable(f"the signing key {path} disappeared") from None


def _read_key(path: Path) -> bytes:
    try:
        key, st = read_regular_stat(path, limit=KEY_BYTES)
    except Refused as exc:
        raise KeyUnavailable(f"signing key {path} {exc}; not trusted") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise KeyUnavailable(f"cannot read the signing key {path}: "
                             f"{exc.strerror or exc}") from None
    if len(key) != KEY_BYTES:
        raise KeyUnavailable(f"signing key {path} is {len(key)} bytes, not {KEY_BYTES}; "
                             "not trusted (delete it to make a new one)")
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise KeyUnavailable(f"signing key {path} is not a private file of this user "
                             "(owner, mode 0600); not trusted")
    return key


def _create_key(path: Path) -> None:
    """Put a full key at ``path`` unless one is there; the temporary file never stays."""
    import secrets
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-", suffix=".tmp")  # 0600, O_EXCL
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another run created it first: use that one
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            # No hard links on this file system: O_EXCL-create is not whole
            # at once, but replacing would leave racing runs with different keys.
            _create_key_by_replace(tmp, path)
            return
        _fsync_dir(path.parent)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _create_key_by_replace(tmp: str, path: Path) -> None:
    if not os.path.lexists(path):
        os.replace(tmp, path)
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def signing_key() -> bytes:
    """This user's signing key (`KeyUnavailable` when it cannot be trusted), for
    `Signer`: read once per run, not once per record."""
    return _secret_key()


class Signer:
    """MACs of many small records (the rows of the file cache) with one key.

    Keyed BLAKE2b, a MAC in one pass (``hashlib.blake2b(key=...)``): a cache
    row whose MAC does not verify is never unpickled, exactly as a file
    whose HMAC does not (`load`).
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def mac(self, context: bytes, payload: bytes = b"") -> bytes:
        """The MAC of ``payload`` in ``context`` (what the record is about)."""
        h = hashlib.blake2b(len(context).to_bytes(8, "little"), key=self._key, digest_size=32)
        h.update(context)
        h.update(payload)
        return h.digest()

    def verify(self, mac: bytes, context: bytes, payload: bytes = b"") -> bool:
        return hmac.compare_digest(mac, self.mac(context, payload))

    def loads(self, mac: bytes, payload: bytes, context: bytes) -> Any:
        """Unpickle ``payload`` if ``mac`` is its MAC (in ``context``); `Unreadable` if not."""
        if not self.verify(mac, context, payload):
            raise Unreadable("not written by this user's gatecheck")
        try:
            return pickle.loads(payload)
        except Exception as exc:  # signed but unloadable: a gatecheck upgrade, say
            raise Unreadable(f"{type(exc).__name__}: {exc}") from None


def load(path: Path) -> Any:
    """The object stored in ``path``; FileNotFoundError, or `Unreadable`.

    ``path`` is read only if it is a regular file (never through a symbolic
    link) of at most `MAX_BYTES`.
    """
    try:
        blob = read_regular(path, limit=MAX_BYTES)
    except Refused as exc:
        raise Unreadable(str(exc)) from None
    key = _secret_key()
    mac, payload = blob[len(_MAGIC):len(_MAGIC) + _MAC_SIZE], blob[len(_MAGIC) + _MAC_SIZE:]
    if not blob.startswith(_MAGIC) or not hmac.compare_digest(
            mac, hmac.new(key, payload, hashlib.sha256).digest()):
        raise Unreadable("not written by this user's gatecheck")
    try:
        return pickle.loads(payload)
    except Exception as exc:  # signed but unloadable: a gatecheck upgrade, say
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new private file beside ``path`` (``tempfile.mkstemp``'s guarantees: created
    exclusively, never through a link, mode 0600), without importing `tempfile`
    (a tenth of a warm run's imports)."""
    for _ in range(100):
        tmp = str(path.parent / f".tmp-{os.urandom(8).hex()}.pickle")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(f"no temporary file name left beside {path}")


def dump(path: Path, obj: Any) -> None:
    """Write atomically (temp file + rename); `KeyUnavailable` when there is no signing key.

    The rename replaces a symbolic link at ``path`` rather than writing
    through it; the caller makes sure the directory itself is not a link.
    """
    key = _secret_key()
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    fd, tmp = _create_temporary(path)
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
