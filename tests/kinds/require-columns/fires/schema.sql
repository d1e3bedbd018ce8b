CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at TEXT);
