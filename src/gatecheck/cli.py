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
from gatecheck.launch import (EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, FORMATS, exit_code,
                              for_humans, notes, render, step_summary, use_colour)

#: Reports written to a file besides the main one (``--sarif-output FILE``...).
EXTRA_OUTPUTS = ("sarif", "json", "junit", "gitlab")
#: Lowest severity that fails a run unless --fail-on says otherwise; the
#: Action's ``fail-on`` input has the same default (a test checks).
DEFAULT_FAIL_ON = "info"
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
    """(rules file, root directory, explicit files or None) of a single rules file."""
    from gatecheck.targets import one

    target = one(paths, config)
    return target.config, target.root, target.only


def _check_options(f: Any) -> Any:
    """Options shared by ``run`` and ``baseline``: what to check and against what."""
    for option in reversed([
        click.argument("paths", nargs=-1, type=click.Path()),
        click.option("--config", "-c", "config", metavar="FILE",
                     help="Rules file (default: rules.yaml in PATH or the nearest parent)."),
        click.option("--db", "db_urls", metavar="[NAME=]URL", multiple=True,
                     help="Database URL overriding the rules file's, e.g. sqlite:///app.db; "
                          "NAME=URL overrides one of its databases: (repeatable)."),
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
        click.option("--shard", metavar="I/N", callback=_shard,
                     help="Check shard I of N: the files whose path hashes to it (a CI "
                          "matrix splits a monorepo); schema and data rules run in shard 1 "
                          "only. Join the reports with 'gatecheck merge'."),
        *_policy_options(),
    ]):
        f = option(f)
    return f


def _shard(ctx: click.Context, param: click.Parameter, value: str | None
           ) -> tuple[int, int] | None:
    """``--shard I/N`` as (I, N), 1 <= I <= N."""
    if value is None:
        return None
    index, sep, count = value.partition("/")
    if sep and index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count):
        return int(index), int(count)
    raise click.BadParameter(f"expected I/N with 1 <= I <= N (e.g. 2/4), got {value!r}")


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
        help="Overall time limit of a migrations replay or a build: command.")
    build = click.option(
        "--allow-build", is_flag=True,
        help="Run the rules file's 'build:' command (the project's own migrate entry "
             "point: the repository's code) to build the scratch database.")
    return [outside, privileged, *((show, no_data) if data else ()), timeout, build]


def _policy(allow_outside_includes: bool = False, allow_privileged_role: bool = False,
            show_data: bool = False, no_data_rules: bool = False,
            replay_timeout: float | None = None, allow_build: bool = False) -> Any:
    from gatecheck.policy import DEFAULT_REPLAY_TIMEOUT_S, Policy

    return Policy(allow_outside_includes=allow_outside_includes,
                  allow_privileged_role=allow_privileged_role, show_data=show_data,
                  data_rules=not no_data_rules,
                  replay_timeout_s=replay_timeout or DEFAULT_REPLAY_TIMEOUT_S,
                  allow_build=allow_build)


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


def _engines(paths: tuple[str, ...], config: str | None, db_urls: tuple[str, ...],
             select: tuple[str, ...], ignore: tuple[str, ...], changed_since: str | None,
             jobs: int | None, no_cache: bool, allow_outside_includes: bool,
             allow_privileged_role: bool, show_data: bool, no_data_rules: bool,
             replay_timeout: float, allow_build: bool, **engine_options: Any) -> Any:
    """(`gatecheck.targets.Loaded` per rules file, files no rules file applies to)."""
    from gatecheck import targets

    policy = _policy(allow_outside_includes, allow_privileged_role, show_data, no_data_rules,
                     replay_timeout, allow_build)
    found = targets.plan(paths, config)
    if db_urls and len(found.targets) > 1:
        _check_db_names(found, db_urls)
    loaded = targets.engines(
        found, policy=policy, select=_ids(select), ignore=_ids(ignore),
        changed_since=changed_since,
        overrides=lambda cfg, several: _db_overrides(cfg, db_urls, several=several),
        jobs=jobs, use_cache=not no_cache, **engine_options)
    return loaded, found.orphans


