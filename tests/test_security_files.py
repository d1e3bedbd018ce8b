"""Security (issue 13): what gatecheck reads and writes on disk stays inside the repository.

A pull request controls every file of the checkout: symbolic links, FIFOs,
``.gatecheck_cache/``, packs.  These tests plant real ones and check that
gatecheck reads only regular files inside the repository, never trusts a
cache beyond its signature, never writes through a link, cannot be handed a
git option and cannot be made to recurse without bound.  Runs that would hang
or exhaust memory on a regression are real processes with a deadline and an
address-space limit.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import pickle
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Run, gatecheck, new_repo, write_tree, git as git_ok

RULES = """\
version: 1
rules:
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
  - {id: sql-parses, kind: sql-parses}
"""
GOOD = {"good.sql": "SELECT * FROM task_sessions;\n"}
SECRET = "SUPERSECRET-7f3a ((( not sql at all"


def bounded(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60,
            memory: int = 1536 * 1024 * 1024) -> Run:
    """Run the console script with a deadline and an address-space limit.

    A regression here hangs (a FIFO) or reads until memory runs out
    (``/dev/zero``): the limit makes that a quick failure instead of a
    machine brought down.
    """
    exe = Path(sys.executable).parent / "gatecheck"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    try:
        proc = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout, env=env, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gatecheck {' '.join(args)} was still running after {timeout} s")
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private user cache directory (the signing key lives there)."""
    home = tmp_path / "xdg"
    home.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home


def signed_with(key: bytes, obj: object) -> bytes:
    payload = pickle.dumps(obj)
    return b"GCC1" + hmac.new(key, payload, hashlib.sha256).digest() + payload


class Exploit:
    """Unpickling this creates ``marker``: the proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, ...]:
        return (open, (str(self.marker), "w"))


def cache_file(repo: Path) -> Path:
    """The name of the repository's file cache (made by one clean run, then removed)."""
    home = repo.parent / "name-probe-xdg"
    run = bounded("run", cwd=repo, env={**os.environ, "XDG_CACHE_HOME": str(home)})
    assert run.exit_code in (0, 1), run.stderr
    [found] = (repo / ".gatecheck_cache").glob("files-*.db")
    shutil.rmtree(repo / ".gatecheck_cache")
    shutil.rmtree(home)
    return repo / ".gatecheck_cache" / found.name


def signed_cache(target: Path, key: bytes, rows: dict[str, object]) -> None:
    """A cache database at ``target`` whose rows hold ``rows`` (path -> object to
    pickle), each signed with ``key`` for the file as it is now: a row that gatecheck
    would use if ``key`` were its own."""
    import sqlite3

    from gatecheck import filecache, signed

    target.parent.mkdir(exist_ok=True)
    signer = signed.Signer(key)
    settings = target.stem.removeprefix("files-").encode()
    db = sqlite3.connect(target)
    db.execute(filecache._SCHEMA)
    for rel, obj in rows.items():
        source = target.parent.parent / rel
        st, digest = source.stat(), filecache.digest(source.read_bytes())
        payload = pickle.dumps(obj)
        mac = signer.mac(filecache._context(settings, rel, st.st_mtime_ns, st.st_size,
                                            digest, 0), payload)
        db.execute("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (rel, st.st_mtime_ns, st.st_size, digest, 0, mac, payload))
    db.commit()
    db.close()


def plant_cache(repo: Path, key: bytes, marker: Path) -> None:
    signed_cache(cache_file(repo), key, {"good.sql": Exploit(marker)})


# ---------------------------------------------------------------- item 5: the signing key


def _key_defect(kind: str, key: Path) -> bytes:
    """Make ``key`` defective in the way named; the bytes an attacker would sign with."""
    key.parent.mkdir(parents=True)
    if kind == "empty":
        key.write_bytes(b"")
        return b""
    if kind == "short":
        key.write_bytes(b"k" * 31)
        return b"k" * 31
    if kind == "long":
        key.write_bytes(b"k" * 33)
        return b"k" * 33
    if kind == "symlink":
        (key.parent / "real").write_bytes(b"k" * 32)
        os.chmod(key.parent / "real", 0o600)
        key.symlink_to(key.parent / "real")
        return b"k" * 32
    assert kind == "group-writable"
    key.write_bytes(b"k" * 32)
    os.chmod(key, 0o620)
    return b"k" * 32


@pytest.mark.parametrize("defect", ["empty", "short", "long", "symlink", "group-writable"])
def test_a_defective_signing_key_is_never_trusted(tmp_path: Path, xdg: Path,
                                                  defect: str) -> None:
    """Security item 5: a signing key that is not exactly 32 bytes of a regular, private
    file of this user (the 0-byte key a failed first write left) signs nothing: a committed
    cache signed with it is not unpickled, and the run says why it has no cache."""
    repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD})
    marker = tmp_path / "pwned"
    plant_cache(repo, _key_defect(defect, xdg / "gatecheck" / "key"), marker)
    run = gatecheck("run", cwd=repo)
    assert not marker.exists(), "a cache signed with a defective key was unpickled"
    assert run.exit_code == 1, run.stderr
    assert "good.sql:1:15: no-task-sessions" in run.stdout
    assert "signing key" in run.stderr and "not trusted" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


