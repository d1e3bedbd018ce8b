CREATE TABLE sessions (id INTEGER PRIMARY KEY, title TEXT, channel TEXT);
CREATE TABLE session_history (session_id INTEGER, at TEXT);
CREATE TABLE task_sessions (session_id INTEGER);
CREATE TABLE tasks (id INTEGER, session_id INTEGER);
