CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY);
