"""Copying every fruit from SQLite to Redis: streamed, paced, resumable, safe beside live writes.

Pages of fruits are read in user id order (keyset paging, so memory stays
bounded whatever the row count) and written with the store's versioned bulk
write, which never puts an older fruit over a newer one: a copy running while
users change their fruits, with dual writes on, can only lose to those writes.
The next page is read while the current one is written. After each page a
checkpoint records the last user id done, so a run that is killed resumes
there; a run that completes clears it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import operator
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fruitsplit.core.copying import Checkpoint, FruitPage, WriteTally
from fruitsplit.core.errors import UnavailableInPhase
from fruitsplit.core.phases import Phase, is_sqlite_source_of_truth
from fruitsplit.core.record import encode_records
from fruitsplit.migration.pacing import TokenBucket
from fruitsplit.services.ports import BulkRecordStore, CheckpointStore, FruitPages

COPY_CHECKPOINT = "copy-to-redis"
DEFAULT_BATCH_SIZE = 5000
# With a rate limit, pages shrink to about this fraction of a second of work, so
# the writes come as a steady trickle rather than one burst per page.
PACED_PAGE_S = 0.1
# Pages being written at once: one on its way to Redis while the next is encoded.
WRITES_IN_FLIGHT = 2

Progress = Callable[[int, int], object]

log = logging.getLogger("fruitsplit.copy")


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What a copy did.

    `copied`: rows gone through, counting those of the runs this one resumed;
    `tally`: what this run's writes did (in a dry run: what they would do, and
    `refused` stays 0, since only the write itself compares versions);
    `skipped`: rows no record can hold (a NULL, or a ':' in the fruit, which the
    original let through); `resumed_from`: the checkpoint this run started at.
    """

    copied: int
    tally: WriteTally
    skipped: int
    resumed_from: Checkpoint | None
    elapsed_s: float
    dry_run: bool


def check_copy_allowed(phase: Phase) -> None:
    """Raise UnavailableInPhase unless SQLite is the source of truth in `phase`."""
    if not is_sqlite_source_of_truth(phase):
        raise UnavailableInPhase(
            "copy SQLite to Redis",
            phase,
            "Redis is the source of truth there, and a copy would go against it",
        )


