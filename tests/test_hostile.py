"""Hostile and broken configs: rejected fast, in bounded memory, with a clear error.

Alias bombs, deep nesting, include cycles and escapes from the repository,
pathological globs and a rules file of 10,000 rules.  Time and memory are
measured, not assumed; time as CPU time, so that a busy CI machine does not
fail them.  (tests/test_config.py has the basic alias-bomb and
cycle cases; these add the bounds and the variants.)
"""

from __future__ import annotations

import subprocess
import time
import tracemalloc
from pathlib import Path

import pytest

from conftest import gatecheck, write_tree
from gatecheck.config import MAX_DEPTH, MAX_NODES, load_config
from gatecheck.errors import ConfigError
from gatecheck.kinds import glob_match
from gatecheck.paths import PathMatcher
from gatecheck.policy import Policy


def problems(root: Path, text: str) -> tuple[list[str], float, int]:
    """(problems, seconds, peak traced bytes) of loading ``text`` as rules.yaml."""
    (root / "rules.yaml").write_text(text, encoding="utf-8")
    tracemalloc.start()
    started = time.process_time()
    try:
        load_config(root / "rules.yaml")
        found: list[str] = []
    except ConfigError as exc:
        found = [str(p) for p in exc.problems]
    finally:
        elapsed = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return found, elapsed, peak


MB = 1024 * 1024

# ---------------------------------------------------------------- alias bombs and nesting

BOMBS = {
    # 10 aliases per level, 9 levels: 10^9 leaves once expanded.
    "lists": "version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)),
    # The same through mappings, and through merge keys.
    "mappings": "version: 1\nm0: &m0 {a: x, b: x, c: x, d: x, e: x, f: x, g: x, h: x}\n" + "".join(
        f"m{i}: &m{i} {{{', '.join(f'k{j}: *m{i - 1}' for j in range(10))}}}\n"
        for i in range(1, 10)),
    "merge-keys": "version: 1\nb0: &b0 {a: [x, x, x, x, x, x, x, x]}\n" + "".join(
        f"b{i}: &b{i} {{<<: *b{i - 1}, {', '.join(f'k{j}: *b{i - 1}' for j in range(9))}}}\n"
        for i in range(1, 10)),
    # The bomb hidden in a rule's option, where the loader would walk it.
    "in-a-rule": "version: 1\nx: &x [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i - 1}' if i > 1 else '*x'] * 10)}]\n"
        for i in range(1, 9)) + "rules:\n  - {id: r, kind: forbid-tables, patterns: *x8}\n",
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_alias_bombs_are_rejected_in_bounded_time_and_memory(name: str, tmp_path: Path) -> None:
    found, seconds, peak = problems(tmp_path, BOMBS[name])
    if name == "merge-keys":  # merge keys are refused outright, before any expansion
        assert found == ["rules.yaml:3:10: unsupported YAML tag !!merge (rules files are "
                         "plain YAML)"]
    else:
        assert any(f"more than {MAX_NODES} nodes" in p and "alias bomb" in p for p in found)
    assert seconds < 2, seconds
    assert peak < 20 * MB, peak


@pytest.mark.parametrize("text", [
    "version: 1\nrules: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "version: 1\nrules: " + "{a: " * 100_000 + "x" + "}" * 100_000 + "\n",
    "version: 1\nrules:\n" + "".join("  " * i + "- \n" for i in range(1, 3000)),
], ids=["flow-lists", "flow-mappings", "block-lists"])
def test_deep_nesting_is_rejected_with_its_position(text: str, tmp_path: Path) -> None:
    found, seconds, peak = problems(tmp_path, text)
    [message] = found
    assert message.startswith("rules.yaml:") and ("nest" in message or "invalid YAML" in message)
    assert seconds < 2, seconds
    assert peak < 50 * MB, peak


def test_nesting_just_past_the_limit_names_the_node(tmp_path: Path) -> None:
    depth = MAX_DEPTH + 2
    found, _, _ = problems(tmp_path, "version: 1\nrules: " + "[" * depth + "]" * depth + "\n")
    [message] = found
    assert message.startswith("rules.yaml:2:") and \
        message.endswith(f"document nested deeper than {MAX_DEPTH} levels")


def test_a_flat_document_with_too_many_nodes(tmp_path: Path) -> None:
    text = "version: 1\nrules: [" + ", ".join(["x"] * (MAX_NODES + 10)) + "]\n"
    found, seconds, _ = problems(tmp_path, text)
    assert any("document too large" in p for p in found)
    assert seconds < 5


