CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY, session_id TEXT);
INSERT INTO chat_sessions VALUES ('sess-0001', 'Inbox');
INSERT INTO tasks VALUES ('task-0001', 'sess-0001');
