"""Favourite fruits in the original's `fruits` table (one row per user)."""

from __future__ import annotations

from fruitsplit.adapters.sqlite.database import SqliteDatabase
from fruitsplit.core.fruits import FruitRow


class SqliteFruits:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch_all(self) -> list[FruitRow]:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT u.id, u.username, f.fruit FROM fruits f JOIN users u ON f.user = u.id"
                " ORDER BY u.id"
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        return [FruitRow(int(user_id), username, fruit) for user_id, username, fruit in rows]

    async def save(self, user_id: int, fruit: str) -> None:
        async with self._db.write() as conn:
            # The original keeps one row per user: update it, or add it the first time.
            cursor = await conn.execute(
                "UPDATE fruits SET fruit = ? WHERE user = ?", (fruit, user_id)
            )
            if cursor.rowcount == 0:
                await conn.execute(
                    "INSERT INTO fruits (user, fruit) VALUES (?, ?)", (user_id, fruit)
                )
