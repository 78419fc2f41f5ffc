"""Where an interrupted copy stopped, so the next run resumes instead of starting over."""

from __future__ import annotations

from fruitsplit.adapters.sqlite.database import SqliteDatabase
from fruitsplit.core.copying import Checkpoint


class SqliteCheckpoints:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch(self, name: str) -> Checkpoint | None:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT after_user_id, copied FROM copy_checkpoints WHERE name = ?", (name,)
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return Checkpoint(int(row[0]), int(row[1])) if row else None

    async def store(self, name: str, checkpoint: Checkpoint, now: float) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO copy_checkpoints (name, after_user_id, copied, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " after_user_id = excluded.after_user_id, copied = excluded.copied,"
                " updated_at = excluded.updated_at",
                (name, checkpoint.after_user_id, checkpoint.copied, now),
            )

    async def clear(self, name: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM copy_checkpoints WHERE name = ?", (name,))
