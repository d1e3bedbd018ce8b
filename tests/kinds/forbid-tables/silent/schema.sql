CREATE TABLE chat_sessions (session_id TEXT PRIMARY KEY);
CREATE TABLE webui_chats_legacy (id INTEGER PRIMARY KEY);
CREATE TABLE my_webui_chats (id INTEGER PRIMARY KEY);
CREATE TABLE tasks_newer (id INTEGER PRIMARY KEY);