def test_a_first_key_write_on_a_full_disk_leaves_no_key(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Security item 5: when the disk is full the key is not created at all (no 0-byte key
    is left behind to be used from then on), and a committed cache signed with the empty
    key is not unpickled, on that run or the next."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    mnt = tmp_path / "full"
    mnt.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                          capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        (mnt / "gatecheck").mkdir()
        with open(mnt / "filler", "wb", buffering=0) as fh:  # unbuffered: close cannot fail
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        monkeypatch.setenv("XDG_CACHE_HOME", str(mnt))
        repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD})
        marker = tmp_path / "pwned"
        plant_cache(repo, b"", marker)
        for _ in range(2):
            run = gatecheck("run", cwd=repo)
            assert run.exit_code == 1, run.stderr
            assert not (mnt / "gatecheck" / "key").exists(), "a partial key was left behind"
            assert not marker.exists(), "a cache signed with the empty key was unpickled"
            assert "signing key" in run.stderr and "Traceback" not in run.stderr, run.stderr
        assert not [p for p in (mnt / "gatecheck").iterdir()], "temporary key files left"
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True, timeout=30)


def test_a_key_created_by_concurrent_runs_is_one_key(tmp_path: Path, xdg: Path) -> None:
    """Security item 5 (the race the atomic creation must survive): first runs racing to
    create the key agree on one full, private key and leave no temporary file."""
    repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD})
    env = {**os.environ, "XDG_CACHE_HOME": str(xdg)}
    exe = str(Path(sys.executable).parent / "gatecheck")
    racers = [subprocess.Popen([exe, "run", "-f", "json"], cwd=repo, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
              for _ in range(4)]
    errs = [p.communicate(timeout=120)[1].decode() for p in racers]
    assert all("signing key" not in e for e in errs), errs
    key = xdg / "gatecheck" / "key"
    assert len(key.read_bytes()) == 32 and (key.stat().st_mode & 0o077) == 0
    assert [p.name for p in key.parent.iterdir() if p.name != "schemas"] == ["key"]


# ---------------------------------------------------------------- items 6, 12: source files


@pytest.mark.parametrize("in_git", [False, True], ids=["plain-tree", "git-work-tree"])
def test_a_symlink_leaving_the_repository_is_not_read(tmp_path: Path, in_git: bool,
                                                      env: dict[str, str]) -> None:
    """Security item 6: a committed ``leak.sql -> ../secret`` is refused (an error naming
    the link) and the secret's text appears nowhere in the output; a link into ``.git``
    (its config can hold the CI token) is refused the same way; links that stay inside
    the repository keep working."""
    (tmp_path / "secret").write_text(SECRET + "\n")
    repo = tmp_path / "repo"
    if in_git:
        new_repo(repo, env)
        git_ok("config", "http.extraheader", f"AUTHORIZATION: basic {SECRET}", cwd=repo,
               env=env)
    write_tree(repo, {"rules.yaml": RULES, **GOOD, "real/q.sql": "DELETE FROM task_sessions;\n"})
    (repo / "leak.sql").symlink_to("../secret")
    (repo / "abs.sql").symlink_to(tmp_path / "secret")
    (repo / "alias.sql").symlink_to("real/q.sql")
    if in_git:
        (repo / "gitcfg.sql").symlink_to(".git/config")
    for fmt in ("text", "json"):
        run = bounded("run", "--format", fmt, cwd=repo, env=env)
        assert run.exit_code == 2, run.stderr
        assert "SUPERSECRET" not in run.stdout + run.stderr
        assert "Traceback" not in run.stderr
    assert "leak.sql: symbolic link to a file outside the repository; skipped" in run.stderr
    assert "abs.sql: symbolic link to a file outside the repository; skipped" in run.stderr
    if in_git:
        assert "gitcfg.sql: symbolic link into .git; skipped" in run.stderr
    paths = {(f["path"], f["line"]) for f in run.json["findings"]
             if f["rule"] == "no-task-sessions"}
    assert paths == {("alias.sql", 1), ("good.sql", 1), ("real/q.sql", 1)}
    # Explicit file arguments (as pre-commit passes them) get the same treatment.
    run = bounded("run", "alias.sql", "good.sql", cwd=repo, env=env)
    assert run.exit_code == 1 and "real/q.sql:1:13: no-task-sessions" in run.stdout, run.stderr


def test_fifos_devices_and_endless_files_are_never_read(tmp_path: Path) -> None:
    """Security item 12: outside a git work tree a FIFO named ``x.sql`` is not opened (it
    hung the run) and a link to ``/dev/urandom`` is not read (without bound, before); the
    other files are checked. Named on the command line, they are refused with an error."""
    repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD,
                                          "inner/target.sql": "SELECT 1;\n"})
    os.mkfifo(repo / "x.sql")
    os.mkfifo(repo / "inner" / "pipe.sql")
    (repo / "rand.sql").symlink_to("/dev/urandom")
    (repo / "to-pipe.sql").symlink_to("inner/pipe.sql")
    run = bounded("run", cwd=repo)
    assert "good.sql:1:15: no-task-sessions" in run.stdout, run.stderr
    assert "rand.sql: symbolic link to a file outside the repository; skipped" in run.stderr
    assert "to-pipe.sql: not a regular file (a FIFO); skipped" in run.stderr
    assert run.exit_code == 2 and "Traceback" not in run.stderr
    run = bounded("run", "x.sql", "good.sql", cwd=repo)
    assert run.exit_code == 2, run.stderr
    assert "x.sql: not a regular file (a FIFO); skipped" in run.stderr
    assert "good.sql:1:15: no-task-sessions" in run.stdout


