"""The neighbours: a created table keeps its columns checked."""


def summarise(db):
    db.execute("CREATE TEMP TABLE scratch (id INTEGER, label TEXT)")
    db.execute("SELECT labl FROM scratch WHERE id = ?", (1,))
    db.execute("CREATE TABLE summary AS SELECT id, title FROM tasks WHERE done")
    db.execute("SELECT s.titl FROM summary s")


def ensure(db):
    # A file that creates a table the database already has still checks its columns.
    db.execute("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, title TEXT, done INTEGER)")
    db.execute("SELECT titel FROM tasks")
