CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE orders (number INTEGER, shop TEXT, PRIMARY KEY (number, shop));
CREATE TABLE tasks (task_id TEXT PRIMARY KEY,
                    session_id TEXT REFERENCES chat_sessions(session_id));
-- no target columns: the target's primary key
CREATE TABLE messages (message_id INTEGER PRIMARY KEY, session_id TEXT REFERENCES chat_sessions);
CREATE TABLE order_lines (line_id INTEGER PRIMARY KEY, order_no INTEGER, shop TEXT,
                          FOREIGN KEY (order_no, SHOP) REFERENCES Orders(Number, shop));
-- an archive may reference live tables; only references *to* archives are flagged
CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY,
                                   parent TEXT REFERENCES chat_sessions(session_id));
