"""Issue 14 item 9: ``gatecheck.schema.json``, the JSON Schema of rules files.

Generated from the loader's keys and the kinds' option classes
(`gatecheck.rules_schema`) and kept current here; every rules file in the
repository validates, mistakes do not, and the schema agrees with the
loader on each case (a file the schema accepts loads, one it rejects is a
config error).  ``check-jsonschema``, the tool editors' and CI's schema
checks run on, validates the files for real.  Set GATECHECK_REGEN=1 to
rewrite the schema after a deliberate change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import REPO, gatecheck, write_tree
from gatecheck import __version__, rules_schema
from gatecheck.config import load_config
from gatecheck.errors import ConfigError
from gatecheck.scaffold import SCHEMA_URL

SCHEMA_FILE = REPO / "gatecheck.schema.json"
CHECK_JSONSCHEMA = str(Path(sys.executable).parent / "check-jsonschema")
RULES_FILES = sorted({REPO / "rules.yaml", *(REPO / "gates").glob("*.yaml"),
                      *(REPO / "examples").rglob("*.y*ml"),
                      *(REPO / "tests" / "kinds").glob("*/*/rules.yaml"),
                      REPO / "tests" / "postgres" / "parity.yaml"})


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as editors' language servers read it (YAML 1.2: a date is a string)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    assert cls is jsonschema.Draft7Validator  # what yaml-language-server reads best
    return cls(schema)


def errors(validator: jsonschema.protocols.Validator, text: str) -> list[str]:
    doc = yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a SafeLoader)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(doc)]


def test_schema_file_is_current() -> None:
    text = rules_schema.render()
    if os.environ.get("GATECHECK_REGEN"):
        SCHEMA_FILE.write_text(text, encoding="utf-8")
    assert SCHEMA_FILE.read_text(encoding="utf-8") == text, \
        "gatecheck.schema.json is stale: GATECHECK_REGEN=1 pytest tests/test_rules_schema.py"


def test_schema_names_itself_at_this_version() -> None:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert schema["$id"] == SCHEMA_URL
    assert SCHEMA_URL.endswith(f"/v{__version__}/gatecheck.schema.json")


def test_every_top_level_key_and_kind_is_in_the_schema() -> None:
    from gatecheck.config import TOP_KEYS
    from gatecheck.kinds.registry import KINDS

    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert list(schema["properties"]) == list(TOP_KEYS)
    assert schema["definitions"]["rule"]["properties"]["kind"]["enum"] == sorted(KINDS)
    for kind in KINDS:
        options = schema["definitions"][f"kind-{kind}"]["properties"]
        # Every option has the description editors show, from the kind's docstring.
        for key, value in options.items():
            assert value is True or value.get("description"), (kind, key)


@pytest.mark.parametrize("path", RULES_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_rules_file_in_the_repository_validates(
        path: Path, validator: jsonschema.protocols.Validator) -> None:
    assert errors(validator, path.read_text(encoding="utf-8")) == []


#: Mistakes: the schema rejects each, and so does the loader.
MISTAKES = {
    "misspelt kind": "rules:\n  - {id: a, kind: forbid-table, pattern: x}\n",
    "misspelt option": "rules:\n  - {id: a, kind: forbid-tables, patern: x}\n",
    "option of another kind": "rules:\n  - {id: a, kind: forbid-tables, pattern: x, "
                              "tables: [y]}\n",
    "missing option": "rules:\n  - {id: a, kind: require-columns, table: t}\n",
    "both spellings": "rules:\n  - {id: a, kind: forbid-tables, pattern: x, patterns: [y]}\n",
    "wrong type": "rules:\n  - {id: a, kind: references-exist, columns: 'yes'}\n",
    "integer as string": "rules:\n  - {id: a, kind: legacy-retention, pattern: x, "
                         "max_age_days: '30', since: 2025-01-01}\n",
    "version as float": "database: sqlite:///a.db\nrules:\n  - {id: a, kind: schema-version, "
                        "table: v, column: v, min: 0.35}\n",
    "bad severity": "rules:\n  - {id: a, kind: sql-parses, severity: fatal}\n",
    "bad id": "rules:\n  - {id: No_Good, kind: sql-parses}\n",
    "missing id": "rules:\n  - {kind: sql-parses}\n",
    "unknown top-level key": "databse: sqlite:///a.db\n",
    "unknown database key": "database: {url: 'sqlite:///a.db', schema: [public]}\n",
    "database without url": "database: {schemas: [public]}\n",
    "unknown on_failure": "database: {migrations: 'm/*.sql', on_failure: ignore}\n",
    "unknown sources key": "sources: {includes: ['*.py']}\n",
    "bad database name": "databases: {'a b': 'sqlite:///a.db'}\n",
    "unknown route key": "databases: {app: {url: 'sqlite:///a.db', path: ['app/**']}}\n",
    "bad key mapping": "database: sqlite:///a.db\nrules:\n  - {id: a, kind: rows-preserved, "
                       "from: a, to: b, key: {from: x}}\n",
    "unknown dialect": "dialect: postgresql\n",
}

#: Shapes the loader accepts: the schema accepts them too.
VALID = {
    "pattern as a string or a list": "rules:\n  - {id: a, kind: forbid-tables, pattern: x}\n"
                                     "  - {id: b, kind: forbid-tables, patterns: [x, y]}\n",
    "alias of a required option": "rules:\n  - {id: a, kind: require-columns, table: t, "
                                  "column: c}\n",
    "every common key": "rules:\n  - {id: a, kind: forbid-table-references, tables: [t], "
                        "severity: warning, message: m, paths: ['app/**'], exclude: x, "
                        "ignore: [y]}\n",
    "key shapes": "database: sqlite:///a.db\nrules:\n"
                  "  - {id: a, kind: rows-preserved, from: a, to: b, key: id}\n"
                  "  - {id: b, kind: rows-preserved, from: a, to: b, key: [id, x]}\n"
                  "  - {id: c, kind: rows-preserved, from: a, to: b, key: {from: x, to: y}}\n"
                  "  - {id: d, kind: no-orphans, from: a, to: b, "
                  "key: [{from: [x, y], to: [u, v]}]}\n",
    "version as a string or an integer": "database: sqlite:///a.db\nrules:\n"
                                         "  - {id: a, kind: schema-version, table: v, "
                                         "column: v, min: '0.35.0'}\n"
                                         "  - {id: b, kind: schema-version, table: v, "
                                         "column: v, min: 35}\n",
    "dates": "database: sqlite:///a.db\nrules:\n  - {id: a, kind: legacy-retention, "
             "pattern: '*_legacy', max_age_days: 30, since: 2025-06-02, today: '2025-07-01'}\n",
    "database mapping": "database: {migrations: 'db/*.sql', seed_data: seed.sql, "
                        "pattern: '^V(?P<version>\\d+)__', skip: ['db/old/**'], "
                        "on_failure: continue}\ndialect: postgres\n",
    "databases and external": "databases:\n  app: sqlite:///a.db\n"
                              "  analytics: {url: 'sqlite:///b.db', paths: ['reports/**'], "
                              "receivers: [an_db]}\n  legacy: {external: true, "
                              "paths: ['old/**']}\nexternal: [vendor/**]\n"
                              "rules:\n  - {id: a, kind: require-tables, tables: [t], "
                              "database: [app]}\n",
    "sources and include": "sources: {include: ['**/*.py'], exclude: 'tests/**'}\n"
                           "include: []\nrules: []\n",
}


def _loads(tmp_path: Path, body: str) -> bool:
    write_tree(tmp_path, {"rules.yaml": "version: 1\n" + body})
    try:
        load_config(tmp_path / "rules.yaml")
    except ConfigError:
        return False
    return True


@pytest.mark.parametrize("name", MISTAKES)
def test_mistakes_do_not_validate(name: str, validator: jsonschema.protocols.Validator,
                                  tmp_path: Path) -> None:
    assert errors(validator, "version: 1\n" + MISTAKES[name]), "the schema accepts it"
    assert not _loads(tmp_path, MISTAKES[name]), "the loader accepts what the schema refuses"


@pytest.mark.parametrize("name", VALID)
def test_what_the_loader_accepts_validates(name: str, validator: jsonschema.protocols.Validator,
                                           tmp_path: Path) -> None:
    assert errors(validator, "version: 1\n" + VALID[name]) == []
    assert _loads(tmp_path, VALID[name]), "the schema accepts what the loader refuses"


def test_the_loader_suggests_the_closest_name(tmp_path: Path) -> None:
    """Item 5, for the rules file: a misspelt kind or option gets "did you mean"."""
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n"
                          "  - {id: a, kind: forbid-table, pattern: x}\n"
                          "  - {id: b, kind: forbid-tables, patern: x}\n"
                          "dialct: sqlite\n"})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert "kind: unknown kind 'forbid-table'; did you mean 'forbid-tables'? valid kinds:" \
        in run.stderr
    assert "unknown key 'patern'; did you mean 'pattern'? valid keys:" in run.stderr
    assert "unknown key 'dialct'; did you mean 'dialect'? valid keys:" in run.stderr
    write_tree(tmp_path, {"rules.yaml": "version: 1\nrules:\n  - {id: no-webui, "
                          "kind: forbid-table-references, tables: [t]}\n"})
    run = gatecheck("run", "--select", "no-webiu", cwd=tmp_path)
    assert run.exit_code == 2
    assert "--select: unknown rule id 'no-webiu' (nor a kind); did you mean 'no-webui'?" \
        in run.stderr
    run = gatecheck("explain", "forbid-table")
    assert run.exit_code == 2 and "did you mean 'forbid-tables'?" in run.stderr
    # Nothing close: no suggestion, the list of what is valid all the same.
    run = gatecheck("explain", "zzzz")
    assert "did you mean" not in run.stderr and "; valid kinds: " in run.stderr


def run_check_jsonschema(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHECK_JSONSCHEMA, "--schemafile", str(SCHEMA_FILE),
                           *map(str, files)], capture_output=True, text=True, timeout=120)


def test_check_jsonschema_validates_the_repository_and_refuses_a_typo(tmp_path: Path) -> None:
    """The real tool (what a pre-commit schema hook or an editor runs): every rules file
    passes, a misspelt option fails with its place."""
    proc = run_check_jsonschema(*RULES_FILES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = tmp_path / "rules.yaml"
    bad.write_text("version: 1\nrules:\n  - id: a\n    kind: forbid-tables\n    patern: x\n",
                   encoding="utf-8")
    proc = run_check_jsonschema(bad)
    assert proc.returncode == 1
    assert "'patern' was unexpected" in proc.stdout


def test_docs_and_init_give_editors_the_schema(tmp_path: Path) -> None:
    line = f"# yaml-language-server: $schema={SCHEMA_URL}"
    for doc in ("docs/configuration.md", "README.md"):
        assert line in (REPO / doc).read_text(encoding="utf-8"), doc
    assert gatecheck("init", cwd=tmp_path).exit_code == 0
    written = (tmp_path / "rules.yaml").read_text(encoding="utf-8")
    assert written.splitlines()[0] == line
