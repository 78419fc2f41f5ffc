"""Checking that Redis holds exactly SQLite's fruits, both ways, and repairing what differs.

Forward, SQLite's fruits are read page by page and compared with their Redis
records: missing, corrupt (wrong shape, bad base64) or different. Backward,
every key under user:* is scanned (SCAN, never KEYS) and each one that names no
user with a fruit, or no user at all ("user:abc"), is extra: the forward pass
notes who has a fruit in a bitmap (1 bit per user id, 125 kB per million), and
only keys missing from it are looked up in SQLite. Memory stays bounded by the
page sizes and that bitmap, whatever the data.

A write in flight (SQLite committed, Redis not yet) looks like a difference for
a moment, so every suspect is read again, on both sides, before it counts:
forward suspects SQLite first (Redis follows SQLite), extras Redis first.

Repair goes from the source of truth, with the copy's race safety: missing,
corrupt and different records get SQLite's current row through the versioned
write (never older than what Redis holds); an extra record is deleted only if
it still holds what was read, value and version, after SQLite was read (after
Redis) to still have no fruit for it. Repaired records are read again, and
only what still differs is left in the report.

After cut-over (service-primary, service-only) Redis is the source of truth and
repair runs the other way: SQLite's fallback copy takes each readable Redis
record with its version (an older copy never replaces a newer one), loses the
fruits Redis does not have, and gains the ones only Redis has. A corrupt Redis
record cannot be the source of anything: it is reported, never copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import operator
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from fruitsplit.core.copying import FruitPage, KeyState, UserIdBitmap
from fruitsplit.core.diff import MISMATCH_KINDS, MismatchKind, compare, extra
from fruitsplit.core.errors import CorruptRecord
from fruitsplit.core.phases import Phase, is_sqlite_source_of_truth
from fruitsplit.core.record import decode_record, encode_records, parse_record_keys, record_key
from fruitsplit.services.ports import BulkRecordStore, FruitPages

DEFAULT_PAGE_SIZE = 5000
DEFAULT_SCAN_BATCH_SIZE = 2000
DEFAULT_EXAMPLES = 5
# How long a forward suspect waits before it is read again: long enough for a
# dual write in flight (SQLite committed, Redis write under way) to land.
RECHECK_DELAY_S = 0.2
# The largest user id the backward pass looks up in memory (2**28 ids: 32 MB at
# most); keys of users above it are checked in SQLite instead.
MAX_BITMAP_IDS = 2**28

# (stage "sqlite" or "redis", items done, total or None when unknown)
Progress = Callable[[str, int, int | None], object]


@dataclass(frozen=True, slots=True)
class Difference:
    """One confirmed difference; `user_id` is None for a key that names no user."""

    kind: MismatchKind
    key: str
    user_id: int | None
    message: str


@dataclass
class KindTally:
    found: int = 0
    repaired: int = 0
    examples: list[Difference] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.found - self.repaired


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What a verification found, per kind, and what repair left.

    `sqlite_rows`: fruits read from SQLite; `redis_keys`: keys scanned under
    user:* (SCAN may return a key twice while Redis resizes its table, so this
    and the extra count can run slightly high then).
    """

    sqlite_rows: int
    redis_keys: int
    kinds: dict[MismatchKind, KindTally]
    repaired: bool
    elapsed_s: float

    @property
    def is_consistent(self) -> bool:
        return all(tally.remaining == 0 for tally in self.kinds.values())

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, for scripts."""
        return {
            "consistent": self.is_consistent,
            "repair": self.repaired,
            "sqlite_rows": self.sqlite_rows,
            "redis_keys": self.redis_keys,
            "elapsed_s": round(self.elapsed_s, 3),
            "kinds": {
                kind: {
                    "found": tally.found,
                    "repaired": tally.repaired,
                    "remaining": tally.remaining,
                    "examples": [
                        {"key": example.key, "user_id": example.user_id, "message": example.message}
                        for example in tally.examples
                    ],
                }
                for kind, tally in self.kinds.items()
            },
        }


class Verifier:
    """Compares `source` (SQLite) with `records` (Redis) both ways, and repairs on request.

    `clock` (monotonic seconds) and `sleep` are injected for tests.
    """

    def __init__(
        self,
        source: FruitPages,
        records: BulkRecordStore,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        scan_batch_size: int = DEFAULT_SCAN_BATCH_SIZE,
        examples: int = DEFAULT_EXAMPLES,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if page_size < 1 or scan_batch_size < 1 or examples < 0:
            raise ValueError("page and batch sizes must be at least 1, examples at least 0")
        self._source = source
        self._records = records
        self._page_size = page_size
        self._scan_batch_size = scan_batch_size
        self._examples = examples
        self._clock = clock
        self._sleep = sleep

    async def run(
        self, *, repair: bool = False, phase: Phase = Phase.LEGACY, progress: Progress | None = None
    ) -> VerifyReport:
        """Verify both ways; with `repair`, mend every difference from SQLite.

        Repair mends the store that is not the source of truth in `phase`:
        Redis until cut-over, SQLite's fallback copy after it.
        """
        started = self._clock()
        run = _Run(
            self._source,
            self._records,
            page_size=self._page_size,
            scan_batch_size=self._scan_batch_size,
            examples=self._examples,
            clock=self._clock,
            sleep=self._sleep,
            repair=repair,
            towards_sqlite=repair and not is_sqlite_source_of_truth(phase),
            progress=progress,
        )
        # One after the other: the backward pass looks user ids up in the set the
        # forward pass gathered, and asks SQLite only about those not in it.
        await run.forward()
        await run.backward()
        return VerifyReport(
            sqlite_rows=run.sqlite_rows,
            redis_keys=run.redis_keys,
            kinds=run.kinds,
            repaired=repair,
            elapsed_s=self._clock() - started,
        )


class _Run:
    """One verification: its counts, examples, and suspects waiting to be read again."""

    def __init__(
        self,
        source: FruitPages,
        records: BulkRecordStore,
        *,
        page_size: int,
        scan_batch_size: int,
        examples: int,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
        repair: bool,
        towards_sqlite: bool,
        progress: Progress | None,
    ) -> None:
        self._towards_sqlite = towards_sqlite
        self._source = source
        self._records = records
        self._page_size = page_size
        self._scan_batch_size = scan_batch_size
        self._examples = examples
        self._clock = clock
        self._sleep = sleep
        self._repair = repair
        self._progress = progress
        self.sqlite_rows = 0
        self.redis_keys = 0
        self.kinds: dict[MismatchKind, KindTally] = {kind: KindTally() for kind in MISMATCH_KINDS}
        # Who has a fruit, as the forward pass saw it.
        self._with_fruit = UserIdBitmap(MAX_BITMAP_IDS)

    # --- forward: SQLite -> Redis -------------------------------------------------

    async def forward(self) -> None:
        # The count is for the progress bar only: a full join is not free.
        total = await self._source.count() if self._progress is not None else 0
        self._report("sqlite", 0, total)
        waiting: list[tuple[float, list[int]]] = []
        after = 0
        reading = asyncio.ensure_future(self._read(after))
        try:
            while page := await reading:
                after = page.user_ids[-1]
                # Overlap: SQLite reads the next page while this one is compared.
                reading = asyncio.ensure_future(self._read(after))
                suspects = await self._compare_page(page)
                if suspects:
                    waiting.append((self._clock(), suspects))
                while waiting and self._clock() - waiting[0][0] >= RECHECK_DELAY_S:
                    await self._confirm_rows(waiting.pop(0)[1])
                ids = page.user_ids
                if ids[-1] - ids[0] + 1 == len(ids):  # sorted and unique: consecutive
                    self._with_fruit.add_range(ids[0], ids[-1] + 1)
                else:
                    self._with_fruit.add_all(ids)
                self.sqlite_rows += len(page)
                self._report("sqlite", self.sqlite_rows, max(total, self.sqlite_rows))
        finally:
            reading.cancel()
            await asyncio.gather(reading, return_exceptions=True)
        if waiting:
            await self._sleep(max(0.0, waiting[-1][0] + RECHECK_DELAY_S - self._clock()))
            for _, suspects in waiting:
                await self._confirm_rows(suspects)

    async def _read(self, after_user_id: int) -> FruitPage:
        return await self._source.fetch_fruit_page(
            after_user_id=after_user_id, limit=self._page_size
        )

    async def _compare_page(self, page: FruitPage) -> list[int]:
        """The user ids of `page` whose records differ (fast: one MGET, compared in bulk)."""
        storable, unstorable = page.split_storable()
        values = await self._records.fetch_many(storable.user_ids)
        expected = encode_records(storable.usernames, storable.fruits)
        suspects = [
            user_id
            for user_id, same in zip(
                storable.user_ids, map(operator.eq, expected, values), strict=True
            )
            if not same
        ]
        # A row no record can hold never matches; compare() says how it differs.
        return suspects + unstorable

    async def _confirm_rows(self, user_ids: Sequence[int]) -> None:
        """Read the suspects again, SQLite first (Redis follows it); count what still differs."""
        confirmed = await self._differences(user_ids)
        if not confirmed:
            return
        for difference in confirmed:
            self._count(difference)
        if not self._repair:
            return
        ids = [difference.user_id for difference in confirmed if difference.user_id is not None]
        if self._towards_sqlite:
            await self._copy_to_sqlite(ids)
        else:
            current = await self._source.fetch_versioned(ids)
            storable, _ = FruitPage.of(current).split_storable()
            await self._records.put_versioned_bulk(storable)
        still = {difference.user_id for difference in await self._differences(ids)}
        for difference in confirmed:
            if difference.user_id not in still:
                self.kinds[difference.kind].repaired += 1

    async def _differences(self, user_ids: Sequence[int]) -> list[Difference]:
        rows = await self._source.fetch_versioned(user_ids)
        values = await self._records.fetch_many([row.user_id for row in rows])
        differences = []
        for row, value in zip(rows, values, strict=True):
            mismatch = compare(row.user_id, row.username, row.fruit, value)
            if mismatch is not None:
                differences.append(
                    Difference(
                        mismatch.kind, record_key(row.user_id), row.user_id, mismatch.message
                    )
                )
        return differences

    # --- backward: Redis -> SQLite ------------------------------------------------

    async def backward(self) -> None:
        self._report("redis", 0, None)
        # aclosing: if this stops early, the scan's step under way is cancelled at once.
        async with contextlib.aclosing(self._records.scan_keys(self._scan_batch_size)) as scan:
            async for keys in scan:
                seen = self._with_fruit.contains_each(parse_record_keys(keys))
                suspects = [key for key, has_fruit in zip(keys, seen, strict=True) if not has_fruit]
                if suspects:
                    await self._confirm_extras(suspects)
                self.redis_keys += len(keys)
                self._report("redis", self.redis_keys, None)

    async def _confirm_extras(self, keys: Sequence[str]) -> None:
        """Read the suspects again, Redis first; those SQLite still has no fruit for are extra.

        That order is what makes the repair's delete safe: a fruit set after the
        Redis read changes the record's version, so the compare-and-delete fails.
        """
        states = [
            state for state in await self._records.inspect_keys(keys) if state.kind != "absent"
        ]
        user_ids = parse_record_keys([state.key for state in states])
        have_fruit = await self._source.fetch_ids_with_fruit(
            [user_id for user_id in user_ids if user_id is not None]
        )
        for state, user_id in zip(states, user_ids, strict=True):
            if user_id is not None and user_id in have_fruit:
                continue
            self._count(_extra(state, user_id))
            if not self._repair:
                continue
            if self._towards_sqlite:
                repaired = user_id is not None and await self._copy_state(user_id, state)
            else:
                repaired = await self._delete(state, user_id)
            if repaired:
                self.kinds["extra"].repaired += 1

    async def _copy_to_sqlite(self, user_ids: Sequence[int]) -> None:
        keys = [record_key(user_id) for user_id in user_ids]
        for user_id, state in zip(user_ids, await self._records.inspect_keys(keys), strict=True):
            if state.kind == "absent":
                await self._source.delete_copy(user_id)
            else:
                await self._copy_state(user_id, state)

    async def _copy_state(self, user_id: int, state: KeyState) -> bool:
        """Copy one Redis record into SQLite with its version; False if it cannot be
        read, or names a user SQLite does not know."""
        if state.kind != "string" or state.raw is None:
            return False
        try:
            record = decode_record(state.raw)
        except CorruptRecord:
            return False
        version = int(state.version) if state.version and state.version.isdigit() else 0
        return await self._source.save_copy(user_id, record.fruit, version)

    async def _delete(self, state: KeyState, user_id: int | None) -> bool:
        records = self._records
        if user_id is None:
            return await records.delete_stray_if_unchanged(state.key, state.raw)
        return await records.delete_if_unchanged(user_id, state.raw, state.version)

    # --- both ---------------------------------------------------------------------

    def _count(self, difference: Difference) -> None:
        tally = self.kinds[difference.kind]
        tally.found += 1
        if len(tally.examples) < self._examples:
            tally.examples.append(difference)

    def _report(self, stage: str, done: int, total: int | None) -> None:
        if self._progress is not None:
            self._progress(stage, done, total)


def _extra(state: KeyState, user_id: int | None) -> Difference:
    shown = state.raw if state.kind == "string" else "(a value of another type than a string)"
    if user_id is None:
        message = f"unexpected key {state.key}, which names no user: {shown}"
    else:
        message = extra(user_id, shown).message
    return Difference("extra", state.key, user_id, message)
