"""Run-time settings every worker process shares (the migration phase), in SQLite."""

from __future__ import annotations

from fruitsplit.adapters.sqlite.database import SqliteDatabase


class SqliteSettings:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch(self, key: str) -> str | None:
        async with (
            self._db.read() as conn,
            conn.execute("SELECT value FROM settings WHERE key = ?", (key,)) as cursor,
        ):
            row = await cursor.fetchone()
        return str(row[0]) if row else None

    async def store(self, key: str, value: str, now: float) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (key, value, now),
            )
