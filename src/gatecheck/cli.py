"""The ``gatecheck`` command line: flags, config discovery, reporters, exit codes.

Exit codes: 0 clean (no finding at or above ``--fail-on``), 1 findings,
2 usage, configuration, source or database errors.  Errors go to stderr as
one line each, location first, and never as a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from gatecheck import __version__
from gatecheck.errors import GatecheckError

#: --format value -> reporter module under gatecheck.report (each has render(result)).
FORMATS = {"text": "text", "json": "json", "sarif": "sarif", "github": "github",
           "junit": "junit"}
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
_F = TypeVar("_F", bound=Callable[..., Any])


class _Group(click.Group):
    """Turns any uncaught `GatecheckError` into one stderr line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        from gatecheck.redact import forget_all

        forget_all()  # each run's secrets are its own (tests run many in one process)
        try:
            return super().invoke(ctx)
        except GatecheckError as exc:
            _error(str(exc))
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line and exit 2, not a traceback
            if isinstance(exc, OSError) and exc.filename is not None:
                # Not a bug: a path the user gave that the system refuses
                # (a name too long, a loop of links...).
                _error(str(GatecheckError(exc.strerror or str(exc), path=str(exc.filename))))
                ctx.exit(EXIT_ERROR)
            if os.environ.get("GATECHECK_DEBUG"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (this is a gatecheck bug; "
                   "rerun with GATECHECK_DEBUG=1 for the traceback and report it)")
            ctx.exit(EXIT_ERROR)


def _error(message: str) -> None:
    for line in message.splitlines() or [message]:
        _say(f"gatecheck: error: {line}")


def _say(line: str) -> None:
    """One line on stderr, with no secret and no control character in it."""
    from gatecheck.redact import safe_lines

    click.echo(safe_lines(line), err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="gatecheck")
def main() -> None:
    """Schema gates for CI: checks a live database schema and the SQL in your code."""


def _resolve(paths: tuple[str, ...], config: str | None) -> tuple[Path, Path, list[str] | None]:
    """(rules file, root directory, explicit files or None)."""
    from gatecheck.config import find_config

    dirs = [Path(p) for p in paths if Path(p).is_dir()]
    files = [Path(p) for p in paths if not Path(p).is_dir()]
    for p in files:
        if not p.exists():
            raise GatecheckError(f"{p}: no such file or directory")
    if len(dirs) > 1 or (dirs and files):
        raise GatecheckError("give one directory, or any number of files")
    start = dirs[0] if dirs else Path.cwd()
    if config is not None:
        config_path = Path(config)
        if not config_path.is_file():
            raise GatecheckError(f"{config}: rules file not found")
        root = dirs[0] if dirs else config_path.parent
    else:
        found = find_config(start)
        if found is None:
            raise GatecheckError(
                f"no rules.yaml found in {start.resolve()} or its parents; "
                "create one with 'gatecheck init' or pass --config FILE")
        config_path, root = found, found.parent
    root = root.resolve()
    only = None
    if files:
        only = []
        for p in files:
            try:
                only.append(p.resolve().relative_to(root).as_posix())
            except ValueError:
                raise GatecheckError(f"{p}: outside the checked directory {root}") from None
    return config_path, root, only


def _check_options(f: Any) -> Any:
    """Options shared by ``run`` and ``baseline``: what to check and against what."""
    for option in reversed([
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--config", "-c", "config", metavar="FILE",
                     help="Rules file (default: rules.yaml in PATH or the nearest parent)."),
        click.option("--db", "db_url", metavar="URL",
                     help="Database URL overriding the rules file's, e.g. sqlite:///app.db."),
        click.option("--select", multiple=True, metavar="IDS",
                     help="Run only these rule ids (comma-separated; repeatable)."),
        click.option("--ignore", multiple=True, metavar="IDS",
                     help="Skip these rule ids (comma-separated; repeatable)."),
        click.option("--changed-since", metavar="REF",
                     help="Source rules check only files changed since this git ref "
                          "(schema and data rules still run)."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
                     help="Worker processes for source files (default: one per CPU, "
                          "when there are enough files to pay for them)."),
        click.option("--no-cache", is_flag=True,
                     help="Do not read or write .gatecheck_cache/."),
        *_policy_options(),
    ]):
        f = option(f)
    return f


