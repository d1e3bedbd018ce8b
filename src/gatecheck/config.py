"""Load ``rules.yaml`` and its packs into a typed, validated `GateConfig`.

The loader works on ``yaml.compose`` nodes rather than ``yaml.safe_load``
output so that every error can name the file, line and column of the
offending key.  Scalars are still built by PyYAML's safe constructor, so the
values are exactly what ``yaml.safe_load`` would give.  All problems in all
files are collected before one `ConfigError` is raised.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml
else:  # imported when a rules file is parsed, not when one comes from the cache
    from gatecheck.lazyimport import lazy

    yaml = lazy("yaml")

from gatecheck.errors import ConfigError, GatecheckError
from gatecheck.findings import Severity
from gatecheck.policy import DEFAULT as DEFAULT_POLICY, Policy
from gatecheck.options import (OptionError, as_bool, as_int, as_str, as_str_list,
                               mapping_items, option_fields, option_key, parser_for, type_name)
from gatecheck.safefile import Refused, read_regular

CONFIG_NAMES = ("rules.yaml", "rules.yml", ".gatecheck.yaml")
DEFAULT_INCLUDE = ("**/*.py", "**/*.sql")
RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Guards against hostile documents: alias bombs expand through shared nodes,
#: so conversion counts every node it visits, aliases included.
MAX_NODES = 200_000
MAX_DEPTH = 64
#: Packs include packs; a chain deeper than this is an error at the include
#: that goes too deep (600 chained packs ran out of Python's stack).
MAX_INCLUDE_DEPTH = 32
#: A rules file or pack bigger than this is not one a human wrote: not read.
MAX_CONFIG_BYTES = 16 * 1024 * 1024
def _yaml_loader() -> Any:
    """LibYAML's parser when PyYAML has it: 8 times faster on a big rules file,
    same nodes and marks.  It refuses nesting past 1,000 levels itself, so its
    recursive composer never runs deep."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)

TOP_KEYS = ("version", "database", "databases", "external", "dialect", "sources", "include",
            "baseline", "rules")
#: Keys an earlier release read from the rules file that widen what a run may
#: do; they are now command-line flags (`gatecheck.policy`), named in the error.
WIDENING_KEYS = ("allow_outside_includes",)
PACK_KEYS = ("version", "include", "rules")
SOURCES_KEYS = ("include", "exclude")
DATABASE_KEYS = ("url", "migrations", "seed_data", "replay_url", "schemas", "pattern", "skip",
                 "build", "on_failure")
#: ``on_failure:`` values: what the rules do when a replayed file fails.
ON_FAILURE = ("stop", "continue")
COMMON_RULE_KEYS = ("id", "kind", "severity", "message", "paths", "exclude", "ignore",
                    "database")
#: Keys of a ``databases:`` entry that say which SQL runs against it (the rest
#: are the keys of ``database:``).
ROUTE_KEYS = ("paths", "receivers", "external")
#: A database name: what ``# gatecheck: database=NAME`` comments and rules' ``database:`` use.
DATABASE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Origin:
    """Where something was declared: 1-based, for messages."""

    path: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class DatabaseSpec:
    """A live database URL, or migrations to replay into a scratch database."""

    url: str | None = None
    migrations: str | None = None
    seed_data: tuple[str, ...] = ()
    #: Server on which to create the scratch database for ``migrations``
    #: (PostgreSQL); None: an in-memory SQLite.
    replay_url: str | None = None
    #: Schemas to check (PostgreSQL); empty: the engine's default (``public``).
    schemas: tuple[str, ...] = ()
    #: ``pattern:``, the project's runner's selection: a regex searched in each
    #: migration's file name; files it misses are skipped, the rest are sorted
    #: by its ``version`` group (else its first group), numerically.
    pattern: str | None = None
    #: ``skip:``, gitignore-style globs (relative to ``base_dir``) of migrations not replayed.
    skip: tuple[str, ...] = ()
    #: ``build:``, the argv of the project's own migrate command, run (only with
    #: ``--allow-build``) against a scratch database instead of a replay.
    build: tuple[str, ...] = ()
    #: ``on_failure:`` ``stop`` (a failed replay leaves the database rules not
    #: run) or ``continue`` (they check the schema built up to the failure).
    on_failure: str = "stop"
    #: Relative paths in ``url``/``migrations``/``seed_data`` resolve against this.
    base_dir: Path = Path(".")


