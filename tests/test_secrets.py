"""A password in the database URL is never printed: not in any report format, not in
errors, not with --verbose, not by ``rules`` or ``schema``, not in files written.

The URL points at a closed port, so the connection fails at once and the error
path (the one most likely to echo a URL) is what runs.  With or without
PostgreSQL support installed the secret must stay hidden: "unsupported scheme"
and "cannot connect" messages both show the URL through `introspect.redact`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import gatecheck, write_tree

SECRET = "S3cr3t-Pa55w0rd"
URLS = {
    "userinfo": f"postgresql://gateuser:{SECRET}@127.0.0.1:1/appdb",
    "query": f"postgresql://gateuser@127.0.0.1:1/appdb?sslmode=disable&password={SECRET}",
    # libpq quotes the whole URI when it cannot parse it (regression: urlsplit
    # failed on it too, so nothing was scrubbed).
    "bad-host": f"postgresql://gateuser:{SECRET}@[::1/appdb",
    # An unencoded "@" in the password: libpq takes the rest for the host name.
    "at-sign": f"postgresql://gateuser:pw@{SECRET}@127.0.0.1:1/appdb",
    "slash": f"postgresql://gateuser:x/{SECRET}@127.0.0.1:1/appdb",
    "other-scheme": f"mysql://gateuser:{SECRET}@127.0.0.1:1/appdb",
}
RULES = """\
version: 1
database: ${GC_SECRET_DB_URL}
rules:
  - {id: no-webui, kind: forbid-tables, pattern: "webui_*"}
  - {id: custom, kind: query, sql: "SELECT 1"}
  - {id: no-task-sessions, kind: forbid-table-references, tables: [task_sessions]}
"""


def assert_hidden(*texts: str) -> None:
    for text in texts:
        for form in (SECRET, quote(SECRET), SECRET[3:]):
            assert form not in text, text


@pytest.mark.parametrize("name", sorted(URLS))
def test_no_output_shows_the_password(name: str, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    url = URLS[name]
    monkeypatch.setenv("GC_SECRET_DB_URL", url)
    write_tree(tmp_path, {"rules.yaml": RULES, "a.sql": "SELECT * FROM task_sessions;\n"})
    runs = []
    for fmt in ("text", "json", "sarif", "github", "junit"):
        runs.append(gatecheck("run", "--format", fmt, "--verbose", "--no-cache", cwd=tmp_path))
    runs.append(gatecheck("run", "--db", url, "--verbose", "--no-cache", cwd=tmp_path))
    runs.append(gatecheck("run", "--format", "sarif", "--output", "report.sarif", cwd=tmp_path))
    runs.append(gatecheck("baseline", "--output", "baseline.json", cwd=tmp_path))
    runs.append(gatecheck("rules", cwd=tmp_path))
    runs.append(gatecheck("schema", cwd=tmp_path))
    runs.append(gatecheck("schema", "--db", url, cwd=tmp_path))
    for run in runs:
        assert_hidden(run.stdout, run.stderr)
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    for written in tmp_path.rglob("*"):
        if written.is_file():
            assert_hidden(written.read_text(encoding="utf-8", errors="replace"))
    # The runs failed on the database, said so, and showed the URL redacted.
    text_run = runs[0]
    assert text_run.exit_code == 2
    assert "***" in text_run.stderr and "gateuser" in text_run.stderr
    assert text_run.stdout.startswith("a.sql:1:15: no-task-sessions"), "source rules still ran"


def test_an_unset_variable_is_named_not_guessed(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GC_SECRET_DB_URL", raising=False)
    write_tree(tmp_path, {"rules.yaml": RULES})
    run = gatecheck("run", cwd=tmp_path)
    assert run.exit_code == 2
    assert run.stderr == ("gatecheck: error: rules.yaml:2:11: database: environment variable "
                          "GC_SECRET_DB_URL is not set\n")
