"""Sessions live in chat_sessions now; task_sessions was merged into it."""


def save(conn, session_id):
    # formerly: INSERT INTO task_sessions
    conn.execute("INSERT INTO chat_sessions (session_id) VALUES (%s) RETURNING session_id",
                 (session_id,))
