"""Users in the original's `users` table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fruitsplit.adapters.sqlite.database import SqliteDatabase
from fruitsplit.core.errors import UnknownUser, UsernameTaken
from fruitsplit.core.users import StoredUser, User


def _stored(row: Sequence[Any]) -> StoredUser:
    user_id, username, password, is_super = row
    return StoredUser(User(int(user_id), username, bool(is_super)), password or "")


class SqliteAccounts:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch_by_username(self, username: str) -> StoredUser | None:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT id, username, password, super FROM users WHERE username = ?"
                " ORDER BY id LIMIT 1",
                (username,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return _stored(row) if row else None

    async def fetch_user(self, user_id: int) -> User | None:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT id, username, password, super FROM users WHERE id = ?", (user_id,)
            ) as cursor,
        ):
            row = await cursor.fetchone()
        return _stored(row).user if row else None

    async def fetch_all(self) -> list[User]:
        async with (
            self._db.read() as conn,
            conn.execute("SELECT id, username, password, super FROM users ORDER BY id") as cursor,
        ):
            rows = await cursor.fetchall()
        return [_stored(row).user for row in rows]

    async def insert(self, username: str, password_hash: str) -> User:
        """Add a user; raises UsernameTaken. Uniqueness is checked inside the write lock."""
        async with self._db.write() as conn:
            async with conn.execute(
                "SELECT 1 FROM users WHERE username = ?", (username,)
            ) as cursor:
                if await cursor.fetchone():
                    raise UsernameTaken(username)
            cursor = await conn.execute(
                "INSERT INTO users (username, password, super) VALUES (?, ?, 0)",
                (username, password_hash),
            )
            user_id = cursor.lastrowid
        assert user_id is not None
        return User(user_id, username, is_super=False)

    async def set_super(self, user_id: int, is_super: bool) -> None:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE users SET super = ? WHERE id = ?", (int(is_super), user_id)
            )
            if cursor.rowcount == 0:
                raise UnknownUser(user_id)

    async def replace_password_hash(self, user_id: int, old: str, new: str) -> None:
        """Swap the hash only if it is still `old`, so two concurrent upgrades cannot clash."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE users SET password = ? WHERE id = ? AND password = ?",
                (new, user_id, old),
            )