def test_control_characters_and_empty_files(tmp_path: Path) -> None:
    """Regressions: an empty file and a control character were internal errors."""
    found, _, _ = problems(tmp_path, "")
    assert found == ["rules.yaml:1:1: missing key 'version' (use: version: 1)"]
    found, _, _ = problems(tmp_path, "# just a comment\n")
    assert found == ["rules.yaml:1:1: missing key 'version' (use: version: 1)"]
    found, _, _ = problems(tmp_path, "version: 1\né: \x1f\n")
    assert found == ["rules.yaml:2:4: invalid YAML: unacceptable character #x001f: control "
                     "characters are not allowed"]
    found, _, _ = problems(tmp_path, 'version: 1\ninclude: ["a\\0b"]\n')
    assert found == ["rules.yaml:2:11: include: a NUL character (\\0) is not allowed here"]
    for text in ("", "\x1f"):
        (tmp_path / "rules.yaml").write_text(text)
        run = gatecheck("run", cwd=tmp_path)
        assert run.exit_code == 2 and run.stderr.startswith("gatecheck: error: rules.yaml:1:")
        assert "internal error" not in run.stderr and len(run.stderr.splitlines()) == 1


# ---------------------------------------------------------------- includes


def include_problems(root: Path, top: str, files: dict[str, str], *,
                     allow_outside: bool = False) -> list[str]:
    write_tree(root, {"rules.yaml": top, **files})
    try:
        load_config(root / "rules.yaml", policy=Policy(allow_outside_includes=allow_outside))
    except ConfigError as exc:
        return [str(p) for p in exc.problems]
    return []


PACK = "version: 1\nrules:\n  - {id: from-pack, kind: sql-parses}\n"


