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


def values_subquery(db):
    # A scalar subquery in VALUES is checked like any other (gratipay's shape).
    db.execute("INSERT INTO tasks (id, title) VALUES "
               "(COALESCE((SELECT id FROM tasks WHERE titel = %(t)s LIMIT 1), 0), %(t)s)")


def joined(db):
    # A statement joined from a list of pieces is read whole.
    return db.query(" ".join(["SELECT id, titl", "FROM tasks", "WHERE done = :done"]))
