"""Tables the code creates are known to what follows, with their columns."""


def summarise(db):
    db.execute("CREATE TEMP TABLE scratch (id INTEGER, label TEXT)")
    db.execute("INSERT INTO scratch (id, label) SELECT id, title FROM tasks")
    db.execute("SELECT label FROM scratch WHERE id = ?", (1,))
    db.execute("CREATE TABLE summary AS SELECT id, title FROM tasks WHERE done")
    db.execute("SELECT s.title FROM summary s")
    db.execute("CREATE VIRTUAL TABLE notes USING fts5(body)")
    db.execute("SELECT body FROM notes WHERE notes MATCH ?", ("x",))


def ensure(db):
    # The database has tasks too: both know these columns.
    db.execute("CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY, title TEXT, done INTEGER)")
    db.execute("SELECT title, done FROM tasks")


def untyped(db):
    # SQLite columns need no type; the engine makes the table itself.
    db.execute("CREATE TABLE facets (pk integer primary key, some_null, n text, "
               "FOREIGN KEY (pk) REFERENCES [tasks](id))")
    db.execute("INSERT INTO facets (pk, some_null, n) VALUES (1, 2, 3)")


def values_subquery(db):
    db.execute("INSERT INTO tasks (id, title) VALUES "
               "(COALESCE((SELECT id FROM tasks WHERE title = %(t)s LIMIT 1), 0), %(t)s)")


def joined(db):
    return db.query(" ".join(["SELECT id, title", "FROM tasks", "WHERE done = :done"]))


def altered(db):
    db.execute("CREATE TEMP TABLE hooks (bar INTEGER)")
    db.execute("ALTER TABLE hooks RENAME COLUMN bar TO baz")
    db.execute("ALTER TABLE tasks ADD COLUMN owner TEXT")
    db.execute("SELECT baz FROM hooks")
    db.execute("SELECT owner, title FROM tasks")
