"""The outbox: fruit writes that Redis has not confirmed yet. Entries leave only when delivered."""

from __future__ import annotations

from collections.abc import Sequence

from fruitsplit.adapters.sqlite.database import SqliteDatabase
from fruitsplit.core.outbox import OutboxEntry, OutboxStats


class SqliteOutbox:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def fetch_due(self, now: float, limit: int) -> list[OutboxEntry]:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT id, user_id, version, attempts FROM outbox WHERE next_attempt_at <= ?"
                " ORDER BY id LIMIT ?",
                (now, limit),
            ) as cursor,
        ):
            return [OutboxEntry(*row) for row in await cursor.fetchall()]

    async def delete_delivered(self, delivered: Sequence[tuple[int, int]]) -> None:
        """Forget entries of each (user_id, version) at or below the version Redis holds."""
        if not delivered:
            return
        async with self._db.write() as conn:
            await conn.executemany(
                "DELETE FROM outbox WHERE user_id = ? AND version <= ?", delivered
            )

    async def postpone(
        self, entry_ids: Sequence[int], *, next_attempt_at: Sequence[float], error: str
    ) -> None:
        async with self._db.write() as conn:
            await conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?"
                " WHERE id = ?",
                [
                    (at, error[:500], entry_id)
                    for entry_id, at in zip(entry_ids, next_attempt_at, strict=True)
                ],
            )

    async def stats(self) -> OutboxStats:
        async with (
            self._db.read() as conn,
            conn.execute(
                "SELECT count(*), min(created_at), count(*) FILTER (WHERE attempts > 0) FROM outbox"
            ) as cursor,
        ):
            row = await cursor.fetchone()
        assert row is not None
        return OutboxStats(int(row[0]), row[1], int(row[2]))
