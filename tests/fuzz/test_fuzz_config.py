"""Fuzzing the rules loader: arbitrary YAML, arbitrary bytes, mutated valid rules files.

Invariants: loading either succeeds or raises `ConfigError` (never anything
else); every problem names the file it is in, and its line is inside that
file; the CLI turns the same file into exit 0 or 2 without a traceback.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fuzz import REPO, check_cli_output, fuzz_settings, scratch_dir, time_limit  # noqa: E402
from conftest import gatecheck  # noqa: E402
from gatecheck.config import load_config  # noqa: E402
from gatecheck.policy import Policy  # noqa: E402
from gatecheck.errors import ConfigError  # noqa: E402
from gatecheck.kinds.registry import KINDS  # noqa: E402

#: Valid rules files to mutate: every fixture case's, plus the bundled examples.
CORPUS = sorted({p.read_text(encoding="utf-8")
                 for p in [*REPO.glob("tests/kinds/*/*/rules.yaml"),
                           *REPO.glob("examples/**/rules.yaml")]})

KEYS = ["version", "database", "dialect", "sources", "include", "allow_outside_includes",
        "rules", "id", "kind", "severity", "message", "paths", "exclude", "ignore", "tables",
        "table", "pattern", "patterns", "except", "columns", "from", "to", "key", "sql",
        "where", "min", "max_age_days", "since", "today", "statements", "allow", "calls",
        "timeout_s", "max_rows", "migrations", "seed_data", "url", "prefixes", "archived"]
VALUES = ["1", "2", "0", "-1", "1.5", "true", "null", "~", "[]", "{}", "''", '"x"', "error",
          "warning", "info", "sqlite", "postgres", "sqlite:///app.db", "${NOPE}", "*",
          "'**/migrations/**'", "[a, b]", "{from: a, to: b}", "!!python/name:os.system",
          "&a x", "*a", "2025-06-01", "'0.35.0'", "SELECT 1", "'DELETE FROM t'", "|",
          ">-", "x.yaml", "../outside.yaml", "/etc/passwd", *sorted(KINDS)]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(KEYS + VALUES))
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children,
                        max_size=6)),
    max_leaves=40)
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Mostly shaped like a rules file, so the loader's deeper checks are reached.
rule = st.fixed_dictionaries(
    {"id": st.one_of(st.sampled_from(["r", "no-x", "Bad Id", "a--b"]), scalars),
     "kind": st.one_of(st.sampled_from(sorted(KINDS)), scalars)},
    optional={key: documents for key in KEYS[9:]})
rules_file = st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), scalars)},
    optional={"rules": st.lists(rule, max_size=4), "dialect": scalars,
              "database": documents, "sources": documents, "include": documents,
              "allow_outside_includes": scalars})


def load_invariants(text: str | bytes, files: dict[str, str] | None = None, *,
                    allow_outside: bool = False) -> None:
    with scratch_dir() as root, time_limit():
        (root / "rules.yaml").write_bytes(text if isinstance(text, bytes) else
                                          text.encode("utf-8", "surrogatepass"))
        for name, content in (files or {}).items():
            if content.startswith("->"):
                (root / name).symlink_to(content[2:])
            else:
                (root / name).write_text(content, encoding="utf-8")
        try:
            load_config(root / "rules.yaml",
                        policy=Policy(allow_outside_includes=allow_outside))
        except ConfigError as exc:
            assert exc.problems or str(exc), "a ConfigError says what is wrong"
            for problem in exc.problems or [exc]:
                assert problem.path is not None, str(problem)
                assert (root / problem.path).exists(), str(problem)
                assert str(problem).startswith(problem.path), str(problem)
                if problem.line is not None:
                    text = (root / problem.path).read_bytes().decode("utf-8", "replace")
                    # YAML breaks lines at \r\n, \r, \n and the Unicode NEL, LS, PS.
                    lines = len(re.findall("\r\n|[\r\n\x85\u2028\u2029]", text)) + 1
                    assert 1 <= problem.line <= lines + 1, str(problem)


def _dump(data: object, flow: bool) -> str:
    return yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)


@fuzz_settings(300)
@given(rules_file, st.booleans())
def test_rules_shaped_documents(data: object, flow: bool) -> None:
    load_invariants(_dump(data, flow))


@fuzz_settings(300)
@given(documents, st.booleans())
def test_arbitrary_documents(data: object, flow: bool) -> None:
    load_invariants(_dump(data, flow))


@fuzz_settings(300)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_arbitrary_bytes(raw: bytes | str) -> None:
    load_invariants(raw)


# ---------------------------------------------------------------- mutations


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid rules file with a few edits: deletions, insertions, swaps, token changes."""
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.split("\n")
        op = draw(st.sampled_from(["delete", "insert", "swap", "token", "indent", "dup",
                                   "char"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "delete":
            del lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(KEYS)) + ": " + draw(st.sampled_from(VALUES)))
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "token":
            words = lines[i].replace(":", " ").replace(",", " ").split()
            if words:
                old = draw(st.sampled_from(words))
                lines[i] = lines[i].replace(old, draw(st.sampled_from(KEYS + VALUES)), 1)
        elif op == "indent":
            lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        elif op == "dup":
            lines.insert(i, lines[i])
        else:
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.text(max_size=2)) + lines[i][at:]
        text = "\n".join(lines)
    return text


@fuzz_settings(600)
@given(mutated())
def test_mutated_rules_files(text: str) -> None:
    load_invariants(text)


@fuzz_settings(150)
@given(mutated(), st.sampled_from(["run", "rules"]))
def test_cli_on_mutated_rules(text: str, command: str) -> None:
    """Through the CLI: exit 0, 1 or 2, errors with their location, never a traceback."""
    with scratch_dir() as root, time_limit():
        (root / "rules.yaml").write_text(text, encoding="utf-8")
        (root / "a.sql").write_text("SELECT * FROM task_sessions;\n", encoding="utf-8")
        args = ["run", "--format", "json", "--no-cache"] if command == "run" else ["rules"]
        run = gatecheck(*args, cwd=root)
        check_cli_output(root, run.exit_code, run.stdout, run.stderr,
                         fmt="json" if command == "run" else "text")
        if run.exit_code == 2:
            assert run.stderr, "exit 2 always says why"


@fuzz_settings(100)
@given(st.lists(st.sampled_from(["a.yaml", "b.yaml", "c.yaml", "../up.yaml", "missing.yaml",
                                 "loop.yaml", "out.yaml", "."]),
                min_size=1, max_size=3),
       st.lists(st.sampled_from(["a.yaml", "b.yaml", "c.yaml"]), max_size=2),
       st.booleans())
def test_include_graphs(top: list[str], nested: list[str], allow: bool) -> None:
    """Random include graphs: cycles, diamonds, missing packs, packs outside the root."""
    pack = "version: 1\ninclude: [{}]\nrules: []\n".format(", ".join(nested))
    load_invariants("version: 1\ninclude: [{}]\n".format(", ".join(top)),
                    {"a.yaml": pack, "b.yaml": pack.replace("a.yaml", "c.yaml"),
                     "c.yaml": "version: 1\nrules: []\n", "loop.yaml": "->loop.yaml",
                     "out.yaml": "->/etc/hostname"}, allow_outside=allow)
