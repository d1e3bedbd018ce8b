"""What one run of gatecheck may do: granted by the command line, never by the repository.

A pull request controls every file of the repository, the rules file
included, so nothing in those files may widen what gatecheck does: reading
packs outside the repository, replaying migrations with a privileged role,
running the repository's own migrate command, printing database values,
running data rules at all.  Those grants come from
command-line flags (or the GitHub Action's inputs, which become flags) and
live here; the rules file can only narrow them.  See ``docs/security.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Default overall time limit of a migrations replay, in seconds.
DEFAULT_REPLAY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Policy:
    """The privileges of one run; the defaults are the safe ones."""

    #: ``include:`` packs may resolve outside the repository (``--allow-outside-includes``).
    allow_outside_includes: bool = False
    #: Data rules and PostgreSQL replays may run as a superuser or as a member
    #: of the server-file/program/signal roles (``--allow-privileged-role``).
    allow_privileged_role: bool = False
    #: Database values (rows of ``query``, samples of missing keys, versions,
    #: dates) may appear in the output (``--show-data``); otherwise they are
    #: replaced by ``<hidden>``.
    show_data: bool = False
    #: Data rules (those that run queries on rows) run at all; ``--no-data-rules``
    #: turns them off, e.g. for pull requests from forks.
    data_rules: bool = True
    #: Overall time limit of a migrations replay (``--replay-timeout``), and of
    #: a ``build:`` command.
    replay_timeout_s: float = DEFAULT_REPLAY_TIMEOUT_S
    #: The ``build:`` command of the rules file (the project's own migrate
    #: entry point: the repository's code) may run (``--allow-build``).
    allow_build: bool = False


#: What a run gets when nobody granted anything: used by library callers and tests.
DEFAULT = Policy()

#: Stands for a database value when ``show_data`` is off.
HIDDEN = "<hidden>"
