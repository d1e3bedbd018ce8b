"""Database access: the only package that talks to SQLite."""