def _check(check: dict[str, Any], *, baseline_file: str | None = None,
           use_baselines: bool = True, **engine_options: Any) -> tuple[Any, list[str]]:
    """Run every rules file of the command line: (one merged result, baselines applied)."""
    from gatecheck.targets import check_all, read_baselines

    loaded, orphans = _engines(**check, **engine_options)
    baselines = read_baselines(loaded, baseline_file, use_configured=use_baselines)
    return check_all(loaded, baselines, orphans), [str(k or baseline_file) for k in baselines]


def _check_db_names(found: Any, db_urls: tuple[str, ...]) -> None:
    """With several rules files, ``--db NAME=URL`` must name a database of one of them."""
    from gatecheck.config import DATABASE_NAME, load_config

    names: set[str] = set()
    for target in found.targets:
        try:
            names.update(d.name for d in load_config(target.config).named_databases())
        except GatecheckError:
            return  # reported with its location when the engines load it
    for value in db_urls:
        name, sep, _ = value.partition("=")
        if sep and DATABASE_NAME.match(name) and ":" not in name and name not in names:
            raise GatecheckError(f"--db: unknown database {name!r}; the rules files' "
                                 f"databases: {', '.join(sorted(n for n in names if n)) or 'none'}")


def _db_overrides(cfg: Any, db_urls: tuple[str, ...], *, several: bool = False
                  ) -> dict[str, Any]:
    """``--db [NAME=]URL`` options as database specs by name (``""``: ``database:``).

    ``several``: one of several rules files of a run; ``NAME=URL`` then
    concerns only those that have a database NAME (`_check_db_names`).
    """
    from gatecheck.config import DATABASE_NAME

    named = {d.name: d for d in cfg.named_databases()}
    out: dict[str, Any] = {}
    for value in db_urls:
        name, sep, url = value.partition("=")
        # A URL has a ':' before any '=' (sqlite:///x, postgresql://h/db?sslmode=...).
        if not sep or not DATABASE_NAME.match(name) or ":" in name:
            name, url = "", value
        if name == "" and len(named) > 1:
            raise GatecheckError(f"--db: this rules file configures several databases "
                                 f"({', '.join(named)}); say which: --db NAME=URL")
        if name and name not in named and several:
            continue
        if name and name not in named:
            raise GatecheckError(f"--db: unknown database {name!r}; the rules file's "
                                 f"databases: {', '.join(named) or 'none'}")
        if name in out:
            raise GatecheckError(f"--db: database {name or 'URL'} given twice")
        current = named.get(name) if named else None
        # --db swaps the database, not the choice of schemas to check in it.
        schemas = current.spec.schemas if current is not None and current.spec else ()
        out[name] = _db_spec(url, schemas)
    return out


@main.command()
@_check_options
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="text",
              show_default=True,
              help="Output format: text (with code frames), concise (one line per finding), "
                   "json, sarif, github (annotations), junit, gitlab (Code Quality).")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]),
              default=DEFAULT_FAIL_ON, show_default=True,
              help="Lowest severity that makes the exit code 1.")
@click.option("--exit-zero", is_flag=True,
              help="Exit 0 even with findings (errors that stopped the check still exit 2).")
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE, not stdout.")
@click.option("--sarif-output", metavar="FILE", help="Also write a SARIF report to FILE.")
@click.option("--json-output", metavar="FILE", help="Also write a JSON report to FILE.")
@click.option("--junit-output", metavar="FILE", help="Also write a JUnit XML report to FILE.")
@click.option("--gitlab-output", metavar="FILE",
              help="Also write a GitLab Code Quality report to FILE.")
@click.option("--statistics", is_flag=True,
              help="Print the number of findings per rule instead of the findings "
                   "(text, concise or json).")
@click.option("--baseline", "baseline_file", metavar="FILE",
              help="Report only findings not recorded in this baseline file (instead of "
                   "the rules files' 'baseline:').")
@click.option("--no-baseline", is_flag=True,
              help="Report every finding, also those the rules files' 'baseline:' accepts.")
