CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY, session_id TEXT);
