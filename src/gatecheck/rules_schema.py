"""The JSON Schema of a rules file, generated from the loader's keys and the kinds.

``gatecheck.schema.json`` at the repository root is this module's output (a
test keeps it current: ``GATECHECK_REGEN=1 pytest tests/test_rules_schema.py``
or ``python -m gatecheck.rules_schema > gatecheck.schema.json``).  Editors
complete and check rules files with it through a first line::

    # yaml-language-server: $schema=https://raw.githubusercontent.com/gatecheck-dev/gatecheck/v0.1.0/gatecheck.schema.json

Every key comes from where the loader takes it: the top-level keys from
`gatecheck.config.TOP_KEYS` (a key without a description here is still
allowed, with any value), a kind's options from the fields of its
``Options`` class (`gatecheck.options.option_fields`: types from the type
hints, ``aliases`` and defaults from the fields, a ``schema`` in a field's
metadata for options with their own parser) and their descriptions from the
**Options** section of the kind's docstring.  The loader stays the judge:
the schema catches misspelt kinds, options and keys and wrong types as you
type, not every rule the loader checks (a glob that matches nothing, a
database option that needs another).
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from typing import Any

from gatecheck import config
from gatecheck.options import option_fields, option_key, unwrap_optional

DRAFT = "http://json-schema.org/draft-07/schema#"

_STRING: dict[str, Any] = {"type": "string"}
#: ``as_str_list``: a string, or a list of strings.
_STRINGS: dict[str, Any] = {"anyOf": [{"type": "string"},
                                      {"type": "array", "items": {"type": "string"}}]}

#: JSON Schema of an option by its type hint (optional types also take null).
_BY_TYPE: dict[Any, dict[str, Any]] = {
    str: _STRING, int: {"type": "integer"}, float: {"type": "number"},
    bool: {"type": "boolean"}, tuple[str, ...]: _STRINGS,
}

_TOP: dict[str, dict[str, Any]] = {
    "version": {"description": "Format version of the rules file.", "enum": [1]},
    "database": {"description": "The database to check: a URL (sqlite:///app.db, "
                 "postgresql://..., ${DATABASE_URL}) or a mapping (migrations to replay, "
                 "a build command, schemas).", "$ref": "#/definitions/database"},
    "databases": {"description": "Several databases, by name, each with the files or "
                  "connections whose SQL runs against it (instead of 'database').",
                  "type": "object", "minProperties": 1,
                  "propertyNames": {"pattern": config.DATABASE_NAME.pattern},
                  "additionalProperties": {"$ref": "#/definitions/named-database"}},
    "external": {"description": "Path globs and database names whose SQL runs against a "
                 "database this file does not configure (never checked).", **_STRINGS},
    "dialect": {"description": "sqlglot dialect of the SQL in the sources.",
                "$ref": "#/definitions/dialect"},
    "sources": {"description": "Which files are read for SQL (gitignore-style globs; "
                ".gitignore is honoured).", "type": "object",
                "properties": {"include": {"description": "Globs of the files to read.",
                                           **_STRINGS},
                               "exclude": {"description": "Globs of files never read.",
                                           **_STRINGS}},
                "additionalProperties": False},
    "include": {"description": "Packs of rules (YAML files), relative to this file.",
                **_STRINGS},
    "rules": {"description": "The rules: each has an id, a kind and the kind's options.",
              "type": "array", "items": {"$ref": "#/definitions/rule"}},
    "baseline": {"description": "Baseline file of accepted findings, relative to this file.",
                 **_STRING},
}

_DATABASE: dict[str, dict[str, Any]] = {
    "url": {"description": "URL of a live database; ${ENV} expands.", **_STRING},
    "migrations": {"description": "Glob of migration files replayed into a scratch "
                   "database.", **_STRING},
    "seed_data": {"description": "SQL files run after the migrations.", **_STRINGS},
    "replay_url": {"description": "PostgreSQL server on which the scratch database is "
                   "created.", **_STRING},
    "schemas": {"description": "PostgreSQL schemas to check (default: public).",
                **_STRINGS},
    "pattern": {"description": "Regular expression with a 'version' group: which "
                "migration files apply, in which order.", **_STRING},
    "skip": {"description": "Globs of migration files not replayed.", **_STRINGS},
    "build": {"description": "The project's own migrate command (run only with "
              "--allow-build), instead of a replay.", **_STRINGS},
    "on_failure": {"description": "When a replayed file fails: stop (the rules that need "
                   "the database do not run) or continue (they check the partial schema).",
                   "enum": list(config.ON_FAILURE)},
}

_ROUTES: dict[str, dict[str, Any]] = {
    "paths": {"description": "Globs of the files whose SQL runs against this database.",
              **_STRINGS},
    "receivers": {"description": "Names of the connections or cursors (the name before "
                  ".execute) whose SQL runs against this database.", **_STRINGS},
    "external": {"description": "A database not checked: its SQL is only kept away from "
                 "the others.", "type": "boolean"},
}

_COMMON: dict[str, dict[str, Any]] = {
    "id": {"description": "The rule's id: lower-case letters, digits and single hyphens.",
           "type": "string", "pattern": config.RULE_ID.pattern},
    "kind": {"description": "What the rule checks ('gatecheck explain' lists the kinds).",
             "type": "string"},
    "severity": {"description": "error (default), warning or info.",
                 "enum": ["error", "warning", "info"]},
    "message": {"description": "The message of its findings, instead of the kind's.",
                **_STRING},
    "paths": {"description": "Source rules: globs of the files the rule sees.", **_STRINGS},
    "exclude": {"description": "Source rules: globs of files the rule never sees.",
                **_STRINGS},
    "ignore": {"description": "Globs of schema objects the rule never reports.", **_STRINGS},
    "database": {"description": "Schema and data rules: the databases (names under "
                 "'databases') the rule checks; default: every one.", **_STRINGS},
}


def rules_schema() -> dict[str, Any]:
    """The schema, as a JSON-ready dict (deterministic: same code, same schema)."""
    from gatecheck.kinds.registry import KINDS

    kinds = sorted(KINDS)
    rule: dict[str, Any] = {
        "type": "object",
        "required": ["id", "kind"],
        "properties": {**{k: _COMMON.get(k, {}) for k in config.COMMON_RULE_KEYS},
                       "kind": {**_COMMON["kind"], "enum": kinds}},
        "allOf": [{"if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                   "then": {"$ref": f"#/definitions/kind-{kind}"}} for kind in kinds],
    }
    definitions: dict[str, Any] = {
        "rule": rule,
        "database": {"anyOf": [_STRING, _database_mapping({})]},
        "named-database": {"anyOf": [_STRING, _database_mapping(_ROUTES)]},
        "dialect": {"type": "string", "enum": _dialects()},
    }
    for kind in kinds:
        definitions[f"kind-{kind}"] = _kind(kind, KINDS[kind])
    return {
        "$schema": DRAFT,
        "$id": _schema_url(),
        "title": "gatecheck rules file",
        "description": "rules.yaml (or a pack it includes) of gatecheck, the schema-gate "
                       "linter: the database, the sources and the rules.",
        "type": "object",
        "properties": {key: _TOP.get(key, {}) for key in config.TOP_KEYS},
        "additionalProperties": False,
        "definitions": definitions,
    }


def render() -> str:
    return json.dumps(rules_schema(), indent=2, ensure_ascii=False) + "\n"


def _schema_url() -> str:
    from gatecheck.scaffold import SCHEMA_URL

    return SCHEMA_URL


def _database_mapping(extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keys = {k: _DATABASE.get(k, {}) for k in config.DATABASE_KEYS}
    mapping: dict[str, Any] = {"type": "object", "properties": {**keys, **extra},
                               "additionalProperties": False}
    if not extra:  # a named database may be external, with no url of its own
        mapping["anyOf"] = [{"required": [k]} for k in ("url", "migrations", "build")]
    return mapping


def _dialects() -> list[str]:
    from sqlglot.dialects.dialect import Dialects

    return sorted(d.value for d in Dialects if d.value)


def _kind(kind: str, module: types.ModuleType) -> dict[str, Any]:
    """The keys a rule of ``kind`` may have: the common ones and its options."""
    docs = _option_docs(module.__doc__ or "")
    properties: dict[str, Any] = {k: True for k in config.COMMON_RULE_KEYS}
    conditions: list[dict[str, Any]] = []
    for f, hint in option_fields(module.Options):
        keys = [option_key(f), *f.metadata.get("aliases", ())]
        schema = dict(f.metadata.get("schema") or _type_schema(hint))
        default = _default(f)
        if default is not dataclasses.MISSING:
            schema["default"] = default
        for key in keys:
            described = docs.get(key) or next((docs[k] for k in keys if k in docs), None)
            properties[key] = {"description": described, **schema} if described else schema
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            conditions.append({"required": keys} if len(keys) == 1 else
                              {"anyOf": [{"required": [k]} for k in keys]})
        if len(keys) > 1:  # ``pattern`` and ``patterns`` are one option: one of them
            conditions.append({"not": {"required": keys}})
    out: dict[str, Any] = {"description": (module.__doc__ or kind).strip().splitlines()[0],
                           "properties": properties, "additionalProperties": False}
    if conditions:
        out["allOf"] = conditions
    return out


def _type_schema(hint: Any) -> dict[str, Any]:
    hint, nullable = unwrap_optional(hint)
    schema = _BY_TYPE.get(hint)
    if schema is None:
        raise TypeError(f"no JSON Schema for option type {hint!r}: give the field a "
                        "'schema' in its metadata")
    if nullable:
        return {"anyOf": [schema, {"type": "null"}]}
    return dict(schema)


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is dataclasses.MISSING:
        return dataclasses.MISSING
    value = f.default
    if isinstance(value, tuple):
        return list(value) if value else dataclasses.MISSING
    if value is None or isinstance(value, (bool, int, float, str)):
        return value if value is not None else dataclasses.MISSING
    return dataclasses.MISSING


_ITEM = re.compile(r"^- (?P<keys>(?:``[^`]+``(?:\s*(?:/|,)\s*)?)+)(?:\s*\([^)]*\))?: (?P<text>.*)$")
_LITERAL = re.compile(r"``([^`]+)``")


def _option_docs(doc: str) -> dict[str, str]:
    """{key: description} from the **Options** section of a kind's docstring."""
    section = doc.split("**Options**", 1)[1] if "**Options**" in doc else ""
    out: dict[str, str] = {}
    keys: list[str] = []
    text: list[str] = []

    def flush() -> None:
        description = _LITERAL.sub(r"`\1`", " ".join(text)).strip()
        for key in keys:
            out.setdefault(key, description)

    for line in section.splitlines():
        match = _ITEM.match(line.strip()) if line.startswith("- ") else None
        if match:
            flush()
            keys = _LITERAL.findall(match.group("keys"))
            text = [match.group("text")]
        elif keys and line.startswith("  ") and line.strip():
            text.append(line.strip())
        else:
            flush()
            keys, text = [], []
    flush()
    return out


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
