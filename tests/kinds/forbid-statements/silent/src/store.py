"""create table t -- a docstring is not a statement."""


def load(conn):
    conn.execute("PRAGMA foreign_keys = ON")
    # CREATE TABLE in a comment
    return conn.execute("SELECT a FROM t WHERE note = 'drop table t'").fetchall()
