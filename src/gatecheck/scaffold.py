"""``gatecheck init``: a starter rules file, with proposals from a live schema.

The proposals follow the conventions of the story gatecheck comes from: an
archived ``*_legacy`` table means a merge happened, so code must keep away
from both the archive and the table it replaced; archived tables must not
be foreign-key targets; ``*_new``/``*_tmp`` tables are leftovers of failed
migrations.  Everything written must load cleanly (a test runs it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gatecheck import __version__
from gatecheck.kinds import glob_match
from gatecheck.model import Schema

ARCHIVED = ("*_legacy", "*_archive")
#: The JSON Schema of rules files, for completion and checks in editors
#: (yaml-language-server, used by VS Code's YAML extension and others).
SCHEMA_URL = ("https://raw.githubusercontent.com/gatecheck-dev/gatecheck/"
              f"v{__version__}/gatecheck.schema.json")


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def dialect_of(url: str | None, schema: Schema | None = None) -> str:
    """The sqlglot dialect of the SQL that runs against ``url``'s database."""
    scheme = (url or "").split(":", 1)[0].lower()
    if scheme == "sqlite":
        return "sqlite"
    if scheme.split("+", 1)[0] in ("postgres", "postgresql"):
        return "postgres"
    return schema.dialect if schema is not None else "sqlite"


def rebase_sqlite_url(url: str, cwd: Path, rules_dir: Path) -> str:
    """``sqlite:///relative`` as the rules file in ``rules_dir`` must say it: the
    command line's path is relative to ``cwd``, the file's to its directory."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    raw, sep, query = url[len(prefix):].partition("?")
    if not raw or raw == ":memory:":
        return url
    moved = os.path.relpath(cwd.resolve() / raw, rules_dir.resolve())
    return prefix + Path(moved).as_posix() + sep + query


def starter_rules(db_url: str | None, schema: Schema | None, *,
                  dialect: str = "sqlite") -> str:
    lines = [
        f"# yaml-language-server: $schema={SCHEMA_URL}",
        "# gatecheck rules: see 'gatecheck explain' for every rule kind.",
        "version: 1",
    ]
    if db_url is not None:
        lines.append(f"database: {_q(db_url)}")
    else:
        lines.append("# database: sqlite:///path/to/app.db      # or ${DB_URL}, "
                     "or {migrations: \"migrations/*.sql\"}")
    lines += [
        f"dialect: {dialect}",
        "sources:",
        '  include: ["**/*.py", "**/*.sql"]',
        '  exclude: ["tests/**"]',
        "rules:",
        "  - id: sql-parses",
        "    kind: sql-parses",
    ]
    if schema is None:
        lines += [
            "  # With a database: every table and column the code's SQL names must exist.",
            "  # - id: code-matches-schema",
            "  #   kind: references-exist",
            "  #   columns: true",
            "  # - id: no-old-table",
            "  #   kind: forbid-table-references",
            "  #   tables: [old_table]",
            '  #   exclude: ["**/migrations/**"]',
        ]
        return "\n".join(lines) + "\n"
    lines += [
        "  # Every table and column the code's SQL names must exist in the database.",
        "  - id: code-matches-schema",
        "    kind: references-exist",
        "    columns: true",
    ]
    names = {t.name.casefold() for t in schema.tables}
    archived = sorted((t.name for t in schema.tables if glob_match(t.name, ARCHIVED)),
                      key=str.casefold)
    for name in archived:
        original = name.rsplit("_", 1)[0]
        ident = "".join(c if c.isalnum() else "-" for c in original.lower()).strip("-")
        tables = [original, name] if original.casefold() not in names else [name]
        lines += [
            f"  # {name} is an archive: new code should use the table that replaced it.",
            f"  - id: no-{ident}-references",
            "    kind: forbid-table-references",
            f"    tables: [{', '.join(_q(t) for t in tables)}]",
            '    exclude: ["**/migrations/**"]',
        ]
    lines += [
        "  - id: foreign-keys-resolve",
        "    kind: foreign-keys-resolve",
        f"    archived: [{', '.join(_q(a) for a in ARCHIVED)}]",
        "  - id: no-leftover-tables",
        "    kind: forbid-tables",
        '    patterns: ["*_new", "*_tmp"]',
        "  - id: dependents-resolve",
        "    kind: dependents-resolve",
    ]
    return "\n".join(lines) + "\n"
