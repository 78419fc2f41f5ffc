"""Delivering fruit writes to the secondary store: at once when it answers, later when not.

Every dual write leaves an outbox entry in the same SQLite transaction. The
request tries to deliver it straight away; whatever is not confirmed stays in
the outbox and is retried here with back-off until it lands. Delivery always
sends the user's *current* row with its version, and the store refuses any
version older than the one it holds, so retries, repeats and several relays at
once can never put an older fruit over a newer one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.outbox import retry_delay_s
from fruitsplit.metrics import Metrics
from fruitsplit.services.ports import FruitStore, Outbox, RecordStore

log = logging.getLogger("fruitsplit.relay")

# After a failed direct write, requests leave delivery to the relay for this
# long, so that a Redis outage does not add a time-out to every request.
DIRECT_WRITE_PAUSE_S = 1.0


@dataclass(frozen=True, slots=True)
class DrainResult:
    delivered: int
    failed: int


class OutboxRelay:
    def __init__(
        self,
        fruits: FruitStore,
        outbox: Outbox,
        records: RecordStore,
        metrics: Metrics,
        clock: Callable[[], float],
        *,
        batch_size: int = 500,
    ) -> None:
        self._fruits = fruits
        self._outbox = outbox
        self._records = records
        self._metrics = metrics
        self._clock = clock
        self._batch_size = batch_size
        self._direct_paused_until = float("-inf")
        self._wake = asyncio.Event()

    async def deliver_now(self, fruit: VersionedFruit) -> bool:
        """Try to write `fruit` to the secondary store; True if it is confirmed there."""
        if self._clock() < self._direct_paused_until:
            self._wake.set()
            return False
        try:
            await self._records.put_versioned([fruit])
            await self._outbox.delete_delivered([(fruit.user_id, fruit.version)])
        except Exception as error:  # the write is saved; the relay will finish it
            self._direct_paused_until = self._clock() + DIRECT_WRITE_PAUSE_S
            self._metrics.secondary_write_failures.inc()
            log.warning(
                "secondary write for user %d failed, kept in the outbox: %s",
                fruit.user_id,
                error or type(error).__name__,
            )
            self._wake.set()
            return False
        self._metrics.outbox_delivered.inc()
        return True

    async def drain_once(self, *, due_by: float | None = None) -> DrainResult:
        """Deliver one batch of entries due by `due_by` (default: now).

        Failures are postponed with back-off, never dropped.
        """
        now = self._clock()
        entries = await self._outbox.fetch_due(now if due_by is None else due_by, self._batch_size)
        if not entries:
            return DrainResult(0, 0)
        current = await self._fruits.fetch_versioned(sorted({e.user_id for e in entries}))
        try:
            await self._records.put_versioned(current)
        except Exception as error:  # counted, logged and retried later
            self._metrics.secondary_write_failures.inc()
            log.warning("outbox delivery of %d writes failed: %s", len(entries), error)
            await self._outbox.postpone(
                [e.id for e in entries],
                next_attempt_at=[now + retry_delay_s(e.attempts) for e in entries],
                error=str(error) or type(error).__name__,
            )
            return DrainResult(0, len(entries))
        await self._outbox.delete_delivered([(f.user_id, f.version) for f in current])
        self._direct_paused_until = float("-inf")
        self._metrics.outbox_delivered.inc(len(entries))
        return DrainResult(len(entries), 0)

    async def drain(self, *, due_by: float | None = None) -> DrainResult:
        """Deliver until nothing is due or a batch fails."""
        delivered = failed = 0
        while True:
            result = await self.drain_once(due_by=due_by)
            delivered += result.delivered
            failed += result.failed
            if result.failed or result.delivered < self._batch_size:
                return DrainResult(delivered, failed)

    async def refresh_gauges(self) -> int:
        stats = await self._outbox.stats()
        self._metrics.outbox_depth.set(stats.depth)
        self._metrics.outbox_failing.set(stats.failing)
        oldest = stats.oldest_created_at
        self._metrics.outbox_oldest_age.set(0 if oldest is None else self._clock() - oldest)
        return stats.depth

    async def run(self, *, interval_s: float = 1.0) -> None:
        """Drain forever (until cancelled), waking early when a direct write fails."""
        while True:
            try:
                await self.drain()
                await self.refresh_gauges()
            except Exception:  # the relay must outlive a bad moment
                log.exception("outbox relay pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval_s)
