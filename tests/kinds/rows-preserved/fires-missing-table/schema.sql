CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY);
CREATE TABLE sessions (session_id TEXT);