@click.option("--warn-unused-ignores", is_flag=True,
              help="Report suppression comments that suppress nothing.")
@click.option("--color/--no-color", default=None,
              help="Colour the text report (default: on a terminal; FORCE_COLOR forces it, "
                   "NO_COLOR turns it off).")
@click.option("--quiet", "-q", is_flag=True,
              help="Print the findings and errors only: no summary line, no notes.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also print what was not checked (unresolvable references...) on stderr.")
def run(fmt: str, fail_on: str, exit_zero: bool, output: str | None, sarif_output: str | None,
        json_output: str | None, junit_output: str | None, gitlab_output: str | None,
        statistics: bool, baseline_file: str | None, no_baseline: bool,
        warn_unused_ignores: bool, color: bool | None, quiet: bool, verbose: bool,
        **check: Any) -> None:
    """Check the rules of PATH's rules.yaml (PATH: a directory, default '.', or files)."""
    from gatecheck.findings import Severity

    threshold = Severity.parse(fail_on)
    extra = {"sarif": sarif_output, "json": json_output, "junit": junit_output,
             "gitlab": gitlab_output}
    _check_outputs(output, extra)
    if statistics and fmt not in ("text", "concise", "json"):
        raise click.UsageError(f"--statistics prints text or json, not {fmt}")
    result, baselines = _check(check, baseline_file=baseline_file,
                               use_baselines=not no_baseline,
                               warn_unused_ignores=warn_unused_ignores)
    # Reports for machines name files from the repository's root; people read
    # them from where they are (`gatecheck.engine.relocate`).
    human = for_humans(result)

    colour = fmt in ("text", "concise") and use_colour(color, output)
    if statistics:
        text = _statistics(result, fmt, quiet=quiet)
    else:
        text = render(fmt, result, human=human, colour=colour, quiet=quiet, fail_on=threshold)
    notes(human, result, baselines=bool(baselines), quiet=quiet, say=_say, error=_error)
    if verbose:
        for what, n in result.stats.items():
            _say(f"gatecheck: {what}: {n}")
        for u in human.unchecked:
            name = f"{u.name}: " if u.name else ""
            _say(f"gatecheck: not checked: {u.path}:{u.line}:{u.column}: {name}{u.why} "
                 f"[{u.rule}]")
    # One run, every report: the extra files first, so that a CI step that
    # uploads them finds them whatever the main output's fate.
    for name, path in extra.items():
        if path is not None:
            _write(render(name, result, fail_on=threshold), path, flag=f"--{name}-output")
    step_summary(result, say=_say)
    _write(text, output, commands=fmt == "github", colour=colour)
    sys.exit(exit_code(result, threshold, exit_zero=exit_zero))


def _check_outputs(output: str | None, extra: dict[str, str | None]) -> None:
    """Two reports must not go to one file (the second would overwrite the first)."""
    seen: dict[Path, str] = {}
    for flag, path in (("--output", output),
                       *((f"--{name}-output", value) for name, value in extra.items())):
        if path is None:
            continue
        key = Path(path).resolve()
        if key in seen:
            raise click.UsageError(f"{flag} and {seen[key]} name the same file: {path}")
        seen[key] = flag


def _statistics(result: Any, fmt: str, *, quiet: bool) -> str:
    """``--statistics``: findings per rule, as a table or JSON."""
    from gatecheck.report import text

    if fmt == "json":
        import json
        from collections import Counter

        counts = Counter((f.rule, f.kind, f.severity.label) for f in result.findings)
        rows = [{"rule": rule, "kind": kind, "severity": severity, "count": n}
                for (rule, kind, severity), n in sorted(counts.items(),
                                                        key=lambda i: (-i[1], i[0]))]
        return json.dumps(rows, indent=2) + "\n"
    return text.statistics(result) + ("" if quiet else text.summary_line(result) + "\n")


