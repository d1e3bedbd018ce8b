"""PEP 750 (Python 3.14): template strings, as psycopg 3.3 executes them."""
TABLE = "task_sessions"


def load(cur, sid, ids, where, fmt):
    cur.execute(t"SELECT * FROM task_sessions WHERE id = {sid}")
    cur.execute(t"SELECT * FROM {TABLE:i} "
                t"WHERE id IN {ids} AND {where:q} AND f = {fmt!r:l}")
    PURGE = (t"DELETE FROM task_sessions "
             t"WHERE id = {sid:b}")
    return PURGE
