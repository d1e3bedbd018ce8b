"""Statements kept one per line in a literal, split with .split('\n') before they run."""

UPGRADE_SQL = [
    (6, 7, """
    ALTER TABLE task_sessions ADD COLUMN note TEXT NOT NULL DEFAULT ''
    UPDATE task_sessions SET note = channel WHERE channel IS NOT NULL
    UPDATE chat_sessions SET title = NULL
    """),
]

NOT_SQL = """
    Select the sessions you want to keep
    and update task_sessions later
"""


def upgrade(db):
    for _old, _new, script in UPGRADE_SQL:
        for sql in script.strip().split('\n'):
            db.execute(sql)
