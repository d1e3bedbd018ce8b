"""``breaking-changes``: real git repositories with a base branch, real replays."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import gatecheck, git, new_repo, write_tree

RULES = """version: 1
sources:
  exclude: ["tests/**"]
rules:
  - id: deploy-safe
    kind: breaking-changes
    migrations: "db/*.sql"
{extra}"""
V1 = """CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id INTEGER REFERENCES users(id));
"""
BASE_CODE = '''"""The deployed release."""


def email_of(db, user_id):
    return db.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()


def sessions(db):
    return db.execute(
        "SELECT s.id, u.name FROM sessions AS s JOIN users AS u ON u.id = s.user_id")


def rename(db, user_id, name):
    db.execute("UPDATE users SET name = ? WHERE id = ?", (name, user_id))
'''


def commit_all(repo: Path, env: dict[str, str], message: str) -> None:
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-qm", message, cwd=repo, env=env)


@pytest.fixture
def repo(tmp_path: Path, env: dict[str, str]) -> Path:
    """Branch ``main``: v1 and the code that uses it; then a ``feature`` branch."""
    path = new_repo(tmp_path / "repo", env)
    write_tree(path, {"rules.yaml": RULES.format(extra=""), "db/v1_users.sql": V1,
                      "app/users.py": BASE_CODE,
                      "tests/test_users.py": 'Q = "SELECT email FROM users"\n'})
    commit_all(path, env, "v1")
    git("checkout", "-qb", "feature", cwd=path, env=env)
    return path


def run(repo: Path, *args: str) -> list[tuple[str, int, str]]:
    result = gatecheck("run", "--format", "json", *args, cwd=repo)
    assert result.stderr == "", result.stderr
    return [(f["path"], f["line"], f["message"]) for f in result.json["findings"]]


def test_drops_and_renames_against_the_code_of_the_base(repo: Path, env: dict[str, str]) -> None:
    write_tree(repo, {
        "db/v2_identity.sql": "-- v2: email moves to the identity service.\n"
                              "ALTER TABLE users DROP COLUMN email;\n"
                              "ALTER TABLE sessions RENAME TO user_sessions;\n"
                              "ALTER TABLE users RENAME COLUMN name TO display_name;\n",
        # The branch's own code is already fixed: not this rule's business.
        "app/users.py": 'def sessions(db):\n    return db.execute("SELECT id FROM user_sessions")\n',
    })
    commit_all(repo, env, "v2")
    assert run(repo, "--changed-since", "main") == [
        ("db/v2_identity.sql", 2, "v2_identity.sql drops column users.email; "
                                  "app/users.py:5 on main still uses it"),
        ("db/v2_identity.sql", 3, "v2_identity.sql renames table sessions to user_sessions; "
                                  "app/users.py:10 on main still uses sessions"),
        ("db/v2_identity.sql", 4, "v2_identity.sql renames column users.name to "
                                  "users.display_name; app/users.py:10 on main still uses "
                                  "users.name"),
        ("db/v2_identity.sql", 4, "v2_identity.sql renames column users.name to "
                                  "users.display_name; app/users.py:14 on main still uses "
                                  "users.name"),
    ]
    finding = gatecheck("run", "--format", "json", "--changed-since", "main",
                        cwd=repo).json["findings"][0]
    assert (finding["object"], finding["base"], finding["reference"]) == \
        ("users.email", "main", "app/users.py:5:31")


def test_the_statement_that_removes_it_even_in_a_table_rebuild(repo: Path,
                                                              env: dict[str, str]) -> None:
    write_tree(repo, {"db/v2_rebuild.sql": """-- SQLite's way to drop a column: rebuild
