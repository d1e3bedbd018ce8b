CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE sessions_archive (session_id TEXT PRIMARY KEY);
CREATE TABLE orders (number INTEGER, shop TEXT, PRIMARY KEY (number, shop));
CREATE TABLE log (line TEXT);  -- no primary key
-- archived target
CREATE TABLE tasks (task_id TEXT PRIMARY KEY,
                    session_id TEXT REFERENCES sessions_archive(session_id));
-- target table missing (SQLite accepts it)
CREATE TABLE notes (note_id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES authors(id));
-- target column missing
CREATE TABLE messages (message_id INTEGER PRIMARY KEY,
                       session_id TEXT REFERENCES chat_sessions(id));
-- composite key, one target column missing
CREATE TABLE order_lines (line_id INTEGER PRIMARY KEY, order_no INTEGER, shop TEXT,
                          FOREIGN KEY (order_no, shop) REFERENCES orders(number, shop_code));
-- no target columns, and the target has no primary key
CREATE TABLE log_refs (log_line TEXT REFERENCES log);
-- excepted by the rule
CREATE TABLE scratch_refs (x TEXT REFERENCES nowhere(x));
-- a view is no target for a foreign key
CREATE VIEW live_sessions AS SELECT session_id FROM chat_sessions;
CREATE TABLE bookmarks (session_id TEXT REFERENCES live_sessions(session_id));
