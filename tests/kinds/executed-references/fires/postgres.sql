-- A database whose server recorded what its clients ran (pg_stat_statements).
CREATE EXTENSION pg_stat_statements;
CREATE TABLE task_sessions (session_id text PRIMARY KEY, token text);
CREATE TABLE task_sessions_legacy (session_id text PRIMARY KEY);
CREATE TABLE chat_sessions (session_id text PRIMARY KEY, title text);
CREATE TABLE webui_chats (id int);
-- A service still reads and writes the merged-away table; its literals are never shown.
INSERT INTO task_sessions VALUES ('s1', 'secret-token-1');
INSERT INTO task_sessions VALUES ('s2', 'secret-token-2');
SELECT token FROM task_sessions WHERE session_id = 's1';
SELECT token FROM task_sessions WHERE session_id = 's2';
SELECT count(*) FROM public.webui_chats;
-- The archive and the new table are fine; chat_sessions is reported from 3 calls.
SELECT * FROM task_sessions_legacy;
SELECT title FROM chat_sessions WHERE session_id = 'a';
SELECT title FROM chat_sessions WHERE session_id = 'b';
SELECT title FROM chat_sessions WHERE session_id = 'c';
SELECT session_id FROM chat_sessions ORDER BY 1;
