"""A second search engine beside Whoosh: SQLite FTS5 plus the key table, behind the same interface."""
