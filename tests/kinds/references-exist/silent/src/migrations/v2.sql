-- a column added by a later migration: present, so code using it is fine
ALTER TABLE chat_sessions ADD COLUMN channel TEXT;