def _write(text: str, output: str | None, *, commands: bool = False, colour: bool = False,
           flag: str = "--output") -> None:
    """The report, scrubbed of secrets and control characters (`gatecheck.redact`)."""
    from gatecheck.redact import safe_lines

    text = safe_lines(text, commands=commands, colour=colour)
    if output is None:
        # click drops colour codes when stdout is not a terminal: forced colour
        # (--color, FORCE_COLOR: a CI log) must keep them.
        click.echo(text, nl=False, color=True if colour else None)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GatecheckError(f"{flag} {output}: {exc.strerror or exc}") from None


#: Where ``gatecheck baseline`` writes when neither --output nor ``baseline:`` says.
DEFAULT_BASELINE = ".gatecheck-baseline.json"


@main.command()
@_check_options
@click.option("--output", "-o", metavar="FILE",
              help="Where to write the baseline (default: each rules file's 'baseline:', "
                   f"else {DEFAULT_BASELINE}).")
def baseline(output: str | None, **check: Any) -> None:
    """Record today's findings so that 'run' reports only new ones.

    A rules file with 'baseline: FILE' gets its findings written there (and
    'run' reads them from there); otherwise pass 'run --baseline FILE'.
    """
    from gatecheck.engine import merge_results
    from gatecheck.suppress import write_baseline

    loaded, orphans = _engines(**check)
    results: dict[Path, list[Any]] = {}
    unread: list[Path] = []  # written where no rules file's 'baseline:' points
    for item in loaded:
        target = Path(output) if output is not None else item.config.baseline
        if target is None:
            # Beside its rules file: two projects of a monorepo keep their own.
            target = item.config.path.parent / DEFAULT_BASELINE
            unread.append(item.config.path)
        results.setdefault(target, []).append(item.engine.run())
    merged = {path: merge_results(parts) for path, parts in results.items()}
    errors = [e for result in merged.values() for e in for_humans(result).errors]
    for err in errors:
        _error(str(err))
    if errors:
        raise GatecheckError("baseline not written: fix the errors above first")
    if orphans:
        from gatecheck.targets import orphan_note

        _say(f"gatecheck: warning: {orphan_note(orphans)}")
    for path, result in merged.items():
        shown = _shown_path(path)
        try:
            write_baseline(path, result.findings)
        except OSError as exc:
            raise GatecheckError(f"{shown}: cannot write the baseline: "
                                 f"{exc.strerror or exc}") from None
        _say(f"gatecheck: wrote {len(result.findings)} finding(s) to {shown}")
    for rules in unread:
        _say(f"gatecheck: note: 'run' reads it once {_shown_path(rules)} says "
             f"'baseline: {DEFAULT_BASELINE}' (or pass 'run --baseline FILE')")