def _policy_options(*, data: bool = True) -> list[Any]:
    """Grants a rules file cannot make (`gatecheck.policy`): only these flags widen a run.

    ``data``: include the flags about data rules (not for ``schema``).
    """
    from gatecheck.policy import DEFAULT_REPLAY_TIMEOUT_S

    outside = click.option(
        "--allow-outside-includes", is_flag=True,
        help="Let include: packs and the migrations/seed_data globs resolve outside the "
             "repository.")
    privileged = click.option(
        "--allow-privileged-role", is_flag=True,
        help="Let data rules and PostgreSQL replays run as a superuser or a member of the "
             "server-file, program or signal roles.")
    show = click.option(
        "--show-data", is_flag=True,
        help="Print database values (query rows, sample keys, versions, dates) in "
             "findings; hidden by default, as CI logs may be public.")
    no_data = click.option(
        "--no-data-rules", is_flag=True,
        help="Do not run rules that query rows (e.g. on pull requests from forks); "
             "schema and source rules still run.")
    timeout = click.option(
        "--replay-timeout", type=click.FloatRange(min=0, min_open=True),
        default=DEFAULT_REPLAY_TIMEOUT_S, show_default=True, metavar="SECONDS",
        help="Overall time limit of a migrations replay.")
    return [outside, privileged, *((show, no_data) if data else ()), timeout]


def _policy(allow_outside_includes: bool = False, allow_privileged_role: bool = False,
            show_data: bool = False, no_data_rules: bool = False,
            replay_timeout: float | None = None) -> Any:
    from gatecheck.policy import DEFAULT_REPLAY_TIMEOUT_S, Policy

    return Policy(allow_outside_includes=allow_outside_includes,
                  allow_privileged_role=allow_privileged_role, show_data=show_data,
                  data_rules=not no_data_rules,
                  replay_timeout_s=replay_timeout or DEFAULT_REPLAY_TIMEOUT_S)


def _ids(values: tuple[str, ...]) -> set[str]:
    return {i.strip() for v in values for i in v.split(",") if i.strip()}


def _db_spec(db_url: str, schemas: tuple[str, ...] = ()) -> Any:
    """The `DatabaseSpec` of a ``--db`` URL: ``${ENV}`` expanded, paths relative to the CWD."""
    from gatecheck.config import DatabaseSpec, expand_env

    try:
        url = expand_env(db_url)
    except KeyError as exc:
        raise GatecheckError(f"--db: environment variable {exc.args[0]} is not set") from None
    return DatabaseSpec(url=url, base_dir=Path.cwd(), schemas=schemas)


def _engine(paths: tuple[str, ...], config: str | None, db_url: str | None,
            select: tuple[str, ...], ignore: tuple[str, ...], changed_since: str | None,
            jobs: int | None, no_cache: bool, allow_outside_includes: bool,
            allow_privileged_role: bool, show_data: bool, no_data_rules: bool,
            replay_timeout: float, **engine_options: Any) -> Any:
    import dataclasses

    from gatecheck.config import load_config
    from gatecheck.engine import Engine

    policy = _policy(allow_outside_includes, allow_privileged_role, show_data, no_data_rules,
                     replay_timeout)
    config_path, root, only = _resolve(paths, config)
    cfg = load_config(config_path, display_root=root, policy=policy)
    known = {r.id for r in cfg.rules}
    selected, ignored = _ids(select), _ids(ignore)
    for flag, ids in (("--select", selected), ("--ignore", ignored)):
        unknown = sorted(ids - known)
        if unknown:
            raise GatecheckError(f"{flag}: unknown rule id {unknown[0]!r}; rules: "
                                 f"{', '.join(sorted(known))}")
    if selected or ignored:
        cfg = dataclasses.replace(cfg, rules=tuple(
            r for r in cfg.rules if (not selected or r.id in selected) and r.id not in ignored))
    if changed_since is not None:
        from gatecheck.paths import changed_files

        changed = changed_files(root, changed_since)
        only = sorted(changed if only is None else set(only) & set(changed))
    database = None
    if db_url is not None:
        # --db swaps the database, not the choice of schemas to check in it.
        database = _db_spec(db_url, cfg.database.schemas if cfg.database is not None else ())
    return Engine(cfg, root, only=only, database=database, jobs=jobs, use_cache=not no_cache,
                  policy=policy, **engine_options)


