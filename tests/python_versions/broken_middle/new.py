"""One syntax error in the middle of a module: the strings around it are still read."""
TABLE = "task_sessions"
ARCHIVE = "SELECT * FROM task_sessions WHERE archived = 1"


def first(cur):
    cur.execute(f"SELECT * FROM {TABLE}")


def broken(cur:
    return cur.execute("DELETE FROM task_sessions")


def last(cur):
    cur.execute("UPDATE task_sessions SET title = ? "
                "WHERE id = ?", ("t", 1))
    cur.execute(f"SELECT id FROM {TABLE} WHERE x = %s" % 1)