CREATE TABLE users_new (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users_new SELECT id, name FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
"""})
    assert run(repo, "--changed-since", "main") == [
        ("db/v2_rebuild.sql", 4, "v2_rebuild.sql drops column users.email; app/users.py:5 on "
                                 "main still uses it")]


def test_additions_and_unused_removals_are_never_findings(repo: Path,
                                                          env: dict[str, str]) -> None:
    write_tree(repo, {"db/v2.sql": "ALTER TABLE users ADD COLUMN phone TEXT;\n"
                                   "CREATE TABLE audit (id INTEGER);\n"
                                   "CREATE INDEX users_name ON users (name);\n"})
    assert run(repo, "--changed-since", "main") == []
    # Removed, but used only by excluded sources (tests/**) and by the migrations.
    write_tree(repo, {"tests/test_audit.py": 'Q = "SELECT id FROM audit"\n'})
    commit_all(repo, env, "v2")
    write_tree(repo, {"db/v3.sql": "DROP TABLE audit;\nALTER TABLE users DROP COLUMN phone;\n"})
    assert run(repo, "--changed-since", "HEAD") == []


def test_base_from_the_rules_file_and_errors(repo: Path, env: dict[str, str]) -> None:
    write_tree(repo, {"db/v2.sql": "DROP TABLE sessions;\n"})
    run_ = gatecheck("run", cwd=repo)
    assert run_.exit_code == 2
    assert "breaking-changes: no base: set 'base:' to the git ref of the deployed code, or " \
           "pass --changed-since REF" in run_.stderr
    write_tree(repo, {"rules.yaml": RULES.format(extra="    base: main\n")})
    assert [f[1:] for f in run(repo)] == [
        (1, "v2.sql drops table sessions; app/users.py:10 on main still uses it")]
    for ref, message in (("no-such-branch", "no-such-branch: not a commit in this repository"),
                         ("--output=pwned", "is not a git ref")):
        write_tree(repo, {"rules.yaml": RULES.format(extra=f"    base: '{ref}'\n")})
        run_ = gatecheck("run", cwd=repo)
        assert run_.exit_code == 2 and message in run_.stderr, run_.stderr
        assert "Traceback" not in run_.stderr
    assert not (repo / "pwned").exists()


def test_a_shallow_clone_works_once_the_base_is_fetched(repo: Path, tmp_path: Path,
                                                       env: dict[str, str]) -> None:
    write_tree(repo, {"db/v2.sql": "ALTER TABLE users DROP COLUMN email;\n",
                      "rules.yaml": RULES.format(extra="    base: origin/main\n")})
    commit_all(repo, env, "v2")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth=1", "--branch", "feature",
                    f"file://{repo}", str(clone)], check=True, env=env, timeout=60)
    run_ = gatecheck("run", cwd=clone)
    assert run_.exit_code == 2
    assert "origin/main: not a commit in this repository; this is a shallow clone: fetch it " \
           "first (git fetch --depth=1 origin main:refs/remotes/origin/main)" in run_.stderr
    git("fetch", "-q", "--depth=1", "origin", "main:refs/remotes/origin/main", cwd=clone, env=env)
    assert run(clone) == [("db/v2.sql", 1, "v2.sql drops column users.email; app/users.py:5 "
                                           "on origin/main still uses it")]
    # Nothing was checked out or written in the clone.
    assert git("status", "--porcelain", cwd=clone, env=env) == ""


def test_the_base_is_read_from_git_not_from_the_work_tree(repo: Path,
                                                          env: dict[str, str]) -> None:
    """Code in the work tree, even unstaged, is not the deployed code."""
    write_tree(repo, {"db/v2.sql": "ALTER TABLE users DROP COLUMN name;\n",
                      "app/users.py": "# rewritten, not committed\n",
                      "app/new.py": 'Q = "SELECT name FROM users"\n'})
    assert [f[2] for f in run(repo, "--changed-since", "main")] == [
        "v2.sql drops column users.name; app/users.py:10 on main still uses it",
        "v2.sql drops column users.name; app/users.py:14 on main still uses it"]


def test_a_migration_that_fails_in_the_work_tree_is_a_finding(repo: Path,
                                                              env: dict[str, str]) -> None:
    write_tree(repo, {"db/v2.sql": "ALTER TABLE nope DROP COLUMN x;\n"})
    assert run(repo, "--changed-since", "main") == [
        ("db/v2.sql", 1, "migration failed: no such table: nope; the replay stopped here, so "
                         "the schema changes were not checked against the code of main "
                         f"({git('rev-parse', 'main', cwd=repo, env=env)[:7]})")]
