CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, created_at TEXT, title TEXT);
INSERT INTO chat_sessions VALUES ('sess-0002', '2024-01-10', NULL),
                                 ('sess-0001', '2024-01-09', NULL),
                                 ('chat-0001', '2024-01-09', 'It''s titled');