# ---------------------------------------------------------------- item 9: --changed-since


def test_changed_since_cannot_pass_an_option_to_git(tmp_path: Path, env: dict[str, str]) -> None:
    """Security item 9: ``--changed-since=--output=FILE`` is refused before git sees it
    (git created or truncated FILE); an unknown ref is a clear exit 2."""
    repo = new_repo(tmp_path / "repo", env)
    write_tree(repo, {"rules.yaml": RULES, **GOOD})
    git_ok("add", "-A", cwd=repo, env=env)
    git_ok("commit", "-q", "-m", "base", cwd=repo, env=env)
    (repo / "precious.txt").write_text("keep me\n")
    for ref in ("--output=pwned.txt", "--output=precious.txt", "-p"):
        run = bounded("run", f"--changed-since={ref}", cwd=repo, env=env)
        assert run.exit_code == 2, run.stdout + run.stderr
        assert "not a git ref" in run.stderr and "Traceback" not in run.stderr
    assert not (repo / "pwned.txt").exists(), "git was handed an option"
    assert (repo / "precious.txt").read_text() == "keep me\n"
    run = bounded("run", "--changed-since", "no-such-ref", cwd=repo, env=env)
    assert run.exit_code == 2
    assert "--changed-since no-such-ref: not a commit in this repository" in run.stderr
    (repo / "good.sql").write_text("SELECT 1;\nDELETE FROM task_sessions;\n")
    run = bounded("run", "--changed-since", "main", cwd=repo, env=env)
    assert run.exit_code == 1 and "good.sql:2:13: no-task-sessions" in run.stdout, run.stderr


# ---------------------------------------------------------------- item 10: the cache directory


