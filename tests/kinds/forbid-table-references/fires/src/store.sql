-- every statement below references task_sessions as a table
SELECT * FROM task_sessions;
SELECT a.id FROM main.task_sessions AS a JOIN "task_sessions" b ON b.id = a.id;
INSERT INTO TASK_SESSIONS (id) VALUES (1);
UPDATE `task_sessions` SET id = 2;
DELETE FROM [task_sessions] WHERE id = 3;
REPLACE INTO task_sessions (id) VALUES (4);
CREATE TABLE tasks (id INTEGER, session_id TEXT REFERENCES task_sessions(session_id));
CREATE TRIGGER trg AFTER UPDATE ON task_sessions
BEGIN
  INSERT INTO audit (id) SELECT id FROM task_sessions WHERE id = NEW.id;
END;
ALTER TABLE task_sessions RENAME TO task_sessions_legacy;
DROP TABLE IF EXISTS task_sessions;
WITH recent AS (SELECT * FROM task_sessions) SELECT * FROM recent;
