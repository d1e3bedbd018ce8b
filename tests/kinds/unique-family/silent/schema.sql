CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY);
CREATE TABLE sessions_archive (session_id TEXT PRIMARY KEY);
CREATE TABLE chat_messages (id INTEGER PRIMARY KEY);
CREATE TABLE messages_legacy (id INTEGER PRIMARY KEY);
CREATE VIEW session_view AS SELECT * FROM chat_sessions;
