"""The ``gatecheck`` console entry: the common invocations without importing click.

Start-up is most of a warm run and of a pre-commit run on a few files, and
click (with ``inspect``, ``uuid``, ...) is the largest import gatecheck has.
So ``gatecheck --version`` and a plain ``gatecheck run`` -- paths, and only
the options `_RUN_OPTIONS` lists -- are handled here, without click; any
other command line (another command, ``--help``, another option, a mistake)
goes to the click application (`gatecheck.cli`), which also owns every
usage message.  The run itself is the CLI's (`gatecheck.cli.run`) for the
options handled here: the same engines, reports, stderr lines and exit
codes, which a test compares for each format.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from gatecheck import __version__

if TYPE_CHECKING:  # not imported for --version: it would be most of its time
    from typing import Any, Callable

#: Options of ``run`` handled here: name -> (parameter, takes a value).
_RUN_OPTIONS: dict[str, tuple[str, bool]] = {
    "--format": ("fmt", True), "-f": ("fmt", True),
    "--config": ("config", True), "-c": ("config", True),
    "--jobs": ("jobs", True), "-j": ("jobs", True),
    "--shard": ("shard", True),
    "--fail-on": ("fail_on", True),
    "--no-cache": ("no_cache", False),
    "--exit-zero": ("exit_zero", False),
    "--quiet": ("quiet", False), "-q": ("quiet", False),
}
#: --format values; `render` makes each (concise with the text reporter).
FORMATS = ("text", "concise", "json", "sarif", "github", "junit", "gitlab")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        sys.stdout.write(f"gatecheck, version {__version__}\n")
        return
    if args[:1] == ["run"]:
        options = parse_run(args[1:])
        if options is not None:
            if not options["no_cache"]:
                from gatecheck import replay

                kept = replay.lookup(args)
                if kept is not None:
                    try:
                        sys.exit(replay.replay(*kept))
                    except BrokenPipeError:  # as click does: the reader went away
                        sys.stdout = open(os.devnull, "w")
                        sys.exit(EXIT_FINDINGS)
            sys.exit(run(**options, argv=args))
    from gatecheck.cli import main as cli

    cli()


def parse_run(args: list[str]) -> dict[str, Any] | None:
    """``run``'s options from ``args``, or None for anything not handled here."""
    options: dict[str, Any] = {"paths": [], "fmt": "text", "config": None, "jobs": None,
                               "shard": None, "fail_on": "info", "no_cache": False,
                               "exit_zero": False, "quiet": False}
    seen: set[str] = set()
    i = 0
    only_paths = False
    while i < len(args):
        arg = args[i]
        i += 1
        if only_paths or not arg.startswith("-") or arg == "-":
            if arg == "" or arg == "-":
                return None
            options["paths"].append(arg)
            continue
        if arg == "--":
            only_paths = True
            continue
        name, eq, value = arg.partition("=")
        known = _RUN_OPTIONS.get(name if name.startswith("--") else arg)
        if known is None:
            return None
        param, takes = known
        if param in seen:
            return None  # click's rules for repeats: leave them to it
        seen.add(param)
        if not takes:
            if eq:
                return None
            options[param] = True
            continue
        if not eq:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        options[param] = value
    if options["fmt"] not in FORMATS or options["fail_on"] not in ("error", "warning", "info"):
        return None
    if options["jobs"] is not None:
        if not options["jobs"].isdigit() or int(options["jobs"]) < 1:
            return None
        options["jobs"] = int(options["jobs"])
    if options["shard"] is not None:
        index, sep, count = options["shard"].partition("/")
        if not (sep and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count)):
            return None
        options["shard"] = (int(index), int(count))
    return options


def run(paths: list[str], fmt: str, config: str | None, jobs: int | None,
        shard: tuple[int, int] | None, fail_on: str, no_cache: bool, exit_zero: bool,
        quiet: bool, argv: list[str] | None = None) -> int:
    """`gatecheck.cli.run` with these options (and the others at their defaults): the exit
    code.  ``argv``: the command line, to record the run for `gatecheck.replay`."""
    from gatecheck.errors import GatecheckError
    from gatecheck.redact import forget_all

    forget_all()
    _said.clear()
    try:
        return _run(paths, fmt, config, jobs, shard, fail_on, no_cache, exit_zero, quiet,
                    None if no_cache else argv)
    except BrokenPipeError:
        # As click does: the reader went away (``| head``); no traceback, no error line.
        sys.stdout = open(os.devnull, "w")
        return EXIT_FINDINGS
    except GatecheckError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line and exit 2, not a traceback
        if isinstance(exc, OSError) and exc.filename is not None:
            _error(str(GatecheckError(exc.strerror or str(exc), path=str(exc.filename))))
            return EXIT_ERROR
        if os.environ.get("GATECHECK_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (this is a gatecheck bug; "
               "rerun with GATECHECK_DEBUG=1 for the traceback and report it)")
        return EXIT_ERROR