def _shown_path(path: Path) -> str:
    """A path for a message: relative to the current directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


@main.command()
@click.argument("name", required=False)
@click.option("--config", "-c", "config", metavar="FILE",
              help="Rules file whose rule ids NAME may be (default: the nearest rules.yaml).")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
def explain(name: str | None, config: str | None, fmt: str) -> None:
    """Explain a rule KIND or a configured RULE-ID (no NAME: list the kinds).

    A kind: what it checks, why, an example, the fix, its options.  A rule id
    of the rules file: its kind's documentation, its options and where it
    is declared.
    """
    import json

    from gatecheck.describe import JSON_VERSION, kind_doc, rule_json, rule_text
    from gatecheck.kinds.registry import KINDS

    if name is None:
        if fmt == "json":
            kinds = [{"name": k, "summary": kind_doc(k)["summary"]} for k in sorted(KINDS)]
            click.echo(json.dumps({"version": JSON_VERSION, "kinds": kinds}, indent=2))
            return
        for kind in sorted(KINDS):
            click.echo(f"{kind:26} {_first_line(KINDS[kind].__doc__)}")
        return
    rules = _configured_rules(config, json_paths=fmt == "json", quiet=name in KINDS)
    rule = next((r for r in rules if r.id == name), None)
    if rule is not None:
        if fmt == "json":
            click.echo(json.dumps({"version": JSON_VERSION, "rule": rule_json(rule),
                                   "kind": kind_doc(rule.kind)}, indent=2, ensure_ascii=False))
        else:
            click.echo(rule_text(rule), nl=False)
        return
    if name not in KINDS:
        from gatecheck.suggest import did_you_mean

        ids = [r.id for r in rules]
        known = f"; rule ids: {', '.join(ids)}" if ids else ""
        raise GatecheckError(f"unknown kind or rule id {name!r}; "
                             f"{did_you_mean(name, [*KINDS, *ids])}valid kinds: "
                             f"{', '.join(sorted(KINDS))}{known}")
    if fmt == "json":
        click.echo(json.dumps({"version": JSON_VERSION, "kind": kind_doc(name)}, indent=2,
                              ensure_ascii=False))
    else:
        click.echo(f"{name}\n\n{(KINDS[name].__doc__ or '').strip()}")


def _configured_rules(config: str | None, *, json_paths: bool, quiet: bool) -> list[Any]:
    """The rules of ``--config`` or of the nearest rules file (none: ``[]``).

    ``quiet``: a rules file that does not load counts as none (``explain
    KIND`` works in a repository whose rules file is broken).
    """
    from gatecheck.config import find_config

    if config is None and find_config(Path.cwd()) is None:
        return []
    try:
        return list(_load_rules((), config, json_paths=json_paths))
    except GatecheckError:
        if quiet and config is None:
            return []
        raise


def _load_rules(paths: tuple[str, ...], config: str | None, *, json_paths: bool) -> Any:
    """The rules of one rules file; declarations named relative to the git work
    tree's root for tools (``json_paths``), else to the current directory."""
    from gatecheck.config import load_config, repository_root
    from gatecheck.engine import RunResult, for_humans, relocate

    config_path, root, _ = _resolve(paths, config)
    try:
        rules = load_config(config_path, display_root=root).rules
    except GatecheckError as exc:
        raise for_humans(exc, root) from None
    repository = repository_root(root)
    to = repository if json_paths else Path.cwd().resolve()
    return relocate(RunResult([], [], specs=rules, base=root), to, within=repository).specs


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0] if doc else ""


@main.command("rules")
@click.argument("path", required=False, type=click.Path())
@click.option("--config", "-c", "config", metavar="FILE", help="Rules file.")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format (json: every rule with its options).")
def rules_cmd(path: str | None, config: str | None, fmt: str) -> None:
    """List the active rules: id, kind, severity and where each was declared."""
    rules = _load_rules((path,) if path else (), config, json_paths=fmt == "json")
    if fmt == "json":
        import json

        from gatecheck.describe import JSON_VERSION, rule_json

        click.echo(json.dumps({"version": JSON_VERSION, "rules": [rule_json(r) for r in rules]},
                              indent=2, ensure_ascii=False))
        return
    for rule in rules:
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
@click.option("--database", "name", metavar="NAME",
              help="Which of the rules file's databases: (needed when it has several).")