class FruitCopy:
    """Copies the fruits of `source` (SQLite) into `records` (Redis).

    `clock` (monotonic seconds) times the run and paces it; `wall_clock` stamps
    checkpoints; `sleep` waits for the pacing. All three are injected so tests
    can run a copy on a fake clock.
    """

    def __init__(
        self,
        source: FruitPages,
        records: BulkRecordStore,
        checkpoints: CheckpointStore,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        checkpoint_name: str = COPY_CHECKPOINT,
    ) -> None:
        self._source = source
        self._records = records
        self._checkpoints = checkpoints
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._checkpoint_name = checkpoint_name

    async def resume_point(self) -> Checkpoint | None:
        """Where an interrupted copy stopped, or None if there is nothing to resume."""
        return await self._checkpoints.fetch(self._checkpoint_name)

    async def run(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_rate: float | None = None,
        dry_run: bool = False,
        restart: bool = False,
        progress: Progress | None = None,
    ) -> CopyReport:
        """Copy every fruit, resuming from the checkpoint unless `restart`.

        `batch_size` rows per page; `max_rate` records per second at most on
        average (None: as fast as the stores go). A dry run reads both stores,
        counts what would change, and writes nothing (not even a checkpoint);
        it always looks at every row. `progress(done, total)` is called after
        each page; what it raises stops the copy, with the checkpoint kept.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if max_rate is not None and max_rate <= 0:
            raise ValueError(f"max_rate must be positive, not {max_rate}")
        started = self._clock()
        resumed_from = None
        if restart and not dry_run:
            await self._checkpoints.clear(self._checkpoint_name)
        elif not dry_run:
            resumed_from = await self.resume_point()
        start = resumed_from or Checkpoint(after_user_id=0, copied=0)

        page_size = batch_size
        bucket = None
        if max_rate is not None:
            page_size = max(1, min(batch_size, math.ceil(max_rate * PACED_PAGE_S)))
            bucket = TokenBucket(max_rate, capacity=page_size, clock=self._clock, sleep=self._sleep)

        # The count is for the progress bar only: a full join is not free.
        total = await self._source.count() if progress is not None else 0
        done = start.copied
        tally, skipped = WriteTally(), 0
        if progress is not None:
            progress(done, total)
        # Three pages move at once: SQLite reads one while Python encodes and
        # sends the next and Redis takes the one before. Pages finish in order;
        # only then is a page's checkpoint stored.
        reading = self._read(start.after_user_id, page_size)
        writing: deque[tuple[asyncio.Future[WriteTally], int, int]] = deque()
        saver = (
            None
            if dry_run
            else _CheckpointSaver(self._checkpoints, self._checkpoint_name, self._wall_clock)
        )
        try:
            while True:
                page = await reading
                if page:
                    after = page.user_ids[-1]
                    reading = self._read(after, page_size)
                    storable, unstorable = page.split_storable()
                    if unstorable:
                        skipped += len(unstorable)
                        log.warning(
                            "not copied, no record can hold them (NULL, or ':' in the fruit):"
                            " users %s",
                            ", ".join(map(str, unstorable)),
                        )
                    if bucket is not None:
                        await bucket.acquire(len(page))
                    write = (
                        self._compare(storable)
                        if dry_run
                        else self._records.put_versioned_bulk(storable)
                    )
                    writing.append((asyncio.ensure_future(write), after, len(page)))
                while writing and (not page or len(writing) == WRITES_IN_FLIGHT):
                    write_done, written_after, count = writing.popleft()
                    tally += await write_done
                    done += count
                    if saver is not None:
                        saver.advance(Checkpoint(written_after, done))
                    if progress is not None:
                        progress(done, max(done, total))
                if not page:
                    break
        finally:
            for pending, _, _ in writing:
                pending.cancel()
            reading.cancel()
            await asyncio.gather(
                reading, *(pending for pending, _, _ in writing), return_exceptions=True
            )
            if saver is not None:
                # Also when stopped by an error: the next run resumes from here.
                await saver.flush()
        if not dry_run:
            await self._checkpoints.clear(self._checkpoint_name)
        return CopyReport(
            copied=done,
            tally=tally,
            skipped=skipped,
            resumed_from=resumed_from,
            elapsed_s=self._clock() - started,
            dry_run=dry_run,
        )

    def _read(self, after_user_id: int, limit: int) -> asyncio.Future[FruitPage]:
        return asyncio.ensure_future(
            self._source.fetch_fruit_page(after_user_id=after_user_id, limit=limit)
        )

    async def _compare(self, page: FruitPage) -> WriteTally:
        values = await self._records.fetch_many(page.user_ids)
        expected = encode_records(page.usernames, page.fruits)
        unchanged = sum(map(operator.eq, expected, values))
        return WriteTally(written=len(page) - unchanged, unchanged=unchanged)


class _CheckpointSaver:
    """Stores checkpoints beside the copy instead of in its way (a commit waits for the disk).

    One store at a time; while one is under way, newer positions replace each
    other and the latest is stored next. So a killed copy redoes at most the
    pages of one store's time, which the versioned writes make harmless.
    """

    def __init__(
        self, checkpoints: CheckpointStore, name: str, wall_clock: Callable[[], float]
    ) -> None:
        self._checkpoints = checkpoints
        self._name = name
        self._wall_clock = wall_clock
        self._storing: asyncio.Future[None] | None = None
        self._latest: Checkpoint | None = None
        self._stored: Checkpoint | None = None

    def advance(self, checkpoint: Checkpoint) -> None:
        self._latest = checkpoint
        if self._storing is None or self._storing.done():
            if self._storing is not None:
                self._storing.result()  # a failed store stops the copy
            self._storing = asyncio.ensure_future(self._store(checkpoint))

    async def flush(self) -> None:
        """Wait for the store under way, then store the latest position if it is newer."""
        if self._storing is not None:
            await asyncio.gather(self._storing, return_exceptions=True)
        if self._latest is not None and self._latest != self._stored:
            await self._store(self._latest)

    async def _store(self, checkpoint: Checkpoint) -> None:
        await self._checkpoints.store(self._name, checkpoint, self._wall_clock())
        self._stored = checkpoint
