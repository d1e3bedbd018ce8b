-- PostgreSQL half of the broken state: the same trigger, as a PL/pgSQL function.
CREATE FUNCTION audit_task_status_fn() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_audit (task_id, status) VALUES (NEW.task_id, NEW.status);
    UPDATE users SET last_seen = NEW.updated_at WHERE user_id = 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_task_status AFTER UPDATE OF status ON tasks
FOR EACH ROW EXECUTE FUNCTION audit_task_status_fn();
