# Python 2: print and exec statements, "except E, e", octal literals, backquotes.
import os
import sqlite3

TABLE = "task_sessions"


def purge(cur, path):
    print "purging", TABLE
    try:
        cur.execute("DELETE FROM task_sessions WHERE mode = ?", (0777,))
    except sqlite3.Error, e:
        print >>sys.stderr, `e`
    os.chmod(path, 0777)
    cur.execute("SELECT id FROM %s WHERE owner <> ?" % TABLE, (os.getuid(),))
    cur.execute(("SELECT * FROM task_sessions "
                 "WHERE id = ?"), (1L,))
    exec "x = 1" in {}
