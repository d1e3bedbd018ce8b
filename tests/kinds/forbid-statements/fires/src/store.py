def setup(conn):
    conn.execute("create table if not exists t (a int)")
    conn.executescript("""
        CREATE INDEX ix_t_a ON t (a);
        INSERT INTO t (a) VALUES (1);
        DROP INDEX ix_t_a;
    """)
    return conn.execute("PRAGMA table_info(t)").fetchall()
