"""``gatecheck init``: a starter rules file, with proposals from a live schema.

The proposals follow the conventions of the story gatecheck comes from: an
archived ``*_legacy`` table means a merge happened, so code must keep away
from both the archive and the table it replaced; archived tables must not
be foreign-key targets; ``*_new``/``*_tmp`` tables are leftovers of failed
migrations.  Everything written must load cleanly (a test runs it).
"""

from __future__ import annotations

import json

from gatecheck.kinds import glob_match
from gatecheck.model import Schema

ARCHIVED = ("*_legacy", "*_archive")


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text)


def starter_rules(db_url: str | None, schema: Schema | None) -> str:
    lines = [
        "# gatecheck rules: see 'gatecheck explain' for every rule kind.",
        "version: 1",
    ]
    if db_url is not None:
        lines.append(f"database: {_q(db_url)}")
    else:
        lines.append("# database: sqlite:///path/to/app.db      # or ${DB_URL}, "
                     "or {migrations: \"migrations/*.sql\"}")
    lines += [
        "dialect: sqlite",
        "sources:",
        '  include: ["**/*.py", "**/*.sql"]',
        '  exclude: ["tests/**"]',
        "rules:",
        "  - id: sql-parses",
        "    kind: sql-parses",
    ]
    if schema is None:
        lines += [
            "  # - id: no-old-table",
            "  #   kind: forbid-table-references",
            "  #   tables: [old_table]",
            '  #   exclude: ["**/migrations/**"]',
        ]
        return "\n".join(lines) + "\n"
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
