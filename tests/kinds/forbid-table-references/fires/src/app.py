import sqlite3

from sqlalchemy import text


def shapes(cur, conn, cols, session):
    cur.execute("SELECT id FROM task_sessions WHERE id = ?", (1,))
    cur.execute(
        """
        SELECT id
        FROM task_sessions
        """
    )
    cur.execute(
        "SELECT id "
        "FROM task_sessions "
        "WHERE id = ?", (1,))
    cur.execute(f"SELECT {cols} FROM task_sessions WHERE id = ?", (1,))
    cur.execute("DELETE FROM task_sessions WHERE id = %s" % ("?",))
    cur.execute("UPDATE task_sessions SET {} = ?".format(cols), (1,))
    session.execute(text("DELETE FROM task_sessions"))
    conn.executescript("""
        CREATE TABLE x (id INTEGER);
        INSERT INTO task_sessions (id) SELECT id FROM x;
    """)


TABLE = "task_sessions"


def indirect(cur):
    return cur.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()
