-- Undo v2 (but only half of it).
DROP TABLE profiles;
