-- SQLite half of the broken state: a trigger naming a table and a column that do not exist.
CREATE TRIGGER audit_task_status AFTER UPDATE OF status ON tasks
BEGIN
    INSERT INTO task_audit (task_id, status) VALUES (NEW.task_id, NEW.status);
    UPDATE users SET last_seen = NEW.updated_at WHERE user_id = 1;
END;