@main.command()
@_check_options
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="info",
              show_default=True, help="Lowest severity that makes the exit code 1.")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE, not stdout.")
@click.option("--baseline", "baseline_file", metavar="FILE",
              help="Report only findings not recorded in this baseline file.")
@click.option("--warn-unused-ignores", is_flag=True,
              help="Report suppression comments that suppress nothing.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a TTY).")
@click.option("--verbose", "-v", is_flag=True,
              help="Also print what was not checked (unresolvable references...) on stderr.")
def run(fmt: str, fail_on: str, output: str | None, baseline_file: str | None,
        warn_unused_ignores: bool, color: bool | None, verbose: bool, **check: Any) -> None:
    """Check the rules of PATH's rules.yaml (PATH: a directory, default '.', or files)."""
    import importlib

    from gatecheck.findings import Severity

    baseline = None
    if baseline_file is not None:
        from gatecheck.suppress import read_baseline

        baseline = read_baseline(Path(baseline_file))
    result = _engine(**check, warn_unused_ignores=warn_unused_ignores, baseline=baseline).run()

    reporter = importlib.import_module(f"gatecheck.report.{FORMATS[fmt]}")
    if fmt == "text":
        use_colour = color if color is not None else (output is None and sys.stdout.isatty()
                                                        and "NO_COLOR" not in os.environ)
        text = reporter.render(result, colour=use_colour)
    else:
        text = reporter.render(result)
    for err in result.errors:
        _error(str(err))
    for note in result.warnings:
        _say(f"gatecheck: warning: {note}")
    if baseline is not None:
        _say(f"gatecheck: baseline: {result.baselined} known finding(s) not reported, "
                   f"{result.fixed} baseline entr{'y' if result.fixed == 1 else 'ies'} "
                   "now fixed")
    if verbose:
        for what, n in result.stats.items():
            _say(f"gatecheck: {what}: {n}")
        for u in result.unchecked:
            name = f"{u.name}: " if u.name else ""
            _say(f"gatecheck: not checked: {u.path}:{u.line}:{u.column}: {name}{u.why} "
                 f"[{u.rule}]")
    _write(text, output, commands=fmt == "github")
    threshold = Severity.parse(fail_on)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(f.severity >= threshold for f in result.findings)
             else EXIT_CLEAN)


def _write(text: str, output: str | None, *, commands: bool = False) -> None:
    """The report, scrubbed of secrets and control characters (`gatecheck.redact`)."""
    from gatecheck.redact import safe_lines

    text = safe_lines(text, commands=commands)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GatecheckError(f"--output {output}: {exc.strerror or exc}") from None


@main.command()
@_check_options
@click.option("--output", "-o", metavar="FILE", default=".gatecheck-baseline.json",
              show_default=True, help="Where to write the baseline.")
def baseline(output: str, **check: Any) -> None:
    """Record today's findings so that 'run --baseline FILE' reports only new ones."""
    from gatecheck.suppress import write_baseline

    result = _engine(**check).run()
    for err in result.errors:
        _error(str(err))
    if result.errors:
        raise GatecheckError("baseline not written: fix the errors above first")
    try:
        write_baseline(Path(output), result.findings)
    except OSError as exc:
        raise GatecheckError(f"--output {output}: {exc.strerror or exc}") from None
    click.echo(f"gatecheck: wrote {len(result.findings)} finding(s) to {output}", err=True)


