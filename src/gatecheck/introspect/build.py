"""Schema from the project's own migrate command: ``database: {build: COMMAND}``.

Some projects cannot be rebuilt from their SQL files alone: their runner
runs Python between the files (adds a column before v31, skips files owned by
a component).  ``build:`` names the project's own migrate entry point;
gatecheck runs it against a fresh scratch database named by ``GATECHECK_DB``
(a SQLite file in a new temporary directory, or a scratch database on the
``replay_url`` PostgreSQL server), then checks what it built like a replay.

It runs the repository's code, so it is a grant (docs/security.md):

- it runs only with ``--allow-build`` (`Policy.allow_build`), never because
  the rules file asks; without it a configured ``build:`` is an error naming
  the flag, and nothing is started;
- no shell: the argv is the rules file's list, or its string split into words
  (`gatecheck.config`);
- the working directory is the rules file's directory (where the project's
  code is); the database, ``TMPDIR`` and the command's output live in the
  temporary directory, removed afterwards;
- a minimal environment (`PASSED_ENV` plus ``GATECHECK_DB``): the job's
  secrets (a ``DATABASE_URL``, tokens, ``PG*`` settings) are not handed on,
  so a migrate script that falls back to them cannot reach a real database;
- a deadline, ``Policy.replay_timeout_s`` (``--replay-timeout``), shared with
  the ``seed_data`` replay that follows; past it, or once the command exits,
  its whole process group is killed, so nothing it started outlives it;
- its output (the last `MAX_OUTPUT_BYTES`) is kept, and shown, with control
  characters escaped and secrets scrubbed, only when it fails.
"""

from __future__ import annotations

import os
import selectors
import shlex
import signal
import sqlite3
import stat
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from gatecheck.config import DatabaseSpec
from gatecheck.errors import DatabaseError
from gatecheck.introspect import Database, redact
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy

#: The end of the command's output kept to show when it fails.
MAX_OUTPUT_BYTES = 64 * 1024
#: What the command inherits from gatecheck's environment: what finds programs
#: and Python code and sets the locale, nothing that holds a secret.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", "VIRTUAL_ENV",
              "SYSTEMROOT")
#: Name of the variable that tells the command where to build.
DB_VARIABLE = "GATECHECK_DB"
#: After the command exits, how long output still in the pipe is waited for.
_DRAIN_S = 1.0
_POLL_S = 0.05


class BuildError(DatabaseError):
    """The ``build:`` command failed: the message, then the end of its output."""

    def __init__(self, message: str, output: str = "") -> None:
        from gatecheck.redact import inert

        # Each line of it is the repository's text: no control character may
        # act on the terminal or start a workflow command.  Set before
        # __init__, which renders __str__.
        self.output = "\n".join(inert(line) for line in output.split("\n"))
        super().__init__(message)

    def __str__(self) -> str:
        lines = self.output.split("\n") if self.output else []
        return super().__str__() + "".join(f"\n  | {line}" for line in lines)


def shown(argv: Sequence[str]) -> str:
    """The command as a shell would spell it, in backticks: for messages."""
    return f"`{shlex.join(argv)}`"


def refuse_unless_allowed(spec: DatabaseSpec, policy: Policy) -> None:
    if not policy.allow_build:
        raise DatabaseError(
            f"database › build: {shown(spec.build)} would run the repository's own code, "
            "which a rules file cannot grant (a change to the repository could); pass "
            "--allow-build on the command line (Action input allow-build: true) to run it")


def build(spec: DatabaseSpec, policy: Policy = DEFAULT_POLICY) -> Database:
    """Run ``spec.build`` into a scratch database, apply ``seed_data``, open it read-only."""
    from gatecheck.introspect.migrations import find_seeds

    refuse_unless_allowed(spec, policy)
    seeds = find_seeds(spec, policy)
    source = f"build:{shlex.join(spec.build)}"
    if spec.replay_url is not None:
        from gatecheck.introspect import postgres, postgres_replay

        if not postgres.is_postgres_url(spec.replay_url):
            raise DatabaseError(f"database › replay_url: expected a postgresql:// server URL, "
                                f"got {redact(spec.replay_url)}")

        def run_into(url: str, deadline: float) -> None:
            with tempfile.TemporaryDirectory(prefix="gatecheck-build-",
                                             ignore_cleanup_errors=True) as scratch:
                run(spec.build, cwd=spec.base_dir, scratch=Path(scratch), database=url,
                    deadline=deadline, timeout_s=policy.replay_timeout_s)

        return postgres_replay.replay(spec, [], seeds, policy, build=run_into, source=source)
    if spec.schemas:
        raise DatabaseError("database › schemas: only PostgreSQL has schemas; a build: "
                            "command builds a SQLite database unless replay_url names a "
                            "PostgreSQL server")
    return _build_sqlite(spec, seeds, policy, source)


def _build_sqlite(spec: DatabaseSpec, seeds: list[Path], policy: Policy,
                  source: str) -> Database:
    from gatecheck.introspect.migrations import _PROGRESS_STEPS, _Deadline, apply_files
    from gatecheck.introspect.sqlite import SQLiteDatabase
    from gatecheck.introspect.sqlite_guard import guard

    deadline = _Deadline(policy.replay_timeout_s)
    # ignore_cleanup_errors: files the command left unremovable do not fail the run.
    with tempfile.TemporaryDirectory(prefix="gatecheck-build-",
                                     ignore_cleanup_errors=True) as scratch:
        target = Path(scratch) / "build.sqlite"
        run(spec.build, cwd=spec.base_dir, scratch=Path(scratch), database=str(target),
            deadline=deadline.at, timeout_s=policy.replay_timeout_s)
        conn = _copy_into_memory(target, spec.build)
    # From here on it is a replayed database like any other: guarded, and
    # seed files replay into it under what is left of the deadline.
    authorizer = guard(conn, settings=True)
    conn.set_progress_handler(deadline.handler, _PROGRESS_STEPS)
    try:
        problem = apply_files(conn, seeds, authorizer=authorizer, deadline=deadline)
    finally:
        conn.set_progress_handler(None, 0)
    authorizer.settings = False
    conn.execute("PRAGMA query_only = ON")
    db = SQLiteDatabase(conn, source=source, authorizer=authorizer)
    if problem is not None:
        db.problems.append(problem)
    return db


