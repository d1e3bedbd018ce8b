-- No foreign key declared: the orphans are only visible to a query.
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY, session_id TEXT);
INSERT INTO chat_sessions VALUES ('sess-0003'), ('chat-0001');
INSERT INTO tasks VALUES ('task-1', 'sess-0001'), ('task-2', 'sess-0002'),
                         ('task-3', 'sess-0003'), ('task-4', 'sess-0001'),
                         ('task-5', NULL);
