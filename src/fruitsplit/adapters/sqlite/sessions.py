"""Login sessions, found by a hash of the cookie token."""

from __future__ import annotations

from fruitsplit.adapters.sqlite.database import SqliteDatabase
from fruitsplit.core.sessions import StoredSession
from fruitsplit.core.users import User


class SqliteSessions:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def insert(self, token_hash: str, user_id: int, csrf_token: str, now: float) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token_hash, user_id, csrf_token, now, now),
            )

    async def fetch(self, token_hash: str) -> StoredSession | None:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT u.id, u.username, u.super, s.csrf_token, s.created_at, s.last_seen_at"
                " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
                (token_hash,),
            ) as cursor,
        ):
            row = await cursor.fetchone()
        if row is None:
            return None
        user_id, username, is_super, csrf_token, created_at, last_seen_at = row
        return StoredSession(
            User(int(user_id), username, bool(is_super)), csrf_token, created_at, last_seen_at
        )

    async def touch(self, token_hash: str, now: float) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?", (now, token_hash)
            )

    async def delete(self, token_hash: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))

    async def delete_stale(self, *, idle_before: float, created_before: float) -> int:
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?",
                (idle_before, created_before),
            )
            return cursor.rowcount
