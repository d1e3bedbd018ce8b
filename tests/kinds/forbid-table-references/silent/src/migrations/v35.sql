ALTER TABLE task_sessions RENAME TO task_sessions_legacy;
