CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT, created_at TEXT);
CREATE TABLE tasks (task_id INTEGER PRIMARY KEY, session_id TEXT, status TEXT);
