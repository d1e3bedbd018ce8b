"""A fresh clone stands alone: the suite needs nothing beside the repository.

The tests once read the SARIF schema and the corpus generator from a ``shared/``
directory next to the checkout, so a plain clone failed.  This copies the
repository's files (what git tracks, plus new files not ignored) into a directory
with no siblings and runs, from there, the collection of the whole suite and the
tests that used to reach outside.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def _repository_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=REPO, capture_output=True, check=True).stdout
    return [p for p in out.decode().split("\0") if p and (REPO / p).is_file()]


def test_the_suite_runs_from_a_copy_with_nothing_beside_it(tmp_path: Path) -> None:
    clone = tmp_path / "alone" / "gatecheck"
    for rel in _repository_files():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, clone / rel)
    assert sorted(p.name for p in clone.parent.iterdir()) == ["gatecheck"]
    # The copy's own sources, not the checkout the virtualenv was installed from.
    env = {**os.environ, "PYTHONPATH": str(clone / "src")}
    collect = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                              "no:cacheprovider"], cwd=clone, env=env, capture_output=True,
                             text=True, timeout=300)
    assert collect.returncode == 0, collect.stdout[-3000:] + collect.stderr[-3000:]
    assert "error" not in collect.stdout.splitlines()[-1], collect.stdout[-3000:]
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_corpus.py", "tests/report/test_reporters.py", "-k",
                          "sarif or corpus or precision"], cwd=clone, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert " passed" in run.stdout.splitlines()[-1]


def test_no_test_names_the_directory_beside_the_checkout() -> None:
    """The cheap half of the proof above: no test builds a path to ``../shared/``."""
    beside = re.compile(r"REPO\.parent|\.\./shared/|parent\s*/\s*[\"']shared[\"']")
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "tests").rglob("*.py")
                 if p.name != Path(__file__).name and beside.search(p.read_text("utf-8"))]
    assert offenders == []
