-- The "broken" state of the parity test, applied after schema v35 in both engines:
-- one of every problem the data and schema rules look for.
DELETE FROM chat_sessions WHERE session_id IN ('sess-0002', 'sess-0005');
DELETE FROM schema_migrations WHERE migration_id = 'v35_merge_task_sessions';
UPDATE schema_version SET version = '0.9.1';
CREATE TABLE webui_sessions (session_id TEXT PRIMARY KEY, payload TEXT);
CREATE TABLE chat_session (id INTEGER PRIMARY KEY);
CREATE UNIQUE INDEX idx_legacy_session_channel ON task_sessions_legacy (session_id, channel);
CREATE TABLE session_links (
    session_id TEXT,
    channel    TEXT,
    FOREIGN KEY (session_id, channel) REFERENCES task_sessions_legacy (session_id, channel)
);
INSERT INTO session_links (session_id, channel) VALUES ('sess-0001', 'cli');
CREATE TABLE task_links (task_id TEXT, session_id TEXT);
INSERT INTO task_links (task_id, session_id) VALUES
    ('task-0001', 'sess-0001'), ('task-0002', 'sess-0001'), ('task-0009', 'sess-0009'),
    (NULL, 'sess-0001');
