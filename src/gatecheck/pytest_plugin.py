"""``pytest --gatecheck``: the rules file's SQL rules checked on every statement the tests run.

Registered through the ``pytest11`` entry point, so pytest loads it in every
project where gatecheck is installed; it stays inactive (and imports nothing
of gatecheck's but this module) unless asked: ``--gatecheck`` on the command
line or ``gatecheck = true`` under ``[tool.pytest.ini_options]``.  Then
`gatecheck.runtime._pytest` does the work; see ``docs/runtime.md``.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gatecheck", "gatecheck: SQL rules on the statements the tests run")
    group.addoption("--gatecheck", action="store_true", default=None,
                    help="check every SQL statement the tests execute against the rules "
                         "file; the session fails on a violation")
    group.addoption("--gatecheck-config", metavar="FILE", default=None,
                    help="rules file (default: the one 'gatecheck run' finds from the rootdir)")
    group.addoption("--gatecheck-report", metavar="FILE", default=None,
                    help="also write the violations as JSON (.json) or SARIF (.sarif) in "
                         "'gatecheck run''s format")
    parser.addini("gatecheck", type="bool", default=False,
                  help="check the SQL the tests execute, as --gatecheck does")


def _wanted(config: pytest.Config) -> bool:
    option = config.getoption("gatecheck", default=None)
    if option is None:
        option = getattr(getattr(config, "known_args_namespace", None), "gatecheck", None)
    return bool(option) or bool(config.getini("gatecheck"))


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser,
                                  args: list[str]) -> None:
    # Before the project's conftest files import anything: connections they
    # open, and names they import from sqlite3, are guarded too.
    if _wanted(early_config):
        _start(early_config)


def pytest_configure(config: pytest.Config) -> None:
    if _wanted(config):
        _start(config)


def _start(config: pytest.Config) -> None:
    if config.pluginmanager.has_plugin("gatecheck-runtime"):
        return
    from gatecheck.runtime._pytest import Session

    options: Any = getattr(config, "known_args_namespace", None)
    config.pluginmanager.register(Session.start(config, options), "gatecheck-runtime")
