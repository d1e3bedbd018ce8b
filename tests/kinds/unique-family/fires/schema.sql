CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE task_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE sessions_archive (session_id TEXT PRIMARY KEY);
CREATE TABLE chat_messages (id INTEGER PRIMARY KEY);
CREATE TABLE messages (id INTEGER PRIMARY KEY);
