"""Failed login attempts by scope (a username or a client address), for throttling."""

from __future__ import annotations

from collections.abc import Iterable

from fruitsplit.adapters.sqlite.database import SqliteDatabase


class SqliteLoginFailures:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch_since(self, scope: str, since: float) -> list[float]:
        """Times of failures in `scope` after `since`, oldest first."""
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT at FROM login_failures WHERE scope = ? AND at > ? ORDER BY at",
                (scope, since),
            ) as cursor,
        ):
            return [float(at) for (at,) in await cursor.fetchall()]

    async def record(self, scopes: Iterable[str], now: float, *, forget_before: float) -> None:
        async with self._db.write() as conn:
            await conn.executemany(
                "INSERT INTO login_failures (scope, at) VALUES (?, ?)",
                [(scope, now) for scope in scopes],
            )
            # Old failures no longer count; dropping them here keeps the table small.
            await conn.execute("DELETE FROM login_failures WHERE at < ?", (forget_before,))

    async def clear(self, scope: str) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM login_failures WHERE scope = ?", (scope,))