@dataclass(frozen=True)
class NamedDatabase:
    """One entry of ``databases:``: a database, and which source SQL runs against it.

    A source file's SQL goes to the database a ``# gatecheck: database=NAME``
    comment names (on the statement's line, else anywhere in the file on a
    line of its own), else to the first database whose ``receivers`` name the
    object the SQL is executed on (``old_db.execute(...)``), else to the
    first whose ``paths`` match the file, else to the first without
    ``paths`` (the default).
    """

    name: str
    #: None for an external database (``external: true``): SQL routed to it
    #: is never checked against any schema.
    spec: DatabaseSpec | None
    paths: tuple[str, ...] = ()
    #: Names of connections or cursors (the last name before ``.execute``).
    receivers: tuple[str, ...] = ()
    origin: Origin | None = None


@dataclass(frozen=True)
class RuleSpec:
    id: str
    kind: str
    severity: Severity
    message: str | None
    options: Any
    origin: Origin
    paths: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    #: ``database:`` of a schema or data rule: the names of the databases it
    #: checks (empty: every configured one).
    databases: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateConfig:
    path: Path
    database: DatabaseSpec | None = None
    dialect: str = "sqlite"
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    files: tuple[Path, ...] = field(default=())  # the rules file and every pack, in load order
    #: ``databases:``, in the order routing tries them (empty with ``database:``).
    databases: tuple[NamedDatabase, ...] = ()
    #: ``external:``: path globs and database names whose SQL runs against a
    #: database that is not configured, so is never checked against the others.
    external: tuple[str, ...] = ()
    #: ``baseline:``, resolved: the findings ``run`` does not report (and the
    #: file ``gatecheck baseline`` writes by default).
    baseline: Path | None = None

    def named_databases(self) -> tuple[NamedDatabase, ...]:
        """Every configured database; ``database:`` is one named ``""``."""
        if self.databases:
            return self.databases
        return (NamedDatabase("", self.database),) if self.database is not None else ()


def find_config(start: Path) -> Path | None:
    """The nearest rules file in ``start`` or one of its parents.

    In each directory: ``rules.yaml`` (or ``rules.yml``, ``.gatecheck.yaml``),
    else a ``pyproject.toml`` that has a ``[tool.gatecheck]`` table.
    """
    start = start.resolve()
    for directory in (start, *start.parents):
        for name in CONFIG_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
        pyproject = directory / PYPROJECT
        if pyproject.is_file() and _declares_gatecheck(pyproject):
            return pyproject
    return None


PYPROJECT = "pyproject.toml"
#: ``[tool.gatecheck]``, ``[[tool.gatecheck.rules]]`` or ``tool.gatecheck.x =``,
#: for a pyproject.toml that is not valid TOML.
_GATECHECK_TABLE = re.compile(r"""^[ \t]*(?:\[\[?[ \t]*)?tool[ \t]*\.[ \t]*["']?gatecheck\b""",
                              re.MULTILINE)


def _declares_gatecheck(path: Path) -> bool:
    """Whether a pyproject.toml has a ``[tool.gatecheck]`` table.

    A file that is not valid TOML but names the table counts: its syntax
    error is then reported, rather than "no rules.yaml found".
    """
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return _GATECHECK_TABLE.search(text) is not None
    tool = data.get("tool")
    return isinstance(tool, dict) and isinstance(tool.get("gatecheck"), dict)


def load_config(path: Path, *, display_root: Path | None = None,
                policy: Policy = DEFAULT_POLICY) -> GateConfig:
    """Load and validate a rules file and the packs it includes."""
    # Composing allocates objects by the hundred thousand and frees none: the
    # cyclic GC would rescan them over and over (half the time of a file of
    # 10,000 rules).  The few cycles (recursive aliases) are collected later.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Loader(display_root or path.parent, policy).load(path)
    finally:
        if gc_was_enabled:
            gc.enable()


def kind_keys(options_cls: type) -> list[str]:
    """Every YAML key a rule of this kind accepts, aliases included."""
    keys = list(COMMON_RULE_KEYS)
    for f, _ in option_fields(options_cls):
        keys.append(option_key(f))
        keys.extend(f.metadata.get("aliases", ()))
    return keys


# ---------------------------------------------------------------- the loader


