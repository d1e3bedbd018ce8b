"""The ``gatecheck`` command line: flags, config discovery, reporters, exit codes.

Exit codes: 0 clean (no finding at or above ``--fail-on``), 1 findings,
2 usage, configuration, source or database errors.  Errors go to stderr as
one line each, location first, and never as a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from gatecheck import __version__
from gatecheck.errors import GatecheckError

FORMATS = ("text", "json")
EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class _Group(click.Group):
    """Turns any uncaught `GatecheckError` into one stderr line and exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GatecheckError as exc:
            _error(str(exc))
            ctx.exit(EXIT_ERROR)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line and exit 2, not a traceback
            if os.environ.get("GATECHECK_DEBUG"):
                raise
            _error(f"internal error: {type(exc).__name__}: {exc} (this is a gatecheck bug; "
                   "rerun with GATECHECK_DEBUG=1 for the traceback and report it)")
            ctx.exit(EXIT_ERROR)


def _error(message: str) -> None:
    for line in message.splitlines() or [message]:
        click.echo(f"gatecheck: error: {line}", err=True)


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


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "-c", "config", metavar="FILE",
              help="Rules file (default: rules.yaml in PATH or the nearest parent).")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True, help="Output format.")
@click.option("--db", "db_url", metavar="URL",
              help="Database URL overriding the rules file's, e.g. sqlite:///app.db.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default="info",
              show_default=True, help="Lowest severity that makes the exit code 1.")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE, not stdout.")
@click.option("--color/--no-color", default=None, help="Colour the text report (default: on a TTY).")
def run(paths: tuple[str, ...], config: str | None, fmt: str, db_url: str | None,
        fail_on: str, output: str | None, color: bool | None) -> None:
    """Check the rules of PATH's rules.yaml (PATH: a directory, default '.', or files)."""
    from gatecheck.config import DatabaseSpec, load_config
    from gatecheck.engine import Engine
    from gatecheck.findings import Severity

    config_path, root, only = _resolve(paths, config)
    cfg = load_config(config_path, display_root=root)
    database = None
    if db_url is not None:
        from gatecheck.config import expand_env

        try:
            database = DatabaseSpec(url=expand_env(db_url), base_dir=Path.cwd())
        except KeyError as exc:
            raise GatecheckError(f"--db: environment variable {exc.args[0]} is not set") from None
    result = Engine(cfg, root, only=only, database=database).run()

    if fmt == "json":
        from gatecheck.report import json as report
        text = report.render(result)
    else:
        from gatecheck.report import text as report_text
        use_colour = color if color is not None else (output is None and sys.stdout.isatty()
                                                        and "NO_COLOR" not in os.environ)
        text = report_text.render(result, colour=use_colour)
    for err in result.errors:
        _error(str(err))
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise GatecheckError(f"--output {output}: {exc.strerror or exc}") from None
    else:
        click.echo(text, nl=False)
    threshold = Severity.parse(fail_on)
    if result.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if any(f.severity >= threshold for f in result.findings)
             else EXIT_CLEAN)


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


@main.command()
@click.argument("path", required=False, type=click.Path())
@click.option("--config", "-c", "config", metavar="FILE", help="Rules file.")
@click.option("--db", "db_url", metavar="URL", help="Database URL (default: the rules file's).")
def schema(path: str | None, config: str | None, db_url: str | None) -> None:
    """Print the introspected schema as JSON."""
    import json

    from gatecheck.config import DatabaseSpec, load_config
    from gatecheck.introspect import load_schema

    if db_url is not None:
        spec = DatabaseSpec(url=db_url, base_dir=Path.cwd())
    else:
        config_path, root, _ = _resolve((path,) if path else (), config)
        cfg = load_config(config_path, display_root=root)
        if cfg.database is None:
            raise GatecheckError("no database: set 'database:' in the rules file or pass --db")
        spec = cfg.database
    click.echo(json.dumps(load_schema(spec).to_json(), indent=2))
