-- Seed data, applied right after schema_v1_initial.sql.
-- 6 task sessions and 5 chat sessions; sess-0003 is in both tables, so the v35
-- merge leaves 10 chat sessions. Every task belongs to a task session.

INSERT INTO users (user_id, email, display_name, created_at) VALUES
    (1, 'ada@example.com',   'Ada',   '2024-01-08T10:00:00Z'),
    (2, 'grace@example.com', 'Grace', '2024-01-08T10:05:00Z'),
    (3, 'linus@example.com', 'Linus', '2024-01-09T08:30:00Z');

INSERT INTO task_sessions (session_id, channel, created_at, last_activity, metadata) VALUES
    ('sess-0001', 'cli',   '2024-01-10T09:00:00Z', '2024-01-10T09:40:00Z', '{"task_id": "task-0001", "source": "cli"}'),
    ('sess-0002', 'slack', '2024-01-10T11:00:00Z', '2024-01-11T16:20:00Z', '{"task_id": "task-0002", "source": "slack"}'),
    ('sess-0003', 'api',   '2024-01-11T08:15:00Z', '2024-01-11T08:45:00Z', '{"task_id": "task-0003"}'),
    ('sess-0004', 'cli',   '2024-01-12T13:00:00Z', NULL,                   '{"source": "cli"}'),
    ('sess-0005', 'api',   '2024-01-13T07:30:00Z', '2024-01-13T09:00:00Z', '{"task_id": "task-0005"}'),
    ('sess-0006', 'slack', '2024-01-14T18:00:00Z', '2024-01-14T18:05:00Z', '{}');

INSERT INTO chat_sessions (session_id, task_id, title, created_at) VALUES
    ('chat-0001', NULL,        'Onboarding questions', '2024-01-09T09:00:00Z'),
    ('chat-0002', NULL,        'Quarterly report',     '2024-01-10T10:00:00Z'),
    ('sess-0003', 'task-0003', 'Fix the nightly job',  '2024-01-11T08:15:00Z'),
    ('chat-0004', NULL,        'Draft release notes',  '2024-01-12T15:00:00Z'),
    ('chat-0005', NULL,        'Ask about billing',    '2024-01-13T12:00:00Z');

INSERT INTO tasks (task_id, session_id, title, status, created_at, updated_at) VALUES
    ('task-0001', 'sess-0001', 'Summarise inbox',        'done',    '2024-01-10T09:01:00Z', '2024-01-10T09:40:00Z'),
    ('task-0002', 'sess-0002', 'Triage Slack alerts',    'running', '2024-01-10T11:02:00Z', '2024-01-11T16:20:00Z'),
    ('task-0003', 'sess-0003', 'Fix the nightly job',    'done',    '2024-01-11T08:16:00Z', '2024-01-11T08:45:00Z'),
    ('task-0004', 'sess-0004', 'Rotate API keys',        'pending', '2024-01-12T13:01:00Z', NULL),
    ('task-0005', 'sess-0005', 'Backfill usage metrics', 'failed',  '2024-01-13T07:31:00Z', '2024-01-13T09:00:00Z');

INSERT INTO chat_messages (message_id, session_id, user_id, content, created_at) VALUES
    (1, 'chat-0001', 1,    'How do I connect my calendar?',      '2024-01-09T09:01:00Z'),
    (2, 'chat-0001', NULL, 'Open Settings, then Integrations.',  '2024-01-09T09:01:05Z'),
    (3, 'chat-0002', 2,    'Pull the Q4 numbers, please.',       '2024-01-10T10:02:00Z'),
    (4, 'sess-0003', 3,    'The nightly job failed again.',      '2024-01-11T08:15:30Z'),
    (5, 'chat-0004', 1,    'Draft notes for v1.4.',              '2024-01-12T15:01:00Z'),
    (6, 'chat-0005', 2,    'Why was I charged twice?',           '2024-01-13T12:00:30Z');