class _Loader:
    def __init__(self, display_root: Path, policy: Policy = DEFAULT_POLICY) -> None:
        self.display_root = display_root.resolve()
        self.problems: list[GatecheckError] = []
        self.rules: list[RuleSpec] = []
        self.seen_ids: dict[str, Origin] = {}
        self.files: list[Path] = []
        self._shown: dict[Path, str] = {}
        #: Packs must resolve inside this directory (`repository_root` of the
        #: top-level file) unless the command line allows otherwise
        #: (``--allow-outside-includes``): the file being guarded cannot lift it.
        self.include_root: Path | None = None
        self.allow_outside_includes = policy.allow_outside_includes
        #: Rules' ``database:`` lists, checked against ``databases:`` once all is loaded.
        self.rule_databases: list[tuple[Path, yaml.Node, str, tuple[str, ...]]] = []

    # -- helpers

    def display(self, path: Path) -> str:
        shown = self._shown.get(path)
        if shown is None:
            try:
                shown = path.resolve().relative_to(self.display_root).as_posix()
            except ValueError:
                shown = str(path)
            self._shown[path] = shown
        return shown

    def origin(self, path: Path, node: yaml.Node) -> Origin:
        # From a pyproject.toml too: `gatecheck.toml_nodes` marks the TOML's places.
        mark = node.start_mark
        return Origin(self.display(path), mark.line + 1, mark.column + 1)

    def problem(self, path: Path, node: yaml.Node | None, message: str) -> None:
        if path.name == PYPROJECT:
            message = "[tool.gatecheck] " + message  # key paths start in that table
        if node is None:
            self.problems.append(ConfigError(message, path=self.display(path)))
            return
        o = self.origin(path, node)
        self.problems.append(ConfigError(message, path=o.path, line=o.line, column=o.column))

    def unknown_key(self, path: Path, key_node: yaml.Node, where: str, key: str,
                    valid: typing.Iterable[str]) -> None:
        from gatecheck.suggest import did_you_mean

        valid = list(valid)
        self.problem(path, key_node, f"{where}unknown key {key!r}; {did_you_mean(key, valid)}"
                                     f"valid keys: {', '.join(valid)}")

    # -- documents

    def compose(self, path: Path) -> yaml.Node | None:
        try:
            # Never a FIFO or device, never unbounded (`gatecheck.safefile`).
            text = read_regular(path, limit=MAX_CONFIG_BYTES).decode("utf-8")
        except FileNotFoundError:
            self.problem(path, None, "file not found")
            return None
        except (Refused, OSError, UnicodeDecodeError) as exc:
            self.problem(path, None, f"cannot read: {exc}")
            return None
        if path.name == PYPROJECT:
            # [tool.gatecheck] holds the same keys as rules.yaml; validating
            # it as YAML nodes (marked with the TOML's lines) keeps one loader
            # and one set of errors.
            from gatecheck import toml_nodes

            try:
                data = toml_nodes.loads(text)
            except toml_nodes.TomlSyntaxError as exc:
                self.problems.append(ConfigError(f"invalid TOML: {exc.message}",
                                                 path=self.display(path), line=exc.line,
                                                 column=exc.column))
                return None
            table = toml_nodes.table_node(text, data, ("tool", "gatecheck"), str(path))
            if table is None:
                self.problem(path, None, "no such table")
                return None
            problem = _check_size(table)
            if problem:
                self.problem(path, problem[1], problem[0])
                return None
            return table
        try:
            node = yaml.compose(text, Loader=_yaml_loader())
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            msg = f"invalid YAML: {exc.problem or exc.context}"
            if mark is None:
                self.problem(path, None, msg)
            else:
                self.problems.append(ConfigError(msg, path=self.display(path),
                                                 line=mark.line + 1, column=mark.column + 1))
            return None
        except yaml.reader.ReaderError as exc:  # a control character: no mark, an offset
            line, column = _line_column(text, exc.position,
                                        in_bytes=_yaml_loader() is not yaml.SafeLoader)
            self.problems.append(ConfigError(f"invalid YAML: {str(exc).splitlines()[0]}",
                                             path=self.display(path), line=line,
                                             column=column))
            return None
        except yaml.YAMLError as exc:
            self.problem(path, None, f"invalid YAML: {' '.join(str(exc).split())}")
            return None
        except RecursionError:
            self.problem(path, None, "invalid YAML: document nested too deeply")
            return None
        if node is None:  # empty, or only comments: an empty mapping at 1:1
            start = yaml.Mark(str(path), 0, 0, 0, "", 0)
            return yaml.MappingNode("tag:yaml.org,2002:map", [], start, start)
        problem = _check_size(node)
        if problem:
            self.problem(path, problem[1], problem[0])
            return None
        return node

    def load(self, path: Path) -> GateConfig:
        path = path.resolve()
        self.include_root = repository_root(path.parent)
        settings: dict[str, Any] = {}
        self.load_file(path, stack=(), top=True, settings=settings)
        known = [d.name for d in settings.get("databases", ())]
        for file, node, where, names in self.rule_databases:
            for name in names:
                if name not in known:
                    valid = (f"valid: {', '.join(known)}" if known else
                             "only rules files with 'databases:' name their databases")
                    self.problem(file, node, f"{where} › database: unknown database "
                                             f"{name!r}; {valid}")
        if self.problems:
            raise ConfigError("invalid configuration", problems=self.problems)
        return GateConfig(path=path, rules=tuple(self.rules), files=tuple(self.files), **settings)

    def load_file(self, path: Path, *, stack: tuple[Path, ...], top: bool,
                  settings: dict[str, Any], via: tuple[Path, yaml.Node] | None = None) -> None:
        if path in stack:
            cycle = " -> ".join(self.display(p) for p in (*stack, path))
            assert via is not None
            self.problem(via[0], via[1], f"include cycle: {cycle}")
            return
        if path in self.files:
            return  # a pack included twice (diamond) loads once
        node = self.compose(path)
        if node is None:
            return
        self.files.append(path)
        try:
            items = mapping_items(node)
        except OptionError as exc:
            self.problem(path, exc.node, f"top level: {exc}")
            return
        valid = TOP_KEYS if top else PACK_KEYS
        seen: dict[str, yaml.Node] = {}
        for key, key_node, value in items:
            if key in seen:
                self.problem(path, key_node, f"duplicate key {key!r}")
                continue
            seen[key] = value
            if key in WIDENING_KEYS:
                # A rules file may narrow what gatecheck does, never widen it:
                # a pull request controls this file.
                self.problem(path, key_node, f"{key}: a rules file cannot grant this (a "
                             "change to the repository could); pass "
                             f"--{key.replace('_', '-')} on the command line instead")
                continue
            if key not in valid:
                extra = " (only the top-level rules file may set it)" if key in TOP_KEYS else ""
                self.unknown_key(path, key_node, "", key, valid)
                if extra:
                    self.problems[-1].message += extra
                continue
        if "version" in seen:
            try:
                if as_int(seen["version"]) != 1:
                    raise OptionError("unsupported version; valid: 1", seen["version"])
            except OptionError as exc:
                self.problem(path, exc.node, f"version: {exc}")
        elif top:
            self.problem(path, node, "missing key 'version' (use: version: 1)")
        if top:
            self.load_settings(path, seen, settings)
        if "include" in seen:
            self.load_includes(path, seen["include"], stack=(*stack, path), settings=settings)
        if "rules" in seen:
            self.load_rules(path, seen["rules"])

    def load_settings(self, path: Path, seen: dict[str, yaml.Node],
                      settings: dict[str, Any]) -> None:
        base = path.parent
        if "database" in seen:
            if "databases" in seen:
                self.problem(path, seen["databases"], "databases: goes instead of 'database:', "
                             "not with it (one database: 'database: URL'; several: "
                             "'databases: {NAME: URL, ...}')")
            db = self.parse_database(path, seen["database"], base)
            if db is not None:
                settings["database"] = db
        elif "databases" in seen:
            settings["databases"] = self.parse_databases(path, seen["databases"], base)
        if "baseline" in seen:
            self.load_baseline(path, seen["baseline"], settings)
        if "external" in seen:
            try:
                settings["external"] = tuple(as_str_list(seen["external"]))
            except OptionError as exc:
                self.problem(path, exc.node, f"external: {exc} (path globs or database names)")
        if "dialect" in seen:
            try:
                dialect = as_str(seen["dialect"]).lower()
            except OptionError as exc:
                self.problem(path, exc.node, f"dialect: {exc}")
            else:
                known = _known_dialects(dialect)
                if known is not None:
                    self.problem(path, seen["dialect"],
                                 f"dialect: unknown dialect {dialect!r}; valid: {', '.join(known)}")
                else:
                    settings["dialect"] = dialect
        if "sources" in seen:
            try:
                for key, key_node, value in mapping_items(seen["sources"]):
                    if key not in SOURCES_KEYS:
                        self.unknown_key(path, key_node, "sources › ", key, SOURCES_KEYS)
                        continue
                    try:
                        settings[key] = as_str_list(value)
                    except OptionError as exc:
                        self.problem(path, exc.node, f"sources › {key}: {exc}")
            except OptionError as exc:
                self.problem(path, exc.node, f"sources: {exc}")

    def load_baseline(self, path: Path, node: yaml.Node, settings: dict[str, Any]) -> None:
        """``baseline: FILE``, relative to the rules file; inside the repository, as packs."""
        try:
            name = as_str(node)
        except OptionError as exc:
            self.problem(path, exc.node, f"baseline: {exc} (a file name, e.g. "
                                         ".gatecheck-baseline.json)")
            return
        target = self.confined(path, node, "baseline", name)
        if target is not None:
            settings["baseline"] = target

    def confined(self, path: Path, node: yaml.Node, key: str, name: str) -> Path | None:
        """``name`` (relative to ``path``'s directory) resolved, if it stays in the repository.

        A file outside the repository root (``../../shared``, ``/etc``, a link
        pointing out) is not reviewed with it: refused, with an error at
        ``node``, unless the command line allows it (``--allow-outside-includes``).
        """
        try:
            target = (path.parent / name).resolve()
        except (OSError, RuntimeError) as exc:  # RuntimeError: a symbolic link loop
            self.problem(path, node, f"{key}: cannot resolve {name}: {exc}")
            return None
        root = self.include_root
        if root is not None and not self.allow_outside_includes \
                and not target.is_relative_to(root):
            self.problem(path, node, f"{key}: {name} resolves outside the repository root "
                                     f"{root}; pass --allow-outside-includes on the command "
                                     "line to allow it")
            return None
        return target

    def parse_database(self, path: Path, node: yaml.Node, base: Path) -> DatabaseSpec | None:
        """``database:``: a URL string, or a mapping with ``url``, ``migrations`` or ``build``.

        The mapping form adds options a URL cannot carry: ``schemas`` (which
        PostgreSQL schemas to check) and, for migrations, ``seed_data`` and
        ``replay_url`` (the server to replay them on), the runner's file
        selection (``pattern``, ``skip``) and ``on_failure``.  ``build`` (the
        project's own migrate command) replaces ``migrations``.  ``${ENV}``
        expands in ``url`` and ``replay_url``.
        """
        try:
            if type_name(node) == "string":
                return DatabaseSpec(url=expand_env(as_str(node)), base_dir=base)
            fields: dict[str, Any] = {}
            keys: dict[str, yaml.Node] = {}
            ok = True
            for key, key_node, value in mapping_items(node):
                if key not in DATABASE_KEYS:
                    self.unknown_key(path, key_node, "database › ", key, DATABASE_KEYS)
                    continue
                keys[key] = key_node
                if key in ("url", "replay_url"):
                    fields[key] = expand_env(as_str(value))
                elif key == "migrations":
                    fields[key] = as_str(value)
                elif key in _RUNNER_KEYS:
                    try:
                        fields[key] = _RUNNER_KEYS[key](value)
                    except OptionError as exc:
                        self.problem(path, exc.node or value, f"database › {key}: {exc}")
                        ok = False
                else:
                    fields[key] = as_str_list(value)
            if "build" in keys:
                other = next((k for k in ("url", "migrations") if k in fields), None)
                if other is not None:
                    self.problem(path, keys["build"], f"database › build: goes instead of "
                                 f"'{other}', not with it ('build' runs the project's own "
                                 "migrate command, which applies its migrations itself)")
                    return None
                for key in ("pattern", "skip"):
                    if key in keys:
                        self.problem(path, keys[key], f"database › {key}: selects the files "
                                     "a migrations replay applies; with 'build' the project's "
                                     "command picks its own files")
                        return None
            elif ("url" in fields) == ("migrations" in fields):
                self.problem(path, node, "database: a mapping needs either 'url: URL' or "
                                         "'migrations: GLOB' (not both), or 'build: COMMAND' "
                                         "to run the project's own migrations")
                return None
            if "url" in fields:
                for key in ("seed_data", "replay_url", "pattern", "skip", "on_failure"):
                    if key in keys:
                        self.problem(path, node, f"database: '{key}' goes with 'migrations', "
                                                 "not with 'url'")
                        return None
            if not ok:
                return None
            if "schemas" in fields and (not fields["schemas"] or
                                        any(not s.strip() for s in fields["schemas"])):
                self.problem(path, node, "database › schemas: expected a non-empty list of "
                                         "schema names, e.g. [public, app]")
                return None
            return DatabaseSpec(base_dir=base, **fields)
        except OptionError as exc:
            self.problem(path, exc.node or node,
                         f"database: {exc} (a URL string such as sqlite:///app.db, "
                         "{url: 'postgresql://...', schemas: [public]}, "
                         "or {migrations: 'migrations/*.sql'})")
        except KeyError as exc:
            self.problem(path, node, f"database: environment variable {exc.args[0]} is not set")
        return None

    def parse_databases(self, path: Path, node: yaml.Node, base: Path
                        ) -> tuple[NamedDatabase, ...]:
        """``databases:``: a mapping of names to what ``database:`` takes, plus routing.

        Each value is a URL string or a mapping with the keys of
        ``database:`` and ``paths`` (globs of the files whose SQL runs
        against it), ``receivers`` (connection or cursor names) or
        ``external: true`` (a database that is not checked: its SQL is only
        kept away from the others).
        """
        try:
            items = mapping_items(node)
        except OptionError as exc:
            self.problem(path, exc.node, f"databases: {exc} (a mapping of names to "
                                         "databases, e.g. {app: 'sqlite:///app.db'})")
            return ()
        if not items:
            self.problem(path, node, "databases: expected at least one database")
        out: list[NamedDatabase] = []
        seen: set[str] = set()
        for name, key_node, value in items:
            where = f"databases › {name}"
            if not DATABASE_NAME.match(name):
                self.problem(path, key_node, f"{where}: invalid name; use letters, digits, "
                                             "'_', '-' and '.'")
                continue
            if name in seen:
                self.problem(path, key_node, f"databases: duplicate name {name!r}")
                continue
            seen.add(name)
            route: dict[str, Any] = {}
            spec_node = value
            if isinstance(value, yaml.MappingNode):
                kept = []
                for pair in value.value:
                    key = pair[0].value if isinstance(pair[0], yaml.ScalarNode) else None
                    if key not in ROUTE_KEYS:
                        kept.append(pair)
                        continue
                    try:
                        route[key] = (as_bool(pair[1]) if key == "external"
                                      else tuple(as_str_list(pair[1])))
                    except OptionError as exc:
                        self.problem(path, exc.node, f"{where} › {key}: {exc}")
                spec_node = yaml.MappingNode(value.tag, kept, value.start_mark, value.end_mark)
            spec: DatabaseSpec | None = None
            if route.pop("external", False):
                if isinstance(spec_node, yaml.MappingNode) and spec_node.value:
                    self.problem(path, spec_node.value[0][0],
                                 f"{where}: an external database is not opened: give it only "
                                 "'paths' or 'receivers'")
                    continue
            else:
                before = len(self.problems)
                spec = self.parse_database(path, spec_node, base)
                for problem in self.problems[before:]:
                    # parse_database speaks of "database"; this one has a name.
                    if problem.message.startswith("database"):
                        problem.message = where + problem.message[len("database"):]
                    if "unknown key" in problem.message:
                        problem.message += ", " + ", ".join(ROUTE_KEYS)
                if spec is None:
                    continue
            out.append(NamedDatabase(name, spec, origin=self.origin(path, key_node), **route))
        return tuple(out)

    def load_includes(self, path: Path, node: yaml.Node, *, stack: tuple[Path, ...],
                      settings: dict[str, Any]) -> None:
        try:
            names = as_str_list(node)
        except OptionError as exc:
            self.problem(path, exc.node, f"include: {exc}")
            return
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for name, item in zip(names, items):
            if len(stack) > MAX_INCLUDE_DEPTH:
                self.problem(path, item, f"include: {name} is nested more than "
                                         f"{MAX_INCLUDE_DEPTH} includes deep; the limit is "
                                         f"{MAX_INCLUDE_DEPTH}")
                continue
            target = self.confined(path, item, "include", name)
            if target is None:
                continue
            try:
                found = target.is_file()
            except OSError as exc:  # a name too long for the file system...
                self.problem(path, item, f"include: cannot read {name}: {exc.strerror}")
                continue
            if not found:
                self.problem(path, item, f"include: file not found: {name}")
                continue
            self.load_file(target, stack=stack, top=False, settings=settings, via=(path, item))

    def load_rules(self, path: Path, node: yaml.Node) -> None:
        if not isinstance(node, yaml.SequenceNode):
            self.problem(path, node, f"rules: expected list, got {type_name(node)}")
            return
        for index, rule_node in enumerate(node.value):
            rule = self.parse_rule(path, index, rule_node)
            if rule is not None:
                self.rules.append(rule)

    def parse_rule(self, path: Path, index: int, node: yaml.Node) -> RuleSpec | None:
        from gatecheck.kinds.registry import KINDS

        where = f"rules[{index}]"
        try:
            items = mapping_items(node)
        except OptionError as exc:
            self.problem(path, exc.node, f"{where}: {exc}")
            return None
        values = {key: (key_node, value) for key, key_node, value in items}
        before = len(self.problems)
        for key, key_node, _ in items:
            if sum(1 for k, _, _ in items if k == key) > 1:
                self.problem(path, key_node, f"{where}: duplicate key {key!r}")
        rule_id = None
        if "id" not in values:
            self.problem(path, node, f"{where}: missing key 'id'")
        else:
            try:
                rule_id = as_str(values["id"][1])
                if not RULE_ID.match(rule_id):
                    raise OptionError(
                        f"invalid id {rule_id!r}: use lower-case letters, digits and single "
                        "hyphens, e.g. no-task-sessions", values["id"][1])
            except OptionError as exc:
                self.problem(path, exc.node, f"{where} › id: {exc}")
                rule_id = None
        if rule_id:
            where = f"{where} (id={rule_id})"
        module = None
        if "kind" not in values:
            self.problem(path, node, f"{where}: missing key 'kind'; valid kinds: "
                                     f"{', '.join(sorted(KINDS))}")
        else:
            kind_node = values["kind"][1]
            try:
                kind = as_str(kind_node)
                module = KINDS.get(kind)
                if module is None:
                    from gatecheck.suggest import did_you_mean

                    raise OptionError(f"unknown kind {kind!r}; {did_you_mean(kind, KINDS)}"
                                      "valid kinds: "
                                      f"{', '.join(sorted(KINDS))}", kind_node)
            except OptionError as exc:
                self.problem(path, exc.node, f"{where} › kind: {exc}")
        if module is None:
            return None

        common: dict[str, Any] = {}
        for key, parse in (("severity", _parse_severity), ("message", as_str),
                           ("paths", as_str_list), ("exclude", as_str_list),
                           ("ignore", as_str_list), ("database", as_str_list)):
            if key in values:
                try:
                    common[key] = parse(values[key][1])
                except OptionError as exc:
                    self.problem(path, exc.node, f"{where} › {key}: {exc}")

        options = self.parse_options(path, where, node, module.Options, values)
        if len(self.problems) > before or options is None or rule_id is None:
            return None
        origin = self.origin(path, node)
        if rule_id in self.seen_ids:
            self.problem(path, values["id"][1],
                         f"{where}: duplicate rule id, first defined at {self.seen_ids[rule_id]}")
            return None
        self.seen_ids[rule_id] = origin
        if "database" in common:
            self.rule_databases.append((path, values["database"][1], where,
                                        common["database"]))
        return RuleSpec(id=rule_id, kind=module.KIND,
                        severity=common.pop("severity", Severity.ERROR),
                        message=common.pop("message", None), options=options,
                        origin=origin, databases=common.pop("database", ()), **common)

    def parse_options(self, path: Path, where: str, rule_node: yaml.Node, options_cls: type,
                      values: dict[str, tuple[yaml.Node, yaml.Node]]) -> Any:
        kwargs: dict[str, Any] = {}
        claimed = set(COMMON_RULE_KEYS)
        ok = True
        for f, hint in option_fields(options_cls):
            keys = [option_key(f), *f.metadata.get("aliases", ())]
            claimed.update(keys)
            present = [k for k in keys if k in values]
            if len(present) > 1:
                self.problem(path, values[present[1]][0],
                             f"{where}: {present[0]!r} and {present[1]!r} are the same option; "
                             "use one")
                ok = False
                continue
            if not present:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    self.problem(path, rule_node, f"{where}: missing option {keys[0]!r}")
                    ok = False
                continue
            try:
                kwargs[f.name] = parser_for(f, hint)(values[present[0]][1])
            except OptionError as exc:
                self.problem(path, exc.node or values[present[0]][1],
                             f"{where} › {present[0]}: {exc}")
                ok = False
        for key, (key_node, _) in values.items():
            if key not in claimed:
                self.unknown_key(path, key_node, f"{where}: ", key, kind_keys(options_cls))
                ok = False
        if not ok:
            return None
        try:
            return options_cls(**kwargs)
        except (OptionError, ValueError) as exc:
            self.problem(path, rule_node, f"{where}: {exc}")
            return None