def test_a_dangling_gitignore_link_in_the_cache_is_not_written_through(
        tmp_path: Path, xdg: Path) -> None:
    """Security item 10: ``.gatecheck_cache/.gitignore -> ../../outside/made`` does not make
    gatecheck create a file outside the repository; the cache still works."""
    (tmp_path / "outside").mkdir()
    repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD})
    (repo / ".gatecheck_cache").mkdir()
    (repo / ".gatecheck_cache" / ".gitignore").symlink_to("../../outside/made")
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 1, run.stderr
    assert not (tmp_path / "outside" / "made").exists(), "wrote through a dangling link"
    assert (repo / ".gatecheck_cache" / ".gitignore").is_symlink()


def test_a_symlinked_cache_directory_is_not_used(tmp_path: Path, xdg: Path) -> None:
    """Security item 10: a ``.gatecheck_cache`` that is a symbolic link (to a directory
    outside the repository) receives nothing, is not read, and the run says so."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD})
    (repo / ".gatecheck_cache").symlink_to("../elsewhere")
    run = gatecheck("run", cwd=repo)
    assert run.exit_code == 1, run.stderr
    assert list(elsewhere.iterdir()) == [], "the cache went through the link"
    assert "warning: .gatecheck_cache is a symbolic link; no cache" in run.stderr


@pytest.mark.parametrize("how", ["dev-zero", "huge-sparse"])
def test_a_cache_file_is_read_only_if_regular_and_bounded(tmp_path: Path, xdg: Path,
                                                          how: str) -> None:
    """Security item 10: a cache file linked to ``/dev/zero`` (read until memory ran out)
    or a regular file past the size limit is not read; the run works without it."""
    repo = write_tree(tmp_path / "repo", {"rules.yaml": RULES, **GOOD})
    target = cache_file(repo)
    target.parent.mkdir()
    if how == "dev-zero":
        target.symlink_to("/dev/zero")
    else:
        with open(target, "wb") as fh:  # sparse: nothing written to disk
            fh.truncate(3 * 1024 * 1024 * 1024)
    run = bounded("run", cwd=repo, env={**os.environ, "XDG_CACHE_HOME": str(xdg)},
                  memory=1024 * 1024 * 1024)
    assert run.exit_code == 1, run.stderr
    assert "good.sql:1:15: no-task-sessions" in run.stdout
    assert "ignoring unreadable cache" in run.stderr and "Traceback" not in run.stderr


def test_signed_load_refuses_links_and_oversized_files(tmp_path: Path, xdg: Path) -> None:
    """Security item 10: `signed.load` (the schema caches use it too) never follows a
    symbolic link and never reads past its size limit."""
    from gatecheck import signed

    (tmp_path / "real.pickle").write_bytes(b"")
    (tmp_path / "link.pickle").symlink_to(tmp_path / "real.pickle")
    with pytest.raises(signed.Unreadable, match="symbolic link"):
        signed.load(tmp_path / "link.pickle")
    with open(tmp_path / "big.pickle", "wb") as fh:
        fh.truncate(signed.MAX_BYTES + 1)
    with pytest.raises(signed.Unreadable, match="limit"):
        signed.load(tmp_path / "big.pickle")
    with pytest.raises(FileNotFoundError):
        signed.load(tmp_path / "missing.pickle")


# ---------------------------------------------------------------- item 12: include depth


def test_a_long_include_chain_is_a_clear_error(tmp_path: Path) -> None:
    """Security item 12: ~600 chained packs gave ``internal error: RecursionError``; past
    the include depth limit the include that goes too deep is an error, exit 2."""
    from gatecheck.config import MAX_INCLUDE_DEPTH

    files = {"rules.yaml": "version: 1\ninclude: [p1.yaml]\n"}
    for i in range(1, 600):
        files[f"p{i}.yaml"] = f"version: 1\ninclude: [p{i + 1}.yaml]\n"
    files["p600.yaml"] = "version: 1\nrules:\n  - {id: deep, kind: sql-parses}\n"
    write_tree(tmp_path, files)
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "internal error" not in run.stderr
    depth = MAX_INCLUDE_DEPTH
    assert (f"p{depth}.yaml:2:11: include: p{depth + 1}.yaml is nested more than {depth} "
            f"includes deep; the limit is {depth}") in run.stderr, run.stderr
    # At the limit, a chain loads.
    write_tree(tmp_path, {f"p{depth}.yaml": "version: 1\nrules:\n  - {id: deep, kind: sql-parses}\n"})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 0, run.stderr
