"""Favourite fruits in the original's `fruits` table (one row per user), with versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiosqlite

from fruitsplit.adapters.sqlite.database import SqliteDatabase
from fruitsplit.core.copying import FruitPage
from fruitsplit.core.fruits import FruitRow, VersionedFruit

# Rows the original wrote have no version yet: they count as version 0.
_VERSIONED_SELECT = (
    "SELECT u.id, u.username, f.fruit, COALESCE(v.version, 0)"
    " FROM fruits f JOIN users u ON f.user = u.id"
    " LEFT JOIN fruit_versions v ON v.user = u.id"
)


def _versioned(row: Sequence[Any]) -> VersionedFruit:
    user_id, username, fruit, version = row
    return VersionedFruit(int(user_id), username, fruit, int(version))


async def _write_fruit(conn: aiosqlite.Connection, user_id: int, fruit: str) -> None:
    # The original keeps one row per user: update it, or add it the first time.
    cursor = await conn.execute("UPDATE fruits SET fruit = ? WHERE user = ?", (fruit, user_id))
    if cursor.rowcount == 0:
        await conn.execute("INSERT INTO fruits (user, fruit) VALUES (?, ?)", (user_id, fruit))


class SqliteFruits:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch_all(self) -> list[FruitRow]:
        # One hop to the connection's thread for the whole query: this is the page's hot path.
        async with self._db.read() as conn:
            rows = await conn.execute_fetchall(
                "SELECT u.id, u.username, f.fruit FROM fruits f JOIN users u ON f.user = u.id"
                " ORDER BY u.id"
            )
        return [FruitRow(int(user_id), username, fruit) for user_id, username, fruit in rows]

    async def save(self, user_id: int, fruit: str, *, outbox_at: float | None = None) -> int:
        """Store `fruit` for `user_id` and return the write's version.

        With `outbox_at`, an outbox entry for the write is added in the same
        transaction, so the write and the promise to copy it commit together.
        """
        async with self._db.write() as conn:
            await _write_fruit(conn, user_id, fruit)
            async with conn.execute(
                "INSERT INTO fruit_versions (user, version) VALUES (?, 1)"
                " ON CONFLICT (user) DO UPDATE SET version = version + 1 RETURNING version",
                (user_id,),
            ) as returning:
                row = await returning.fetchone()
            assert row is not None
            version = int(row[0])
            if outbox_at is not None:
                await conn.execute(
                    "INSERT INTO outbox (user_id, version, created_at, next_attempt_at)"
                    " VALUES (?, ?, ?, ?)",
                    (user_id, version, outbox_at, outbox_at),
                )
        return version

    async def save_copy(self, user_id: int, fruit: str, version: int) -> bool:
        """Keep a copy of a write the fruits service made, unless a newer copy is here.

        After cut-over the service numbers the versions; copies may arrive out of
        order, and an older one must not replace a newer one. Returns whether it
        was written (never for a user SQLite does not know).
        """
        async with self._db.write() as conn:
            async with conn.execute("SELECT 1 FROM users WHERE id = ?", (user_id,)) as cursor:
                if await cursor.fetchone() is None:
                    return False
            async with conn.execute(
                "SELECT version FROM fruit_versions WHERE user = ?", (user_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and int(row[0]) > version:
                return False
            await _write_fruit(conn, user_id, fruit)
            await conn.execute(
                "INSERT INTO fruit_versions (user, version) VALUES (?, ?)"
                " ON CONFLICT (user) DO UPDATE SET version = excluded.version",
                (user_id, version),
            )
        return True

    async def delete_copy(self, user_id: int) -> None:
        """Forget a user's fruit that the fruits service no longer holds.

        The version row stays, so a later write still gets a newer version.
        """
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM fruits WHERE user = ?", (user_id,))

    async def count(self) -> int:
        async with (
            self._db.read() as conn,
            conn.execute("SELECT count(*) FROM fruits f JOIN users u ON f.user = u.id") as cursor,
        ):
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def fetch_page(self, *, after_user_id: int, limit: int) -> list[VersionedFruit]:
        """Up to `limit` fruits of users with ids above `after_user_id`, by id.

        Keyset paging: memory stays bounded and each page is one short read.
        """
        async with (
            self._db.read() as conn,
            conn.execute(
                f"{_VERSIONED_SELECT} WHERE u.id > ? ORDER BY u.id LIMIT ?",
                (after_user_id, limit),
            ) as cursor,
        ):
            return [_versioned(row) for row in await cursor.fetchall()]

    async def fetch_fruit_page(self, *, after_user_id: int, limit: int) -> FruitPage:
        """fetch_page() column by column: no object per row, for copies of millions."""
        async with (
            self._db.read() as conn,
            conn.execute(
                f"{_VERSIONED_SELECT} WHERE u.id > ? ORDER BY u.id LIMIT ?",
                (after_user_id, limit),
            ) as cursor,
        ):
            rows = await cursor.fetchall()
        if not rows:
            return FruitPage()
        # The id is an INTEGER PRIMARY KEY and the version COALESCEd: both are ints already.
        user_ids, usernames, fruits, versions = map(list, zip(*rows, strict=True))
        return FruitPage(user_ids, usernames, fruits, versions)

    async def fetch_versioned(self, user_ids: Sequence[int]) -> list[VersionedFruit]:
        """The current fruits of `user_ids` that have one, in one read."""
        if not user_ids:
            return []
        placeholders = ",".join("?" * len(user_ids))
        async with (
            self._db.read() as conn,
            conn.execute(
                f"{_VERSIONED_SELECT} WHERE u.id IN ({placeholders}) ORDER BY u.id",
                tuple(user_ids),
            ) as cursor,
        ):
            return [_versioned(row) for row in await cursor.fetchall()]

    async def fetch_ids_with_fruit(self, user_ids: Sequence[int]) -> set[int]:
        """Which of `user_ids` name an existing user with a fruit, in one read."""
        if not user_ids:
            return set()
        placeholders = ",".join("?" * len(user_ids))
        async with (
            self._db.read() as conn,
            conn.execute(
                f"SELECT u.id FROM users u JOIN fruits f ON f.user = u.id"
                f" WHERE u.id IN ({placeholders})",
                tuple(user_ids),
            ) as cursor,
        ):
            return {int(row[0]) for row in await cursor.fetchall()}