def _parse_pattern(node: yaml.Node) -> str:
    text = as_str(node)
    try:
        compiled = re.compile(text)
    except re.error as exc:
        raise OptionError(f"invalid regular expression: {exc}", node) from None
    if "version" not in compiled.groupindex and not compiled.groups:
        raise OptionError(r"expected a regular expression with a group that captures the "
                          r"version, e.g. '^V(?P<version>\d+)__.*\.sql$'", node)
    return text


#: Words a shell would treat as operators: no shell runs ``build:``.
_SHELL_WORDS = frozenset({"&&", "||", "|", ";", "&", ">", ">>", "<", "2>", "2>&1"})


def _parse_build(node: yaml.Node) -> tuple[str, ...]:
    """The argv of ``build:``: a list as is, or a string split as a POSIX shell splits words."""
    if isinstance(node, yaml.SequenceNode):
        argv = as_str_list(node)
    elif type_name(node) == "string":
        import shlex  # only for a build: command, not at start-up

        try:
            argv = tuple(shlex.split(as_str(node)))
        except ValueError as exc:  # an unclosed quote
            raise OptionError(f"cannot split the command into words: {exc}", node) from None
        shell = next((word for word in argv if word in _SHELL_WORDS), None)
        if shell is not None:
            raise OptionError(f"no shell runs the command, so {shell!r} would be passed as "
                              "an argument; put the steps in a script and name it here", node)
    else:
        raise OptionError(f"expected a command string or a list of strings, got "
                          f"{type_name(node)}", node)
    if not argv or not argv[0].strip():
        raise OptionError("expected a command, e.g. 'python -m app.migrate'", node)
    return argv


