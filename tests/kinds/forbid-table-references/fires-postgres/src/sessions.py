import psycopg


def save(conn: psycopg.Connection, session_id: str, channel: str) -> None:
    conn.execute(
        "INSERT INTO task_sessions (session_id, channel) VALUES (%s, %s) "
        "ON CONFLICT DO NOTHING RETURNING session_id",
        (session_id, channel),
    )
