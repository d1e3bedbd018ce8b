CREATE TABLE task_sessions_legacy (session_id TEXT PRIMARY KEY);
CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
INSERT INTO task_sessions_legacy VALUES ('sess-0001'), ('sess-0002');
INSERT INTO chat_sessions VALUES ('sess-0001'), ('sess-0002'), ('chat-0001');
-- Integer affinity: 7 in events matches '7' stored as an integer in old_events.
CREATE TABLE old_events (legacy_id INTEGER);
CREATE TABLE events (event_id INTEGER);
INSERT INTO old_events VALUES (7), ('8');
INSERT INTO events VALUES (7), (8), (NULL);
