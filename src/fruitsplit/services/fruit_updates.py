"""Choosing a favourite fruit and listing everyone's, in whichever phase is in force.

| phase           | writes                               | reads                          |
|-----------------|--------------------------------------|--------------------------------|
| legacy          | SQLite                               | SQLite                         |
| dual-write      | SQLite (+ outbox), then Redis        | SQLite, shadow-compared, Redis |
| service-primary | the service, then a copy in SQLite   | the service, shadow-compared   |
| service-only    | the service                          | the service                    |
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from fruitsplit.core.diff import Mismatch, compare
from fruitsplit.core.fruits import FruitRow, ListedFruit, VersionedFruit, check_choice
from fruitsplit.core.phases import Phase
from fruitsplit.core.users import User
from fruitsplit.services.phase import PhaseControl
from fruitsplit.services.ports import Delivery, FruitsService, FruitStore, RecordStore
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
        service: FruitsService,
        service_shadow: Experiment[list[ListedFruit]],
        issue_token: Callable[[User], str],
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._phases = phases
        self._delivery = delivery
        self._shadow = shadow
        self._service = service
        self._service_shadow = service_shadow
        self._issue_token = issue_token
        self._clock = clock

    async def choose_fruit(self, user: User, raw_fruit: str) -> str:
        """Validate and save `user`'s choice; return the stored fruit name.

        Raises InvalidFruit or SpecialFruitForbidden before anything is written.
        In dual-write the call succeeds once SQLite has the write, whatever Redis
        does; after cut-over it fails with FruitsServiceUnavailable if the service
        does, since the service then holds the truth.
        """
        fruit = check_choice(raw_fruit, is_super=user.is_super)
        phase = await self._phases.current()
        if phase is Phase.LEGACY:
            await self._store.save(user.id, fruit)
        elif phase is Phase.DUAL_WRITE:
            # SQLite first: until cut-over it is the source of truth, and the outbox
            # entry committed with it guarantees Redis gets the write even if the
            # attempt below fails.
            version = await self._store.save(user.id, fruit, outbox_at=self._clock())
            await self._delivery.deliver_now(VersionedFruit(user.id, user.username, fruit, version))
        else:
            stored = await self._service.put_fruit(self._issue_token(user), fruit)
            if phase is Phase.SERVICE_PRIMARY:
                # SQLite stays a fallback copy, so that going back a phase loses nothing.
                await self._store.save_copy(user.id, stored.fruit, stored.version)
        return fruit

    async def list_fruits(self) -> Sequence[FruitRow | ListedFruit]:
        """Everyone's fruit from the phase's source; raises FruitsServiceUnavailable."""
        phase = await self._phases.current()
        if phase is Phase.LEGACY:
            return await self._store.fetch_all()
        if phase is Phase.DUAL_WRITE:
            return await self._shadow.run(self._store.fetch_all)
        fetch = self._service.list_fruits
        if phase is Phase.SERVICE_PRIMARY:
            return await self._service_shadow.run(fetch)
        return await fetch()


def build_shadow_candidate(
    store: FruitStore, records: RecordStore
) -> Callable[[list[FruitRow]], Awaitable[Comparison]]:
    """Dual-write's shadow read: the same rows from Redis, in batches, compared with SQLite."""

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


def build_fallback_candidate(
    store: FruitStore,
) -> Callable[[list[ListedFruit]], Awaitable[Comparison]]:
    """Service-primary's shadow read: the fallback copy in SQLite, compared with the service."""

    async def candidate(listed: list[ListedFruit]) -> Comparison:
        by_username = {item.username: item.fruit for item in listed}
        rows = await store.fetch_all()
        mismatches = []
        for row in rows:
            served = by_username.get(row.username)
            if served is None:
                mismatches.append(
                    Mismatch(
                        row.user_id,
                        "missing",
                        f"no record in the fruits service for user {row.user_id}",
                    )
                )
            elif served != row.fruit:
                mismatches.append(
                    Mismatch(
                        row.user_id,
                        "different",
                        f"mismatched record for user {row.user_id}: the service has {served!r},"
                        f" SQLite {row.fruit!r}",
                    )
                )
        return Comparison([row.user_id for row in rows], mismatches)

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
