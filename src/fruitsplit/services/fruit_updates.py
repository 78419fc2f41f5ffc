"""Choosing a favourite fruit and listing everyone's, in whichever phase is in force."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fruitsplit.core.diff import Mismatch, compare
from fruitsplit.core.fruits import FruitRow, VersionedFruit, check_choice
from fruitsplit.core.phases import Phase
from fruitsplit.core.users import User
from fruitsplit.services.phase import PhaseControl
from fruitsplit.services.ports import Delivery, FruitStore, RecordStore
from fruitsplit.services.shadow import Comparison, Experiment

SHADOW_BATCH_SIZE = 1000


class FruitService:
    def __init__(
        self,
        store: FruitStore,
        *,
        phases: PhaseControl,
        delivery: Delivery,
        shadow: Experiment[list[FruitRow]],
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._phases = phases
        self._delivery = delivery
        self._shadow = shadow
        self._clock = clock

    async def choose_fruit(self, user: User, raw_fruit: str) -> str:
        """Validate and save `user`'s choice; return the stored fruit name.

        Raises InvalidFruit or SpecialFruitForbidden before anything is written.
        In dual-write the call succeeds once SQLite has the write, whatever Redis does.
        """
        fruit = check_choice(raw_fruit, is_super=user.is_super)
        if await self._phases.current() is Phase.LEGACY:
            await self._store.save(user.id, fruit)
            return fruit
        # SQLite first: until cut-over it is the source of truth, and the outbox
        # entry committed with it guarantees Redis gets the write even if the
        # attempt below fails.
        version = await self._store.save(user.id, fruit, outbox_at=self._clock())
        await self._delivery.deliver_now(VersionedFruit(user.id, user.username, fruit, version))
        return fruit

    async def list_fruits(self) -> list[FruitRow]:
        if await self._phases.current() is Phase.LEGACY:
            return await self._store.fetch_all()
        return await self._shadow.run(self._store.fetch_all)


def build_shadow_candidate(
    store: FruitStore, records: RecordStore
) -> Callable[[list[FruitRow]], Awaitable[Comparison]]:
    """The page's shadow read: the same rows from Redis, in batches, compared with SQLite."""

    async def candidate(rows: list[FruitRow]) -> Comparison:
        suspects = await _compare_rows(records, rows)
        if suspects:
            # A write landing between the two reads looks like a difference for a
            # moment; read the suspects again and keep only what persists.
            fresh = await store.fetch_versioned([m.user_id for m in suspects])
            rows_again = [FruitRow(f.user_id, f.username, f.fruit) for f in fresh]
            suspects = await _compare_rows(records, rows_again)
        return Comparison([row.user_id for row in rows], suspects)

    return candidate


async def _compare_rows(records: RecordStore, rows: Sequence[FruitRow]) -> list[Mismatch]:
    mismatches = []
    for start in range(0, len(rows), SHADOW_BATCH_SIZE):
        batch = rows[start : start + SHADOW_BATCH_SIZE]
        values = await records.fetch_many([row.user_id for row in batch])
        for row, value in zip(batch, values, strict=True):
            mismatch = compare(row.user_id, row.username, row.fruit, value)
            if mismatch is not None:
                mismatches.append(mismatch)
    return mismatches