@main.command()
@click.argument("kind", required=False)
def explain(kind: str | None) -> None:
    """Explain a rule KIND: what it checks, why, an example, the fix (no KIND: list kinds)."""
    from gatecheck.kinds.registry import KINDS

    if kind is None:
        for name in sorted(KINDS):
            click.echo(f"{name:26} {_first_line(KINDS[name].__doc__)}")
        return
    module = KINDS.get(kind)
    if module is None:
        raise GatecheckError(f"unknown kind {kind!r}; valid kinds: {', '.join(sorted(KINDS))}")
    click.echo(f"{kind}\n\n{(module.__doc__ or '').strip()}")


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


@main.command("rules")
@click.argument("path", required=False, type=click.Path())
@click.option("--config", "-c", "config", metavar="FILE", help="Rules file.")
def rules_cmd(path: str | None, config: str | None) -> None:
    """List the active rules: id, kind, severity and where each was declared."""
    from gatecheck.config import load_config

    config_path, root, _ = _resolve((path,) if path else (), config)
    cfg = load_config(config_path, display_root=root)
    for rule in cfg.rules:
        click.echo(f"{rule.id:32} {rule.kind:26} {rule.severity.label:8} {rule.origin}")


def _with(options: list[Any]) -> Callable[[_F], _F]:
    """Apply click options given as a list."""
    def decorate(f: _F) -> _F:
        for option in reversed(options):
            f = option(f)
        return f
    return decorate


@main.command()
@click.argument("path", required=False, type=click.Path())
@click.option("--config", "-c", "config", metavar="FILE", help="Rules file.")
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: the rules file's).")
@_with(_policy_options(data=False))
def schema(path: str | None, config: str | None, db_url: str | None,
           **grants: Any) -> None:
    """Print the introspected schema as JSON."""
    import json

    from gatecheck.config import load_config
    from gatecheck.introspect import load_schema

    policy = _policy(**grants)
    if db_url is not None:
        spec = _db_spec(db_url)
    else:
        config_path, root, _ = _resolve((path,) if path else (), config)
        cfg = load_config(config_path, display_root=root, policy=policy)
        if cfg.database is None:
            raise GatecheckError("no database: set 'database:' in the rules file or pass --db")
        spec = cfg.database
    click.echo(json.dumps(load_schema(spec, policy).to_json(), indent=2))


@main.command()
@click.option("--db", "db_url", metavar="URL",
              help="Propose rules from this live database (e.g. sqlite:///app.db).")
@click.option("--output", "-o", default="rules.yaml", show_default=True, metavar="FILE",
              help="Where to write the starter rules file.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init(db_url: str | None, output: str, force: bool) -> None:
    """Write a starter rules.yaml (with rules proposed from the schema when --db is given)."""
    from gatecheck.scaffold import starter_rules

    target = Path(output)
    if target.exists() and not force:
        raise GatecheckError(f"{output} exists; pass --force to overwrite it")
    schema = None
    if db_url is not None:
        from gatecheck.introspect import load_schema

        schema = load_schema(_db_spec(db_url))
    from gatecheck.redact import url as redact_url

    # A URL with a password is a secret: the rules file is committed, so it
    # gets a reference to the environment instead.
    secret = db_url is not None and "${" not in db_url and redact_url(db_url) != db_url
    text = starter_rules("${DATABASE_URL}" if secret else db_url, schema)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GatecheckError(f"--output {output}: {exc.strerror or exc}") from None
    _say(f"gatecheck: wrote {output}; check it with 'gatecheck run'")
    if secret:
        _say("gatecheck: the URL holds a password, so the file says database: "
             "${DATABASE_URL}; set DATABASE_URL to the URL (a CI secret), never commit it")
