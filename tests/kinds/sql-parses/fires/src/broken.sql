-- the first statement is fine, the second is cut short, the third is fine again
SELECT id FROM tasks;
SELECT id FROM tasks WHERE;
INSERT INTO tasks (id) VALUES (1);
