-- v2: email moves to the identity service; sessions get a clearer name.
ALTER TABLE users DROP COLUMN email;
ALTER TABLE sessions RENAME TO user_sessions;
