"""Which rules files a run uses, for which files; one engine per rules file, one result.

A monorepo has a rules file per project (``backend/rules.yaml``), and
pre-commit and CI run gatecheck at the repository's root.  So, as ruff finds
its configuration:

- each file given on the command line is checked under the nearest rules file
  above it (files under different rules files: one run of each, in one
  process, with one report);
- each directory given (default: the current one) is checked under its
  nearest rules file, in it or above it, as a whole tree;
- a file is checked once: a tree leaves out the subdirectories that a nearer
  rules file of the same run checks;
- ``--config FILE`` names the one rules file of the run instead.

Files with no rules file above them are not checked (a note says which), so a
pre-commit hook does not block a commit that only touches a monorepo's other
projects.  `check_all` runs the engines and merges their results
(`gatecheck.engine.merge_results`), each baseline applied to the findings of
the rules files that name it (or ``--baseline`` to all of them).
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gatecheck.errors import GatecheckError

if TYPE_CHECKING:
    from gatecheck.config import GateConfig, RuleSpec
    from gatecheck.engine import Engine, RunResult
    from gatecheck.policy import Policy
    from gatecheck.suppress import Baseline

#: How many rules files below a directory an error lists.
_SHOWN = 5


@dataclass
class Target:
    """One rules file of a run and what it checks."""

    config: Path
    #: The directory its paths and globs are relative to (resolved).
    root: Path
    #: Files to check, relative to ``root``; None: the whole tree.
    only: list[str] | None
    #: Directories below ``root`` that a nearer rules file of the run checks.
    skip: tuple[str, ...] = ()


@dataclass
class Plan:
    targets: list[Target]
    #: Given files with no rules file above them: not checked.
    orphans: list[str] = field(default_factory=list)


def plan(paths: tuple[str, ...], config: str | None) -> Plan:
    """The rules files that check ``paths`` (see the module's docstring)."""
    from gatecheck.config import find_config

    dirs: list[Path] = []
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            dirs.append(path)
        elif path.exists():
            files.append(path)
        else:
            raise GatecheckError(f"{name}: no such file or directory")
    if config is not None:
        config_path = Path(config)
        if not config_path.is_file():
            raise GatecheckError(f"{config}: rules file not found")
        if len(dirs) > 1 or (dirs and files):
            raise GatecheckError("with --config, give one directory or any number of files")
        root = (dirs[0] if dirs else config_path.parent).resolve()
        return Plan([Target(config_path, root, _relative(files, root) if files else None)])
    if not paths:
        dirs = [Path.cwd()]
    targets: dict[Path, Target] = {}
    for directory in dirs:
        found = find_config(directory)
        if found is None:
            raise GatecheckError(no_rules_file(directory))
        targets[found] = Target(found, found.parent.resolve(), None)
    orphans: list[str] = []
    nearest: dict[Path, Path | None] = {}
    for path in files:
        resolved = path.resolve()
        if resolved.parent not in nearest:
            nearest[resolved.parent] = find_config(resolved.parent)
        found = nearest[resolved.parent]
        if found is None:
            orphans.append(str(path))
            continue
        target = targets.setdefault(found, Target(found, found.parent.resolve(), []))
        if target.only is not None:
            target.only.append(resolved.relative_to(target.root).as_posix())
    ordered = sorted(targets.values(), key=lambda t: (t.root.parts, str(t.config)))
    for target in ordered:
        if target.only is None:
            target.skip = tuple(sorted(
                other.root.relative_to(target.root).as_posix() for other in ordered
                if other.root != target.root and other.root.is_relative_to(target.root)))
    return Plan(ordered, orphans)


def one(paths: tuple[str, ...], config: str | None) -> Target:
    """The single rules file of ``paths`` (for ``rules``, ``schema``)."""
    found = plan(paths, config)
    if not found.targets:
        raise GatecheckError(no_rules_file(Path(found.orphans[0]).parent))
    if len(found.targets) > 1:
        shown = ", ".join(_shown(t.config) for t in found.targets)
        raise GatecheckError(f"these paths belong to several rules files ({shown}); "
                             "give the paths of one, or --config FILE")
    return found.targets[0]


def _relative(files: list[Path], root: Path) -> list[str]:
    out = []
    for path in files:
        try:
            out.append(path.resolve().relative_to(root).as_posix())
        except ValueError:
            raise GatecheckError(f"{path}: outside the checked directory {root}") from None
    return out


def _shown(path: Path) -> str:
    """A path as the user reads it: relative to the current directory when below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def no_rules_file(start: Path) -> str:
    """The error for a directory with no rules file in it or above it.

    It names the rules files below it, if any: run at a monorepo's root,
    gatecheck is given the projects' directories (or their files).
    """
    from gatecheck.config import CONFIG_NAMES
    from gatecheck.paths import _git_files

    message = (f"no rules.yaml found in {start.resolve()} or its parents; "
               "create one with 'gatecheck init' or pass --config FILE")
    # Only where git lists the files at once: walking a home directory for a
    # hint would take longer than the mistake deserves.
    try:
        listed = _git_files(start.resolve()) or []
    except OSError:
        listed = []
    below = [p for p in listed if p.rsplit("/", 1)[-1] in CONFIG_NAMES]
    if below:
        dirs = sorted({str(Path(b).parent) for b in below})
        shown = ", ".join(below[:_SHOWN]) + (", ..." if len(below) > _SHOWN else "")
        message += (f"; rules files below it: {shown} (check them with: gatecheck run "
                    f"{' '.join(dirs[:2])}{' ...' if len(dirs) > 2 else ''})")
    return message


# ---------------------------------------------------------------- rule selection


def selects(pattern: str, rule: "RuleSpec") -> bool:
    """--select/--ignore: a rule id, a kind, or a glob of either."""
    return fnmatch.fnmatchcase(rule.id, pattern) or fnmatch.fnmatchcase(rule.kind, pattern)


def check_patterns(flag: str, patterns: set[str], rules: list["RuleSpec"]) -> None:
    """Every pattern must select a configured rule (or be a kind's name)."""
    from gatecheck.kinds.registry import KINDS

    ids = ", ".join(sorted({r.id for r in rules}))
    for pattern in sorted(patterns):
        if pattern in KINDS or any(selects(pattern, r) for r in rules):
            continue
        if any(c in pattern for c in "*?["):
            raise GatecheckError(f"{flag}: {pattern!r} matches no rule id or kind; "
                                 f"rules: {ids}")
        from gatecheck.suggest import did_you_mean

        hint = did_you_mean(pattern, [*(r.id for r in rules), *KINDS])
        raise GatecheckError(f"{flag}: unknown rule id {pattern!r} (nor a kind); {hint}"
                             f"rules: {ids}")


# ---------------------------------------------------------------- running


@dataclass
class Loaded:
    target: Target
    config: "GateConfig"
    engine: "Engine"


def engines(found: Plan, *, policy: "Policy", select: set[str], ignore: set[str],
            changed_since: str | None, overrides: Any, **engine_options: Any) -> list[Loaded]:
    """An engine per rules file, its rules selected.

    ``overrides(config, several)`` gives an engine's ``database_overrides``.
    """
    from gatecheck import configcache
    from gatecheck.engine import Engine, for_humans

    configs = []
    for target in found.targets:
        try:
            configs.append(configcache.load(target.config, display_root=target.root,
                                            policy=policy,
                                            enabled=engine_options.get("use_cache", True)))
        except GatecheckError as exc:
            raise for_humans(exc, target.root) from None
    every = [r for cfg in configs for r in cfg.rules]
    check_patterns("--select", select, every)
    check_patterns("--ignore", ignore, every)
    out = []
    for target, cfg in zip(found.targets, configs):
        known = frozenset(r.id for r in cfg.rules)
        if select or ignore:
            cfg = dataclasses.replace(cfg, rules=tuple(
                r for r in cfg.rules
                if (not select or any(selects(p, r) for p in select))
                and not any(selects(p, r) for p in ignore)))
        only = target.only
        if changed_since is not None:
            from gatecheck.paths import changed_files

            changed = changed_files(target.root, changed_since)
            only = sorted(changed if only is None else set(only) & set(changed))
        engine = Engine(cfg, target.root, only=only,
                        database_overrides=overrides(cfg, len(configs) > 1),
                        policy=policy, skip=target.skip, known_rules=known,
                        changed_since=changed_since, **engine_options)
        out.append(Loaded(target, cfg, engine))
    return out


def read_baselines(loaded: list[Loaded], baseline_file: str | None,
                   use_configured: bool = True) -> dict[Path | None, "Baseline"]:
    """The baselines a run applies, read before anything runs: ``None`` is
    ``--baseline FILE`` (for every rules file), the others come from ``baseline:``."""
    from gatecheck.suppress import read_baseline

    out: dict[Path | None, Baseline] = {}
    if baseline_file is not None:
        out[None] = read_baseline(Path(baseline_file))
    elif use_configured:
        for item in loaded:
            path = item.config.baseline
            if path is not None and path not in out:
                out[path] = read_baseline(path, shown=_shown(path))
    return out


def check_all(loaded: list[Loaded], baselines: dict[Path | None, "Baseline"],
              orphans: list[str] | None = None) -> "RunResult":
    """Run every engine; one result, each baseline applied to its rules files' findings."""
    from gatecheck import runcache
    from gatecheck.engine import apply_baseline, merge_results

    groups: dict[Path | None, list[RunResult]] = {}
    for item in loaded:
        key = item.config.baseline if item.config.baseline in baselines else None
        groups.setdefault(key, []).append(runcache.run(item.engine))
    parts = []
    for key, results in groups.items():
        merged = merge_results(results)
        if key is not None:
            merged = apply_baseline(merged, baselines[key])
        parts.append(merged)
    result = merge_results(parts)
    if None in baselines:
        result = apply_baseline(result, baselines[None])
    if orphans:
        result = dataclasses.replace(result, warnings=[*result.warnings, orphan_note(orphans)])
    return result


def orphan_note(orphans: list[str]) -> str:
    shown = ", ".join(orphans[:_SHOWN]) + (", ..." if len(orphans) > _SHOWN else "")
    n = len(orphans)
    return (f"{n} file{'s' if n != 1 else ''} with no rules file above "
            f"{'them' if n != 1 else 'it'}, not checked: {shown}")
