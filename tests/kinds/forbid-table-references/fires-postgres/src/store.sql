-- every statement below references task_sessions as a table, in PostgreSQL's own syntax
SELECT * FROM task_sessions WHERE session_id = $1 AND created_at::date > $2::date;
INSERT INTO public.task_sessions (session_id, channel) VALUES ($1, $2)
ON CONFLICT (session_id) DO UPDATE SET channel = EXCLUDED.channel
RETURNING session_id;
UPDATE "task_sessions" SET metadata = metadata || '{"x": 1}'::jsonb WHERE session_id = $1 RETURNING *;
DELETE FROM TASK_SESSIONS USING chat_sessions c WHERE c.session_id = TASK_SESSIONS.session_id;
SELECT $tag$ a dollar-quoted string $tag$, s.channel FROM public."task_sessions" AS s;