def test_includes_outside_the_repository_root_are_errors(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (tmp_path / "shared.yaml").write_text(PACK)
    found = include_problems(root, "version: 1\ninclude: [../shared.yaml]\n", {})
    assert found == [f"rules.yaml:2:11: include: ../shared.yaml resolves outside the "
                     f"repository root {root}; pass --allow-outside-includes on the command "
                     "line to allow it"]
    # An absolute path, and a link inside the repository that points out.
    (root / "gates").mkdir()
    (root / "gates" / "link.yaml").symlink_to(tmp_path / "shared.yaml")
    found = include_problems(root, f"version: 1\ninclude: [{tmp_path / 'shared.yaml'}, "
                                   "gates/link.yaml]\n", {})
    assert len(found) == 2 and all("outside the repository root" in p for p in found)
    # Allowed by the command line, never by the file itself.
    cfg_text = "version: 1\ninclude: [../shared.yaml]\n"
    assert include_problems(root, cfg_text, {}, allow_outside=True) == []
    rules = load_config(root / "rules.yaml", policy=Policy(allow_outside_includes=True)).rules
    assert [r.id for r in rules] == ["from-pack"]


def test_the_repository_root_is_the_git_work_tree(tmp_path: Path) -> None:
    """In a git work tree, a rules file in a subdirectory may include packs from elsewhere
    in the same tree, not from outside it."""
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    root = tmp_path / "repo"
    write_tree(root, {"gates/pack.yaml": PACK})
    (tmp_path / "outside.yaml").write_text(PACK)
    found = include_problems(root / "service", "version: 1\ninclude: [../gates/pack.yaml]\n", {})
    assert found == []
    found = include_problems(root / "service", "version: 1\ninclude: [../../outside.yaml]\n", {})
    assert [p.split(": ", 1)[1].split(" resolves")[0] for p in found] == \
        ["include: ../../outside.yaml"]
    assert f"outside the repository root {root};" in found[0]


def test_a_rules_file_cannot_allow_outside_includes_itself(tmp_path: Path) -> None:
    """Security regression (item 12): ``allow_outside_includes: true`` in the very file it
    guards switched the guard off; it is now refused, in the top-level file and in packs."""
    (tmp_path / "shared.yaml").write_text(PACK)
    root = tmp_path / "repo"
    found = include_problems(root, "version: 1\nallow_outside_includes: true\n"
                                   "include: [p.yaml, ../shared.yaml]\n",
                             {"p.yaml": "version: 1\nallow_outside_includes: true\n"})
    assert ("rules.yaml:2:1: allow_outside_includes: a rules file cannot grant this (a change "
            "to the repository could); pass --allow-outside-includes on the command line "
            "instead") in found
    assert any(p.startswith("p.yaml:2:1: allow_outside_includes: a rules file cannot grant")
               for p in found)
    assert any(p.startswith("rules.yaml:3:19: include: ../shared.yaml resolves outside")
               for p in found)


def test_include_names_the_system_refuses(tmp_path: Path) -> None:
    """Regressions (campaign): a name over the file-system limit was an internal error,
    and one holding a line break printed an error line that named no file."""
    long = "x" * 300
    found = include_problems(tmp_path, f'version: 1\ninclude: [{long}.yaml, "a\\nb"]\n', {})
    assert found == [f"rules.yaml:2:11: include: cannot read {long}.yaml: File name too long",
                     "rules.yaml:2:318: include: file not found: a\\nb"]
    run = gatecheck("run", cwd=tmp_path)
    lines = run.stderr.splitlines()
    assert run.exit_code == 2 and len(lines) == 2
    assert all(line.startswith("gatecheck: error: rules.yaml:2:") for line in lines)


def test_include_symlink_loop_and_diamond(tmp_path: Path) -> None:
    """Regression: an include naming a symbolic-link loop was an internal error."""
    (tmp_path / "loop.yaml").symlink_to(tmp_path / "loop.yaml")
    found = include_problems(tmp_path, "version: 1\ninclude: [loop.yaml, a.yaml, b.yaml]\n",
                             {"a.yaml": "version: 1\ninclude: [c.yaml]\n",
                              "b.yaml": "version: 1\ninclude: [c.yaml]\n", "c.yaml": PACK})
    assert found == [f"rules.yaml:2:11: include: cannot resolve loop.yaml: Symlink loop from "
                     f"'{tmp_path / 'loop.yaml'}'"]


# ---------------------------------------------------------------- globs

#: Path globs that took pathspec's regular expressions seconds to hours
#: (measured: "**/a/**/a/**/a/**/a/**/a/**/b" on 80 directories, 5 s, on 160
#: far longer; "a*a*a*a*a*a*a*a*a*a*a*b" on 40 characters, 9 s).
PATH_CASES = [
    ("**/a/**/a/**/a/**/a/**/a/**/b", "/".join(["a"] * 5000) + "/c"),
    ("a*a*a*a*a*a*a*a*a*a*a*b", "a" * 5000),
    ("*" * 40 + "b.py", "a" * 5000 + ".py"),
    ("**/*a*a*a*a*a*a*a*b/**", "/".join(["a" * 50] * 100)),
    ("**/" * 30 + "x.py", "/".join(["d"] * 500) + "/y.py"),
    ("[!/]*[!/]*[!/]*[!/]*[!/]*[!/]*z", "q" * 5000),
]


@pytest.mark.parametrize("glob,path", PATH_CASES, ids=[c[0][:24] for c in PATH_CASES])
def test_path_globs_cannot_backtrack_catastrophically(glob: str, path: str) -> None:
    started = time.process_time()
    for pattern in (glob, "!" + glob, glob + "/"):
        PathMatcher([pattern, "unrelated/**"]).matches(path)
        PathMatcher([pattern, "unrelated/**"]).matches(path + "/")
    assert time.process_time() - started < 1


def test_path_globs_keep_gitignore_semantics() -> None:
    m = PathMatcher(["**/migrations/**", "tests/", "!tests/keep.py", "/root.sql", "docs/*"])
    assert m.matches("app/migrations/0001.sql") and m.matches("migrations/x/y.py")
    assert m.matches("tests/test_a.py") and not m.matches("tests/keep.py")
    assert m.matches("root.sql") and not m.matches("sub/root.sql")
    assert m.matches("docs/a.md") and not m.matches("docs/sub/a.md")
    assert not m.matches("app/migrationsx/a.sql") and not m.matches("tests")
    # Invalid patterns match nothing, as in git, and never fail.
    assert not PathMatcher(["a\\", "!", "[z-a]"]).matches("a")


@pytest.mark.parametrize("glob", ["*a" * 30 + "b", "*" * 100 + "x", "?*" * 40 + "z",
                                  "[a-z]*" * 30 + "0"])
def test_table_globs_cannot_backtrack_catastrophically(glob: str) -> None:
    started = time.process_time()
    assert glob_match("a" * 20_000, [glob]) is None
    assert time.process_time() - started < 1


# ---------------------------------------------------------------- a big rules file


def test_ten_thousand_rules_load_in_under_a_second(tmp_path: Path) -> None:
    shapes = ["  - {{id: r{i}, kind: forbid-tables, pattern: 'webui_{i}_*', except: ['*_legacy']}}",
              "  - id: s{i}\n    kind: forbid-table-references\n    tables: [t{i}]\n"
              "    exclude: ['**/migrations/**']",
              "  - {{id: u{i}, kind: unique-family, pattern: '*session{i}*', severity: warning}}"]
    text = "version: 1\nrules:\n" + "\n".join(shapes[i % 3].format(i=i) for i in range(10_000))
    (tmp_path / "rules.yaml").write_text(text + "\n")
    load_config(tmp_path / "rules.yaml")  # imports and caches warm
    timings = []
    for _ in range(3):
        started = time.process_time()
        cfg = load_config(tmp_path / "rules.yaml")
        timings.append(time.process_time() - started)
    assert len(cfg.rules) == 10_000
    assert min(timings) < 1.0, timings
