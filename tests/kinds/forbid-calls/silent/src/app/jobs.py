from app.store.db import connect
import psycopg


def jobs(pool):
    # "sqlite3.connect" in a comment and a string is not a call
    label = "sqlite3.connect"
    return connect("a.db"), psycopg.connect("dbname=x"), pool.connect(), label
