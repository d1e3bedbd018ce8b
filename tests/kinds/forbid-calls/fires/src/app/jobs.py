import sqlite3
import sqlite3 as s
from sqlite3 import connect
from sqlite3 import connect as open_db


def jobs():
    a = sqlite3.connect("a.db")
    b = s.connect("b.db")
    c = connect("c.db")
    d = open_db("d.db")
    return a, b, c, d


def lazy():
    import sqlite3 as lite
    return lite.connect(":memory:")