def _copy_into_memory(path: Path, argv: Sequence[str]) -> sqlite3.Connection:
    """The database the command wrote at ``path``, copied into memory.

    The copy outlives the temporary directory, and nothing of it is on disk
    for a process the command left behind to change under the rules.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise DatabaseError(f"database › build: {shown(argv)} succeeded but wrote no "
                            f"database: it must create the SQLite file named by "
                            f"${DB_VARIABLE}") from None
    if not stat.S_ISREG(mode):
        raise DatabaseError(f"database › build: {shown(argv)} left something other than "
                            f"a regular file at ${DB_VARIABLE} (a link, a directory...)")
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    try:
        # Read-write is harmless here (the file is gatecheck's scratch copy)
        # and lets SQLite finish a journal the command left behind.
        built = sqlite3.connect(path, isolation_level=None)
        try:
            built.backup(memory)
        finally:
            built.close()
    except sqlite3.Error as exc:
        memory.close()
        raise DatabaseError(f"database › build: {shown(argv)} left a file at "
                            f"${DB_VARIABLE} that SQLite cannot read: {exc}") from None
    return memory


def environment(database: str, scratch: Path) -> dict[str, str]:
    """The command's whole environment: `PASSED_ENV`, ``GATECHECK_DB``, ``TMPDIR``."""
    env = {name: os.environ[name] for name in PASSED_ENV if name in os.environ}
    env[DB_VARIABLE] = database
    # Python's output then reaches the pipe as it is written, in order, and
    # is not lost in a buffer when the command is killed at the deadline.
    env["PYTHONUNBUFFERED"] = "1"
    for name in ("TMPDIR", "TMP", "TEMP"):
        env[name] = str(scratch)
    return env


def run(argv: Sequence[str], *, cwd: Path, scratch: Path, database: str, deadline: float,
        timeout_s: float) -> None:
    """Run ``argv`` until it exits or ``deadline`` (``time.monotonic()``) passes.

    `BuildError`, with the end of the output, unless it exits 0 in time.
    Its process group is killed when it exits, when it runs out of time, and
    when gatecheck is interrupted.
    """
    command = shown(argv)
    try:
        proc = subprocess.Popen(list(argv), cwd=cwd, env=environment(database, scratch),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                close_fds=True)
    except OSError as exc:
        raise DatabaseError(f"database › build: cannot run {command}: "
                            f"{exc.strerror or exc}") from None
    output = bytearray()
    timed_out = False
    try:
        with _sigterm_unwinds():
            timed_out = _wait(proc, output, deadline)
    finally:
        _kill_group(proc)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if timed_out:
        raise BuildError(f"database › build: {command} did not finish within the time "
                         f"limit of {timeout_s:g} s and was stopped (raise it with "
                         "--replay-timeout SECONDS); its output:", _tail(output))
    if proc.returncode != 0:
        how = f"exited with status {proc.returncode}" if proc.returncode > 0 else \
            f"was killed by {_signal_name(-proc.returncode)}"
        raise BuildError(f"database › build: {command} {how}; its output:", _tail(output))


def _wait(proc: "subprocess.Popen[bytes]", output: bytearray, deadline: float) -> bool:
    """Collect output until the command has exited and the pipe is drained; True: timed out.

    The command may leave a process behind that holds the pipe open: output
    is read for at most `_DRAIN_S` after the command itself ends, and the
    group is killed as soon as it does.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    done_at: float | None = None
    timed_out = False
    eof = False
    try:
        while True:
            now = time.monotonic()
            if done_at is None:
                if _exited(proc):
                    done_at = now
                    _kill_group(proc)
                elif now >= deadline:
                    done_at, timed_out = now, True
                    _kill_group(proc)
            if done_at is not None and (eof or now - done_at >= _DRAIN_S):
                return timed_out
            if eof:
                time.sleep(_POLL_S)
                continue
            if not selector.select(_POLL_S):
                continue
            try:
                chunk = os.read(fd, MAX_OUTPUT_BYTES)
            except BlockingIOError:
                continue
            if not chunk:
                eof = True
                selector.unregister(fd)
                continue
            output += chunk
            del output[:-MAX_OUTPUT_BYTES]
    finally:
        selector.close()


def _exited(proc: "subprocess.Popen[bytes]") -> bool:
    """Has the command exited?  Not reaped yet where possible (see `_kill_group`)."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return proc.poll() is not None
    try:
        # WNOWAIT leaves the zombie in place: its process group id stays
        # reserved, so killing the group cannot hit a stranger who reused it.
        return waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    """SIGKILL the command and everything it started (its own session and group).

    Called before the command is reaped (see `_exited`), so the group id is still its own.
    """
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _tail(output: bytearray) -> str:
    """The output kept, decoded, with a note when its beginning was dropped."""
    text = bytes(output).decode("utf-8", "replace").rstrip("\n")
    if len(output) >= MAX_OUTPUT_BYTES:
        text = f"[... only the last {MAX_OUTPUT_BYTES // 1024} KB are shown]\n" + \
            text.split("\n", 1)[-1]
    return text or "(no output)"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C while the command runs, so its group is killed.

    (The command has its own session: a signal sent to gatecheck alone would
    otherwise leave it running.)
    """
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
