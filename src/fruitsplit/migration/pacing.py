"""Pacing bulk work to a steady rate, so a copy can run gently beside production traffic."""

from __future__ import annotations

from collections.abc import Awaitable, Callable


class TokenBucket:
    """Allows `rate_per_s` units per second on average, and bursts of at most `capacity`.

    `clock` returns seconds (monotonic); `sleep` waits that many seconds. Both
    are injected so that tests can run the bucket on a fake clock. Not safe
    for concurrent use by several tasks.
    """

    def __init__(
        self,
        rate_per_s: float,
        *,
        capacity: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[object]],
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate must be positive, not {rate_per_s}")
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, not {capacity}")
        self.rate_per_s = rate_per_s
        self.capacity = capacity
        self._clock = clock
        self._sleep = sleep
        # Full at the start: the first burst goes at once.
        self._tokens = capacity
        self._filled_at = clock()

    async def acquire(self, count: float) -> None:
        """Wait until `count` units may go, then take them.

        A `count` above the capacity is allowed: it waits for a full bucket and
        leaves a debt that later calls wait for, so the average rate still holds.
        """
        self._refill()
        needed = min(count, self.capacity)
        if self._tokens < needed:
            await self._sleep((needed - self._tokens) / self.rate_per_s)
            self._refill()
        self._tokens -= count

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._filled_at)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate_per_s)
        self._filled_at = now
