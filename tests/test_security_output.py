"""Issue 13 items 4, 8 and 12 (init): secrets never leave, output is inert.

Every format is run for real (CLI), on real SQLite files whose table names,
and repository files whose names and rule messages, carry line breaks and
terminal escapes; secrets come from the environment as a CI job's do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import build_db, gatecheck, write_tree

FORMATS = ["text", "json", "sarif", "github", "junit"]
TOKEN = "ghp_Zq8v2LmN4xR7tY1uK9wE3sA6dF0gH5jB"
PASSWORD = "staging-Pa55-w0rd"


def _every_format(tmp_path: Path, *flags: str) -> dict[str, tuple[int, str, str]]:
    out = {}
    for fmt in FORMATS:
        run = gatecheck("run", "--format", fmt, *flags, cwd=tmp_path)
        out[fmt] = (run.exit_code, run.stdout, run.stderr)
    return out


# ---------------------------------------------------------------- item 4


@pytest.mark.parametrize("database", [
    "sqlite:///${GITHUB_TOKEN}/app.db",          # "file not found" quoted the path
    "sqlite:///${DATABASE_URL}",                 # the staging password inside a path
    "${GITHUB_TOKEN}://x",                       # "unsupported scheme" quoted the URL
])
def test_an_expanded_variable_is_never_printed(database: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://app:{PASSWORD}@db.internal/app")
    write_tree(tmp_path, {"rules.yaml": f"version: 1\ndatabase: {database}\nrules:\n"
                          "  - {id: t, kind: require-tables, tables: [x]}\n"})
    for fmt, (code, stdout, stderr) in _every_format(tmp_path, "--verbose").items():
        assert code == 2, fmt
        for secret in (TOKEN, PASSWORD):
            assert secret not in stdout + stderr, (fmt, stdout, stderr)
        assert "${" in stderr or "***" in stderr, (fmt, stderr)  # named, or hidden


def test_a_keyword_dsn_password_is_redacted(tmp_path: Path) -> None:
    from gatecheck.redact import scrub, url

    dsn = f"host=127.0.0.1 port=1 dbname=app user=u password={PASSWORD} connect_timeout=1"
    assert PASSWORD not in url(dsn)
    assert PASSWORD not in scrub(f"cannot connect to {dsn}: refused")
    assert "password=***" in url(f"host=h password='a b\\' {PASSWORD}'")
    assert PASSWORD not in url(f"host=h password='a b\\' {PASSWORD}'")


# ---------------------------------------------------------------- item 8

EVIL_TABLE = "x\n::error::pwned\x1b]0;title\x07"


def _evil_repo(tmp_path: Path) -> None:
    build_db(tmp_path / "app.db", f'CREATE TABLE "{EVIL_TABLE}" (id int);'
                                  'CREATE TABLE "webui_\x1b[31mred" (id int);')
    write_tree(tmp_path, {
        "rules.yaml": "version: 1\ndatabase: sqlite:///app.db\nrules:\n"
                      "  - {id: no-x, kind: forbid-tables, pattern: 'x*'}\n"
                      "  - {id: no-webui, kind: forbid-tables, pattern: 'webui_*',"
                      " message: \"bad\\n::error::from-message\\u2028\"}\n"
                      "  - {id: no-t, kind: forbid-table-references, tables: [t]}\n",
        "src/\x1b[2J::error::evil.sql": "SELECT * FROM t;\n",
        "src/line\nbreak.sql": "SELECT * FROM t;\n",
    })


@pytest.mark.parametrize("fmt", FORMATS)
def test_no_value_can_inject_a_line_or_an_escape(fmt: str, tmp_path: Path) -> None:
    _evil_repo(tmp_path)
    run = gatecheck("run", "--format", fmt, cwd=tmp_path)
    assert run.exit_code == 1, run.stderr
    for text in (run.stdout, run.stderr):
        for char in "\x1b\x07\u2028\r":
            assert char not in text
        commands = [line for line in text.splitlines() if line.startswith("::")]
        if fmt == "github" and text is run.stdout:
            # gatecheck's own annotations only, one per finding; "pwned" only escaped
            assert all(c.startswith(("::error file=", "::error title=", "::warning",
                                     "::notice")) for c in commands), commands
            assert not any("::error::pwned" in c.split("::", 2)[1] for c in commands)
        else:
            assert commands == [], commands
    if fmt in ("json", "sarif"):
        json.loads(run.stdout)  # still valid JSON
    assert "pwned" in run.stdout  # the value is shown, escaped, not dropped


def test_text_output_never_starts_a_line_with_two_colons(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "rules.yaml": "version: 1\nrules:\n  - {id: no-t, kind: forbid-table-references, "
                      "tables: [t]}\n",
        "::error::x.sql": "SELECT * FROM t;\n",
    })
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 1
    assert "::error::x.sql" in run.stdout
    assert not any(line.startswith("::") for line in run.stdout.splitlines())


# ---------------------------------------------------------------- item 12 (init)


def test_init_never_writes_a_password(tmp_path: Path) -> None:
    db = build_db(tmp_path / "app.db", "CREATE TABLE t (id int);")
    run = gatecheck("init", "--db", f"postgresql://u:{PASSWORD}@127.0.0.1:1/app?connect_timeout=1",
                    cwd=tmp_path)
    assert PASSWORD not in run.stderr
    assert not (tmp_path / "rules.yaml").exists() or \
        PASSWORD not in (tmp_path / "rules.yaml").read_text()
    # A database it can read: the file is written with a reference, and says how to set it.
    run = gatecheck("init", "--db", f"sqlite:///{db}", cwd=tmp_path)
    assert run.exit_code == 0
    assert f"database: \"sqlite:///{db}\"" in (tmp_path / "rules.yaml").read_text()


def test_init_with_a_password_url_writes_a_reference(tmp_path: Path) -> None:
    """On a real server whose URL holds a password: the file gets ${DATABASE_URL}."""
    from pgserver import password_of, scratch_database

    with scratch_database("gct_init") as url:
        run = gatecheck("init", "--db", url, cwd=tmp_path)
        assert run.exit_code == 0, run.stderr
        written = (tmp_path / "rules.yaml").read_text()
        assert password_of(url) not in written + run.stderr
        assert 'database: "${DATABASE_URL}"' in written
        assert "set DATABASE_URL" in run.stderr
