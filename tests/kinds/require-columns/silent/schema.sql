CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY, title TEXT NOT NULL);
-- Added by the expand step; names compare case-insensitively.
ALTER TABLE chat_sessions ADD COLUMN Channel TEXT;
ALTER TABLE chat_sessions ADD COLUMN last_activity TEXT;