def _run(paths: list[str], fmt: str, config: str | None, jobs: int | None,
         shard: tuple[int, int] | None, fail_on: str, no_cache: bool, exit_zero: bool,
         quiet: bool, argv: list[str] | None) -> int:
    import time

    started = time.time_ns()

    from gatecheck import targets
    from gatecheck.findings import Severity
    from gatecheck.policy import Policy

    threshold = Severity.parse(fail_on)
    found = targets.plan(tuple(paths), config)
    loaded = targets.engines(found, policy=Policy(), select=set(), ignore=set(),
                             changed_since=None, overrides=lambda cfg, several: {},
                             jobs=jobs, use_cache=not no_cache, shard=shard,
                             warn_unused_ignores=False)
    baselines = targets.read_baselines(loaded, None, use_configured=True)
    result = targets.check_all(loaded, baselines, found.orphans)
    human = for_humans(result)
    colour = fmt in ("text", "concise") and use_colour()
    text = render(fmt, result, human=human, colour=colour, quiet=quiet, fail_on=threshold)
    notes(human, result, baselines=bool(baselines), quiet=quiet, say=_say, error=_error)
    step_summary(result, say=_say)
    from gatecheck.redact import safe_lines

    out = safe_lines(text, commands=fmt == "github", colour=colour)
    sys.stdout.write(out)
    sys.stdout.flush()
    code = exit_code(result, threshold, exit_zero=exit_zero)
    if code == EXIT_ERROR:
        return code
    if argv is not None and not _said and not result.warnings:
        from gatecheck import replay

        replay.record(argv, found, loaded, out, code, started)
    return code


def notes(human: Any, result: Any, *, baselines: bool, quiet: bool,
          say: Callable[[str], None], error: Callable[[str], None]) -> None:
    """What a run says on stderr besides its report: errors, warnings (not with
    ``--quiet``) and what the baseline held back. ``human`` is the result with
    paths relative to the current directory; ``cli`` shares this."""
    for err in human.errors:
        error(str(err))
    if quiet:
        return
    for note in human.warnings:
        say(f"gatecheck: warning: {note}")
    if baselines:
        say(f"gatecheck: baseline: {result.baselined} known finding(s) not reported, "
            f"{result.fixed} baseline entr{'y' if result.fixed == 1 else 'ies'} now fixed")


def for_humans(result: Any) -> Any:
    """``result`` with paths relative to the current directory (outside the
    repository: absolute); reports for machines keep them from the root."""
    from pathlib import Path

    from gatecheck.engine import relocate

    # Inside the repository a path may climb (../frontend/a.py), as typed.
    return relocate(result, Path.cwd().resolve(), within=result.base)


def render(fmt: str, result: Any, *, human: Any = None, colour: bool = False,
           quiet: bool = False, fail_on: Any = None) -> str:
    """The report of format ``fmt`` (text and concise from ``human``, the result as
    `for_humans` gives it, made here when not given)."""
    import importlib

    if fmt in ("text", "concise"):
        from gatecheck.report import text

        return text.render(for_humans(result) if human is None else human,
                           colour=colour, concise=fmt == "concise", quiet=quiet)
    reporter = importlib.import_module(f"gatecheck.report.{fmt}")
    if fmt == "junit" and fail_on is not None:
        return reporter.render(result, fail_on=fail_on)  # type: ignore[no-any-return]
    return reporter.render(result)  # type: ignore[no-any-return]


def exit_code(result: Any, threshold: Any, *, exit_zero: bool) -> int:
    """2 when something could not run, 1 for a finding at ``threshold`` or above
    (0 with ``--exit-zero``), else 0."""
    if result.errors:
        return EXIT_ERROR
    failed = any(f.severity >= threshold for f in result.findings)
    return EXIT_FINDINGS if failed and not exit_zero else EXIT_CLEAN


def use_colour(flag: bool | None = None, output: str | None = None) -> bool:
    """--color/--no-color, else NO_COLOR (off), else FORCE_COLOR (on, as CI logs
    want), else on when the report goes to a terminal (no-color.org, force-color.org)."""
    if flag is not None:
        return flag
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return output is None and sys.stdout.isatty()


#: Lines written to stderr by this run (a run that said something is not replayed).
_said: list[str] = []


def _say(line: str) -> None:
    from gatecheck.redact import safe_lines

    _said.append(line)
    sys.stderr.write(safe_lines(line) + "\n")
    sys.stderr.flush()


def _error(message: str) -> None:
    for line in message.splitlines() or [message]:
        _say(f"gatecheck: error: {line}")


def step_summary(result: Any, *, say: Callable[[str], None]) -> None:
    """Append the Markdown summary to ``$GITHUB_STEP_SUMMARY`` when the runner sets it."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    from gatecheck.redact import scrub
    from gatecheck.report import markdown

    server, repository, sha = (os.environ.get(k, "") for k in
                               ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    blob = f"{server}/{repository}/blob/{sha}" if server and repository and sha else None
    text = scrub(markdown.render(result, blob_url=blob))
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        say(f"gatecheck: warning: GITHUB_STEP_SUMMARY {target}: {exc.strerror or exc}; "
            "no job summary written")
