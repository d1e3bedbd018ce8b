CREATE TABLE chat_sessions (session_id TEXT);
CREATE TABLE tasks (task_id TEXT PRIMARY KEY, session_id TEXT);
INSERT INTO chat_sessions VALUES ('sess-0001'), ('sess-0002'), (NULL);
INSERT INTO tasks VALUES ('task-1', 'sess-0001'), ('task-2', 'sess-0001'), ('task-3', 'sess-0002'),
                         ('task-4', NULL), ('task-5', NULL);
CREATE TABLE orders (number INTEGER, shop TEXT, PRIMARY KEY (number, shop));
CREATE TABLE order_lines (line_id INTEGER PRIMARY KEY, order_no INTEGER, shop TEXT);
INSERT INTO orders VALUES (1, 'berlin'), (2, 'paris');
INSERT INTO order_lines VALUES (1, 1, 'berlin'), (2, 2, 'paris'), (3, NULL, 'rome'), (4, 7, NULL);
