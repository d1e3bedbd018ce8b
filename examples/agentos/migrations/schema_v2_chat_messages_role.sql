-- schema v2: tell user messages from assistant and tool messages.
ALTER TABLE chat_messages ADD COLUMN role TEXT NOT NULL DEFAULT 'user';

INSERT INTO schema_migrations (migration_id, status, applied_at)
VALUES ('v2_chat_messages_role', 'success', '2024-01-22T09:00:00Z');
UPDATE schema_version SET version = '0.2.0';
