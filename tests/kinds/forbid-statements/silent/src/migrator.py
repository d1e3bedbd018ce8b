def migrate(conn):
    conn.execute("ALTER TABLE t ADD COLUMN b TEXT")