def _parse_on_failure(node: yaml.Node) -> str:
    text = as_str(node)
    if text not in ON_FAILURE:
        raise OptionError(f"unknown value {text!r}; valid: {', '.join(ON_FAILURE)}", node)
    return text


#: ``database:`` keys whose values get their own checks (and their own errors).
_RUNNER_KEYS: dict[str, typing.Callable[[yaml.Node], Any]] = {
    "pattern": _parse_pattern, "build": _parse_build, "on_failure": _parse_on_failure}


def _parse_severity(node: yaml.Node) -> Severity:
    text = as_str(node)
    try:
        return Severity.parse(text)
    except KeyError:
        raise OptionError(f"unknown severity {text!r}; valid: error, warning, info", node) from None


_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in (
    "str", "int", "float", "bool", "null", "map", "seq", "timestamp"))


def _check_size(root: yaml.Node) -> tuple[str, yaml.Node] | None:
    """Reject alias bombs, absurd nesting and non-plain tags before anything walks the tree."""
    count = 0
    stack: list[tuple[yaml.Node, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if node.tag not in _PLAIN_TAGS:
            return (f"unsupported YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} "
                    "(rules files are plain YAML)", node)
        if count > MAX_NODES:
            return (f"document too large: more than {MAX_NODES} nodes once aliases are "
                    "expanded (an alias bomb?)", root)
        if depth > MAX_DEPTH:
            return f"document nested deeper than {MAX_DEPTH} levels", node
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
    return None


def _line_column(text: str, offset: int, *, in_bytes: bool) -> tuple[int, int]:
    """1-based line and column of a character offset (LibYAML counts UTF-8 bytes)."""
    if in_bytes:
        data = text.encode("utf-8", "surrogatepass")[:max(offset, 0)]
        text = data.decode("utf-8", "replace")
        offset = len(text)
    offset = min(max(offset, 0), len(text))
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - start + 1


def repository_root(directory: Path) -> Path:
    """The top of the git work tree holding ``directory``, else ``directory`` itself."""
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():  # a directory, or a file in worktrees/submodules
            return candidate
    return directory


def expand_env(text: str) -> str:
    """Expand ``${NAME}``; an unset variable raises KeyError(NAME).

    Every value expanded is a secret of the run (`gatecheck.redact.register`):
    output shows ``${NAME}`` in its place.
    """
    from gatecheck.redact import register

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise KeyError(name)
        register(name, os.environ[name])
        return os.environ[name]
    return _ENV_VAR.sub(replace, text)


def _known_dialects(dialect: str) -> list[str] | None:
    """None when ``dialect`` is a sqlglot dialect, else the valid names."""
    if dialect in ("sqlite", "postgres"):
        return None  # the common cases must not pay for importing sqlglot
    from sqlglot.dialects.dialect import Dialects

    names = sorted(d.value for d in Dialects if d.value)
    return None if dialect in names else names
