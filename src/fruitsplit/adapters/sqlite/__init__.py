"""SQLite: the monolith's database, with the original's two tables and our additions."""

from fruitsplit.adapters.sqlite.database import SchemaError, SqliteDatabase

__all__ = ["SchemaError", "SqliteDatabase"]