@_with(_policy_options(data=False))
def schema(path: str | None, config: str | None, db_url: str | None, name: str | None,
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
        databases = {d.name: d.spec for d in cfg.named_databases() if d.spec is not None}
        if not databases:
            raise GatecheckError("no database: set 'database:' in the rules file or pass --db")
        if name is None and len(databases) > 1:
            raise GatecheckError(f"the rules file has several databases ({', '.join(databases)}):"
                                 " pass --database NAME")
        if name is not None and name not in databases:
            raise GatecheckError(f"--database: unknown database {name!r}; the rules file's "
                                 "databases: "
                                 f"{', '.join(d for d in databases if d) or 'one, unnamed'}")
        spec = databases[name if name is not None else next(iter(databases))]
    click.echo(json.dumps(load_schema(spec, policy).to_json(), indent=2))


@main.command()
@click.option("--db", "db_url", metavar="URL",
              help="Propose rules from this live database (e.g. sqlite:///app.db).")
@click.option("--output", "-o", default="rules.yaml", show_default=True, metavar="FILE",
              help="Where to write the starter rules file.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init(db_url: str | None, output: str, force: bool) -> None:
    """Write a starter rules.yaml (with rules proposed from the schema when --db is given)."""
    from gatecheck.scaffold import dialect_of, rebase_sqlite_url, starter_rules

    target = Path(output)
    if target.exists() and not force:
        raise GatecheckError(f"{output} exists; pass --force to overwrite it")
    schema = None
    url = None
    if db_url is not None:
        from gatecheck.introspect import load_schema

        spec = _db_spec(db_url)
        url = spec.url
        schema = load_schema(spec)
    from gatecheck.redact import url as redact_url

    # A URL with a password is a secret: the rules file is committed, so it
    # gets a reference to the environment instead.
    secret = db_url is not None and "${" not in db_url and redact_url(db_url) != db_url
    written = db_url
    if db_url is not None and not secret and "${" not in db_url:
        written = rebase_sqlite_url(db_url, Path.cwd(), target.parent)
    text = starter_rules("${DATABASE_URL}" if secret else written, schema,
                         dialect=dialect_of(url, schema))
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise GatecheckError(f"--output {output}: {exc.strerror or exc}") from None
    _say(f"gatecheck: wrote {output}; check it with 'gatecheck run'")
    if secret:
        assert db_url is not None
        _say("gatecheck: the URL holds a password, so the file says database: "
             "${DATABASE_URL}; set DATABASE_URL to the URL (a CI secret), never commit it")
        _say(f"gatecheck: e.g. export DATABASE_URL='{redact_url(db_url)}' (with the real "
             "password), or in GitHub Actions: env: {DATABASE_URL: ${{ secrets.DATABASE_URL }}}")


@main.command("diff")
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@click.option("--format", "-f", "fmt", type=click.Choice(["text", "json", "markdown"]),
              default="text", show_default=True, help="Output format.")
@click.option("--exit-code", is_flag=True,
              help="Exit 1 when the schemas differ, 0 when they are the same.")
@click.option("--replay-url", metavar="URL",
              help="Replay migrations sides in scratch databases on this PostgreSQL server "
                   "(default: in-memory SQLite).")
@click.option("--schema", "schemas", multiple=True, metavar="NAME",
              help="PostgreSQL schemas to compare (repeatable; default: public).")
@click.option("--output", "-o", metavar="FILE", help="Write the diff to FILE, not stdout.")
@_with(_policy_options(data=False))
def diff_cmd(a: str, b: str, fmt: str, exit_code: bool, replay_url: str | None,
             schemas: tuple[str, ...], output: str | None, **grants: Any) -> None:
    """Show the structural difference between two schemas A and B.

    Each is sqlite:///PATH, postgresql://..., migrations:GLOB[@LAST] (the
    migrations replayed, up to LAST) or REF:GLOB[@LAST] (the migrations as of
    git ref REF).  See docs/diff.md.
    """
    from gatecheck.config import expand_env
    from gatecheck.diff import diff, render
    from gatecheck.review import load_side

    policy = _policy(**grants)
    if replay_url is not None:
        try:
            replay_url = expand_env(replay_url)
        except KeyError as exc:
            raise GatecheckError(f"--replay-url: environment variable {exc.args[0]} is not "
                                 "set") from None
    cwd = Path.cwd()
    left = load_side(a, cwd=cwd, policy=policy, replay_url=replay_url, schemas=schemas)
    right = load_side(b, cwd=cwd, policy=policy, replay_url=replay_url, schemas=schemas)
    result = diff(left.schema, right.schema)
    _write(render(result, left.label, right.label, fmt), output)
    sys.exit(EXIT_FINDINGS if exit_code and not result.equal else EXIT_CLEAN)


@main.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--output", "-o", metavar="FILE", help="Write the merged report to FILE, "
              "not stdout.")
def merge_cmd(reports: tuple[str, ...], output: str | None) -> None:
    """Merge the JSON (or SARIF) reports of 'run --shard I/N' into one run's report."""
    from gatecheck.merge import merge

    texts = []
    for name in reports:
        try:
            texts.append((name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise GatecheckError(f"{name}: {getattr(exc, 'strerror', None) or exc}") from None
    _write(merge(texts), output)
