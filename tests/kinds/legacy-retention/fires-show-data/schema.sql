CREATE TABLE schema_migrations (migration_id TEXT PRIMARY KEY, status TEXT, applied_at TEXT);
INSERT INTO schema_migrations VALUES
    ('v10_webui_chats_legacy', 'success', '2024-04-15T09:00:00Z'),
    ('v35_merge_task_sessions', 'success', '2025-06-02T10:15:00Z'),
    ('v38_merge_tools', 'success', '2025-07-01 08:00:00'),
    ('v39_orders_archive', 'success', 'last tuesday');
CREATE TABLE task_sessions_legacy (session_id TEXT);
CREATE TABLE tools_legacy (tool_id TEXT);  -- archived 14 days before "today": kept
CREATE TABLE webui_chats_legacy (chat_id TEXT);
CREATE TABLE users_archive (user_id INTEGER);
CREATE TABLE orders_archive (order_id INTEGER);
