"""src/ stays clean under mypy --strict (STYLE.md), checked like any other test."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_mypy_strict() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "src/gatecheck"],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
