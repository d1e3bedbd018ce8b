-- PostgreSQL port of examples/agentos/migrations/schema_v1_initial.sql: only the trigger differs.
-- schema v1: initial agentos schema.
-- Two tables hold sessions from day one: chat_sessions (the web/chat front end)
-- and task_sessions (the task runner). Merging them is schema v35.

CREATE TABLE users (
    user_id      INTEGER PRIMARY KEY,
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT
);

CREATE TABLE chat_sessions (
    session_id TEXT PRIMARY KEY,
    task_id    TEXT,
    title      TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE chat_messages (
    message_id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES chat_sessions(session_id),
    user_id    INTEGER REFERENCES users(user_id),
    content    TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE task_sessions (
    session_id    TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    last_activity TEXT,
    metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_task_sessions_channel ON task_sessions(channel);
CREATE INDEX idx_task_sessions_last_activity ON task_sessions(last_activity);

CREATE TABLE tasks (
    task_id    TEXT PRIMARY KEY,
    session_id TEXT REFERENCES task_sessions(session_id),
    title      TEXT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    updated_at TEXT
);

CREATE TABLE schema_migrations (
    migration_id TEXT PRIMARY KEY,
    status       TEXT NOT NULL,
    applied_at   TEXT NOT NULL
);

CREATE TABLE schema_version (
    version TEXT NOT NULL
);

CREATE VIEW chat_activity AS
SELECT s.session_id,
       s.title,
       COUNT(m.message_id) AS message_count,
       MAX(m.created_at) AS last_message_at
FROM chat_sessions AS s
LEFT JOIN chat_messages AS m ON m.session_id = s.session_id
GROUP BY s.session_id, s.title;

-- PostgreSQL: a trigger runs a function; its body is the SQLite trigger's.
CREATE FUNCTION touch_user_last_seen_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET last_seen_at = NEW.created_at WHERE user_id = NEW.user_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER touch_user_last_seen
AFTER INSERT ON chat_messages
FOR EACH ROW
WHEN (NEW.user_id IS NOT NULL)
EXECUTE FUNCTION touch_user_last_seen_fn();

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v1_initial', 'success', '2024-01-08T09:00:00Z');
INSERT INTO schema_version (version) VALUES ('0.1.0');
