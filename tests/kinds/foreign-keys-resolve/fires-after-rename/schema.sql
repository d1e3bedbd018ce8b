-- The seed's merge, reduced: SQLite moves tasks' foreign key along with the rename.
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE task_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY,
                    session_id TEXT REFERENCES task_sessions(session_id));
INSERT OR IGNORE INTO chat_sessions SELECT session_id FROM task_sessions;
ALTER TABLE task_sessions RENAME TO task_sessions_legacy;
